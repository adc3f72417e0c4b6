-- Lägesbild: the suppression rules, what may be published of a count (schema publish).
-- Repeatable: applied after every migrate (lagesbild_geo/db/connection.py), in the same
-- transaction, so this file is the current definition and the one place it is read; the
-- migrations that first made these functions (0002) are history. The publication refresh
-- that applies them is 20_refresh.sql.
--
-- Policy (docs/publishing.md): a count 1..k-1 is not published; zeros are. A value that is
-- not published is not stored in schema publish at all (see 0002 for why).

-- Elementwise sum of equal-length integer arrays (weekday / hour breakdowns of several rows).
CREATE OR REPLACE FUNCTION publish._array_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) $$;

CREATE OR REPLACE AGGREGATE publish.array_sum(integer[]) (
    sfunc = publish._array_add, stype = integer[]
);

-- A breakdown (weekday or hour bins) safe to publish beside its total.
-- Primary: every bin 1..k-1 becomes NULL. Complementary: the bins of one row add up to the
-- published total, so one suppressed bin could be recovered as total minus the others; while
-- fewer than two bins are suppressed or the suppressed bins add up to less than k, the smallest
-- published non-zero bin is suppressed too. When the total itself is suppressed, every bin is.
CREATE OR REPLACE FUNCTION publish.protect_bins(bins integer[], total numeric, k integer)
RETURNS integer[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS
$$
DECLARE
    result   integer[] := bins;
    hidden   bigint := 0;
    n_hidden integer := 0;
    idx      integer;
BEGIN
    IF bins IS NULL THEN
        RETURN NULL;
    END IF;
    IF total > 0 AND total < k THEN
        RETURN array_fill(NULL::integer, ARRAY[cardinality(bins)]);
    END IF;
    FOR i IN 1 .. cardinality(bins) LOOP
        IF bins[i] > 0 AND bins[i] < k THEN
            result[i] := NULL;
            hidden := hidden + bins[i];
            n_hidden := n_hidden + 1;
        END IF;
    END LOOP;
    WHILE n_hidden > 0 AND (hidden < k OR n_hidden < 2) LOOP
        SELECT s INTO idx FROM generate_subscripts(result, 1) AS s
         WHERE result[s] > 0 ORDER BY result[s], s LIMIT 1;
        EXIT WHEN idx IS NULL;
        hidden := hidden + result[idx];
        n_hidden := n_hidden + 1;
        result[idx] := NULL;
    END LOOP;
    RETURN result;
END
$$;

-- Is a count unsafe to publish? 1..k-1 is; zero is not (policy).
CREATE OR REPLACE FUNCTION publish.is_small(n numeric, k integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(n > 0 AND n < k, false) $$;

-- Is a cell unsafe to publish? A count or a rate: when its count is small. A share: when its
-- numerator is small or so is the rest of its denominator (a share of 97 % of 100 says that
-- 3 did not). Every rule that judges a cell (observations, the situation layer) asks this one.
CREATE OR REPLACE FUNCTION publish.is_small_cell(unit text, num numeric, den numeric, k integer)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN unit = 'share' THEN publish.is_small(num, k) OR publish.is_small(den - num, k)
               ELSE publish.is_small(num, k) END $$;
