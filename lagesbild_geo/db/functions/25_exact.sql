-- The exact cells of weeks [lo, hi], indicators inds and actor kinds kinds (each: all when
-- NULL), from the same contributions (pg_temp.contribution_in, publish._refresh_begin) that
-- the refresh protects for the public: the analyst's exact layer is the publication without
-- the noise, cell for cell (restricted.exact_cells, migration 0025), and their counts by the
-- columns of few values (restricted.exact_cell_counts, migration 0028: numberMatched of the
-- analyst's layer, as publish.observation_counts is the public layer's), with the value as
-- the analyst's view computes it.
CREATE OR REPLACE FUNCTION publish._refresh_exact(lo date, hi date, inds text[], kinds text[])
RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    IF lo IS NULL OR hi IS NULL THEN
        DELETE FROM restricted.exact_cells;
        DELETE FROM restricted.exact_cell_counts;
    ELSE
        DELETE FROM restricted.exact_cells
        WHERE week_start BETWEEN lo AND hi
          AND (inds IS NULL OR indicator = ANY(inds))
          AND (kinds IS NULL OR actor_kind = ANY(kinds));
        DELETE FROM restricted.exact_cell_counts
        WHERE week_start BETWEEN lo AND hi
          AND (inds IS NULL OR indicator = ANY(inds))
          AND (kinds IS NULL OR actor_kind = ANY(kinds));
    END IF;
    INSERT INTO restricted.exact_cells (id, area_code, week_start, indicator, actor_kind, num,
                                        den, n_actors, wd, hr)
    SELECT c.area_code || ':' || to_char(c.week_start, 'IYYY-"W"IW') || ':' || c.indicator_id
               || ':' || c.actor_kind,
           c.area_code, c.week_start, c.indicator_id, c.actor_kind, sum(c.num), sum(c.den),
           count(*),
           CASE WHEN count(*) = count(c.wd) THEN publish.array_sum(c.wd) END,
           CASE WHEN count(*) = count(c.hr) THEN publish.array_sum(c.hr) END
    FROM pg_temp.contribution_in c
    GROUP BY c.area_code, c.week_start, c.indicator_id, c.actor_kind;
    INSERT INTO restricted.exact_cell_counts
    SELECT week_start, indicator, actor_kind, value, n_actors, has_breakdown, count(*)
    FROM restricted.exact_observations
    WHERE lo IS NULL OR hi IS NULL
       OR (week_start BETWEEN lo AND hi
           AND (inds IS NULL OR indicator = ANY(inds))
           AND (kinds IS NULL OR actor_kind = ANY(kinds)))
    GROUP BY 1, 2, 3, 4, 5, 6;
END
$$;
REVOKE ALL ON FUNCTION publish._refresh_exact(date, date, text[], text[]) FROM PUBLIC;
