-- Lägesbild: helpers of the protection step (schema publish). Repeatable: applied after every
-- migrate (lagesbild_geo/db/connection.py), in the same transaction, so this file is the
-- current definition. The protection itself (the cell key method, docs/disclosure.md) is
-- computed by lagesbild_geo/disclosure/ on the contributions publish._refresh_begin collects;
-- 20_refresh.sql builds the public layers from what it returns.

-- Elementwise sum of equal-length integer arrays (weekday / hour breakdowns of several rows).
CREATE OR REPLACE FUNCTION publish._array_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) $$;

CREATE OR REPLACE AGGREGATE publish.array_sum(integer[]) (
    sfunc = publish._array_add, stype = integer[]
);

-- The 64-byte digest of a contribution (one actor's part of one cell), from which its record
-- keys are read (lagesbild_geo/disclosure/keys.py, which computes the same in Python): SHA-512
-- of the secret and the contribution's content. The same content gives the same keys in every
-- publication; any change gives fresh ones.
CREATE OR REPLACE FUNCTION publish._contribution_digest(secret bytea, actor_id text,
    area_code text, week_start date, indicator_id text, actor_kind text, num numeric,
    den numeric, wd integer[], hr integer[])
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sha512(secret || convert_to(concat_ws('|', actor_id, area_code, week_start::text,
    indicator_id, actor_kind, num::text, coalesce(den::text, ''), coalesce(wd::text, ''),
    coalesce(hr::text, '')), 'UTF8'));

REVOKE ALL ON FUNCTION publish._contribution_digest(bytea, text, text, date, text, text,
    numeric, numeric, integer[], integer[]) FROM PUBLIC;
