-- From here on the functions are defined in lagesbild_geo/db/functions/*.sql, applied after
-- every migrate, so that the current definition of the suppression rules and the publication
-- refresh can be read in one place instead of by replaying 0002 and the patches after it.
--
-- 0012 renamed the observation rebuild of 0002 to publish._refresh_observation_rows and
-- wrapped it; functions/20_refresh.sql rebuilds the rows in publish._refresh_observations
-- itself, so the renamed helper goes. (The new definitions are applied right after this, in
-- the same transaction.)
DROP FUNCTION publish._refresh_observation_rows(integer, date, date);
