-- Grants of the processes' exact reads (migration 0024). Repeatable, after 90_access.sql.
-- The views are security_invoker: these grants let a role ask, the row-level security of
-- lagesbild.delivery and lagesbild.observation decides which rows it gets.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_server') THEN
        RETURN;
    END IF;
    GRANT SELECT ON restricted.analysis_deliveries, restricted.analysis_cells
        TO lagesbild_actor, lagesbild_analyst;
END
$$;
