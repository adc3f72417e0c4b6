-- Issue 13: an actor delivers over HTTP, so the ingest runs as lagesbild_actor under the
-- row-level security of migration 0020 (lagesbild_geo/server/deliveries_api.py).
--
-- 1. The store writes a delivery's cells before its row (migration 0005: the row's first and
--    last week are those of the cells as written), so 0020's actor policy on observation, which
--    asks for the actor's own delivery row, would refuse the cells and hide them from the
--    repeat checks that read them back. The cells of the delivery being written are allowed
--    too: the id this session last drew from the delivery sequence while no delivery has it
--    (lagesbild.delivery_in_writing). A sequence never hands an id out twice, so no other actor
--    can be writing, or later own, that delivery.
-- 2. 0020 lets the actor INSERT a delivery row and UPDATE its status: restrictive policies keep
--    that to what the pipeline and a withdrawal do (a new pending delivery, withdrawing), so
--    that an actor's SQL cannot approve its own delivery.

CREATE FUNCTION lagesbild.delivery_in_writing() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    drawn bigint;
BEGIN
    BEGIN
        drawn := currval('lagesbild.delivery_id_seq');
    EXCEPTION WHEN object_not_in_prerequisite_state THEN  -- no id drawn in this session
        RETURN NULL;
    END;
    IF EXISTS (SELECT 1 FROM lagesbild.delivery WHERE id = drawn) THEN
        RETURN NULL;  -- written already: the own-delivery rule decides
    END IF;
    RETURN drawn;
END
$$;
REVOKE ALL ON FUNCTION lagesbild.delivery_in_writing() FROM PUBLIC;

-- The scalar subquery makes the function an init plan: called once per statement, not per row.
ALTER POLICY actor_own ON lagesbild.observation
    USING (delivery_id = (SELECT lagesbild.delivery_in_writing())
           OR EXISTS (SELECT 1 FROM lagesbild.delivery d
                      WHERE d.id = delivery_id AND d.actor_id = lagesbild.current_actor()))
    WITH CHECK (delivery_id = (SELECT lagesbild.delivery_in_writing())
                OR EXISTS (SELECT 1 FROM lagesbild.delivery d
                           WHERE d.id = delivery_id
                             AND d.actor_id = lagesbild.current_actor()));

CREATE POLICY actor_delivers_pending ON lagesbild.delivery AS RESTRICTIVE FOR INSERT
    TO lagesbild_actor
    WITH CHECK (status = 'pending' AND reviewed_by IS NULL AND reviewed_at IS NULL
                AND review_reason IS NULL);
CREATE POLICY actor_only_withdraws ON lagesbild.delivery AS RESTRICTIVE FOR UPDATE
    TO lagesbild_actor
    USING (true)
    WITH CHECK (status IN ('pending', 'withdrawn'));
