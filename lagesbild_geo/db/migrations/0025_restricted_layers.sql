-- Issue 13: the restricted layers (lagesbild_geo/server/restricted_provider.py serves them).
--
-- Views with security_invoker: they read the restricted tables with the privileges and under
-- the row-level security of whoever reads them (migration 0020), so an actor reading
-- restricted.my_observations gets its own deliveries' rows and nothing else, whatever filter,
-- sort or id it sends; nothing here decides who sees what. Grants are in
-- lagesbild_geo/db/functions/95_restricted_layers.sql.
--
-- Geometry: every row is one level-3 area's; it is publish.areas.geom (the current layer, in
-- CRS84, as the public layers), so that bbox filters work and a map client draws them. A row
-- of an area the current layer no longer has (a delivery made against an earlier layer) has
-- no geometry. The server does not read it from here: the provider takes each area's
-- geometry from its cache (lagesbild_geo/server/geojson.py), by area_code.

-- The actor's own exact cells, as delivered: one row per delivery, area, ISO week and
-- indicator, with the actor's own references of the events (source_refs, a JSON array of
-- text in event order: the link back to its own records). Every status of its deliveries
-- (pending, approved, rejected, withdrawn, replaced): the actor checks what it sent.
-- value is what the public layer's value means (count, share in %, rate per 1,000), exact.
CREATE VIEW restricted.my_observations WITH (security_invoker = true) AS
SELECT o.delivery_id || ':' || o.area_code || ':' || to_char(o.week_start, 'IYYY-"W"IW')
           || ':' || o.indicator_id AS id,
       o.delivery_id, d.status AS delivery_status, d.actor_id, o.area_code,
       pa.name AS area_name, to_char(o.week_start, 'IYYY-"W"IW') AS iso_week, o.week_start,
       o.week_start + 6 AS week_end, o.indicator_id AS indicator,
       i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en, i.unit,
       CASE WHEN i.unit = 'share' THEN round(100.0 * o.numerator / o.denominator, 1)
            WHEN i.unit = 'rate_per_1000' AND pa.population > 0
                 THEN round(1000.0 * o.numerator / pa.population, 2)
            WHEN i.unit = 'count' THEN o.numerator
       END::double precision AS value,
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

-- The actor's own deliveries, one row each: status, review, weeks and what it held.
CREATE VIEW restricted.my_deliveries WITH (security_invoker = true) AS
SELECT d.id, d.actor_id, d.file_name, d.shape, d.status, d.received_at, d.row_count,
       to_char(d.first_week, 'IYYY-"W"IW') AS first_week,
       to_char(d.last_week, 'IYYY-"W"IW') AS last_week,
       d.first_week AS week_start, d.last_week + 6 AS week_end,
       d.replaces_id, d.reviewed_by, d.reviewed_at, d.review_reason,
       c.cells, c.areas, c.total, c.indicators
FROM lagesbild.delivery d
LEFT JOIN LATERAL (
    SELECT count(*) AS cells, count(DISTINCT o.area_code) AS areas,
           sum(o.numerator) AS total,
           string_agg(DISTINCT o.indicator_id, ',' ORDER BY o.indicator_id) AS indicators
    FROM lagesbild.observation o
    WHERE o.delivery_id = d.id
) c ON true;

-- The municipality's exact joined picture: the shape of publish.observations (one row per
-- area, ISO week, indicator and actor kind), the exact sums of the approved contributions, with
-- n_actors the number of actors in the sum. No source references: they are each actor's link
-- to its own records, not the huvudman's. The cells are restricted.exact_cells, kept by the
-- publication's refresh from the same contributions, on the current area layer, that it
-- protects for the public (publish._refresh_exact, db/functions/25_exact.sql): the public cell
-- without the noise. (A view that summed lagesbild.observation on every page took ~85 ms a
-- page on 60 areas, growing with the history, and its computed id could use no index.)
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
