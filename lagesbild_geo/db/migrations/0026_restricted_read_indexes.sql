-- Indexes for the restricted layers' reads (lagesbild_geo/server/restricted_provider.py),
-- measured with bench/serve.py (1,287 areas x 20 indicators x 104 weeks, the public request's
-- filter: one indicator, value >= 5, 12 weeks, a page of 100 sorted by id, 16 clients).
--
-- An actor's own cells (restricted.my_observations): the row-level security keeps the reads
-- to the actor's deliveries, and the only index, a BRIN on delivery_id (migration 0009), found
-- all of them: the 1.34 M cells of one delivery were read for the 15,444 of the indicator and
-- weeks asked for (~150 ms per statement, two statements per page). The writer stores a
-- delivery's cells sorted by indicator, week and area (store.deliveries._observation_table),
-- so a BRIN that also holds the indicator and the week finds the few blocks of those: as
-- cheap to keep as the one it replaces (no btree: migration 0009 says what one costs an
-- ingest), and a read of the whole delivery finds it by delivery_id as before.
DROP INDEX lagesbild.observation_delivery_brin;
CREATE INDEX observation_cell_brin ON lagesbild.observation
    USING brin (delivery_id, indicator_id, week_start) WITH (pages_per_range = 16);

-- The analyst's exact cells (restricted.exact_observations): the indexes migration 0007 gave
-- publish.observations for the same request. The count read 13,000 heap blocks of the
-- indicator's cells, scattered (~65 ms), and the page walked the primary key, filtering
-- 19,000 rows for 100 (~75 ms); with the columns the view's value is computed from included,
-- both are answered from the index and the small tables it joins.
DROP INDEX restricted.exact_cells_indicator_week_idx;
CREATE INDEX exact_cells_indicator_week_cover_idx
    ON restricted.exact_cells (indicator, week_start) INCLUDE (area_code, num, den);
CREATE INDEX exact_cells_indicator_id_cover_idx
    ON restricted.exact_cells (indicator, id) INCLUDE (week_start, area_code, num, den);

-- A filter on value (the public request's value >= 5) computes it for every cell the index
-- finds: as the views of migration 0025 had it, a count went through numeric and was cast
-- to double precision through its text form (numeric_float8), ~40 % of the count's time on
-- the analyst's layer. The same values, the count's first and cast directly (a bigint count
-- is exact in double precision); otherwise the views are 0025's.
CREATE OR REPLACE VIEW restricted.my_observations WITH (security_invoker = true) AS
SELECT o.delivery_id || ':' || o.area_code || ':' || to_char(o.week_start, 'IYYY-"W"IW')
           || ':' || o.indicator_id AS id,
       o.delivery_id, d.status AS delivery_status, d.actor_id, o.area_code,
       pa.name AS area_name, to_char(o.week_start, 'IYYY-"W"IW') AS iso_week, o.week_start,
       o.week_start + 6 AS week_end, o.indicator_id AS indicator,
       i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en, i.unit,
       CASE WHEN i.unit = 'count' THEN o.numerator::double precision
            WHEN i.unit = 'share' THEN round(100.0 * o.numerator / o.denominator, 1)::double precision
            WHEN i.unit = 'rate_per_1000' AND pa.population > 0
                 THEN round(1000.0 * o.numerator / pa.population, 2)::double precision
       END AS value,
       o.numerator, o.denominator,
       o.event_hours IS NOT NULL AS has_breakdown,
       -- one call per column, but only for the rows a page returns (a count never asks)
       (lagesbild.weekday_counts(o.event_hours))[1] AS by_weekday_mon,
       (lagesbild.weekday_counts(o.event_hours))[2] AS by_weekday_tue,
       (lagesbild.weekday_counts(o.event_hours))[3] AS by_weekday_wed,
       (lagesbild.weekday_counts(o.event_hours))[4] AS by_weekday_thu,
       (lagesbild.weekday_counts(o.event_hours))[5] AS by_weekday_fri,
       (lagesbild.weekday_counts(o.event_hours))[6] AS by_weekday_sat,
       (lagesbild.weekday_counts(o.event_hours))[7] AS by_weekday_sun,
       (lagesbild.hour_counts(o.event_hours))[1] AS by_hour_00,
       (lagesbild.hour_counts(o.event_hours))[2] AS by_hour_01,
       (lagesbild.hour_counts(o.event_hours))[3] AS by_hour_02,
       (lagesbild.hour_counts(o.event_hours))[4] AS by_hour_03,
       (lagesbild.hour_counts(o.event_hours))[5] AS by_hour_04,
       (lagesbild.hour_counts(o.event_hours))[6] AS by_hour_05,
       (lagesbild.hour_counts(o.event_hours))[7] AS by_hour_06,
       (lagesbild.hour_counts(o.event_hours))[8] AS by_hour_07,
       (lagesbild.hour_counts(o.event_hours))[9] AS by_hour_08,
       (lagesbild.hour_counts(o.event_hours))[10] AS by_hour_09,
       (lagesbild.hour_counts(o.event_hours))[11] AS by_hour_10,
       (lagesbild.hour_counts(o.event_hours))[12] AS by_hour_11,
       (lagesbild.hour_counts(o.event_hours))[13] AS by_hour_12,
       (lagesbild.hour_counts(o.event_hours))[14] AS by_hour_13,
       (lagesbild.hour_counts(o.event_hours))[15] AS by_hour_14,
       (lagesbild.hour_counts(o.event_hours))[16] AS by_hour_15,
       (lagesbild.hour_counts(o.event_hours))[17] AS by_hour_16,
       (lagesbild.hour_counts(o.event_hours))[18] AS by_hour_17,
       (lagesbild.hour_counts(o.event_hours))[19] AS by_hour_18,
       (lagesbild.hour_counts(o.event_hours))[20] AS by_hour_19,
       (lagesbild.hour_counts(o.event_hours))[21] AS by_hour_20,
       (lagesbild.hour_counts(o.event_hours))[22] AS by_hour_21,
       (lagesbild.hour_counts(o.event_hours))[23] AS by_hour_22,
       (lagesbild.hour_counts(o.event_hours))[24] AS by_hour_23,
       to_json(lagesbild.source_ref_list(o.source_refs))::text AS source_refs,
       pa.geom
FROM lagesbild.observation o
JOIN lagesbild.delivery d ON d.id = o.delivery_id
JOIN lagesbild.indicator i ON i.id = o.indicator_id
LEFT JOIN publish.areas pa ON pa.code = o.area_code;

CREATE OR REPLACE VIEW restricted.exact_observations WITH (security_invoker = true) AS
SELECT c.id, c.area_code, pa.name AS area_name, to_char(c.week_start, 'IYYY-"W"IW') AS iso_week,
       c.week_start, c.week_start + 6 AS week_end, c.indicator,
       i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en, i.unit, c.actor_kind,
       CASE WHEN i.unit = 'count' THEN c.num::double precision
            WHEN i.unit = 'share' THEN round(100.0 * c.num / c.den, 1)::double precision
            WHEN i.unit = 'rate_per_1000' AND pa.population > 0
                 THEN round(1000.0 * c.num / pa.population, 2)::double precision
       END AS value,
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
