-- Lägesbild: the area layer's versions (schema lagesbild). Repeatable: applied after every
-- migrate, so this file is the current definition; migration 0016 first made the function
-- (its column defaults need it while it runs).

-- The current area layer version: the newest import that opened one (docs/areas.md).
CREATE OR REPLACE FUNCTION lagesbild.current_area_version() RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT max(id) FROM lagesbild.area_version $$;
