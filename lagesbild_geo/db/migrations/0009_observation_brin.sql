-- The primary key cost more than half of storing a large delivery: measured on a million
-- events over Stockholms län (268,902 cells, binary COPY), the heap and checks took ~0.95 s and
-- the btree ~0.6-1.0 s more, one index insertion per cell (a btree on delivery_id alone cost as
-- much). Every reader selects a delivery's cells whole (publication, double reports, withdraw),
-- and a delivery's cells are written in one COPY, so they lie together on disk: a BRIN index
-- on delivery_id finds them for next to nothing on insert.
--
-- A cell's uniqueness (one row per delivery, indicator, week and area) is kept by the only
-- writer, store.save_delivery, which refuses a cell table with a repeated key before COPY
-- (store._observation_table); the cells come from a group-by, so it never has one.
ALTER TABLE lagesbild.observation DROP CONSTRAINT observation_pkey;
CREATE INDEX observation_delivery_brin ON lagesbild.observation
    USING brin (delivery_id) WITH (pages_per_range = 16);
