-- The admin imports area layers over HTTP (POST /admin/areas, server/area_import.py) as
-- lagesbild_admin: what store/areas.replace_areas reads and writes, and nothing more. The
-- public layers' rebuild after it runs as lagesbild_publisher (90_access.sql's grants).
-- Repeatable: applied after every migrate, after 90_access.sql.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_admin') THEN
        RETURN;
    END IF;
    -- the current layer is replaced whole; LOCK ... IN EXCLUSIVE MODE needs UPDATE
    GRANT SELECT, INSERT, DELETE ON lagesbild.area, lagesbild.area_crosswalk
        TO lagesbild_admin;
    GRANT SELECT, INSERT, UPDATE ON lagesbild.area_version TO lagesbild_admin;
    GRANT SELECT, INSERT ON lagesbild.area_past, lagesbild.area_import TO lagesbild_admin;
    GRANT USAGE ON SEQUENCE lagesbild.area_version_id_seq, lagesbild.area_import_id_seq
        TO lagesbild_admin;
    -- which areas stored deliveries use (a new layer must cover them): the codes only, never
    -- the counts (the admin does not read exact data); migration 0020's policy shows all rows
    GRANT SELECT (delivery_id, area_code) ON lagesbild.observation TO lagesbild_admin;
    -- the new layer is staged in a temporary table
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO lagesbild_admin', current_database());
END
$$;
