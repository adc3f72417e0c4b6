-- Who may read the restricted layers (migration 0025): the actor its own (the views are
-- security_invoker, so the policies of migration 0020 keep it to its own rows), the analyst
-- the exact joined picture. Repeatable, applied after 90_access.sql: no other role, the
-- public path's reader least of all, is given anything in schema restricted.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_actor') THEN
        RETURN;
    END IF;
    REVOKE ALL ON ALL TABLES IN SCHEMA restricted FROM PUBLIC;
    -- the views are security_invoker: their reader needs the tables under them too (the
    -- actor's rows of own_cells and own_cell_counts by their policies, migration 0028)
    GRANT SELECT ON restricted.my_observations, restricted.my_deliveries,
                    restricted.my_observation_counts, restricted.own_cells,
                    restricted.own_cell_counts
        TO lagesbild_actor;
    GRANT SELECT ON restricted.exact_observations, restricted.exact_cells,
                    restricted.exact_observation_counts, restricted.exact_cell_counts
        TO lagesbild_analyst;
    -- the refresh keeps the exact cells and their counts (db/functions/25_exact.sql) and
    -- checks the own cells (db/functions/26_own_cells.sql, as their owner)
    GRANT USAGE ON SCHEMA restricted TO lagesbild_publisher;
    GRANT SELECT, INSERT, DELETE ON restricted.exact_cells TO lagesbild_publisher;
    GRANT SELECT ON restricted.exact_observations TO lagesbild_publisher;
    GRANT SELECT, INSERT, DELETE ON restricted.exact_cell_counts TO lagesbild_publisher;
    GRANT EXECUTE ON FUNCTION restricted.sync_own_cells(boolean) TO lagesbild_publisher;
END
$$;
