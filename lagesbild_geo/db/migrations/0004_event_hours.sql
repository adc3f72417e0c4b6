-- Double-report detection keeps, per observation cell, the hour of the week (0 = Monday
-- 00:00 .. 167 = Sunday 23:00) of each delivered event instead of a separate row per area,
-- indicator and hour: the same information in one row per cell, written in the same COPY as
-- the counts (a million-event delivery no longer writes a million extra rows).
ALTER TABLE lagesbild.observation
    ADD COLUMN event_hours smallint[]
        CHECK (event_hours IS NULL OR cardinality(event_hours) = numerator);
DROP TABLE lagesbild.event_hour;
