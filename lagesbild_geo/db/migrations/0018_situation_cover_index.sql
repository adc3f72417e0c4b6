-- The situation is rebuilt from the published cells at every review (issue 12): per
-- indicator, the sixteen weeks up to its reference week. With this index each indicator is
-- one index-only range instead of 400,000 heap pages on the Stockholms län cube (1,287 areas
-- x 20 indicators x 104 weeks): bench/disclosure.py measured one approval's refresh at
-- 3.8-5.9 s before, 2.0 s after on a quiet machine.
CREATE INDEX publish_obs_situation_cover_idx ON publish.observations
    (indicator, week_start) INCLUDE (area_code, unit, value, numerator, denominator);
