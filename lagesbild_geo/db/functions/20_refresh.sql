-- Lägesbild: the publication refresh, which rebuilds schema publish from approved data.
-- Repeatable: applied after every migrate (lagesbild_geo/db/connection.py), in the same
-- transaction, so this file is the current definition and the one place it is read; the
-- migrations that first made these functions (0002, 0012) are history. Whether a cell may be
-- published is decided by the rules in 10_suppression.sql.
--
-- publish.refresh is called in the transaction of every review that changes the approved data
-- (publish.review.change_status), of every area import (its caller, after store.areas) and by
-- `lagesbild publish refresh`.

-- Rebuild the observations of weeks [lo, hi] (all weeks when lo/hi are NULL), then their
-- counts (publish.observation_counts, which the server sums for numberMatched). The cells are
-- read from `source`: lagesbild.approved_observation while one layer version holds approved
-- data, else the crosswalked cells publish._place_observations made (docs/areas.md).
CREATE OR REPLACE FUNCTION publish._refresh_observations(k integer, lo date, hi date,
                                                         source regclass, version integer)
RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    IF lo IS NULL OR hi IS NULL THEN
        DELETE FROM publish.observations;
    ELSE
        DELETE FROM publish.observations WHERE week_start BETWEEN lo AND hi;
    END IF;
    EXECUTE format($query$
    INSERT INTO publish.observations (
        id, area_code, area_name, iso_week, week_start, week_end, indicator,
        indicator_name_sv, indicator_name_en, unit, actor_kind, value, numerator, denominator,
        suppressed, has_breakdown,
        by_weekday_mon, by_weekday_tue, by_weekday_wed, by_weekday_thu, by_weekday_fri,
        by_weekday_sat, by_weekday_sun,
        by_hour_00, by_hour_01, by_hour_02, by_hour_03, by_hour_04, by_hour_05, by_hour_06,
        by_hour_07, by_hour_08, by_hour_09, by_hour_10, by_hour_11, by_hour_12, by_hour_13,
        by_hour_14, by_hour_15, by_hour_16, by_hour_17, by_hour_18, by_hour_19, by_hour_20,
        by_hour_21, by_hour_22, by_hour_23, geom, area_version)
    WITH cells AS (
        SELECT o.area_code, o.week_start, o.indicator_id, o.actor_kind,
               sum(o.numerator) AS num,
               sum(o.denominator) AS den,
               count(*) = count(o.by_weekday) AS all_wd,
               count(*) = count(o.by_hour) AS all_hr,
               publish.array_sum(o.by_weekday) AS wd,
               publish.array_sum(o.by_hour) AS hr
        FROM %s o
        WHERE $1 IS NULL OR $2 IS NULL OR o.week_start BETWEEN $1 AND $2
        GROUP BY o.area_code, o.week_start, o.indicator_id, o.actor_kind
    ), judged AS (
        SELECT c.*, i.name_sv, i.name_en, i.unit, a.name AS area_name, a.geom,
               a.population,
               publish.is_small_cell(i.unit, c.num, c.den, $3) AS small
        FROM cells c
        JOIN lagesbild.indicator i ON i.id = c.indicator_id
        JOIN publish.areas a ON a.code = c.area_code
    ), safe AS (
        SELECT j.*,
               CASE WHEN j.all_wd AND NOT j.small THEN publish.protect_bins(j.wd, j.num, $3) END
                   AS wd_safe,
               CASE WHEN j.all_hr AND NOT j.small THEN publish.protect_bins(j.hr, j.num, $3) END
                   AS hr_safe
        FROM judged j
    )
    SELECT s.area_code || ':' || to_char(s.week_start, 'IYYY-"W"IW') || ':' || s.indicator_id
               || ':' || s.actor_kind,
           s.area_code, s.area_name, to_char(s.week_start, 'IYYY-"W"IW'), s.week_start,
           s.week_start + 6, s.indicator_id, s.name_sv, s.name_en, s.unit, s.actor_kind,
           CASE WHEN s.small THEN NULL
                WHEN s.unit = 'share' THEN round(100.0 * s.num / s.den, 1)::double precision
                WHEN s.unit = 'rate_per_1000' AND s.population > 0
                     THEN round(1000.0 * s.num / s.population, 2)::double precision
                WHEN s.unit = 'count' THEN s.num::double precision
           END,
           CASE WHEN s.small OR s.unit = 'count' THEN NULL ELSE s.num END,
           CASE WHEN s.small OR s.unit = 'count' THEN NULL
                WHEN s.unit = 'share' THEN s.den ELSE s.population END,
           s.small,
           s.all_wd OR s.all_hr,
           s.wd_safe[1], s.wd_safe[2], s.wd_safe[3], s.wd_safe[4], s.wd_safe[5], s.wd_safe[6],
           s.wd_safe[7],
           s.hr_safe[1], s.hr_safe[2], s.hr_safe[3], s.hr_safe[4], s.hr_safe[5], s.hr_safe[6],
           s.hr_safe[7], s.hr_safe[8], s.hr_safe[9], s.hr_safe[10], s.hr_safe[11],
           s.hr_safe[12], s.hr_safe[13], s.hr_safe[14], s.hr_safe[15], s.hr_safe[16],
           s.hr_safe[17], s.hr_safe[18], s.hr_safe[19], s.hr_safe[20], s.hr_safe[21],
           s.hr_safe[22], s.hr_safe[23], s.hr_safe[24],
           s.geom, $4
    FROM safe s
    $query$, source) USING lo, hi, k, version;
    PERFORM publish._refresh_observation_counts(lo, hi);
END
$$;

-- The counts of weeks [lo, hi] (all weeks when lo/hi are NULL), from publish.observations.
CREATE OR REPLACE FUNCTION publish._refresh_observation_counts(lo date, hi date) RETURNS void
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

-- The situation layer: one feature per level-3 area; per indicator the last four weeks up to
-- the reference week (the newest week with approved data) beside the weekly mean of the twelve
-- weeks before, and the change. Counts: last4 is the 4-week total, prev12_mean the weekly mean,
-- change_pct compares weekly means. Rates per 1,000: the same on rates. Shares: pooled shares
-- (sum of numerators over sum of denominators) of each period, in %. Every figure whose
-- underlying sum is 1..k-1 (shares: numerator or denominator minus numerator) is NULL and its
-- column is named in suppressed_fields; a change is given only when both sides are published.
-- The cells are read from `source`, as in publish._refresh_observations.
CREATE OR REPLACE FUNCTION publish._refresh_situation(k integer, ref date, source regclass)
RETURNS void LANGUAGE plpgsql AS
$$
DECLARE
    ind     record;
    cols    text := '';
    sel     text := '';
    wanted  text[];
    present text[];
BEGIN
    SELECT array_agg(c ORDER BY c) INTO wanted FROM (
        SELECT id || suffix AS c
        FROM lagesbild.indicator, unnest(ARRAY['_last4', '_prev12_mean', '_change_pct']) suffix
    ) w;
    SELECT array_agg(column_name::text ORDER BY column_name::text) INTO present
    FROM information_schema.columns
    WHERE table_schema = 'publish' AND table_name = 'situation'
      AND column_name ~ '_(last4|prev12_mean|change_pct)$';
    IF present IS NULL OR present IS DISTINCT FROM wanted THEN
        DROP TABLE IF EXISTS publish.situation;
        FOR ind IN SELECT id FROM lagesbild.indicator ORDER BY id LOOP
            cols := cols || format(', %I double precision, %I double precision, '
                                   '%I double precision',
                                   ind.id || '_last4', ind.id || '_prev12_mean',
                                   ind.id || '_change_pct');
        END LOOP;
        EXECUTE 'CREATE TABLE publish.situation (area_code text PRIMARY KEY, area_name text '
                'NOT NULL, population integer, reference_week text, last4_weeks text, '
                'prev12_weeks text, suppressed boolean NOT NULL, suppressed_fields text'
                || cols || ', geom geometry(MultiPolygon, 4326) NOT NULL)';
        CREATE INDEX publish_situation_geom_idx ON publish.situation USING gist (geom);
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_reader') THEN
            GRANT SELECT ON publish.situation TO lagesbild_reader;
        END IF;
    END IF;
    DELETE FROM publish.situation;
    IF ref IS NULL THEN
        INSERT INTO publish.situation (area_code, area_name, population, suppressed, geom)
        SELECT code, name, population, false, geom FROM publish.areas;
        RETURN;
    END IF;

    DROP TABLE IF EXISTS pg_temp.situation_long;
    EXECUTE format($query$
    CREATE TEMP TABLE situation_long ON COMMIT DROP AS
    WITH sums AS (
        SELECT o.area_code, o.indicator_id,
               sum(o.numerator) FILTER (WHERE o.week_start > %2$L::date - 28) AS n4,
               sum(o.denominator) FILTER (WHERE o.week_start > %2$L::date - 28) AS d4,
               sum(o.numerator) FILTER (WHERE o.week_start <= %2$L::date - 28) AS n12,
               sum(o.denominator) FILTER (WHERE o.week_start <= %2$L::date - 28) AS d12
        FROM %1$s o
        WHERE o.week_start > %2$L::date - 112 AND o.week_start <= %2$L::date
        GROUP BY o.area_code, o.indicator_id
    ), judged AS (
        SELECT s.*, i.unit, a.population,
               publish.is_small_cell(i.unit, s.n4, s.d4, %3$s) AS small4,
               publish.is_small_cell(i.unit, s.n12, s.d12, %3$s) AS small12
        FROM sums s
        JOIN lagesbild.indicator i ON i.id = s.indicator_id
        JOIN publish.areas a ON a.code = s.area_code
    ), valued AS (
        SELECT j.area_code, j.indicator_id, j.small4, j.small12,
               CASE WHEN j.small4 OR j.n4 IS NULL THEN NULL
                    WHEN j.unit = 'share' THEN round(100.0 * j.n4 / j.d4, 1)
                    WHEN j.unit = 'rate_per_1000' AND j.population > 0
                         THEN round(1000.0 * j.n4 / j.population, 2)
                    WHEN j.unit = 'count' THEN j.n4
               END AS last4,
               CASE WHEN j.small12 OR j.n12 IS NULL THEN NULL
                    WHEN j.unit = 'share' THEN round(100.0 * j.n12 / j.d12, 1)
                    WHEN j.unit = 'rate_per_1000' AND j.population > 0
                         THEN round(1000.0 * j.n12 / 12.0 / j.population, 3)
                    WHEN j.unit = 'count' THEN round(j.n12 / 12.0, 2)
               END AS prev12_mean,
               -- the change compares like with like: weekly means (shares: pooled shares)
               CASE WHEN j.small4 OR j.small12 OR j.n4 IS NULL OR j.n12 IS NULL
                         OR j.n12 = 0 THEN NULL
                    WHEN j.unit = 'share'
                         THEN round(100.0 * ((j.n4::numeric / j.d4) / (j.n12::numeric / j.d12)
                                             - 1), 1)
                    ELSE round(100.0 * ((j.n4 / 4.0) / (j.n12 / 12.0) - 1), 1)
               END AS change_pct
        FROM judged j
    )
    SELECT * FROM valued
    $query$, source, ref, k);

    sel := '';
    cols := '';
    FOR ind IN SELECT id FROM lagesbild.indicator ORDER BY id LOOP
        cols := cols || format(', %I, %I, %I', ind.id || '_last4', ind.id || '_prev12_mean',
                               ind.id || '_change_pct');
        sel := sel || format(
            ', max(l.last4) FILTER (WHERE l.indicator_id = %1$L)'
            ', max(l.prev12_mean) FILTER (WHERE l.indicator_id = %1$L)'
            ', max(l.change_pct) FILTER (WHERE l.indicator_id = %1$L)', ind.id);
    END LOOP;
    EXECUTE format(
        'INSERT INTO publish.situation (area_code, area_name, population, reference_week, '
        'last4_weeks, prev12_weeks, suppressed, suppressed_fields%s, geom) '
        'SELECT a.code, a.name, a.population, to_char(%2$L::date, ''IYYY-"W"IW''), '
        'to_char(%2$L::date - 21, ''IYYY-"W"IW'') || ''/'' || to_char(%2$L::date, ''IYYY-"W"IW''), '
        'to_char(%2$L::date - 105, ''IYYY-"W"IW'') || ''/'' '
        '|| to_char(%2$L::date - 28, ''IYYY-"W"IW''), '
        'coalesce(bool_or(l.small4 OR l.small12), false), '
        'nullif(concat_ws('','', VARIADIC array_agg(CASE WHEN l.small4 THEN l.indicator_id '
        '|| ''_last4'' END ORDER BY l.indicator_id) || array_agg(CASE WHEN l.small12 THEN '
        'l.indicator_id || ''_prev12_mean'' END ORDER BY l.indicator_id)), '''')'
        '%3$s, a.geom '
        'FROM publish.areas a LEFT JOIN situation_long l ON l.area_code = a.code '
        'GROUP BY a.code, a.name, a.population, a.geom',
        cols, ref, sel);
END
$$;

-- Where the cells of the publication are read from. While every approved delivery was made
-- against the current area layer (the common case) that is lagesbild.approved_observation
-- itself, untouched. Otherwise the cells of the earlier layer versions are carried to the
-- current areas by lagesbild.area_crosswalk (docs/areas.md): per old cell (version, area,
-- week, indicator, actor kind) its count is apportioned to the new areas by the weights, by
-- largest remainder, so that the pieces are whole numbers >= 0 adding up to the old count
-- (ties: the larger weight, then the code). A share apportions its numerator and the rest of
-- its denominator (denominator - numerator) alike, so each piece keeps numerator <=
-- denominator and both totals are kept; a piece without denominator is left out. The pieces
-- carry no weekday/hour breakdown (it cannot be apportioned bin by bin and stay consistent),
-- so a published cell that holds any of them has none. An area the new layer keeps unchanged
-- (basis 'unchanged') is not apportioned: its cells are read as they are, breakdowns included. The result is suppressed by the same
-- rules as any cell, after the pieces are added to the current version's counts.
CREATE OR REPLACE FUNCTION publish._place_observations(version integer) RETURNS regclass
LANGUAGE plpgsql AS
$$
BEGIN
    DROP TABLE IF EXISTS pg_temp.placed_observation;
    IF NOT EXISTS (SELECT 1 FROM lagesbild.delivery
                   WHERE status = 'approved' AND area_version IS DISTINCT FROM version) THEN
        RETURN 'lagesbild.approved_observation'::regclass;
    END IF;
    CREATE TEMP TABLE placed_observation ON COMMIT DROP AS
    SELECT o.area_code, o.week_start, o.indicator_id, o.actor_kind, o.numerator,
           o.denominator, o.by_weekday, o.by_hour
    FROM lagesbild.approved_observation o
    WHERE o.area_version = version
       OR EXISTS (SELECT 1 FROM lagesbild.area_crosswalk x
                  WHERE x.from_version = o.area_version AND x.from_code = o.area_code
                    AND x.to_version = version AND x.basis = 'unchanged')
    UNION ALL
    SELECT p.to_code, p.week_start, p.indicator_id, p.actor_kind, p.numerator,
           p.denominator, NULL::integer[], NULL::integer[]
    FROM (
        WITH old AS (
            SELECT o.area_version, o.area_code, o.week_start, o.indicator_id, o.actor_kind,
                   sum(o.numerator) AS num, sum(o.denominator) AS den
            FROM lagesbild.approved_observation o
            WHERE o.area_version IS DISTINCT FROM version
              AND NOT EXISTS (SELECT 1 FROM lagesbild.area_crosswalk x
                              WHERE x.from_version = o.area_version
                                AND x.from_code = o.area_code
                                AND x.to_version = version AND x.basis = 'unchanged')
            GROUP BY 1, 2, 3, 4, 5
        ), quota AS (
            SELECT old.*, x.to_code, x.weight,
                   old.num * x.weight::numeric AS qn,
                   coalesce(old.den - old.num, 0) * x.weight::numeric AS qr
            FROM old
            JOIN lagesbild.area_crosswalk x
              ON x.from_version = old.area_version AND x.from_code = old.area_code
             AND x.to_version = version
        ), ranked AS (
            SELECT q.*, floor(q.qn) AS fn, floor(q.qr) AS fr,
                   q.num - sum(floor(q.qn)) OVER cell AS short_n,
                   coalesce(q.den - q.num, 0) - sum(floor(q.qr)) OVER cell AS short_r,
                   row_number() OVER (cell ORDER BY q.qn - floor(q.qn) DESC, q.weight DESC,
                                      q.to_code) AS rank_n,
                   row_number() OVER (cell ORDER BY q.qr - floor(q.qr) DESC, q.weight DESC,
                                      q.to_code) AS rank_r
            FROM quota q
            WINDOW cell AS (PARTITION BY q.area_version, q.area_code, q.week_start,
                                         q.indicator_id, q.actor_kind)
        ), pieces AS (
            SELECT r.to_code, r.week_start, r.indicator_id, r.actor_kind, r.den,
                   (r.fn + (r.rank_n <= r.short_n)::int)::bigint AS n,
                   (r.fr + (r.rank_r <= r.short_r)::int)::bigint AS rest
            FROM ranked r
        )
        SELECT pc.to_code, pc.week_start, pc.indicator_id, pc.actor_kind, pc.n AS numerator,
               CASE WHEN pc.den IS NOT NULL THEN pc.n + pc.rest END AS denominator
        FROM pieces pc
        WHERE pc.den IS NULL OR pc.n + pc.rest > 0
    ) p;
    RETURN 'pg_temp.placed_observation'::regclass;
END
$$;

-- Rebuild the publication from approved data, in the caller's transaction, and bump the
-- version. k NULL keeps the k of the last refresh. lo/hi limit the rebuild of observations to
-- the weeks a delivery touched (the status change knows them); a change of k, or NULL weeks,
-- rebuilds everything. Returns the new version.
CREATE OR REPLACE FUNCTION publish.refresh(k integer DEFAULT NULL, lo date DEFAULT NULL,
                                hi date DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    st      publish.state;
    use_k   integer;
    ref     date;
    new_ver bigint;
    layer   integer := lagesbild.current_area_version();
    source  regclass;
BEGIN
    SELECT * INTO st FROM publish.state FOR UPDATE;  -- one refresh at a time
    use_k := coalesce(k, st.k);
    IF use_k < 2 THEN
        RAISE EXCEPTION 'k must be at least 2 (got %)', use_k;
    END IF;
    IF use_k <> st.k OR st.version = 0 THEN
        lo := NULL;
        hi := NULL;
    END IF;

    DELETE FROM publish.areas;
    INSERT INTO publish.areas (code, name, population, level2_code, level2_name, level1_code,
                               level1_name, geom, area_version)
    SELECT a.code, a.name, a.population, p2.code, p2.name, p1.code, p1.name,
           ST_Multi(ST_Transform(a.geom, 4326)), layer
    FROM lagesbild.area a
    LEFT JOIN lagesbild.area p2 ON p2.code = a.parent_code
    LEFT JOIN lagesbild.area p1 ON p1.code = p2.parent_code
    WHERE a.level = 3;

    DELETE FROM publish.indicators;
    INSERT INTO publish.indicators
    SELECT i.id, i.name_sv, i.name_en, i.unit,
           CASE i.unit WHEN 'count' THEN 'antal per vecka'
                       WHEN 'share' THEN 'andel i procent (täljare/nämnare)'
                       ELSE 'antal per 1 000 invånare och vecka' END,
           CASE i.unit WHEN 'count' THEN 'count per week'
                       WHEN 'share' THEN 'share in % (numerator/denominator)'
                       ELSE 'rate per 1,000 inhabitants per week' END,
           i.owner_kind, i.measure, i.est_category, i.strategic, i.catalogue_version,
           w.first_week, w.last_week
    FROM lagesbild.indicator i
    LEFT JOIN (SELECT indicator_id, min(week_start) AS first_week, max(week_start) AS last_week
               FROM lagesbild.approved_observation GROUP BY indicator_id) w
           ON w.indicator_id = i.id;

    source := publish._place_observations(layer);
    PERFORM publish._refresh_observations(use_k, lo, hi, source, layer);

    SELECT max(week_start) INTO ref FROM lagesbild.approved_observation;
    PERFORM publish._refresh_situation(use_k, ref, source);

    UPDATE publish.state
       SET version = version + 1, updated_at = clock_timestamp(), reference_week = ref,
           k = use_k
     RETURNING version INTO new_ver;
    RETURN new_ver;
END
$$;

-- Only the owner refreshes; the reader only reads.
REVOKE ALL ON FUNCTION publish.refresh(integer, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_observations(integer, date, date, regclass, integer)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_observation_counts(date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_situation(integer, date, regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._place_observations(integer) FROM PUBLIC;
