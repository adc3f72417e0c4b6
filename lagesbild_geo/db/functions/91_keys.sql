-- API keys (lagesbild_geo/access/keys.py): the server's login role checks a presented key
-- with lagesbild.authenticate_key before it knows the caller's role. It is NOINHERIT, so the
-- group roles' USAGE on schema lagesbild (90_access.sql) does not reach it, and without USAGE
-- the function cannot even be named. USAGE only resolves names: lagesbild_server still holds
-- no privilege on any table of the schema.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_server') THEN
        GRANT USAGE ON SCHEMA lagesbild TO lagesbild_server;
    END IF;
END
$$;
