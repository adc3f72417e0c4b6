-- Lägesbild: derived views of a stored cell's events (schema lagesbild). Repeatable: applied
-- after every migrate (lagesbild_geo/db/connection.py), so this file is the current
-- definition; the migrations that first made these functions (0008, 0011) are history.

-- How many of the hours of the week in `hours` fall in each of `bins` bins of `per` hours
-- (bin = hour / per mod bins): per 24, 7 bins = weekdays, Monday first; per 1, 24 bins = hours
-- of the day. NULL for NULL (aggregated rows have no distribution).
CREATE OR REPLACE FUNCTION lagesbild.event_hour_counts(hours smallint[], per integer, bins integer)
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

CREATE OR REPLACE FUNCTION lagesbild.weekday_counts(hours smallint[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN lagesbild.event_hour_counts(hours, 24, 7);

CREATE OR REPLACE FUNCTION lagesbild.hour_counts(hours smallint[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN lagesbild.event_hour_counts(hours, 1, 24);

-- The references of a cell's events as an array: they are stored as one text, separated by
-- U+001F, which validation refuses inside a reference (migration 0011).
CREATE OR REPLACE FUNCTION lagesbild.source_ref_list(source_refs text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN string_to_array(source_refs, E'\x1f');

-- A cell's event hours and references in a canonical order, so that two cells are compared
-- whatever order the file listed their events in (store.deliveries: a delivery that repeats
-- cells the actor delivered already). NULL for NULL.
CREATE OR REPLACE FUNCTION lagesbild.sorted_hours(hours smallint[]) RETURNS smallint[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT h FROM unnest(hours) AS h ORDER BY h);

CREATE OR REPLACE FUNCTION lagesbild.sorted_refs(source_refs text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN array_to_string(
    ARRAY(SELECT r FROM unnest(string_to_array(source_refs, E'\x1f')) AS r ORDER BY r COLLATE "C"),
    E'\x1f'
);

