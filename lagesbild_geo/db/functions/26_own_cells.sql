-- Each actor's own cells as restricted.my_observations serves them (migration 0028): the
-- id and the value made once, when a delivery's cells and its row both exist, instead of on
-- every page. Written here only, as the owner (SECURITY DEFINER: the actor delivering over
-- HTTP may not write these tables, and no policy lets it), from the cells in
-- lagesbild.observation and the delivery's actor in lagesbild.delivery, never from what a
-- caller says; cells are never changed or removed (a delivery keeps its cells whatever its
-- status, which the view reads from lagesbild.delivery).

-- A cell's value as the public layer means it: a count, a share in %, a rate per 1,000 of
-- the area's population (NULL without one), as migration 0026's views computed it.
CREATE OR REPLACE FUNCTION restricted.cell_value(unit text, num bigint, den bigint,
                                                 population integer)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN unit = 'count' THEN num::double precision
            WHEN unit = 'share' THEN round(100.0 * num / den, 1)::double precision
            WHEN unit = 'rate_per_1000' AND population > 0
                 THEN round(1000.0 * num / population, 2)::double precision
       END;

-- A cell's id in restricted.my_observations: delivery:area:ISO week:indicator.
CREATE OR REPLACE FUNCTION restricted.own_cell_id(delivery_id bigint, area_code text,
                                                  week_start date, indicator text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
RETURN delivery_id || ':' || area_code || ':' || to_char(week_start, 'IYYY-"W"IW') || ':'
       || indicator;

-- The own cells of deliveries ids, which have none yet (a delivery's cells are written when
-- its row exists, all at once: by the trigger on its row, or by sync_own_cells for one that
-- has none), and their counts; returns the number of cells written. One delivery at a time:
-- its cells are found by the BRIN index on delivery_id (a BRIN cannot answer = ANY(array)).
-- Measured on bench/serve.py's database (133,848 cells of one delivery, 2 cores shared):
-- reading and deriving them ~0.1 s, the heap ~0.1 s, the two indexes ~0.7 s; beside ~0.15 s
-- for the same cells into lagesbild.observation, the cost of an ingest that the reads save
-- (ON CONFLICT DO NOTHING, not needed with the cells written once, cost another 0.35 s).
CREATE OR REPLACE FUNCTION restricted._add_own_cells(ids bigint[]) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    one_id bigint;
    added bigint;
    total bigint := 0;
BEGIN
    FOREACH one_id IN ARRAY coalesce(ids, '{}') LOOP
        WITH written AS (
            INSERT INTO restricted.own_cells (actor_id, id, delivery_id, area_code, week_start,
                                              indicator, value, numerator, denominator,
                                              event_hours, source_refs)
            SELECT d.actor_id,
                   restricted.own_cell_id(o.delivery_id, o.area_code, o.week_start,
                                          o.indicator_id),
                   o.delivery_id, o.area_code, o.week_start, o.indicator_id,
                   restricted.cell_value(i.unit, o.numerator, o.denominator, pa.population),
                   o.numerator, o.denominator, o.event_hours, o.source_refs
            FROM lagesbild.observation o
            JOIN lagesbild.delivery d ON d.id = o.delivery_id
            JOIN lagesbild.indicator i ON i.id = o.indicator_id
            LEFT JOIN publish.areas pa ON pa.code = o.area_code
            WHERE o.delivery_id = one_id
            RETURNING actor_id, delivery_id, indicator, week_start, value,
                      event_hours IS NOT NULL AS has_breakdown
        ), counted AS (
            INSERT INTO restricted.own_cell_counts
            SELECT actor_id, delivery_id, indicator, week_start, value, has_breakdown, count(*)
            FROM written
            GROUP BY 1, 2, 3, 4, 5, 6
            RETURNING n
        )
        SELECT coalesce(sum(n), 0) INTO added FROM counted;
        total := total + added;
    END LOOP;
    RETURN total;
END
$$;
REVOKE ALL ON FUNCTION restricted._add_own_cells(bigint[]) FROM PUBLIC;

-- The store writes a delivery's cells before its row (migration 0005), the benchmark and
-- some tests the row first: whichever comes second writes the own cells.
CREATE OR REPLACE FUNCTION restricted._own_cells_of_new_deliveries() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM restricted._add_own_cells(ARRAY(SELECT id FROM new_deliveries));
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION restricted._own_cells_of_new_deliveries() FROM PUBLIC;

-- Cells of a delivery whose row exists: these cells (the statement's, from its transition
-- table), as _add_own_cells writes a delivery's.
CREATE OR REPLACE FUNCTION restricted._own_cells_of_new_cells() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    WITH written AS (
        INSERT INTO restricted.own_cells (actor_id, id, delivery_id, area_code, week_start,
                                          indicator, value, numerator, denominator,
                                          event_hours, source_refs)
        SELECT d.actor_id,
               restricted.own_cell_id(o.delivery_id, o.area_code, o.week_start,
                                      o.indicator_id),
               o.delivery_id, o.area_code, o.week_start, o.indicator_id,
               restricted.cell_value(i.unit, o.numerator, o.denominator, pa.population),
               o.numerator, o.denominator, o.event_hours, o.source_refs
        FROM new_cells o
        JOIN lagesbild.delivery d ON d.id = o.delivery_id
        JOIN lagesbild.indicator i ON i.id = o.indicator_id
        LEFT JOIN publish.areas pa ON pa.code = o.area_code
        RETURNING actor_id, delivery_id, indicator, week_start, value,
                  event_hours IS NOT NULL AS has_breakdown
    )
    INSERT INTO restricted.own_cell_counts
    SELECT actor_id, delivery_id, indicator, week_start, value, has_breakdown, count(*)
    FROM written
    GROUP BY 1, 2, 3, 4, 5, 6;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION restricted._own_cells_of_new_cells() FROM PUBLIC;

CREATE OR REPLACE TRIGGER own_cells_of_new_deliveries
    AFTER INSERT ON lagesbild.delivery REFERENCING NEW TABLE AS new_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION restricted._own_cells_of_new_deliveries();
CREATE OR REPLACE TRIGGER own_cells_of_new_cells
    AFTER INSERT ON lagesbild.observation REFERENCING NEW TABLE AS new_cells
    FOR EACH STATEMENT EXECUTE FUNCTION restricted._own_cells_of_new_cells();

-- The check of a full refresh (publish.publication.refresh) and of every migration: the own
-- cells of every delivery that has none (cells written with the triggers off, e.g. the
-- benchmark's COPY under session_replication_role = replica, or before migration 0028), and
-- with revalue the values that depend on the area layer (rates per 1,000: an area import
-- changes the populations, and it rebuilds everything) with their counts. Returns the number
-- of cells written or revalued.
CREATE OR REPLACE FUNCTION restricted.sync_own_cells(revalue boolean) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    added bigint;
    changed bigint := 0;
    rates text[];
BEGIN
    added := restricted._add_own_cells(ARRAY(
        SELECT d.id FROM lagesbild.delivery d
        WHERE NOT EXISTS (SELECT 1 FROM restricted.own_cell_counts c WHERE c.delivery_id = d.id)
        ORDER BY d.id
    ));
    rates := ARRAY(SELECT id FROM lagesbild.indicator WHERE unit = 'rate_per_1000');
    IF revalue AND cardinality(rates) > 0 THEN
        UPDATE restricted.own_cells c
        SET value = v.value
        FROM (SELECT c2.actor_id, c2.id,
                     restricted.cell_value('rate_per_1000', c2.numerator, c2.denominator,
                                           pa.population) AS value
              FROM restricted.own_cells c2
              LEFT JOIN publish.areas pa ON pa.code = c2.area_code
              WHERE c2.indicator = ANY(rates)) v
        WHERE c.actor_id = v.actor_id AND c.id = v.id AND c.value IS DISTINCT FROM v.value;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed > 0 THEN
            DELETE FROM restricted.own_cell_counts WHERE indicator = ANY(rates);
            INSERT INTO restricted.own_cell_counts
            SELECT actor_id, delivery_id, indicator, week_start, value,
                   event_hours IS NOT NULL, count(*)
            FROM restricted.own_cells WHERE indicator = ANY(rates)
            GROUP BY 1, 2, 3, 4, 5, 6;
        END IF;
    END IF;
    RETURN added + changed;
END
$$;
REVOKE ALL ON FUNCTION restricted.sync_own_cells(boolean) FROM PUBLIC;

SELECT restricted.sync_own_cells(false);
