-- The functions of the audiences (who is asking, the key check, the access log) and the
-- grants of the server's roles (migration 0020 makes the roles; docs/access.md says what
-- each may do). Repeatable: applied after every migration and function file, so a table or a
-- function made later is covered; GRANT and REVOKE of what is already so change nothing.
-- Who is asking, as the server put it into the transaction.
CREATE OR REPLACE FUNCTION lagesbild.current_actor() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN nullif(current_setting('lagesbild.actor_id', true), '');
CREATE OR REPLACE FUNCTION lagesbild.current_principal() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(nullif(current_setting('lagesbild.principal', true), ''), session_user::text);

-- A key presented by a caller: its holder when the secret matches and the key is live; the
-- server's login role may call this and read nothing else of the table.
CREATE OR REPLACE FUNCTION lagesbild.authenticate_key(key_id text, secret_hash bytea)
RETURNS TABLE (status text, role text, actor_id text, owner text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k lagesbild.api_key;
BEGIN
    SELECT * INTO k FROM lagesbild.api_key WHERE id = key_id;
    IF NOT FOUND OR k.secret_sha256 <> secret_hash THEN
        RETURN QUERY SELECT 'unknown'::text, NULL::text, NULL::text, NULL::text;
    ELSIF k.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked'::text, NULL::text, NULL::text, NULL::text;
    ELSIF k.expires_at IS NOT NULL AND k.expires_at <= now() THEN
        RETURN QUERY SELECT 'expired'::text, NULL::text, NULL::text, NULL::text;
    ELSE
        -- at most once a minute, so that a busy key does not write on every request
        UPDATE lagesbild.api_key SET last_used_at = now()
        WHERE id = key_id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
        RETURN QUERY SELECT 'ok'::text, k.role, k.actor_id, k.owner;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION lagesbild.authenticate_key(text, bytea) FROM PUBLIC;

CREATE OR REPLACE FUNCTION lagesbild.log_access(action text, object_type text, object_id text,
                                     detail jsonb DEFAULT '{}'::jsonb)
RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO lagesbild.access_log (principal, role, actor_id, action, object_type,
                                      object_id, detail)
    VALUES (lagesbild.current_principal(),
            nullif(current_setting('lagesbild.role', true), ''),
            lagesbild.current_actor(), action, object_type, object_id,
            coalesce(detail, '{}'::jsonb))
    RETURNING id
$$;
REVOKE ALL ON FUNCTION lagesbild.log_access(text, text, text, jsonb) FROM PUBLIC;

-- Whether an actor is registered, for the server's login alone (an OpenID Connect token that
-- names an actor: access/oidc.py), without reading the table.
CREATE OR REPLACE FUNCTION lagesbild.actor_exists(actor_id text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM lagesbild.actor a WHERE a.id = $1) $$;
REVOKE ALL ON FUNCTION lagesbild.actor_exists(text) FROM PUBLIC;

DO $$
BEGIN
    -- the public path reads the protected schema and nothing else
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_reader') THEN
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA publish
            FROM lagesbild_reader;
        REVOKE ALL ON ALL SEQUENCES IN SCHEMA publish FROM lagesbild_reader;
        REVOKE ALL ON ALL TABLES IN SCHEMA jobs FROM lagesbild_reader;
        REVOKE ALL ON SCHEMA jobs FROM lagesbild_reader;
        REVOKE ALL ON SCHEMA restricted FROM lagesbild_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA publish TO lagesbild_reader;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_server') THEN
        RETURN;
    END IF;

    -- the login role alone: check a presented key (USAGE reads no table)
    GRANT USAGE ON SCHEMA lagesbild TO lagesbild_server;
    GRANT EXECUTE ON FUNCTION lagesbild.authenticate_key(text, bytea),
                              lagesbild.actor_exists(text) TO lagesbild_server;
    GRANT USAGE ON SCHEMA lagesbild, publish, restricted
        TO lagesbild_actor, lagesbild_reviewer, lagesbild_analyst, lagesbild_admin;
    GRANT SELECT ON ALL TABLES IN SCHEMA publish
        TO lagesbild_actor, lagesbild_reviewer, lagesbild_analyst, lagesbild_admin;
    GRANT EXECUTE ON FUNCTION lagesbild.log_access(text, text, text, jsonb)
        TO lagesbild_actor, lagesbild_reviewer, lagesbild_analyst, lagesbild_admin;

    -- the catalogue and the area layer every role reads to place and name things
    GRANT SELECT ON lagesbild.area, lagesbild.area_import, lagesbild.area_version,
                    lagesbild.area_past, lagesbild.area_crosswalk, lagesbild.actor_kind,
                    lagesbild.indicator, lagesbild.actor
        TO lagesbild_actor, lagesbild_reviewer, lagesbild_analyst, lagesbild_admin;

    -- actor: deliver, correct and withdraw its own (the policies keep it to its own rows)
    GRANT SELECT, INSERT ON lagesbild.delivery, lagesbild.observation, lagesbild.delivery_log
        TO lagesbild_actor;
    GRANT UPDATE (status, report) ON lagesbild.delivery TO lagesbild_actor;
    GRANT USAGE ON SEQUENCE lagesbild.delivery_id_seq, lagesbild.delivery_log_id_seq
        TO lagesbild_actor;

    -- reviewer: every delivery; decides; rebuilds the publication in the same transaction
    GRANT SELECT ON lagesbild.delivery, lagesbild.observation, lagesbild.delivery_log,
                    lagesbild.double_report
        TO lagesbild_reviewer;
    GRANT UPDATE (status, reviewed_by, reviewed_at, review_reason) ON lagesbild.delivery
        TO lagesbild_reviewer;
    GRANT INSERT ON lagesbild.delivery_log TO lagesbild_reviewer;
    GRANT USAGE ON SEQUENCE lagesbild.delivery_log_id_seq TO lagesbild_reviewer;

    -- publisher: the publication's rebuild (publish.refresh and its functions)
    GRANT USAGE ON SCHEMA lagesbild, publish TO lagesbild_publisher;
    GRANT SELECT ON ALL TABLES IN SCHEMA lagesbild TO lagesbild_publisher;
    REVOKE SELECT ON lagesbild.api_key, lagesbild.access_log FROM lagesbild_publisher;
    GRANT ALL ON ALL TABLES IN SCHEMA publish TO lagesbild_publisher;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA publish TO lagesbild_publisher;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA publish, lagesbild TO lagesbild_publisher;
    REVOKE EXECUTE ON FUNCTION lagesbild.authenticate_key(text, bytea),
                               lagesbild.actor_exists(text) FROM lagesbild_publisher;
    GRANT CREATE ON SCHEMA publish TO lagesbild_publisher;  -- the refresh remakes the situation
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO lagesbild_publisher, lagesbild_actor',
                   current_database());
    IF to_regclass('publish.situation') IS NOT NULL THEN
        ALTER TABLE publish.situation OWNER TO lagesbild_publisher;
    END IF;

    -- analyst: the exact joined picture
    GRANT SELECT ON lagesbild.delivery, lagesbild.observation, lagesbild.double_report
        TO lagesbild_analyst;

    -- admin: actors, keys, area layers, the log
    GRANT SELECT ON lagesbild.delivery, lagesbild.delivery_log TO lagesbild_admin;
    GRANT INSERT, UPDATE ON lagesbild.actor TO lagesbild_admin;
    GRANT SELECT, INSERT, UPDATE ON lagesbild.api_key TO lagesbild_admin;
    GRANT SELECT ON lagesbild.access_log TO lagesbild_admin;

    -- jobs and saved runs
    GRANT USAGE ON SCHEMA jobs, publish TO lagesbild_jobs;
    GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.jobs TO lagesbild_jobs;
    GRANT SELECT ON ALL TABLES IN SCHEMA publish TO lagesbild_jobs;
    GRANT INSERT, DELETE ON publish.hotspots, publish.trends TO lagesbild_jobs;
    GRANT INSERT ON publish.analysis_runs TO lagesbild_jobs;
    GRANT USAGE ON SEQUENCE publish.analysis_runs_id_seq TO lagesbild_jobs;
    GRANT UPDATE (version, updated_at) ON publish.state TO lagesbild_jobs;
END
$$;
