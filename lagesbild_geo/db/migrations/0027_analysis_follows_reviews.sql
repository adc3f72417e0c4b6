-- Issue 14, item 8: the result layers follow the picture (lagesbild_geo/analysis/follow.py).
--
-- A review that changes the published data (an approval, or withdrawing an approved delivery)
-- writes one row here in its own transaction (lagesbild_geo/publish/review.py) and notifies
-- channel 'lagesbild_analysis'; PostgreSQL delivers the notification only at commit, so the
-- follower never sees a decision that was rolled back, and the review's transaction does no
-- analysis (hot spots with 999 permutations and 52-week trends of 16 indicators take seconds).
-- The follower claims the unclaimed rows (started_at), recomputes the hotspots and trends
-- layers of their indicators and marks them finished; a row whose run failed keeps the error.
CREATE TABLE publish.analysis_queue (
    id                  bigserial PRIMARY KEY,
    indicators          text[] NOT NULL,
    delivery_ids        bigint[] NOT NULL DEFAULT '{}',
    requested_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at          timestamptz,
    finished_at         timestamptz,
    run_ids             bigint[] NOT NULL DEFAULT '{}',
    error               text
);
CREATE INDEX publish_analysis_queue_open_idx ON publish.analysis_queue (id)
    WHERE finished_at IS NULL;

-- Which publication a saved result was computed from (publish.state.version when the cube was
-- read; saving a run bumps the version once more, so that ETags change).
ALTER TABLE publish.hotspots ADD COLUMN publication_version bigint;
ALTER TABLE publish.trends ADD COLUMN publication_version bigint;
-- The trend classes are decided on Benjamini-Hochberg q-values across areas x indicators;
-- p stays the raw, per-test p-value beside it.
ALTER TABLE publish.trends ADD COLUMN q double precision;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lagesbild_jobs') THEN
        RETURN;
    END IF;
    -- the publisher writes the request in the reviewer's transaction (the server takes that
    -- role for the rebuild); the follower connects as lagesbild_jobs, like a saving process
    GRANT INSERT ON publish.analysis_queue TO lagesbild_publisher;
    GRANT USAGE ON SEQUENCE publish.analysis_queue_id_seq TO lagesbild_publisher;
    GRANT SELECT, UPDATE (started_at, finished_at, run_ids, error) ON publish.analysis_queue
        TO lagesbild_jobs;
END
$$;
