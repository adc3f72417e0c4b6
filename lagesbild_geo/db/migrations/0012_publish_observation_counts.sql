-- How many published observations share each combination of the properties a count is usually
-- filtered by (indicator, actor kind, week, value, suppressed, ...), so that numberMatched of
-- a filtered observations request is a sum over a few hundred rows instead of a count over
-- thousands of index entries. Measured on 1,287 areas x 20 indicators x 104 weeks (the
-- request of bench/serve.py, 12,521 matches): 14,163 rows here against 2,676,960 features;
-- the count took ~5 ms, the sum ~1 ms. The server (lagesbild_geo/server/provider.py) reads it only
-- when every column its filter names is a column of this table; any other filter (an area,
-- a bbox, a breakdown column) is counted in publish.observations as before.
--
-- Every value here is derivable from publish.observations (numberMatched of the same filter),
-- so the reader may read it; it is not a published collection.
-- Its columns are those of publish.observations (the same names and types, so that one
-- compiled filter reads both), and n.
CREATE TABLE publish.observation_counts AS
SELECT iso_week, week_start, week_end, indicator, indicator_name_sv, indicator_name_en, unit,
       actor_kind, value, suppressed, has_breakdown, 0::bigint AS n
FROM publish.observations
WITH NO DATA;
CREATE INDEX publish_obs_counts_indicator_week_idx
    ON publish.observation_counts (indicator, week_start);
CREATE INDEX publish_obs_counts_week_idx ON publish.observation_counts (week_start);

-- publish.refresh calls publish._refresh_observations by name: the rows are rebuilt by the
-- function of 0002 (renamed), then the counts of the same weeks.
ALTER FUNCTION publish._refresh_observations(integer, date, date)
    RENAME TO _refresh_observation_rows;

-- The counts of weeks [lo, hi] (all weeks when lo/hi are NULL), from publish.observations.
CREATE FUNCTION publish._refresh_observation_counts(lo date, hi date) RETURNS void
LANGUAGE sql AS
$$
    DELETE FROM publish.observation_counts
    WHERE lo IS NULL OR hi IS NULL OR week_start BETWEEN lo AND hi;
    INSERT INTO publish.observation_counts
    SELECT iso_week, week_start, week_end, indicator, indicator_name_sv, indicator_name_en,
           unit, actor_kind, value, suppressed, has_breakdown, count(*)
    FROM publish.observations
    WHERE lo IS NULL OR hi IS NULL OR week_start BETWEEN lo AND hi
    GROUP BY iso_week, week_start, week_end, indicator, indicator_name_sv, indicator_name_en,
             unit, actor_kind, value, suppressed, has_breakdown;
$$;

CREATE FUNCTION publish._refresh_observations(k integer, lo date, hi date) RETURNS void
LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM publish._refresh_observation_rows(k, lo, hi);
    PERFORM publish._refresh_observation_counts(lo, hi);
END
$$;

REVOKE ALL ON FUNCTION publish._refresh_observations(integer, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_observation_rows(integer, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_observation_counts(date, date) FROM PUBLIC;

SELECT publish._refresh_observation_counts(NULL, NULL);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_reader') THEN
        GRANT SELECT ON publish.observation_counts TO lagesbild_reader;
    END IF;
END
$$;
