-- A cell of single events stores each event's hour of the week (event_hours, 0 = Monday
-- 00:00 .. 167 = Sunday 23:00) once; the weekday and hour-of-day distributions are derived
-- from it where they are read, instead of being stored beside it.
--
-- Why: the two stored distributions were 31 numbers a cell whatever the cell held (a typical
-- cell of single events holds 1 to 5), so a million-event delivery sent the server 8.3 million
-- array elements that repeated what event_hours already says; receiving and writing them was
-- a third of the delivery's storing time (bench/ingest.py). Aggregated rows have neither.
--
-- The secondary index on (indicator, week, area) goes too: every reader of single cells
-- starts from a delivery (the primary key's first column) or scans whole weeks; maintaining
-- it was another quarter of the storing time.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lagesbild.observation
               WHERE event_hours IS NULL AND (by_weekday IS NOT NULL OR by_hour IS NOT NULL))
    THEN
        RAISE EXCEPTION 'observation rows with a weekday/hour distribution but no event hours '
            'exist (stored before migration 0004); withdraw and re-deliver those deliveries '
            'before upgrading';
    END IF;
END
$$;

-- How many of the hours of the week in `hours` fall in each of `bins` bins of `per` hours
-- (bin = hour / per mod bins): per 24, 7 bins = weekdays, Monday first; per 1, 24 bins = hours
-- of the day. NULL for NULL (aggregated rows have no distribution).
CREATE FUNCTION lagesbild.event_hour_counts(hours smallint[], per integer, bins integer)
RETURNS integer[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS
$$
DECLARE
    counts integer[] := array_fill(0, ARRAY[bins]);
    h      smallint;
BEGIN
    FOREACH h IN ARRAY hours LOOP
        counts[(h / per) % bins + 1] := counts[(h / per) % bins + 1] + 1;
    END LOOP;
    RETURN counts;
END
$$;

CREATE FUNCTION lagesbild.weekday_counts(hours smallint[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN lagesbild.event_hour_counts(hours, 24, 7);

CREATE FUNCTION lagesbild.hour_counts(hours smallint[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN lagesbild.event_hour_counts(hours, 1, 24);

ALTER TABLE lagesbild.observation
    ADD CONSTRAINT observation_event_hours_range
        CHECK (event_hours IS NULL OR (0 <= ALL (event_hours) AND 168 > ALL (event_hours)));

-- Same columns as before, so every reader (publish.refresh) reads the view unchanged. An
-- unused column is not computed: the view is flattened into each query.
CREATE OR REPLACE VIEW lagesbild.approved_observation AS
SELECT o.delivery_id, o.area_code, o.week_start, o.indicator_id, o.numerator, o.denominator,
       lagesbild.weekday_counts(o.event_hours) AS by_weekday,
       lagesbild.hour_counts(o.event_hours) AS by_hour,
       d.actor_id, a.kind AS actor_kind
FROM lagesbild.observation o
JOIN lagesbild.delivery d ON d.id = o.delivery_id
JOIN lagesbild.actor a ON a.id = d.actor_id
WHERE d.status = 'approved';

ALTER TABLE lagesbild.observation DROP COLUMN by_weekday, DROP COLUMN by_hour;
DROP INDEX lagesbild.observation_cell_idx;
