-- Lägesbild: the publication refresh, which rebuilds schema publish from approved data.
-- Repeatable: applied after every migrate (lagesbild_geo/db/connection.py), in the same
-- transaction, so this file is the current definition and the one place it is read; the
-- migrations that first made these functions (0002, 0012, 0017) are history.
--
-- One protection step between the restricted store and everything public (docs/disclosure.md):
-- publish._refresh_begin collects the contributions (one actor's part of one cell) with their
-- digests; lagesbild_geo/publish/publication.py protects them with the cell key method
-- (lagesbild_geo/disclosure/) into pg_temp.protected_contribution; publish._refresh_finish
-- builds every public layer from the protected contributions only: a published cell is the
-- sum of its protected contributions, and every other public figure (situation, counts, the
-- indicators' weeks) is computed from the published cells, never from the exact ones.
--
-- Called in the transaction of every review that changes the approved data
-- (publish.review.change_status), of every area import and by `lagesbild publish refresh`,
-- always through publication.refresh.

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
-- (basis 'unchanged') is not apportioned: its cells are read as they are, breakdowns
-- included. The result is protected like any cell, after the pieces are added to the
-- current version's counts.
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
    SELECT o.actor_id, o.area_code, o.week_start, o.indicator_id, o.actor_kind, o.numerator,
           o.denominator, o.by_weekday, o.by_hour
    FROM lagesbild.approved_observation o
    WHERE o.area_version = version
       OR EXISTS (SELECT 1 FROM lagesbild.area_crosswalk x
                  WHERE x.from_version = o.area_version AND x.from_code = o.area_code
                    AND x.to_version = version AND x.basis = 'unchanged')
    UNION ALL
    SELECT p.actor_id, p.to_code, p.week_start, p.indicator_id, p.actor_kind, p.numerator,
           p.denominator, NULL::integer[], NULL::integer[]
    FROM (
        WITH old AS (
            SELECT o.area_version, o.actor_id, o.area_code, o.week_start, o.indicator_id,
                   o.actor_kind, sum(o.numerator) AS num, sum(o.denominator) AS den
            FROM lagesbild.approved_observation o
            WHERE o.area_version IS DISTINCT FROM version
              AND NOT EXISTS (SELECT 1 FROM lagesbild.area_crosswalk x
                              WHERE x.from_version = o.area_version
                                AND x.from_code = o.area_code
                                AND x.to_version = version AND x.basis = 'unchanged')
            GROUP BY 1, 2, 3, 4, 5, 6
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
            WINDOW cell AS (PARTITION BY q.area_version, q.actor_id, q.area_code,
                                         q.week_start, q.indicator_id, q.actor_kind)
        ), pieces AS (
            SELECT r.actor_id, r.to_code, r.week_start, r.indicator_id, r.actor_kind, r.den,
                   (r.fn + (r.rank_n <= r.short_n)::int)::bigint AS n,
                   (r.fr + (r.rank_r <= r.short_r)::int)::bigint AS rest
            FROM ranked r
        )
        SELECT pc.actor_id, pc.to_code, pc.week_start, pc.indicator_id, pc.actor_kind,
               pc.n AS numerator,
               CASE WHEN pc.den IS NOT NULL THEN pc.n + pc.rest END AS denominator
        FROM pieces pc
        WHERE pc.den IS NULL OR pc.n + pc.rest > 0
    ) p;
    RETURN 'pg_temp.placed_observation'::regclass;
END
$$;

-- Begin a refresh: lock the state, settle the parameters (k NULL keeps the last; D and V NULL
-- keep the last unless k changed, then D = k - 2 and V = min(1, D²/2): disclosure/ptable.py),
-- rebuild the areas, and collect in
-- pg_temp.contribution_in the contributions of weeks [lo, hi] (all weeks when a parameter
-- changed, on the first refresh, or when lo/hi are NULL) with their digests. Returns the
-- settled parameters and the weeks to rebuild (NULL: all).
CREATE OR REPLACE FUNCTION publish._refresh_begin(k integer, d integer, v double precision,
                                                  lo date, hi date, inds text[], kinds text[])
RETURNS TABLE (use_k integer, use_d integer, use_v double precision, first_week date,
               last_week date, indicators text[], actor_kinds text[], layer integer)
LANGUAGE plpgsql AS
$$
DECLARE
    st     publish.state;
    source regclass;
    secret bytea;
BEGIN
    SELECT * INTO st FROM publish.state FOR UPDATE;  -- one refresh at a time
    use_k := coalesce(k, st.k);
    IF use_k < 2 THEN
        RAISE EXCEPTION 'k must be at least 2 (got %)', use_k;
    END IF;
    use_d := coalesce(d, CASE WHEN use_k = st.k THEN st.ckm_d END, greatest(1, use_k - 2));
    use_v := coalesce(v, CASE WHEN use_k = st.k THEN st.ckm_v END,
                      least(1.0, use_d * use_d / 2.0));
    IF use_d < 1 OR use_v <= 0 THEN
        RAISE EXCEPTION 'D must be at least 1 and V above 0 (got %, %)', use_d, use_v;
    END IF;
    IF use_k <> st.k OR use_d IS DISTINCT FROM st.ckm_d OR use_v IS DISTINCT FROM st.ckm_v
       OR st.version = 0 THEN
        lo := NULL;
        hi := NULL;
    END IF;
    IF lo IS NULL OR hi IS NULL THEN
        lo := NULL;
        hi := NULL;
        inds := NULL;
        kinds := NULL;
    END IF;
    layer := lagesbild.current_area_version();

    DELETE FROM publish.areas;
    INSERT INTO publish.areas (code, name, population, level2_code, level2_name, level1_code,
                               level1_name, geom, area_version)
    SELECT a.code, a.name, a.population, p2.code, p2.name, p1.code, p1.name,
           ST_Multi(ST_Transform(a.geom, 4326)), layer
    FROM lagesbild.area a
    LEFT JOIN lagesbild.area p2 ON p2.code = a.parent_code
    LEFT JOIN lagesbild.area p1 ON p1.code = p2.parent_code
    WHERE a.level = 3;

    SELECT s.secret INTO secret FROM lagesbild.protection_secret s;
    IF secret IS NULL THEN
        RAISE EXCEPTION 'lagesbild.protection_secret is empty (migration 0017 makes it)';
    END IF;
    source := publish._place_observations(layer);
    DROP TABLE IF EXISTS pg_temp.contribution_in;
    EXECUTE format($query$
    CREATE TEMP TABLE contribution_in ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY g.area_code, g.week_start, g.indicator_id,
                                       g.actor_kind, g.actor_id) AS rn,
           g.*, i.unit,
           publish._contribution_digest(%2$L::bytea, g.actor_id, g.area_code, g.week_start,
               g.indicator_id, g.actor_kind, g.num, g.den, g.wd, g.hr) AS digest
    FROM (
        SELECT o.actor_id, o.area_code, o.week_start, o.indicator_id, o.actor_kind,
               sum(o.numerator) AS num, sum(o.denominator) AS den,
               CASE WHEN count(*) = count(o.by_weekday) THEN publish.array_sum(o.by_weekday)
               END AS wd,
               CASE WHEN count(*) = count(o.by_hour) THEN publish.array_sum(o.by_hour) END AS hr
        FROM %1$s o
        WHERE (%3$L::date IS NULL OR o.week_start BETWEEN %3$L::date AND %4$L::date)
          AND (%5$L::text[] IS NULL OR o.indicator_id = ANY(%5$L::text[]))
          AND (%6$L::text[] IS NULL OR o.actor_kind = ANY(%6$L::text[]))
        GROUP BY o.actor_id, o.area_code, o.week_start, o.indicator_id, o.actor_kind
    ) g
    JOIN lagesbild.indicator i ON i.id = g.indicator_id
    $query$, source, secret, lo, hi, inds, kinds);
    DROP TABLE IF EXISTS pg_temp.protected_contribution;
    CREATE TEMP TABLE protected_contribution (
        rn      bigint PRIMARY KEY,
        num     bigint NOT NULL CHECK (num >= 0),
        den     bigint CHECK (den >= 0),
        wd      integer[],
        hr      integer[],
        bins_ok boolean NOT NULL
    ) ON COMMIT DROP;
    first_week := lo;
    last_week := hi;
    indicators := inds;
    actor_kinds := kinds;
    RETURN NEXT;
END
$$;

-- The observations of weeks [lo, hi], indicators inds and actor kinds kinds (each: all when
-- NULL) from the protected contributions: a
-- cell is the sum of its contributions' protected figures. A cell that an approved event
-- delivery covers (its weeks, its indicators, every area) and that has no event is a real
-- zero, published as 0 with an all-zero breakdown. A share whose protected denominator is 0
-- cannot be shown (protected); a rate needs the area's population (no_population). A
-- breakdown is published when every contribution has one within D of the truth
-- (pg_temp.protected_contribution.bins_ok) and the published total is 0 or at least k + nD
-- (n contributions), so that whatever the noise at least k events share it: a true zero bin
-- stays zero, so a small cell's breakdown would show exactly when its few events happened
-- (found by an outside attack: one event's weekday and hour). Else it is protected (NULL bins).
CREATE OR REPLACE FUNCTION publish._refresh_observations(lo date, hi date, inds text[],
                                                         kinds text[], layer integer,
                                                         k integer, d integer)
RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    IF lo IS NULL OR hi IS NULL THEN
        DELETE FROM publish.observations;
    ELSE
        DELETE FROM publish.observations
        WHERE week_start BETWEEN lo AND hi
          AND (inds IS NULL OR indicator = ANY(inds))
          AND (kinds IS NULL OR actor_kind = ANY(kinds));
    END IF;
    INSERT INTO publish.observations (
        id, area_code, area_name, iso_week, week_start, week_end, indicator,
        indicator_name_sv, indicator_name_en, unit, actor_kind, value, numerator, denominator,
        value_status, has_breakdown, breakdown_status,
        by_weekday_mon, by_weekday_tue, by_weekday_wed, by_weekday_thu, by_weekday_fri,
        by_weekday_sat, by_weekday_sun,
        by_hour_00, by_hour_01, by_hour_02, by_hour_03, by_hour_04, by_hour_05, by_hour_06,
        by_hour_07, by_hour_08, by_hour_09, by_hour_10, by_hour_11, by_hour_12, by_hour_13,
        by_hour_14, by_hour_15, by_hour_16, by_hour_17, by_hour_18, by_hour_19, by_hour_20,
        by_hour_21, by_hour_22, by_hour_23, geom, area_version)
    WITH cells AS (
        SELECT c.area_code, c.week_start, c.indicator_id, c.actor_kind,
               sum(p.num) AS num, sum(p.den) AS den, count(*) AS n,
               bool_and(c.wd IS NOT NULL AND c.hr IS NOT NULL) AS has_bins,
               bool_and(p.bins_ok) AS bins_ok,
               publish.array_sum(p.wd) AS wd, publish.array_sum(p.hr) AS hr
        FROM pg_temp.contribution_in c
        JOIN pg_temp.protected_contribution p ON p.rn = c.rn
        GROUP BY c.area_code, c.week_start, c.indicator_id, c.actor_kind
    ), covered AS (
        SELECT DISTINCT a.code AS area_code, w.week::date AS week_start, x.indicator_id,
               act.kind AS actor_kind
        FROM lagesbild.delivery d
        JOIN lagesbild.actor act ON act.id = d.actor_id
        CROSS JOIN LATERAL generate_series(d.first_week, d.last_week, interval '7 days') w(week)
        CROSS JOIN LATERAL (SELECT DISTINCT o.indicator_id FROM lagesbild.observation o
                            WHERE o.delivery_id = d.id) x
        CROSS JOIN publish.areas a
        WHERE d.status = 'approved' AND d.shape = 'events'
          AND (lo IS NULL OR hi IS NULL OR (d.last_week >= lo AND d.first_week <= hi))
          AND (lo IS NULL OR hi IS NULL OR w.week::date BETWEEN lo AND hi)
          AND (inds IS NULL OR x.indicator_id = ANY(inds))
          AND (kinds IS NULL OR act.kind = ANY(kinds))
    ), every_cell AS (
        SELECT area_code, week_start, indicator_id, actor_kind,
               coalesce(c.num, 0) AS num, c.den, coalesce(c.n, 0) AS n,
               coalesce(c.has_bins, true) AS has_bins,
               coalesce(c.bins_ok, true) AS bins_ok,
               coalesce(c.wd, array_fill(0, ARRAY[7])) AS wd,
               coalesce(c.hr, array_fill(0, ARRAY[24])) AS hr
        FROM cells c
        FULL JOIN covered v USING (area_code, week_start, indicator_id, actor_kind)
    ), judged AS (
        SELECT e.*, i.name_sv, i.name_en, i.unit, a.name AS area_name, a.geom, a.population,
               CASE WHEN i.unit = 'share' AND NOT coalesce(e.den > 0, false) THEN 'protected'
                    WHEN i.unit = 'rate_per_1000' AND NOT coalesce(a.population > 0, false)
                         THEN 'no_population'
                    ELSE 'published' END AS status,
               e.has_bins AND e.bins_ok AND (e.num = 0 OR e.num >= k + d * e.n) AS show_bins
        FROM every_cell e
        JOIN lagesbild.indicator i ON i.id = e.indicator_id
        JOIN publish.areas a ON a.code = e.area_code
    )
    SELECT s.area_code || ':' || to_char(s.week_start, 'IYYY-"W"IW') || ':' || s.indicator_id
               || ':' || s.actor_kind,
           s.area_code, s.area_name, to_char(s.week_start, 'IYYY-"W"IW'), s.week_start,
           s.week_start + 6, s.indicator_id, s.name_sv, s.name_en, s.unit, s.actor_kind,
           CASE WHEN s.status <> 'published' THEN NULL
                WHEN s.unit = 'share' THEN round(100.0 * s.num / s.den, 1)::double precision
                WHEN s.unit = 'rate_per_1000'
                     THEN round(1000.0 * s.num / s.population, 2)::double precision
                ELSE s.num::double precision
           END,
           CASE WHEN s.unit = 'count' THEN NULL ELSE s.num END,
           CASE WHEN s.unit = 'share' THEN s.den
                WHEN s.unit = 'rate_per_1000' THEN s.population END,
           s.status,
           s.has_bins,
           CASE WHEN s.has_bins THEN CASE WHEN s.show_bins THEN 'published' ELSE 'protected'
           END END,
           s.wd_shown[1], s.wd_shown[2], s.wd_shown[3], s.wd_shown[4], s.wd_shown[5],
           s.wd_shown[6], s.wd_shown[7], s.hr_shown[1], s.hr_shown[2], s.hr_shown[3],
           s.hr_shown[4], s.hr_shown[5], s.hr_shown[6], s.hr_shown[7], s.hr_shown[8],
           s.hr_shown[9], s.hr_shown[10], s.hr_shown[11], s.hr_shown[12], s.hr_shown[13],
           s.hr_shown[14], s.hr_shown[15], s.hr_shown[16], s.hr_shown[17], s.hr_shown[18],
           s.hr_shown[19], s.hr_shown[20], s.hr_shown[21], s.hr_shown[22], s.hr_shown[23],
           s.hr_shown[24],
           s.geom, layer
    FROM (SELECT j.*, CASE WHEN j.show_bins THEN j.wd END AS wd_shown,
                 CASE WHEN j.show_bins THEN j.hr END AS hr_shown
          FROM judged j) s;
    PERFORM publish._refresh_observation_counts(lo, hi);
END
$$;

-- The counts of weeks [lo, hi] (all weeks when lo/hi are NULL), from publish.observations.
CREATE OR REPLACE FUNCTION publish._refresh_observation_counts(lo date, hi date) RETURNS void
LANGUAGE plpgsql AS
$$
BEGIN
    IF lo IS NULL OR hi IS NULL THEN
        DELETE FROM publish.observation_counts;
        INSERT INTO publish.observation_counts (iso_week, week_start, week_end, indicator,
        indicator_name_sv, indicator_name_en, unit, actor_kind, value, has_breakdown, n,
        value_status)
        SELECT iso_week, week_start, week_end, indicator, indicator_name_sv, indicator_name_en,
           unit, actor_kind, value, has_breakdown, count(*), value_status
        FROM publish.observations
        GROUP BY iso_week, week_start, week_end, indicator, indicator_name_sv, indicator_name_en,
             unit, actor_kind, value, value_status, has_breakdown;
    ELSE
        DELETE FROM publish.observation_counts WHERE week_start BETWEEN lo AND hi;
        INSERT INTO publish.observation_counts (iso_week, week_start, week_end, indicator,
        indicator_name_sv, indicator_name_en, unit, actor_kind, value, has_breakdown, n,
        value_status)
        SELECT iso_week, week_start, week_end, indicator, indicator_name_sv, indicator_name_en,
           unit, actor_kind, value, has_breakdown, count(*), value_status
        FROM publish.observations
        WHERE week_start BETWEEN lo AND hi
        GROUP BY iso_week, week_start, week_end, indicator, indicator_name_sv, indicator_name_en,
             unit, actor_kind, value, value_status, has_breakdown;
    END IF;
END
$$;

-- The situation's figures of one area and indicator from its sums: n the numerators (counts),
-- d the denominators (shares), w the weeks with cells, of the four weeks up to the reference
-- week and of the twelve before. One definition, read by the refresh on the published cells
-- and by lagesbild_geo/publish/utility.py on the exact ones.
CREATE OR REPLACE FUNCTION publish._situation_last4(unit text, population integer,
                                                    n numeric, d numeric, w bigint)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN w = 0 THEN NULL
            WHEN unit = 'share' THEN CASE WHEN d > 0 THEN round(100.0 * n / d, 1) END
            WHEN unit = 'rate_per_1000' THEN CASE WHEN population > 0
                 THEN round(1000.0 * n / population, 2) END
            ELSE n END;

CREATE OR REPLACE FUNCTION publish._situation_prev12_mean(unit text, population integer,
                                                          n numeric, d numeric, w bigint)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN w = 0 THEN NULL
            WHEN unit = 'share' THEN CASE WHEN d > 0 THEN round(100.0 * n / d, 1) END
            WHEN unit = 'rate_per_1000' THEN CASE WHEN population > 0
                 THEN round(1000.0 * n / w / population, 3) END
            ELSE round(n / w, 2) END;

-- The situation layer, computed from the published cells only (publish.observations): one
-- feature per level-3 area; per indicator its own reference week (the newest week with
-- published cells for that indicator, <id>_week), the four weeks up to it (last4) beside the
-- twelve before them (prev12_mean), and the change. Counts: last4 is the total of the weeks
-- with data among the four, prev12_mean the mean of the weeks with data among the twelve,
-- change_pct compares weekly means. Rates per 1,000: the same on rates. Shares: pooled shares
-- (sum of numerators over sum of denominators) of each period, in %. Sums run over all actor
-- kinds. A figure without any delivered week is NULL and named in no_data_fields; a figure
-- that cannot be shown after protection (a share whose protected denominators add up to 0)
-- is NULL and named in protected_fields. A change is NULL when either side is, or the base
-- is 0 (a change from nothing has no percentage).
CREATE OR REPLACE FUNCTION publish._refresh_situation() RETURNS void
LANGUAGE plpgsql AS
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
        FROM lagesbild.indicator,
             unnest(ARRAY['_week', '_last4', '_prev12_mean', '_change_pct']) suffix
        UNION ALL SELECT 'protected_fields'
    ) w;
    SELECT array_agg(column_name::text ORDER BY column_name::text) INTO present
    FROM information_schema.columns
    WHERE table_schema = 'publish' AND table_name = 'situation'
      AND (column_name ~ '_(week|last4|prev12_mean|change_pct)$'
           OR column_name = 'protected_fields')
      AND column_name <> 'reference_week';
    IF present IS NULL OR present IS DISTINCT FROM wanted THEN
        DROP TABLE IF EXISTS publish.situation;
        FOR ind IN SELECT id FROM lagesbild.indicator ORDER BY id LOOP
            cols := cols || format(', %I text, %I double precision, %I double precision, '
                                   '%I double precision', ind.id || '_week',
                                   ind.id || '_last4', ind.id || '_prev12_mean',
                                   ind.id || '_change_pct');
        END LOOP;
        EXECUTE 'CREATE TABLE publish.situation (area_code text PRIMARY KEY, area_name text '
                'NOT NULL, population integer, reference_week text, protected_fields text, '
                'no_data_fields text' || cols || ', geom geometry(MultiPolygon, 4326) NOT NULL)';
        CREATE INDEX publish_situation_geom_idx ON publish.situation USING gist (geom);
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_reader') THEN
            GRANT SELECT ON publish.situation TO lagesbild_reader;
        END IF;
        -- every role that reads or rebuilds it (functions/90_access.sql), whoever made it
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_publisher') THEN
            GRANT SELECT ON publish.situation TO lagesbild_actor, lagesbild_reviewer,
                                                lagesbild_analyst, lagesbild_admin,
                                                lagesbild_jobs;
            IF current_user <> 'lagesbild_publisher' THEN
                ALTER TABLE publish.situation OWNER TO lagesbild_publisher;
            END IF;
        END IF;
    END IF;
    DELETE FROM publish.situation;

    DROP TABLE IF EXISTS pg_temp.situation_long;
    CREATE TEMP TABLE situation_long ON COMMIT DROP AS
    WITH ref AS MATERIALIZED (
        SELECT i.id AS indicator,
               (SELECT max(o.week_start) FROM publish.observations o WHERE o.indicator = i.id)
                   AS ref
        FROM lagesbild.indicator i
    ), sums AS (
        SELECT o.area_code, o.indicator,
               sum(CASE WHEN o.unit = 'count' THEN o.value::numeric ELSE o.numerator END)
                   FILTER (WHERE o.week_start > r.ref - 28) AS n4,
               sum(o.denominator) FILTER (WHERE o.week_start > r.ref - 28) AS d4,
               count(DISTINCT o.week_start) FILTER (WHERE o.week_start > r.ref - 28) AS w4,
               sum(CASE WHEN o.unit = 'count' THEN o.value::numeric ELSE o.numerator END)
                   FILTER (WHERE o.week_start <= r.ref - 28) AS n12,
               sum(o.denominator) FILTER (WHERE o.week_start <= r.ref - 28) AS d12,
               count(DISTINCT o.week_start) FILTER (WHERE o.week_start <= r.ref - 28) AS w12
        FROM ref r
        CROSS JOIN LATERAL (
            SELECT o.area_code, o.indicator, o.unit, o.value, o.numerator, o.denominator,
                   o.week_start
            FROM publish.observations o
            WHERE o.indicator = r.indicator AND o.week_start > r.ref - 112
              AND o.week_start <= r.ref
            OFFSET 0  -- one index range per indicator, not a join over every cell
        ) o
        GROUP BY o.area_code, o.indicator
    ), pairs AS (
        SELECT a.code AS area_code, a.population, i.id AS indicator, i.unit, r.ref, s.n4, s.d4,
               coalesce(s.w4, 0) AS w4, s.n12, s.d12, coalesce(s.w12, 0) AS w12
        FROM publish.areas a
        CROSS JOIN lagesbild.indicator i
        LEFT JOIN ref r ON r.indicator = i.id
        LEFT JOIN sums s ON s.area_code = a.code AND s.indicator = i.id
    ), valued AS (
        SELECT p.*,
               publish._situation_last4(p.unit, p.population, p.n4, p.d4, p.w4) AS last4,
               publish._situation_prev12_mean(p.unit, p.population, p.n12, p.d12, p.w12)
                   AS prev12_mean,
               CASE WHEN p.w4 = 0 OR p.w12 = 0 OR NOT p.n12 > 0 THEN NULL
                    WHEN p.unit = 'share' THEN CASE WHEN p.d4 > 0 AND p.d12 > 0 THEN
                         round(100.0 * ((p.n4::numeric / p.d4) / (p.n12::numeric / p.d12)
                                        - 1), 1) END
                    WHEN p.unit = 'rate_per_1000' AND NOT p.population > 0 THEN NULL
                    ELSE round(100.0 * ((p.n4::numeric / p.w4) / (p.n12::numeric / p.w12)
                                        - 1), 1)
               END AS change_pct,
               p.unit = 'share' AND p.w4 > 0 AND NOT coalesce(p.d4 > 0, false)
                   AS protected4,
               p.unit = 'share' AND p.w12 > 0 AND NOT coalesce(p.d12 > 0, false)
                   AS protected12
        FROM pairs p
    )
    SELECT * FROM valued;

    -- The same figures one row per area and indicator (migration 0029): the per-indicator
    -- layers situation-<id>. value_status: 'protected' when either figure is hidden by
    -- protection (a share whose protected denominators add up to 0), else 'no_data' when either
    -- period has no delivered week, else 'ok' (change_pct may still be NULL there: a change
    -- from a weekly mean of 0 has no percentage).
    DELETE FROM publish.situation_by_indicator;
    INSERT INTO publish.situation_by_indicator (area_code, area_name, population, indicator,
        indicator_name_sv, indicator_name_en, unit, reference_week, last4, prev12_mean,
        change_pct, value_status, geom)
    SELECT a.code, a.name, a.population, l.indicator, i.name_sv, i.name_en, l.unit,
           to_char(l.ref, 'IYYY-"W"IW'), l.last4, l.prev12_mean, l.change_pct,
           CASE WHEN l.protected4 OR l.protected12 THEN 'protected'
                WHEN l.w4 = 0 OR l.w12 = 0 THEN 'no_data'
                ELSE 'ok' END,
           a.geom
    FROM situation_long l
    JOIN publish.areas a ON a.code = l.area_code
    JOIN lagesbild.indicator i ON i.id = l.indicator;

    sel := '';
    cols := '';
    FOR ind IN SELECT id FROM lagesbild.indicator ORDER BY id LOOP
        cols := cols || format(', %I, %I, %I, %I', ind.id || '_week', ind.id || '_last4',
                               ind.id || '_prev12_mean', ind.id || '_change_pct');
        sel := sel || format(
            ', max(to_char(l.ref, ''IYYY-"W"IW'')) FILTER (WHERE l.indicator = %1$L)'
            ', max(l.last4) FILTER (WHERE l.indicator = %1$L)'
            ', max(l.prev12_mean) FILTER (WHERE l.indicator = %1$L)'
            ', max(l.change_pct) FILTER (WHERE l.indicator = %1$L)', ind.id);
    END LOOP;
    EXECUTE format(
        'INSERT INTO publish.situation (area_code, area_name, population, reference_week, '
        'protected_fields, no_data_fields%s, geom) '
        'SELECT a.code, a.name, a.population, to_char(max(l.ref), ''IYYY-"W"IW''), '
        'nullif(concat_ws('','', VARIADIC array_agg(CASE WHEN l.protected4 THEN l.indicator '
        '|| ''_last4'' END ORDER BY l.indicator) || array_agg(CASE WHEN l.protected12 THEN '
        'l.indicator || ''_prev12_mean'' END ORDER BY l.indicator)), ''''), '
        'nullif(concat_ws('','', VARIADIC array_agg(CASE WHEN l.w4 = 0 THEN l.indicator '
        '|| ''_last4'' END ORDER BY l.indicator) || array_agg(CASE WHEN l.w12 = 0 THEN '
        'l.indicator || ''_prev12_mean'' END ORDER BY l.indicator)), '''')'
        '%s, a.geom '
        'FROM publish.areas a JOIN situation_long l ON l.area_code = a.code '
        'GROUP BY a.code, a.name, a.population, a.geom',
        cols, sel);
END
$$;

-- Finish a refresh: the observations of the weeks _refresh_begin settled, from the protected
-- contributions; then the situation, the indicators' metadata (their weeks from the published
-- cells) and the state. Returns the new version.
CREATE OR REPLACE FUNCTION publish._refresh_finish(k integer, d integer, v double precision,
                                                   lo date, hi date, inds text[],
                                                   kinds text[], layer integer)
RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    new_ver bigint;
BEGIN
    PERFORM publish._refresh_observations(lo, hi, inds, kinds, layer, k, d);
    PERFORM publish._refresh_situation();

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
    LEFT JOIN LATERAL (SELECT min(o.week_start) AS first_week,
                              max(o.week_start) AS last_week
                       FROM publish.observations o WHERE o.indicator = i.id) w ON true;

    UPDATE publish.state
       SET version = version + 1, updated_at = clock_timestamp(),
           refreshed_at = clock_timestamp(),
           reference_week = (SELECT max(week_start) FROM publish.observations),
           k = _refresh_finish.k, ckm_d = d, ckm_v = v
     RETURNING version INTO new_ver;
    RETURN new_ver;
END
$$;

-- Only the owner refreshes; the reader only reads.
REVOKE ALL ON FUNCTION publish._refresh_begin(integer, integer, double precision, date, date,
                                              text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_finish(integer, integer, double precision, date, date,
                                               text[], text[], integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_observations(date, date, text[], text[], integer,
                                                     integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_observation_counts(date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._refresh_situation() FROM PUBLIC;
REVOKE ALL ON FUNCTION publish._place_observations(integer) FROM PUBLIC;
