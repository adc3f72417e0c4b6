-- The analyst's exact layer reads a table the publication's refresh keeps, instead of summing
-- every approved observation on every page: restricted.exact_observations (0025) aggregated
-- the whole of lagesbild.observation per request (about 85 ms a page on 60 areas, growing with
-- the history), and its computed id could not use an index.
--
-- restricted.exact_cells: one row per area, ISO week, indicator and actor kind, the exact sum
-- of the approved contributions placed on the current area layer -- the same cells, in the
-- same refresh and transaction, as publish.observations is protected from
-- (publish._refresh_exact, db/functions/25_exact.sql). Read by the analyst only.
CREATE TABLE restricted.exact_cells (
    id         text PRIMARY KEY,  -- area:ISO week:indicator:actor kind, as publish.observations
    area_code  text NOT NULL,
    week_start date NOT NULL,
    indicator  text NOT NULL,
    actor_kind text NOT NULL,
    num        bigint NOT NULL,
    den        bigint,
    n_actors   integer NOT NULL,
    wd         integer[],
    hr         integer[]
);
CREATE INDEX exact_cells_indicator_week_idx ON restricted.exact_cells (indicator, week_start);

DROP VIEW restricted.exact_observations;
CREATE VIEW restricted.exact_observations WITH (security_invoker = true) AS
SELECT c.id, c.area_code, pa.name AS area_name, to_char(c.week_start, 'IYYY-"W"IW') AS iso_week,
       c.week_start, c.week_start + 6 AS week_end, c.indicator,
       i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en, i.unit, c.actor_kind,
       CASE WHEN i.unit = 'share' THEN round(100.0 * c.num / c.den, 1)
            WHEN i.unit = 'rate_per_1000' AND pa.population > 0
                 THEN round(1000.0 * c.num / pa.population, 2)
            WHEN i.unit = 'count' THEN c.num
       END::double precision AS value,
       c.num AS numerator,
       CASE WHEN i.unit = 'share' THEN c.den
            WHEN i.unit = 'rate_per_1000' THEN pa.population END::bigint AS denominator,
       c.n_actors,
       c.wd IS NOT NULL AS has_breakdown,
       c.wd[1] AS by_weekday_mon, c.wd[2] AS by_weekday_tue, c.wd[3] AS by_weekday_wed,
       c.wd[4] AS by_weekday_thu, c.wd[5] AS by_weekday_fri, c.wd[6] AS by_weekday_sat,
       c.wd[7] AS by_weekday_sun,
       c.hr[1] AS by_hour_00, c.hr[2] AS by_hour_01, c.hr[3] AS by_hour_02,
       c.hr[4] AS by_hour_03, c.hr[5] AS by_hour_04, c.hr[6] AS by_hour_05,
       c.hr[7] AS by_hour_06, c.hr[8] AS by_hour_07, c.hr[9] AS by_hour_08,
       c.hr[10] AS by_hour_09, c.hr[11] AS by_hour_10, c.hr[12] AS by_hour_11,
       c.hr[13] AS by_hour_12, c.hr[14] AS by_hour_13, c.hr[15] AS by_hour_14,
       c.hr[16] AS by_hour_15, c.hr[17] AS by_hour_16, c.hr[18] AS by_hour_17,
       c.hr[19] AS by_hour_18, c.hr[20] AS by_hour_19, c.hr[21] AS by_hour_20,
       c.hr[22] AS by_hour_21, c.hr[23] AS by_hour_22, c.hr[24] AS by_hour_23,
       pa.geom
FROM restricted.exact_cells c
JOIN lagesbild.indicator i ON i.id = c.indicator
LEFT JOIN publish.areas pa ON pa.code = c.area_code;

-- filled by the next refresh, which rebuilds everything (as after migration 0017)
UPDATE publish.state SET version = 0;
