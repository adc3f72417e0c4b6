-- The lookup grid that places events in areas (locate.AreaLocator) took ~0.6 s to build for
-- Stockholms län's 1,287 areas in every new process that ingested single events; loading it
-- takes ~0.1 s. It is built from the stored level-3 geometries when they are imported, in the
-- same transaction, and kept with that import. locator_format names the layout
-- (locate.LOCATOR_FORMAT): a locator of another format, or none (imports made before this
-- migration), is built afresh from the geometries when needed.
ALTER TABLE lagesbild.area_import
    ADD COLUMN locator bytea,
    ADD COLUMN locator_format integer;
