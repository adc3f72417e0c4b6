-- Issue 14, item 2: a layer per indicator (situation-<id>, hotspots-<id>, trends-<id>), one
-- feature per area, so that what the weekly meeting looks at opens in QGIS 3.22 and GDAL 3.6
-- as a meaningful map without a client-side filter (lagesbild_geo/server/layers.py makes the
-- collections; docs/publishing.md lists their fields).
--
-- publish.situation_by_indicator: the long per-indicator figures the refresh already computes
-- (pg_temp.situation_long in publish._refresh_situation, functions/20_refresh.sql) before
-- pivoting them into the wide publish.situation, kept: one row per area and indicator, written
-- by the same function in the same transaction as the rest of the publication.
CREATE TABLE publish.situation_by_indicator (
    area_code         text NOT NULL,
    area_name         text NOT NULL,
    population        integer,
    indicator         text NOT NULL,
    indicator_name_sv text NOT NULL,
    indicator_name_en text NOT NULL,
    unit              text NOT NULL CHECK (unit IN ('count', 'share', 'rate_per_1000')),
    reference_week    text,              -- the indicator's own reference week, 2026-W07
    last4             double precision,
    prev12_mean       double precision,
    change_pct        double precision,
    value_status      text NOT NULL CHECK (value_status IN ('ok', 'protected', 'no_data')),
    geom              geometry(MultiPolygon, 4326) NOT NULL,
    -- unique, not the primary key: pygeoapi reflects the table with the layers' id (area_code)
    -- as its key, and SQLAlchemy warns when that differs from a declared one
    UNIQUE (indicator, area_code)
);
CREATE INDEX publish_situation_by_indicator_geom_idx
    ON publish.situation_by_indicator USING gist (geom);

-- The result layers by area: every current area for every indicator of the catalogue, with
-- the indicator's saved result where there is one (NULL where it was not computed: an
-- indicator without a saved run, an area added after the run). The columns of
-- publish.hotspots / publish.trends, in their order; the geometry is the current area's.
-- A layer reads one indicator (indicator = '<id>': the catalogue's primary key, then
-- publish_hotspots_indicator_idx / publish_trends_indicator_idx), ~N areas rows.
CREATE VIEW publish.hotspots_by_area AS
SELECT coalesce(h.id, a.code || ':' || i.id) AS id, a.code AS area_code, a.name AS area_name,
       i.id AS indicator, i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en,
       h.process, h.period, h.period_start, h.period_end, h.measure, h.value, h.z, h.p, h.bin,
       h.label_sv, h.label_en, h.pattern, h.pattern_sv, h.run_id, h.run_at, a.geom,
       h.publication_version
FROM publish.areas a
CROSS JOIN publish.indicators i
LEFT JOIN publish.hotspots h ON h.indicator = i.id AND h.area_code = a.code;

CREATE VIEW publish.trends_by_area AS
SELECT coalesce(t.id, a.code || ':' || i.id) AS id, a.code AS area_code, a.name AS area_name,
       i.id AS indicator, i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en,
       t.window_text, t.window_start, t.window_end, t.weeks, t.measure, t.trend,
       t.direction_sv, t.direction_en, t.tau, t.z, t.p, t.slope_per_week, t.run_id, t.run_at,
       a.geom, t.publication_version, t.q
FROM publish.areas a
CROSS JOIN publish.indicators i
LEFT JOIN publish.trends t ON t.indicator = i.id AND t.area_code = a.code;

-- Read like every publish table (the grants of functions/90_access.sql cover the schema's
-- tables and views each time it is applied; said here too for a database without those roles'
-- file applied yet).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_reader') THEN
        GRANT SELECT ON publish.situation_by_indicator, publish.hotspots_by_area,
                        publish.trends_by_area TO lagesbild_reader;
    END IF;
END
$$;

-- filled by the next refresh, which rebuilds everything (``lagesbild serve`` does it on start
-- when the version is 0, as after 0017 and 0025): an existing publication has no
-- situation_by_indicator rows until then
UPDATE publish.state SET version = 0;
