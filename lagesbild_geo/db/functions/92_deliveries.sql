-- Deliveries over HTTP (issue 13): what the ingest needs beyond an actor's own rows.
-- Repeatable: applied after every migrate, after 90_access.sql (whose grants do not cover
-- functions made here).
--
-- Double reports compare a new delivery's event hours with other actors' deliveries, which an
-- actor may not read (migration 0020's policies): lagesbild.flag_double_reports does it as
-- its owner and returns only how many flags it wrote; the flags themselves are the
-- municipality's to read. The store (lagesbild_geo/store/deliveries.py) calls it for every
-- event delivery, from the CLI (as the owner) and from the server (as lagesbild_actor).

-- The store writes a delivery's cells before its row (migration 0005: the row's first and
-- last week are those of the cells as written), so migration 0020's actor policy on
-- observation, which asks for the actor's own delivery row, would refuse the cells and hide
-- them from the repeat checks that read them back. The cells of the delivery being written are
-- allowed too: the id this session last drew from the delivery sequence while no delivery has
-- it. A sequence never hands an id out twice, so no other actor can be writing, or later own,
-- that delivery. (The policy is altered here, after the function it calls; ALTER POLICY to
-- the same expressions changes nothing.)
CREATE OR REPLACE FUNCTION lagesbild.delivery_in_writing() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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

-- Other actors' pending or approved event deliveries covering some of the same weeks.
CREATE OR REPLACE FUNCTION lagesbild._other_event_deliveries(new_id bigint)
RETURNS TABLE (id bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.id FROM lagesbild.delivery d, lagesbild.delivery me
    WHERE me.id = new_id AND d.actor_id <> me.actor_id AND d.shape = 'events'
      AND d.status IN ('pending', 'approved')
      AND d.first_week <= me.last_week AND d.last_week >= me.first_week
$$;
REVOKE ALL ON FUNCTION lagesbild._other_event_deliveries(bigint) FROM PUBLIC;

-- Flag events of the same indicator in the same area and hour delivered by another actor
-- (lagesbild.double_report); return the number of flags written. An actor may flag only its
-- own delivery (the one it is writing); the owner (the CLI) any.
CREATE OR REPLACE FUNCTION lagesbild.flag_double_reports(new_id bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    flagged integer;
BEGIN
    IF lagesbild.current_actor() IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM lagesbild.delivery
        WHERE id = new_id AND actor_id = lagesbild.current_actor()
    ) THEN
        RAISE EXCEPTION 'delivery % is not the caller''s', new_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lagesbild._other_event_deliveries(new_id)) THEN
        RETURN 0;  -- no other actor's events in these weeks: nothing can be doubled
    END IF;
    WITH mine AS (
        SELECT o.area_code, o.indicator_id, o.week_start, h, count(*) AS n
        FROM lagesbild.observation o, unnest(o.event_hours) AS h
        WHERE o.delivery_id = new_id
        GROUP BY 1, 2, 3, 4
    ), theirs AS (  -- their cells (found by delivery: BRIN) in the cells of mine
        SELECT o.delivery_id, o.area_code, o.indicator_id, o.week_start, h, count(*) AS n
        FROM lagesbild.observation o
        JOIN lagesbild._other_event_deliveries(new_id) d ON o.delivery_id = d.id
        JOIN (SELECT DISTINCT indicator_id, week_start, area_code FROM mine) c
          USING (indicator_id, week_start, area_code)
        CROSS JOIN unnest(o.event_hours) AS h
        GROUP BY 1, 2, 3, 4, 5
    )
    INSERT INTO lagesbild.double_report
        (area_code, indicator_id, hour_start, delivery_a, delivery_b, n_a, n_b)
    SELECT m.area_code, m.indicator_id, m.week_start + make_interval(hours => m.h::int),
           least(new_id, t.delivery_id), greatest(new_id, t.delivery_id),
           CASE WHEN new_id < t.delivery_id THEN m.n ELSE t.n END,
           CASE WHEN new_id < t.delivery_id THEN t.n ELSE m.n END
    FROM mine m
    JOIN theirs t USING (area_code, indicator_id, week_start, h)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS flagged = ROW_COUNT;
    RETURN flagged;
END
$$;
REVOKE ALL ON FUNCTION lagesbild.flag_double_reports(bigint) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_actor') THEN
        GRANT EXECUTE ON FUNCTION lagesbild.flag_double_reports(bigint),
                                  lagesbild.delivery_in_writing()
            TO lagesbild_actor;
        -- 90_access.sql gives the publisher every function of the schema; it needs neither
        REVOKE EXECUTE ON FUNCTION lagesbild.flag_double_reports(bigint),
                                   lagesbild.delivery_in_writing(),
                                   lagesbild._other_event_deliveries(bigint)
            FROM lagesbild_publisher;
    END IF;
END
$$;
