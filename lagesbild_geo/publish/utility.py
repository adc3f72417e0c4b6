"""Utility of the publication: how much of the exact picture the protection leaves to read.

Measured against the exact restricted data, so it runs as the owner (never as the reader):
per kind of public figure, how many have data, how many of them are published (not NULL),
and the mean and largest absolute deviation of the published from the exact figure.

* weekly cells (``publish.observations``), per unit in the published unit: a count in events,
  a rate in events per 1,000 inhabitants, a share in percentage points. A cell has data when
  it is in the layer (a contribution, or a real zero of an event delivery). ``beyond_bound``
  counts the cells whose count (a share's numerator or rest) is off by more than ``n·D`` with
  ``n`` the cell's contributions: the cell key method's promise, so it must be 0.
* ``situation`` (``<id>_last4``, ``<id>_prev12_mean``): the exact figures are recomputed from
  the exact cells with the formulas of ``publish._refresh_situation`` (20_refresh.sql), on the
  same weeks (each indicator's reference week and the weeks with cells, from the published
  layer), so a deviation is the protection's alone. A figure has data when it is not in
  ``no_data_fields``.
* weekday and hour bins of the cells with a breakdown: published when the cell's
  ``breakdown_status`` is ``published``.

The exact cells are read where the refresh reads them (``publish._place_observations``: the
approved data carried to the current area layer), inside a transaction that is rolled back:
nothing is written. ``docs/disclosure.md`` gives the figures on the demo and the bench cube.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql

from lagesbild_geo.db.connection import one


@dataclass(frozen=True)
class Utility:
    """One kind of public figure: how many have data, are published, and how far they are off.

    ``mean_abs_dev``/``max_abs_dev`` are over the published figures (``None`` when none is),
    ``mean_abs_dev_positive`` over those whose exact value is above 0 (a true 0 is always
    published as 0, so the mean over all depends on how many zeros there are);
    ``beyond_bound`` is the number of figures further from the truth than ``n·D`` (weekly cells
    and bins; ``None`` where the bound does not apply).
    """

    figure: str
    unit: str
    with_data: int
    published: int
    mean_abs_dev: float | None
    max_abs_dev: float | None
    mean_abs_dev_positive: float | None = None
    beyond_bound: int | None = None

    @property
    def published_share(self) -> float | None:
        return self.published / self.with_data if self.with_data else None

    def as_dict(self) -> dict:
        return {**asdict(self), "published_share": self.published_share}


#: The exact cells, where the refresh reads them from ({source}): per cell the exact numerator,
#: denominator and bins, and its number of contributions (one per actor).
_EXACT = """
    SELECT o.area_code, o.week_start, o.indicator_id AS indicator, o.actor_kind,
           sum(o.numerator) AS num, sum(o.denominator) AS den,
           count(DISTINCT o.actor_id) AS n,
           CASE WHEN count(*) = count(o.by_weekday) THEN publish.array_sum(o.by_weekday) END
               AS wd,
           CASE WHEN count(*) = count(o.by_hour) THEN publish.array_sum(o.by_hour) END AS hr
    FROM {source} o
    GROUP BY 1, 2, 3, 4
"""

#: Every published cell beside its exact cell (a real zero has none: 0, no contribution).
_JOINED = """
    SELECT p.*, coalesce(e.num, 0) AS x_num, e.den AS x_den, coalesce(e.n, 0) AS n,
           coalesce(e.wd, array_fill(0, ARRAY[7])) AS x_wd,
           coalesce(e.hr, array_fill(0, ARRAY[24])) AS x_hr, a.population,
           CASE WHEN p.unit = 'share' THEN CASE WHEN e.den > 0
                     THEN round(100.0 * e.num / e.den, 1)::double precision END
                WHEN p.unit = 'rate_per_1000' THEN CASE WHEN a.population > 0
                     THEN round(1000.0 * coalesce(e.num, 0) / a.population, 2)::double precision
                     END
                ELSE coalesce(e.num, 0)::double precision
           END AS x_value
    FROM publish.observations p
    JOIN publish.areas a ON a.code = p.area_code
    LEFT JOIN exact e ON e.area_code = p.area_code AND e.week_start = p.week_start
                     AND e.indicator = p.indicator AND e.actor_kind = p.actor_kind
"""

_CELLS = """
    SELECT j.unit, count(*), count(j.value),
           avg(abs(j.value - j.x_value)), max(abs(j.value - j.x_value)),
           avg(abs(j.value - j.x_value)) FILTER (WHERE j.x_value > 0),
           count(*) FILTER (WHERE abs(coalesce(j.numerator, j.value) - j.x_num) > j.n * %(d)s
                            OR (j.unit = 'share' AND abs((j.denominator - j.numerator)
                                - (coalesce(j.x_den, 0) - j.x_num)) > j.n * %(d)s))
    FROM joined j
    GROUP BY j.unit ORDER BY j.unit
"""

_BINS = """
    SELECT b.kind, count(*), count(*) FILTER (WHERE b.published),
           avg(abs(b.p - b.x)) FILTER (WHERE b.published),
           max(abs(b.p - b.x)) FILTER (WHERE b.published),
           avg(abs(b.p - b.x)) FILTER (WHERE b.published AND b.x > 0),
           count(*) FILTER (WHERE b.published AND abs(b.p - b.x) > b.n * %(d)s)
    FROM (
        SELECT 'weekday' AS kind, j.breakdown_status = 'published' AS published, j.n, u.p, u.x
        FROM joined j,
             unnest(ARRAY[j.by_weekday_mon, j.by_weekday_tue, j.by_weekday_wed,
                          j.by_weekday_thu, j.by_weekday_fri, j.by_weekday_sat,
                          j.by_weekday_sun], j.x_wd) u(p, x)
        WHERE j.has_breakdown
        UNION ALL
        SELECT 'hour', j.breakdown_status = 'published', j.n, u.p, u.x
        FROM joined j,
             unnest(ARRAY[j.by_hour_00, j.by_hour_01, j.by_hour_02, j.by_hour_03,
                          j.by_hour_04, j.by_hour_05, j.by_hour_06, j.by_hour_07,
                          j.by_hour_08, j.by_hour_09, j.by_hour_10, j.by_hour_11,
                          j.by_hour_12, j.by_hour_13, j.by_hour_14, j.by_hour_15,
                          j.by_hour_16, j.by_hour_17, j.by_hour_18, j.by_hour_19,
                          j.by_hour_20, j.by_hour_21, j.by_hour_22, j.by_hour_23],
                    j.x_hr) u(p, x)
        WHERE j.has_breakdown
    ) b
    GROUP BY b.kind ORDER BY b.kind DESC
"""

#: The exact situation, long form: 20_refresh.sql's _refresh_situation (its ``sums``, and its
#: figures by the same SQL functions) on the exact cells, over the published layer's weeks.
_SITUATION = """
    WITH ref AS (
        SELECT indicator, max(week_start) AS ref FROM publish.observations GROUP BY indicator
    ), sums AS (
        SELECT j.area_code, j.indicator, j.unit, j.population,
               sum(j.x_num) FILTER (WHERE j.week_start > r.ref - 28) AS n4,
               sum(j.x_den) FILTER (WHERE j.week_start > r.ref - 28) AS d4,
               count(DISTINCT j.week_start) FILTER (WHERE j.week_start > r.ref - 28) AS w4,
               sum(j.x_num) FILTER (WHERE j.week_start <= r.ref - 28) AS n12,
               sum(j.x_den) FILTER (WHERE j.week_start <= r.ref - 28) AS d12,
               count(DISTINCT j.week_start) FILTER (WHERE j.week_start <= r.ref - 28) AS w12
        FROM joined j
        JOIN ref r ON r.indicator = j.indicator
        WHERE j.week_start > r.ref - 112 AND j.week_start <= r.ref
        GROUP BY j.area_code, j.indicator, j.unit, j.population
    )
    SELECT p.area_code, p.indicator, p.unit, p.w4 > 0, p.w12 > 0,
           publish._situation_last4(p.unit, p.population, p.n4::numeric, p.d4::numeric,
                                    p.w4)::double precision,
           publish._situation_prev12_mean(p.unit, p.population, p.n12::numeric,
                                          p.d12::numeric, p.w12)::double precision
    FROM sums p
"""


def measure(conn: psycopg.Connection) -> list[Utility]:
    """The utility table of the current publication (rows: weekly cells per unit, situation
    last4 and prev12_mean per unit, weekday and hour bins). Reads only; needs the owner."""
    (d,) = one(conn, "SELECT coalesce(ckm_d, 0) FROM publish.state")
    with conn.transaction(force_rollback=True):
        (layer,) = one(conn, "SELECT lagesbild.current_area_version()")
        schema, name = one(
            conn,
            "SELECT n.nspname::text, c.relname::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.oid = publish._place_observations(%s)",
            (layer,),
        )
        conn.execute(
            sql.SQL("CREATE TEMP TABLE exact ON COMMIT DROP AS " + _EXACT).format(
                source=sql.Identifier(schema, name)
            )
        )
        conn.execute("CREATE INDEX ON pg_temp.exact (area_code, week_start, indicator)")
        conn.execute("ANALYZE pg_temp.exact")
        conn.execute("CREATE TEMP TABLE joined ON COMMIT DROP AS " + _JOINED)
        rows = [
            Utility("weekly cells", unit, n, pub, _f(mean), _f(top), _f(pos), int(beyond))
            for unit, n, pub, mean, top, pos, beyond in conn.execute(_CELLS, {"d": d})
        ]
        situation = conn.execute(_SITUATION).fetchall()
        bins = conn.execute(_BINS, {"d": d}).fetchall()
        published = _published_situation(conn)
    rows += _situation_rows(situation, published)
    rows += [
        Utility(f"{kind} bins", "count", n, pub, _f(mean), _f(top), _f(pos), int(beyond))
        for kind, n, pub, mean, top, pos, beyond in bins
    ]
    return rows


def _f(x) -> float | None:
    return None if x is None else float(x)


def _published_situation(conn: psycopg.Connection) -> dict[tuple[str, str, str], float | None]:
    """(area, indicator, 'last4' | 'prev12_mean') -> the published figure."""
    inds = [r[0] for r in conn.execute("SELECT id FROM lagesbild.indicator ORDER BY id")]
    cols = [(i, part) for i in inds for part in ("last4", "prev12_mean")]
    query = sql.SQL("SELECT area_code, {} FROM publish.situation").format(
        sql.SQL(", ").join(sql.Identifier(f"{i}_{part}") for i, part in cols)
    )
    out: dict[tuple[str, str, str], float | None] = {}
    for area, *values in conn.execute(query):
        for (i, part), value in zip(cols, values, strict=True):
            out[(area, i, part)] = value
    return out


def _situation_rows(exact, published) -> list[Utility]:
    groups: dict[tuple[str, str], list] = {}
    for area, ind, unit, has4, has12, last4, prev12 in exact:
        for part, has, x in (("last4", has4, last4), ("prev12_mean", has12, prev12)):
            if not has:
                continue
            groups.setdefault((part, unit), []).append((published.get((area, ind, part)), x))
    rows = []
    for (part, unit), pairs in sorted(groups.items()):
        devs = [abs(p - x) for p, x in pairs if p is not None and x is not None]
        positive = [abs(p - x) for p, x in pairs if p is not None and x is not None and x > 0]
        rows.append(
            Utility(
                f"situation {part}",
                unit,
                len(pairs),
                sum(p is not None for p, _ in pairs),
                sum(devs) / len(devs) if devs else None,
                max(devs) if devs else None,
                sum(positive) / len(positive) if positive else None,
            )
        )
    return rows


def table(rows: list[Utility]) -> str:
    """The utility table as Markdown (what ``lagesbild publish utility`` prints)."""

    def num(x: float | None, digits: int = 2) -> str:
        return "–" if x is None else f"{x:,.{digits}f}"

    lines = [
        "| figure | unit | with data | published | share | mean abs. dev. | … where exact > 0 "
        "| largest | > n·D |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        share = "–" if r.published_share is None else f"{100 * r.published_share:.1f} %"
        beyond = "–" if r.beyond_bound is None else str(r.beyond_bound)
        lines.append(
            f"| {r.figure} | {r.unit} | {r.with_data:,} | {r.published:,} | {share} | "
            f"{num(r.mean_abs_dev, 3)} | {num(r.mean_abs_dev_positive, 3)} | "
            f"{num(r.max_abs_dev)} | {beyond} |"
        )
    return "\n".join(lines)
