-- Issue 13: an actor delivers over HTTP, so the ingest runs as lagesbild_actor under the
-- row-level security of migration 0020 (lagesbild_geo/server/deliveries_api.py).
--
-- 0020 lets the actor INSERT a delivery row and UPDATE its status: restrictive policies keep
-- that to what the pipeline and a withdrawal do (a new pending delivery, withdrawing), so
-- that an actor's SQL cannot approve its own delivery. What the ingest needs beyond its
-- own rows (the delivery being written, double reports) is in db/functions/92_deliveries.sql.

CREATE POLICY actor_delivers_pending ON lagesbild.delivery AS RESTRICTIVE FOR INSERT
    TO lagesbild_actor
    WITH CHECK (status = 'pending' AND reviewed_by IS NULL AND reviewed_at IS NULL
                AND review_reason IS NULL);
CREATE POLICY actor_only_withdraws ON lagesbild.delivery AS RESTRICTIVE FOR UPDATE
    TO lagesbild_actor
    USING (true)
    WITH CHECK (status IN ('pending', 'withdrawn'));
