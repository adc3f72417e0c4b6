#!/bin/sh
# First start of the postgis container only (docker-entrypoint-initdb.d): create the server's
# three login roles (docs/access.md). `lagesbild db migrate` then gives each what it may do and
# nothing more (migration 0020 and lagesbild_geo/db/functions/90_access.sql keep existing
# roles): lagesbild_reader SELECT on schema publish (the public path), lagesbild_server no
# rights of its own but membership of the audiences' group roles (NOINHERIT: each request
# takes its caller's role), lagesbild_jobs the job table and saved analysis runs.
set -eu
: "${LAGESBILD_READER_PASSWORD:?set LAGESBILD_READER_PASSWORD}"
: "${LAGESBILD_SERVER_PASSWORD:?set LAGESBILD_SERVER_PASSWORD}"
: "${LAGESBILD_JOBS_PASSWORD:?set LAGESBILD_JOBS_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader_password="$LAGESBILD_READER_PASSWORD" \
    -v server_password="$LAGESBILD_SERVER_PASSWORD" \
    -v jobs_password="$LAGESBILD_JOBS_PASSWORD" <<'SQL'
CREATE ROLE lagesbild_reader LOGIN PASSWORD :'reader_password';
CREATE ROLE lagesbild_server LOGIN NOINHERIT PASSWORD :'server_password';
CREATE ROLE lagesbild_jobs LOGIN PASSWORD :'jobs_password';
SQL
