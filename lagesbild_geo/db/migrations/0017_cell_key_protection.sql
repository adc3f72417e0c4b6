-- Issue 12: the publication is protected by the cell key method (docs/disclosure.md) instead
-- of primary suppression, which an attacker solving linear programs could narrow down.
--
-- The secret that, with a contribution's content, makes its record keys. It is in the
-- restricted schema (the reader role cannot read it) and made here from PostgreSQL's strong
-- random source (gen_random_uuid uses pg_strong_random; two give 244 random bits). Changing it
-- would re-draw every perturbation at once: a publication before and after would be two
-- independent noisy copies of the same figures, which is what the method avoids. So it is
-- made once and never rotated by the software.
CREATE TABLE lagesbild.protection_secret (
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    secret bytea NOT NULL CHECK (length(secret) >= 32)
);
INSERT INTO lagesbild.protection_secret (secret)
SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');

-- The method's parameters in the publication's state (public: they are the method's
-- documentation, like the table below), and the perturbation table itself.
ALTER TABLE publish.state
    ADD COLUMN method text NOT NULL DEFAULT 'cell_key' CHECK (method = 'cell_key'),
    ADD COLUMN ckm_d integer CHECK (ckm_d >= 1),
    ADD COLUMN ckm_v double precision CHECK (ckm_v > 0);
CREATE TABLE publish.ptable (
    "row"        integer NOT NULL,
    perturbation integer NOT NULL,
    probability  double precision NOT NULL CHECK (probability > 0 AND probability <= 1),
    PRIMARY KEY ("row", perturbation)
);

-- Observations: the reason a value is NULL instead of a flag that meant "1..k-1".
ALTER TABLE publish.observations DROP COLUMN suppressed;
ALTER TABLE publish.observations
    ADD COLUMN value_status text NOT NULL DEFAULT 'published'
        CHECK (value_status IN ('published', 'protected', 'no_population')),
    ADD COLUMN breakdown_status text CHECK (breakdown_status IN ('published', 'protected'));
ALTER TABLE publish.observations ALTER COLUMN value_status DROP DEFAULT;
ALTER TABLE publish.observation_counts DROP COLUMN suppressed;
ALTER TABLE publish.observation_counts ADD COLUMN value_status text;

-- The rules of primary suppression go (whichever of their versions this database has: the
-- function files are applied after all migrations, so a new database has none yet); the publication is rebuilt by the functions in
-- db/functions/ (applied right after this, in the same transaction).
DROP FUNCTION IF EXISTS publish.refresh(integer, date, date);
DROP FUNCTION IF EXISTS publish._refresh_observations(integer, date, date, regclass, integer);
DROP FUNCTION IF EXISTS publish._refresh_situation(integer, date, regclass);
DROP FUNCTION IF EXISTS publish.protect_bins(integer[], numeric, integer);
DROP FUNCTION IF EXISTS publish.is_small_cell(text, numeric, numeric, integer);
DROP FUNCTION IF EXISTS publish.is_small(numeric, integer);
DROP TABLE IF EXISTS publish.situation;  -- remade by the next refresh with the new columns
UPDATE publish.state SET version = 0;  -- the next refresh rebuilds everything

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_reader') THEN
        GRANT SELECT ON publish.ptable TO lagesbild_reader;
        REVOKE ALL ON lagesbild.protection_secret FROM lagesbild_reader;
    END IF;
END
$$;
DROP FUNCTION IF EXISTS publish.refresh(integer, date, date);
DROP FUNCTION IF EXISTS publish.refresh(integer);
DROP FUNCTION IF EXISTS publish._refresh_observations(integer, date, date);
DROP FUNCTION IF EXISTS publish._refresh_situation(integer, date);
