-- When the published figures last changed (a refresh), apart from updated_at, which saving an
-- analysis run moves too (the ETag). The audit recomputes the saved runs made since; a run
-- made before was computed on an earlier publication.
ALTER TABLE publish.state ADD COLUMN refreshed_at timestamptz;
UPDATE publish.state SET refreshed_at = updated_at;
