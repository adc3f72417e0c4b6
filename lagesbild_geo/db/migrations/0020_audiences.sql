-- Issue 13: three audiences, enforced in PostgreSQL (docs/access.md).
--
-- Database roles of the server, least privilege:
--   lagesbild_reader    the public path: SELECT in schema publish, nothing else (0003 gave it
--                       writes on the saved result layers, the state and the job table: taken
--                       back below);
--   lagesbild_jobs      writes the job table and saved analysis runs (the job manager and a
--                       saving process connect as it);
--   lagesbild_server    the authenticated paths. NOINHERIT and without privileges of its own:
--                       every request's transaction starts with SET LOCAL ROLE to one of the
--                       group roles below, and puts the caller in set_config(..., true)
--                       (lagesbild_geo/access/session.py); the policies read it back.
-- Group roles (NOLOGIN), one per role of docs/access.md:
--   lagesbild_actor     its own deliveries and exact cells only (row-level security);
--   lagesbild_reviewer  every delivery, its summary and double reports; decides;
--   lagesbild_analyst   the exact joined picture (not the secret, keys or the access log);
--   lagesbild_admin     actors, API keys, area layers, the access log;
--   lagesbild_publisher rebuilds the publication (reads the approved exact data and the
--                       protection secret, writes schema publish). Taken by the server only
--                       right after a reviewer's decision, in the decision's transaction
--                       (lagesbild_geo/publish/review.py), never for a request of its own.
-- Roles are cluster-wide and databases share them (the tests make many): created if missing.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['lagesbild_actor', 'lagesbild_reviewer', 'lagesbild_analyst',
                             'lagesbild_admin', 'lagesbild_publisher', 'lagesbild_jobs',
                             'lagesbild_server'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    ALTER ROLE lagesbild_server NOINHERIT;
    GRANT lagesbild_actor, lagesbild_reviewer, lagesbild_analyst, lagesbild_admin,
          lagesbild_publisher TO lagesbild_server;
    -- the owner (CLI, migrations) may drop what the publisher made (publish.situation)
    EXECUTE format('GRANT lagesbild_publisher TO %I', current_user);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'Cannot create the roles of migration 0020 (no CREATEROLE); ask the DBA to '
                  'create them as docs/access.md describes.';
END
$$;


-- API keys: only a hash of the secret part is kept (a key has 256 random bits, so a plain
-- SHA-256 is as good as a slow hash here). The id is the key's public part (lgb_<id>_<secret>).
CREATE TABLE lagesbild.api_key (
    id            text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{12}$'),
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    owner         text NOT NULL CHECK (owner <> ''),
    role          text NOT NULL CHECK (role IN ('actor', 'reviewer', 'analyst', 'admin')),
    actor_id      text REFERENCES lagesbild.actor (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    revoked_by    text,
    last_used_at  timestamptz,
    CHECK ((role = 'actor') = (actor_id IS NOT NULL))
);


-- The access log the huvudman can show: who did what to which object, and when. Written only
-- through lagesbild.log_access (SECURITY DEFINER, the caller taken from the transaction;
-- db/functions/90_access.sql), never updated or deleted by any server role; read by admin.
-- The functions of this migration (the caller, the key check, the log) are defined in
-- db/functions/90_access.sql, applied after the migrations: the policies below therefore
-- read the caller's setting themselves.
CREATE TABLE lagesbild.access_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    principal   text NOT NULL,
    role        text,
    actor_id    text,
    action      text NOT NULL,
    object_type text,
    object_id   text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX access_log_at_idx ON lagesbild.access_log (at);
CREATE INDEX access_log_principal_idx ON lagesbild.access_log (principal, at);


-- Jobs belong to their caller (processes/common.py JobManager).
ALTER TABLE jobs.jobs ADD COLUMN owner text, ADD COLUMN bytes bigint NOT NULL DEFAULT 0;
CREATE INDEX jobs_owner_idx ON jobs.jobs (owner, created);

-- Views of exact data for the restricted layers (security_invoker: the policies below apply
-- to whoever reads them).
CREATE SCHEMA IF NOT EXISTS restricted;

-- Row-level security. The owner (the CLI, the migrations) is not subject to it.
ALTER TABLE lagesbild.actor ENABLE ROW LEVEL SECURITY;
ALTER TABLE lagesbild.delivery ENABLE ROW LEVEL SECURITY;
ALTER TABLE lagesbild.observation ENABLE ROW LEVEL SECURITY;
ALTER TABLE lagesbild.delivery_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE lagesbild.double_report ENABLE ROW LEVEL SECURITY;
ALTER TABLE lagesbild.api_key ENABLE ROW LEVEL SECURITY;
ALTER TABLE lagesbild.access_log ENABLE ROW LEVEL SECURITY;

CREATE POLICY actor_self ON lagesbild.actor TO lagesbild_actor
    USING (id = nullif(current_setting('lagesbild.actor_id', true), ''));
CREATE POLICY municipality ON lagesbild.actor
    TO lagesbild_reviewer, lagesbild_analyst, lagesbild_admin, lagesbild_publisher
    USING (true) WITH CHECK (true);

CREATE POLICY actor_own ON lagesbild.delivery TO lagesbild_actor
    USING (actor_id = nullif(current_setting('lagesbild.actor_id', true), ''))
    WITH CHECK (actor_id = nullif(current_setting('lagesbild.actor_id', true), ''));
CREATE POLICY municipality ON lagesbild.delivery
    TO lagesbild_reviewer, lagesbild_analyst, lagesbild_admin, lagesbild_publisher
    USING (true) WITH CHECK (true);

CREATE POLICY actor_own ON lagesbild.observation TO lagesbild_actor
    USING (EXISTS (SELECT 1 FROM lagesbild.delivery d
                   WHERE d.id = delivery_id
                     AND d.actor_id = nullif(current_setting('lagesbild.actor_id', true), '')))
    WITH CHECK (EXISTS (SELECT 1 FROM lagesbild.delivery d
                        WHERE d.id = delivery_id
                          AND d.actor_id = nullif(current_setting('lagesbild.actor_id', true), '')));
CREATE POLICY municipality ON lagesbild.observation
    TO lagesbild_reviewer, lagesbild_analyst, lagesbild_admin, lagesbild_publisher
    USING (true) WITH CHECK (true);

CREATE POLICY actor_own ON lagesbild.delivery_log TO lagesbild_actor
    USING (EXISTS (SELECT 1 FROM lagesbild.delivery d
                   WHERE d.id = delivery_id
                     AND d.actor_id = nullif(current_setting('lagesbild.actor_id', true), '')))
    WITH CHECK (EXISTS (SELECT 1 FROM lagesbild.delivery d
                        WHERE d.id = delivery_id
                          AND d.actor_id = nullif(current_setting('lagesbild.actor_id', true), '')));
CREATE POLICY municipality ON lagesbild.delivery_log
    TO lagesbild_reviewer, lagesbild_analyst, lagesbild_admin, lagesbild_publisher
    USING (true) WITH CHECK (true);

-- A double report names another actor's delivery: the municipality's to see, not an actor's.
CREATE POLICY municipality ON lagesbild.double_report
    TO lagesbild_reviewer, lagesbild_analyst, lagesbild_admin, lagesbild_publisher
    USING (true) WITH CHECK (true);

CREATE POLICY admin ON lagesbild.api_key TO lagesbild_admin USING (true) WITH CHECK (true);
CREATE POLICY admin ON lagesbild.access_log TO lagesbild_admin USING (true);

-- The grants of every role are in lagesbild_geo/db/functions/90_access.sql, applied after
-- every migration and function file, so that a table or function made later gets them too.
