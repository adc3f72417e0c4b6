-- Area layers change: SCB revised DeSO in 2025, municipalities revise their NYKO areas. Until
-- now a new layer that lacked a code stored deliveries use was refused, with no way forward.
-- From here on an area import that changes a layer deliveries were made against creates a new
-- version of the layer (docs/areas.md):
--
-- * lagesbild.area_version: one row per version (what the import was and found); the current
--   version is the newest (lagesbild.current_area_version()). lagesbild.area keeps holding
--   the current version's areas (every reader of the layer reads it unchanged).
-- * lagesbild.area_past: the level-3 areas of the earlier versions, keyed (version, code), kept
--   with their geometry and population so that a crosswalk to any later layer can be made.
-- * lagesbild.delivery.area_version: the version a delivery was delivered against. Stored
--   deliveries keep their codes; their codes mean the areas of that version.
-- * lagesbild.area_crosswalk: for each level-3 area of an earlier version, the share (weight)
--   of it that lies in each area of the current version; the publication apportions the
--   history of the earlier versions to the current areas by these weights.
CREATE TABLE lagesbild.area_version (
    id             serial PRIMARY KEY,
    source         text NOT NULL,
    imported_at    timestamptz NOT NULL DEFAULT now(),
    report         jsonb NOT NULL DEFAULT '{}'::jsonb,
    level_prefixes smallint[]
);

CREATE FUNCTION lagesbild.current_area_version() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT max(id) FROM lagesbild.area_version $$;

CREATE TABLE lagesbild.area_past (
    version_id integer NOT NULL REFERENCES lagesbild.area_version (id),
    code       text NOT NULL,
    name       text NOT NULL,
    population integer CHECK (population >= 0),
    geom       geometry(MultiPolygon, 3006) NOT NULL,
    PRIMARY KEY (version_id, code)
);

CREATE TABLE lagesbild.area_crosswalk (
    from_version integer NOT NULL REFERENCES lagesbild.area_version (id),
    from_code    text NOT NULL,
    to_version   integer NOT NULL REFERENCES lagesbild.area_version (id),
    to_code      text NOT NULL,
    weight       double precision NOT NULL CHECK (weight > 0 AND weight <= 1),
    basis        text NOT NULL CHECK (basis IN ('unchanged', 'population', 'area')),
    PRIMARY KEY (from_version, from_code, to_code),
    FOREIGN KEY (from_version, from_code) REFERENCES lagesbild.area_past (version_id, code)
);

ALTER TABLE lagesbild.area_import
    ADD COLUMN area_version integer REFERENCES lagesbild.area_version (id);

-- The layer imported before this migration is version 1.
INSERT INTO lagesbild.area_version (source, imported_at, report)
SELECT i.source, i.imported_at, i.report
FROM lagesbild.area_import i
WHERE EXISTS (SELECT 1 FROM lagesbild.area)
ORDER BY i.id DESC
LIMIT 1;
UPDATE lagesbild.area_import SET area_version = lagesbild.current_area_version();

-- NULL only while no layer exists, when no delivery can be stored (its codes are checked
-- against lagesbild.area in the same transaction).
ALTER TABLE lagesbild.delivery
    ADD COLUMN area_version integer REFERENCES lagesbild.area_version (id);
UPDATE lagesbild.delivery SET area_version = lagesbild.current_area_version();
ALTER TABLE lagesbild.delivery
    ALTER COLUMN area_version SET DEFAULT lagesbild.current_area_version();
CREATE INDEX delivery_area_version_idx ON lagesbild.delivery (area_version);

-- The same columns as 0008's, and the version the delivery was made against.
CREATE OR REPLACE VIEW lagesbild.approved_observation AS
SELECT o.delivery_id, o.area_code, o.week_start, o.indicator_id, o.numerator, o.denominator,
       lagesbild.weekday_counts(o.event_hours) AS by_weekday,
       lagesbild.hour_counts(o.event_hours) AS by_hour,
       d.actor_id, a.kind AS actor_kind, d.area_version
FROM lagesbild.observation o
JOIN lagesbild.delivery d ON d.id = o.delivery_id
JOIN lagesbild.actor a ON a.id = d.actor_id
WHERE d.status = 'approved';

-- The published layers name the layer version their areas are of.
ALTER TABLE publish.areas ADD COLUMN area_version integer;
ALTER TABLE publish.observations ADD COLUMN area_version integer;
UPDATE publish.areas SET area_version = lagesbild.current_area_version();
UPDATE publish.observations SET area_version = lagesbild.current_area_version();

-- functions/20_refresh.sql now reads the observations from a relation it is given (the
-- approved observations, or their crosswalk to the current layer): the old signatures go.
DROP FUNCTION publish._refresh_observations(integer, date, date);
DROP FUNCTION publish._refresh_situation(integer, date);
