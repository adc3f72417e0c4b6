-- The restricted layers' reads as index range scans (issue 13, performance), measured with
-- bench/serve.py (1,287 areas x 20 indicators x 104 weeks; the public request's filter: one
-- indicator, value >= 5, 12 weeks, a page of 100 sorted by id, 16 clients, 2 cores).
--
-- An actor's own cells. restricted.my_observations computed its id and value from
-- lagesbild.observation, so every page of bench_vaktbolaget (1.34 M own cells) found the
-- 15,444 cells of the indicator and weeks through the BRIN index, computed the id and the
-- value of each, kept the 12,521 that matched, counted them in a window and sorted them for
-- 100 (~40 ms of PostgreSQL CPU per request; 26-39 requests/s, p95 600-800 ms). Here each
-- actor's cells are stored with the id and the value already made, indexed by (actor,
-- indicator, id) and (actor, id): a page is an index range scan that stops after 100 rows,
-- and numberMatched is summed from restricted.own_cell_counts (per actor, delivery,
-- indicator, week and value, as publish.observation_counts of migration 0012) when the
-- filter names only its columns. The cells are written by triggers on lagesbild.observation
-- and lagesbild.delivery and checked by every full refresh (db/functions/26_own_cells.sql);
-- a delivery's status is read from lagesbild.delivery, so a review changes one row.
--
-- Row-level security still decides which rows exist: the policies below give the role
-- lagesbild_actor the rows of the actor in the transaction's setting (the caller,
-- lagesbild_geo/access/session.py) and nothing else, whatever filter, sort or id it sends;
-- no other server role is granted anything here (db/functions/95_restricted_layers.sql).
-- The policies read the setting themselves (lagesbild.current_actor() is defined after the
-- migrations, db/functions/90_access.sql), as those of migration 0020.
CREATE TABLE restricted.own_cells (
    actor_id    text NOT NULL,
    -- delivery:area:ISO week:indicator, as restricted.my_observations has always named it
    id          text NOT NULL,
    delivery_id bigint NOT NULL,
    area_code   text NOT NULL,
    week_start  date NOT NULL,
    indicator   text NOT NULL,
    -- what the public layer's value means (count, share in %, rate per 1,000 of the area's
    -- population in the current layer), exact: restricted.cell_value
    value       double precision,
    numerator   bigint NOT NULL,
    denominator bigint,
    event_hours smallint[],
    source_refs text,
    PRIMARY KEY (actor_id, id)
);
-- the page of one indicator in id order, its filters on week and value read from the index
CREATE INDEX own_cells_indicator_idx ON restricted.own_cells (actor_id, indicator, id)
    INCLUDE (week_start, value);

CREATE TABLE restricted.own_cell_counts (
    actor_id      text NOT NULL,
    delivery_id   bigint NOT NULL,
    indicator     text NOT NULL,
    week_start    date NOT NULL,
    value         double precision,
    has_breakdown boolean NOT NULL,
    n             bigint NOT NULL
);
CREATE INDEX own_cell_counts_idx ON restricted.own_cell_counts (actor_id, indicator, week_start);
CREATE INDEX own_cell_counts_delivery_idx ON restricted.own_cell_counts (delivery_id);

ALTER TABLE restricted.own_cells ENABLE ROW LEVEL SECURITY;
ALTER TABLE restricted.own_cell_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY actor_own ON restricted.own_cells TO lagesbild_actor
    USING (actor_id = nullif(current_setting('lagesbild.actor_id', true), ''));
CREATE POLICY actor_own ON restricted.own_cell_counts TO lagesbild_actor
    USING (actor_id = nullif(current_setting('lagesbild.actor_id', true), ''));

-- The same columns as migrations 0025/0026 gave the view, in the same order; the joins are
-- LEFT joins on primary keys, so that PostgreSQL leaves out those whose columns a statement
-- does not use (a page's ids are read from own_cells_indicator_idx alone). Every own cell
-- has its delivery (a trigger writes it only when both exist).
CREATE OR REPLACE VIEW restricted.my_observations WITH (security_invoker = true) AS
SELECT c.id, c.delivery_id, d.status AS delivery_status, c.actor_id, c.area_code,
       pa.name AS area_name, to_char(c.week_start, 'IYYY-"W"IW') AS iso_week, c.week_start,
       c.week_start + 6 AS week_end, c.indicator,
       i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en, i.unit,
       c.value, c.numerator, c.denominator,
       c.event_hours IS NOT NULL AS has_breakdown,
       -- one call per column, but only for the rows a page returns (a count never asks)
       (lagesbild.weekday_counts(c.event_hours))[1] AS by_weekday_mon,
       (lagesbild.weekday_counts(c.event_hours))[2] AS by_weekday_tue,
       (lagesbild.weekday_counts(c.event_hours))[3] AS by_weekday_wed,
       (lagesbild.weekday_counts(c.event_hours))[4] AS by_weekday_thu,
       (lagesbild.weekday_counts(c.event_hours))[5] AS by_weekday_fri,
       (lagesbild.weekday_counts(c.event_hours))[6] AS by_weekday_sat,
       (lagesbild.weekday_counts(c.event_hours))[7] AS by_weekday_sun,
       (lagesbild.hour_counts(c.event_hours))[1] AS by_hour_00,
       (lagesbild.hour_counts(c.event_hours))[2] AS by_hour_01,
       (lagesbild.hour_counts(c.event_hours))[3] AS by_hour_02,
       (lagesbild.hour_counts(c.event_hours))[4] AS by_hour_03,
       (lagesbild.hour_counts(c.event_hours))[5] AS by_hour_04,
       (lagesbild.hour_counts(c.event_hours))[6] AS by_hour_05,
       (lagesbild.hour_counts(c.event_hours))[7] AS by_hour_06,
       (lagesbild.hour_counts(c.event_hours))[8] AS by_hour_07,
       (lagesbild.hour_counts(c.event_hours))[9] AS by_hour_08,
       (lagesbild.hour_counts(c.event_hours))[10] AS by_hour_09,
       (lagesbild.hour_counts(c.event_hours))[11] AS by_hour_10,
       (lagesbild.hour_counts(c.event_hours))[12] AS by_hour_11,
       (lagesbild.hour_counts(c.event_hours))[13] AS by_hour_12,
       (lagesbild.hour_counts(c.event_hours))[14] AS by_hour_13,
       (lagesbild.hour_counts(c.event_hours))[15] AS by_hour_14,
       (lagesbild.hour_counts(c.event_hours))[16] AS by_hour_15,
       (lagesbild.hour_counts(c.event_hours))[17] AS by_hour_16,
       (lagesbild.hour_counts(c.event_hours))[18] AS by_hour_17,
       (lagesbild.hour_counts(c.event_hours))[19] AS by_hour_18,
       (lagesbild.hour_counts(c.event_hours))[20] AS by_hour_19,
       (lagesbild.hour_counts(c.event_hours))[21] AS by_hour_20,
       (lagesbild.hour_counts(c.event_hours))[22] AS by_hour_21,
       (lagesbild.hour_counts(c.event_hours))[23] AS by_hour_22,
       (lagesbild.hour_counts(c.event_hours))[24] AS by_hour_23,
       to_json(lagesbild.source_ref_list(c.source_refs))::text AS source_refs,
       pa.geom
FROM restricted.own_cells c
LEFT JOIN lagesbild.delivery d ON d.id = c.delivery_id
LEFT JOIN lagesbild.indicator i ON i.id = c.indicator
LEFT JOIN publish.areas pa ON pa.code = c.area_code;

-- numberMatched of restricted.my_observations: the columns of its filters that the counts
-- hold, under the view's names (the server compiles one filter for both:
-- lagesbild_geo/server/statements.py, COUNT_TABLES).
CREATE VIEW restricted.my_observation_counts WITH (security_invoker = true) AS
SELECT c.actor_id, c.delivery_id, d.status AS delivery_status, c.indicator,
       i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en, i.unit,
       to_char(c.week_start, 'IYYY-"W"IW') AS iso_week, c.week_start,
       c.week_start + 6 AS week_end, c.value, c.has_breakdown, c.n
FROM restricted.own_cell_counts c
LEFT JOIN lagesbild.delivery d ON d.id = c.delivery_id
LEFT JOIN lagesbild.indicator i ON i.id = c.indicator;

-- The analyst's exact cells, counted as publish.observation_counts counts the public ones:
-- the count of the analyst's request read ~15,000 index entries and computed the value of
-- each (~13 ms a request); kept by publish._refresh_exact with the cells.
CREATE TABLE restricted.exact_cell_counts (
    week_start    date NOT NULL,
    indicator     text NOT NULL,
    actor_kind    text NOT NULL,
    value         double precision,
    n_actors      integer NOT NULL,
    has_breakdown boolean NOT NULL,
    n             bigint NOT NULL
);
CREATE INDEX exact_cell_counts_idx ON restricted.exact_cell_counts (indicator, week_start);
CREATE INDEX exact_cell_counts_week_idx ON restricted.exact_cell_counts (week_start);

CREATE VIEW restricted.exact_observation_counts WITH (security_invoker = true) AS
SELECT c.indicator, i.name_sv AS indicator_name_sv, i.name_en AS indicator_name_en, i.unit,
       to_char(c.week_start, 'IYYY-"W"IW') AS iso_week, c.week_start,
       c.week_start + 6 AS week_end, c.actor_kind, c.value, c.n_actors, c.has_breakdown, c.n
FROM restricted.exact_cell_counts c
LEFT JOIN lagesbild.indicator i ON i.id = c.indicator;

-- The own cells are filled after the migrations (db/functions/26_own_cells.sql writes those
-- of every delivery that has none); the exact counts here, from the exact cells kept so far,
-- with the value as the analyst's view computes it.
INSERT INTO restricted.exact_cell_counts
SELECT week_start, indicator, actor_kind, value, n_actors, has_breakdown, count(*)
FROM restricted.exact_observations
GROUP BY 1, 2, 3, 4, 5, 6;
