-- A page of observations in id order for any filter on indicators and a window of weeks, and a
-- map view's page (bbox), answered from one index range: (indicator, week_start) with the id,
-- the area and the filtered values included. It replaces 0007's (indicator, week_start)
-- INCLUDE (week_end, value), which it contains.
--
-- Why (bench/serve.py's varied workload, 1,287 areas x 20 indicators x 104 weeks): with
-- `indicator IN ('a','b')` or a filter that matches few rows, the page's id walk (the
-- primary key, or 0007's (indicator, id) index for one indicator) read ~20,000 rows to find
-- 100: 190-250 ms a page. Here the window's entries are read from the index alone and the
-- 100 smallest ids kept (a top-N sort): 7-11 ms. A bbox is the areas' codes
-- (lagesbild_geo/server/provider.py), which the included area_code filters without the heap.
CREATE INDEX publish_obs_indicator_week_page_idx ON publish.observations
    (indicator, week_start) INCLUDE (id, week_end, value, area_code);
DROP INDEX publish.publish_obs_indicator_week_cover_idx;
