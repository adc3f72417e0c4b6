-- The grants of the server's roles (migration 0020 makes the roles; docs/access.md says what
-- each may do). Repeatable: applied after every migration and function file, so a table or a
-- function made later is covered; GRANT and REVOKE of what is already so change nothing.
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
    GRANT EXECUTE ON FUNCTION lagesbild.authenticate_key(text, bytea) TO lagesbild_server;
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
    REVOKE EXECUTE ON FUNCTION lagesbild.authenticate_key(text, bytea) FROM lagesbild_publisher;
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
