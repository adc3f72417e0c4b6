-- Issue 13, jobs and processes by audience (processes/jobs.py, processes/common.py).
--
-- Jobs: migration 0020 gave jobs.jobs an owner and the bytes of the result. A job of a
-- municipality principal (reviewer, analyst, admin) is the municipality's: visible to its
-- other principals too (what an analyst runs is visible to municipality roles only), never
-- to an actor or the public. Expired jobs are found by their creation time.
ALTER TABLE jobs.jobs ADD COLUMN municipality boolean NOT NULL DEFAULT false;
CREATE INDEX jobs_created_idx ON jobs.jobs (created);

-- The exact counts an analysis with source 'exact' reads (lagesbild_geo/analysis/cube.py),
-- shaped like publish.approved_deliveries and publish.observations. security_invoker: the
-- row-level security of 0020 applies to the reader, so an actor sees the cells of its own
-- approved deliveries only (the sum of them per cell and actor kind), an analyst all.
CREATE VIEW restricted.analysis_deliveries WITH (security_invoker = true) AS
SELECT d.id, a.kind AS actor_kind, d.first_week, d.last_week,
       ARRAY(SELECT DISTINCT o.indicator_id FROM lagesbild.observation o
             WHERE o.delivery_id = d.id ORDER BY 1) AS indicators
FROM lagesbild.delivery d
JOIN lagesbild.actor a ON a.id = d.actor_id
WHERE d.status = 'approved';

CREATE VIEW restricted.analysis_cells WITH (security_invoker = true) AS
SELECT o.area_code, o.week_start, o.indicator_id, a.kind AS actor_kind,
       sum(o.numerator)::bigint AS numerator, sum(o.denominator)::bigint AS denominator
FROM lagesbild.observation o
JOIN lagesbild.delivery d ON d.id = o.delivery_id
JOIN lagesbild.actor a ON a.id = d.actor_id
WHERE d.status = 'approved'
GROUP BY o.area_code, o.week_start, o.indicator_id, a.kind;

-- Grants: lagesbild_geo/db/functions/94_jobs.sql (repeatable).
