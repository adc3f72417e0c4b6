-- The exact cells of weeks [lo, hi], indicators inds and actor kinds kinds (each: all when
-- NULL), from the same contributions (pg_temp.contribution_in, publish._refresh_begin) that
-- the refresh protects for the public: the analyst's exact layer is the publication without
-- the noise, cell for cell (restricted.exact_cells, migration 0025).
CREATE OR REPLACE FUNCTION publish._refresh_exact(lo date, hi date, inds text[], kinds text[])
RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    IF lo IS NULL OR hi IS NULL THEN
        DELETE FROM restricted.exact_cells;
    ELSE
        DELETE FROM restricted.exact_cells
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
END
$$;
REVOKE ALL ON FUNCTION publish._refresh_exact(date, date, text[], text[]) FROM PUBLIC;
