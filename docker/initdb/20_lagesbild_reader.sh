#!/bin/sh
# First start of the postgis container only (docker-entrypoint-initdb.d): create the read-only
# role the public server logs in as. `lagesbild db migrate` then grants it SELECT on schema
# publish and nothing else (lagesbild_geo/db/migrations/0002_publish.sql keeps an existing role).
set -eu
: "${LAGESBILD_READER_PASSWORD:?set LAGESBILD_READER_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader_password="$LAGESBILD_READER_PASSWORD" <<'SQL'
CREATE ROLE lagesbild_reader LOGIN PASSWORD :'reader_password';
SQL
