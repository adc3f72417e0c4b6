-- Lägesbild core schema: areas, indicators, actors, deliveries with review, exact counts.
-- Everything in schema `lagesbild` is RESTRICTED: exact counts, per actor. Public outputs are
-- views in other schemas that only read approved data and suppress small numbers.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA IF NOT EXISTS lagesbild;

CREATE TABLE lagesbild.area (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9A-Za-z]+$'),
    name        text NOT NULL,
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 3),
    parent_code text REFERENCES lagesbild.area (code) DEFERRABLE INITIALLY DEFERRED,
    population  integer CHECK (population >= 0),
    geom        geometry(MultiPolygon, 3006) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX area_geom_idx ON lagesbild.area USING gist (geom);
CREATE INDEX area_level_idx ON lagesbild.area (level);

-- What each area import found (gaps, overlaps, repairs), for the GIS person to read later.
CREATE TABLE lagesbild.area_import (
    id          serial PRIMARY KEY,
    source      text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    report      jsonb NOT NULL
);

CREATE TABLE lagesbild.actor_kind (
    id      text PRIMARY KEY,
    name_sv text NOT NULL,
    name_en text NOT NULL
);

CREATE TABLE lagesbild.actor (
    id   text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]*$'),
    kind text NOT NULL REFERENCES lagesbild.actor_kind (id),
    name text NOT NULL
);

CREATE TABLE lagesbild.indicator (
    id                text PRIMARY KEY CHECK (id ~ '^[a-z0-9_]+$'),
    name_sv           text NOT NULL,
    name_en           text NOT NULL,
    unit              text NOT NULL CHECK (unit IN ('count', 'share', 'rate_per_1000')),
    owner_kind        text NOT NULL,
    measure           text NOT NULL CHECK (measure IN ('direct', 'indirect')),
    est_category      boolean NOT NULL DEFAULT false,
    strategic         boolean NOT NULL DEFAULT false,
    catalogue_version text NOT NULL,
    CHECK (owner_kind = 'any' OR owner_kind IN ('police', 'rescue', 'security', 'housing',
                                                'education', 'social', 'municipality'))
);

CREATE TABLE lagesbild.delivery (
    id             bigserial PRIMARY KEY,
    actor_id       text NOT NULL REFERENCES lagesbild.actor (id),
    file_name      text NOT NULL,
    content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    shape          text NOT NULL CHECK (shape IN ('aggregated', 'events')),
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn', 'replaced')),
    received_at    timestamptz NOT NULL DEFAULT now(),
    row_count      integer NOT NULL CHECK (row_count > 0),
    first_week     date NOT NULL,
    last_week      date NOT NULL,
    replaces_id    bigint REFERENCES lagesbild.delivery (id),
    reviewed_by    text,
    reviewed_at    timestamptz,
    review_reason  text,
    report         jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (actor_id, content_sha256),
    CHECK (status <> 'rejected' OR (review_reason IS NOT NULL AND review_reason <> '')),
    CHECK (status NOT IN ('approved', 'rejected') OR reviewed_by IS NOT NULL)
);
CREATE INDEX delivery_status_idx ON lagesbild.delivery (status);

-- Who did what to a delivery, and when: received, approved, rejected, withdrawn, replaced.
CREATE TABLE lagesbild.delivery_log (
    id          bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES lagesbild.delivery (id),
    action      text NOT NULL,
    by_whom     text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    detail      text
);

-- Exact counts per delivery, area, ISO week and indicator. Counts are integers; shares keep
-- numerator and denominator; rates per 1,000 keep the count (the denominator is the area's
-- population). by_weekday (Mon..Sun) and by_hour (0..23) exist where the data came as events.
CREATE TABLE lagesbild.observation (
    delivery_id  bigint NOT NULL REFERENCES lagesbild.delivery (id),
    area_code    text NOT NULL REFERENCES lagesbild.area (code),
    week_start   date NOT NULL CHECK (extract(isodow FROM week_start) = 1),
    indicator_id text NOT NULL REFERENCES lagesbild.indicator (id),
    numerator    bigint NOT NULL CHECK (numerator >= 0),
    denominator  bigint CHECK (denominator > 0 AND numerator <= denominator),
    by_weekday   integer[] CHECK (by_weekday IS NULL OR cardinality(by_weekday) = 7),
    by_hour      integer[] CHECK (by_hour IS NULL OR cardinality(by_hour) = 24),
    source_refs  text[],
    PRIMARY KEY (delivery_id, area_code, week_start, indicator_id)
);
CREATE INDEX observation_cell_idx ON lagesbild.observation (indicator_id, week_start, area_code);

-- Hourly keys of delivered events, kept only to detect the same category in the same area and
-- hour reported by different actors (possible double reporting). No positions, no event rows.
CREATE TABLE lagesbild.event_hour (
    delivery_id  bigint NOT NULL REFERENCES lagesbild.delivery (id),
    area_code    text NOT NULL,
    indicator_id text NOT NULL,
    hour_start   timestamp NOT NULL,
    n            integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (delivery_id, area_code, indicator_id, hour_start)
);
CREATE INDEX event_hour_key_idx ON lagesbild.event_hour (area_code, indicator_id, hour_start);

CREATE TABLE lagesbild.double_report (
    id           bigserial PRIMARY KEY,
    area_code    text NOT NULL,
    indicator_id text NOT NULL,
    hour_start   timestamp NOT NULL,
    delivery_a   bigint NOT NULL REFERENCES lagesbild.delivery (id),
    delivery_b   bigint NOT NULL REFERENCES lagesbild.delivery (id),
    n_a          integer NOT NULL,
    n_b          integer NOT NULL,
    detected_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (delivery_a < delivery_b),
    UNIQUE (area_code, indicator_id, hour_start, delivery_a, delivery_b)
);

-- The only rows any published layer may read: observations of approved deliveries.
CREATE VIEW lagesbild.approved_observation AS
SELECT o.delivery_id, o.area_code, o.week_start, o.indicator_id, o.numerator, o.denominator,
       o.by_weekday, o.by_hour, d.actor_id, a.kind AS actor_kind
FROM lagesbild.observation o
JOIN lagesbild.delivery d ON d.id = o.delivery_id
JOIN lagesbild.actor a ON a.id = d.actor_id
WHERE d.status = 'approved';
