-- When the published figures last changed (a refresh), apart from updated_at, which saving an
-- analysis run moves too (the ETag). The audit recomputes the saved runs made since; a run
-- made before was computed on an earlier publication.
ALTER TABLE publish.state ADD COLUMN refreshed_at timestamptz;
UPDATE publish.state SET refreshed_at = updated_at;

-- The observations' rebuild takes k and D (a breakdown is shown only where the published
-- total guarantees k events): its earlier signature goes; the function file makes the new.
DROP FUNCTION IF EXISTS publish._refresh_observations(date, date, text[], text[], integer);
