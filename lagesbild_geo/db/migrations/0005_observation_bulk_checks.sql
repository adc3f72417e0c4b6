-- Row-by-row foreign-key checks made a quarter of a million observation rows take ~15 s to
-- COPY: each check locks the referenced area, indicator and delivery row again. The store
-- (the only writer) now checks the references once per delivery, set-based, in the same
-- transaction (store._check_references), and areas are only ever replaced after checking
-- that no stored observation uses a code the new layer lacks (store.replace_areas).
ALTER TABLE lagesbild.observation
    DROP CONSTRAINT observation_area_code_fkey,
    DROP CONSTRAINT observation_indicator_id_fkey,
    DROP CONSTRAINT observation_delivery_id_fkey;

-- Both indexes in the order the store writes a delivery's cells (indicator, week, area), so
-- a large COPY appends to them instead of inserting all over the tree.
ALTER TABLE lagesbild.observation
    DROP CONSTRAINT observation_pkey,
    ADD PRIMARY KEY (delivery_id, indicator_id, week_start, area_code);
