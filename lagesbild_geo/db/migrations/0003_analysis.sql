-- Lägesbild analysis: the deliveries behind the public cube, the saved result layers
-- (publish.hotspots, publish.trends) and pygeoapi's job table.
--
-- Analyses are OGC API processes anyone may call, so they read only what is already public
-- (publish.observations, suppressed; see lagesbild_geo/analysis.py for why). Their result
-- tables therefore live in schema publish as well.
--
-- Which role writes what. The public server connects as lagesbild_reader (SELECT in schema
-- publish, nothing in schema lagesbild). Processes run inside that server, so this role gets
-- exactly the writes they need and nothing more:
--   * jobs.jobs: SELECT/INSERT/UPDATE/DELETE (pygeoapi's PostgreSQL job manager; a schema of
--     its own so that the job table is never mistaken for a public layer);
--   * publish.hotspots, publish.trends: INSERT/DELETE, publish.analysis_runs: INSERT
--     (a run saved with `publish: true`; the processes additionally require the server's
--     analysis token for that, see processes/common.py);
--   * publish.state: UPDATE of version/updated_at only, so that a saved run changes the
--     ETag of the public layers.
-- It still cannot read a single restricted row: the role is not given anything in schema
-- lagesbild, and publish.approved_deliveries below is a view owned by the schema owner that
-- shows only ids, actor kinds, weeks and indicator ids of approved deliveries.

-- Approved deliveries as the analyses need them: which weeks and indicators each covers (so
-- that a week without any delivery is "no data", not zeros) and their ids for the provenance.
-- Delivery ids are safe to publish: a number says nothing about any person, and every
-- approved delivery is already public through its counts.
CREATE VIEW publish.approved_deliveries AS
SELECT d.id, a.kind AS actor_kind, d.first_week, d.last_week, d.reviewed_at AS approved_at,
       ARRAY(SELECT DISTINCT o.indicator_id FROM lagesbild.observation o
             WHERE o.delivery_id = d.id ORDER BY 1) AS indicators
FROM lagesbild.delivery d
JOIN lagesbild.actor a ON a.id = d.actor_id
WHERE d.status = 'approved';

-- One row per saved run: what was computed, from what, with which software.
CREATE TABLE publish.analysis_runs (
    id          bigserial PRIMARY KEY,
    process     text NOT NULL,
    run_at      timestamptz NOT NULL DEFAULT now(),
    indicators  text[] NOT NULL,
    period      text NOT NULL,
    provenance  jsonb NOT NULL
);

-- The current hot spot result per indicator: one feature per area and indicator. Saved by
-- the `hotspots` process (pattern NULL) or `emerging-hotspots` (z, p, bin of the final week
-- and the Esri pattern). A new saved run replaces the indicator's rows.
CREATE TABLE publish.hotspots (
    id                text PRIMARY KEY,  -- area_code:indicator
    area_code         text NOT NULL,
    area_name         text NOT NULL,
    indicator         text NOT NULL,
    indicator_name_sv text NOT NULL,
    indicator_name_en text NOT NULL,
    process           text NOT NULL,
    period            text NOT NULL,     -- 2026-W30/2026-W45
    period_start      date NOT NULL,
    period_end        date NOT NULL,
    measure           text NOT NULL,     -- count | rate (per 1,000 inhabitants)
    value             double precision,
    z                 double precision,
    p                 double precision,
    bin               smallint,
    label_sv          text,
    label_en          text,
    pattern           text,
    pattern_sv        text,
    run_id            bigint NOT NULL REFERENCES publish.analysis_runs (id),
    run_at            timestamptz NOT NULL,
    geom              geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX publish_hotspots_geom_idx ON publish.hotspots USING gist (geom);
CREATE INDEX publish_hotspots_indicator_idx ON publish.hotspots (indicator);

-- The current trend per area and indicator (the layer the city web map embeds).
CREATE TABLE publish.trends (
    id                text PRIMARY KEY,  -- area_code:indicator
    area_code         text NOT NULL,
    area_name         text NOT NULL,
    indicator         text NOT NULL,
    indicator_name_sv text NOT NULL,
    indicator_name_en text NOT NULL,
    window_text       text NOT NULL,     -- 2025-W47/2026-W46
    window_start      date NOT NULL,
    window_end        date NOT NULL,
    weeks             integer NOT NULL,
    measure           text NOT NULL,
    trend             text NOT NULL CHECK (trend IN ('increasing', 'decreasing', 'no trend')),
    direction_sv      text NOT NULL,
    direction_en      text NOT NULL,
    tau               double precision,
    z                 double precision,
    p                 double precision,
    slope_per_week    double precision,
    run_id            bigint NOT NULL REFERENCES publish.analysis_runs (id),
    run_at            timestamptz NOT NULL,
    geom              geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX publish_trends_geom_idx ON publish.trends USING gist (geom);
CREATE INDEX publish_trends_indicator_idx ON publish.trends (indicator);

-- pygeoapi 0.24's PostgreSQL job manager (pygeoapi/process/manager/postgresql.py,
-- get_table_model): table `jobs` in the first schema of the connection's search_path.
-- `output` is only used when the manager has no output_dir; ours has one, the column is kept
-- so that either configuration works.
CREATE SCHEMA IF NOT EXISTS jobs;
CREATE TABLE jobs.jobs (
    identifier varchar PRIMARY KEY,
    type       varchar NOT NULL DEFAULT 'process',
    process_id varchar NOT NULL,
    created    timestamp,
    started    timestamp,
    finished   timestamp,
    updated    timestamp,
    status     varchar NOT NULL,
    location   varchar,
    mimetype   varchar,
    message    varchar,
    progress   integer NOT NULL,
    output     bytea
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_reader') THEN
        GRANT SELECT ON publish.approved_deliveries, publish.analysis_runs, publish.hotspots,
                        publish.trends TO lagesbild_reader;
        GRANT INSERT, DELETE ON publish.hotspots, publish.trends TO lagesbild_reader;
        GRANT INSERT ON publish.analysis_runs TO lagesbild_reader;
        GRANT USAGE ON SEQUENCE publish.analysis_runs_id_seq TO lagesbild_reader;
        GRANT UPDATE (version, updated_at) ON publish.state TO lagesbild_reader;
        GRANT USAGE ON SCHEMA jobs TO lagesbild_reader;
        GRANT SELECT, INSERT, UPDATE, DELETE ON jobs.jobs TO lagesbild_reader;
    END IF;
END
$$;
