"""Publish: the public layers in schema ``publish`` and the role that may read them.

The tables are rebuilt by :func:`refresh`, in the same transaction as every review that
changes the approved data (``publish.review``), every area import, and by ``lagesbild publish
refresh``: the SQL in ``lagesbild_geo/db/functions/20_refresh.sql`` collects the contributions
(one actor's part of one cell), :mod:`lagesbild_geo.disclosure` protects them with the cell
key method (docs/disclosure.md), and the SQL builds every public layer from the protected
figures only. This module also holds the least-privilege reader role that pygeoapi connects
as and the extents the server advertises. Saved analysis runs are written by ``results``.

Why a separate reader role: the server faces the internet; if it is ever tricked into running
a query it was not meant to, the database itself must refuse to show anything restricted.
``lagesbild_reader`` can SELECT in schema ``publish`` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import psycopg

from lagesbild_geo.db.connection import one
from lagesbild_geo.disclosure import keys, protect, ptable

READER_ROLE = "lagesbild_reader"


@dataclass(frozen=True)
class State:
    """The publication's version and when it last changed (the ETag and Last-Modified)."""

    version: int
    updated_at: datetime
    reference_week: date | None
    k: int
    ckm_d: int | None = None
    ckm_v: float | None = None


@dataclass(frozen=True)
class Extents:
    """Spatial (CRS84) and temporal extent of the published data, for the collection metadata."""

    bbox: tuple[float, float, float, float]
    first_week: date | None
    last_week_end: date | None


def refresh(
    conn: psycopg.Connection,
    k: int | None = None,
    *,
    d: int | None = None,
    v: float | None = None,
    lo: date | None = None,
    hi: date | None = None,
    indicators: list[str] | None = None,
    actor_kinds: list[str] | None = None,
) -> int:
    """Rebuild the public layers from approved data in one transaction; return the version.

    ``k``, ``d``, ``v``: the threshold and the cell key method's maximum deviation and
    variance (``None``: those of the last publication; a new ``k`` alone takes ``d = k - 2``,
    ``v = 1``). ``lo``/``hi``, ``indicators`` and ``actor_kinds`` limit the rebuild of the
    weekly cells to those a review touched (``None``: all); a change of a parameter, or no
    weeks, rebuilds everything. Cells outside keep their published values: their
    contributions and so their keys are unchanged. The situation and the indicators'
    metadata are always rebuilt, from the published cells.
    """
    with conn.transaction():
        use_k, use_d, use_v, lo, hi, inds, kinds, layer = one(
            conn,
            "SELECT * FROM publish._refresh_begin(%s, %s, %s, %s, %s, %s, %s)",
            (k, d, v, lo, hi, indicators, actor_kinds),
        )
        table = ptable.build(use_d, use_v)
        stored = conn.execute(
            "SELECT row, perturbation, probability FROM publish.ptable ORDER BY 1, 2"
        ).fetchall()
        if lo is not None and [tuple(r) for r in stored] != table.rows():
            # the table itself changed (a new version of the method): every cell is drawn
            # again from it, or the publication would mix two tables
            use_k, use_d, use_v, lo, hi, inds, kinds, layer = one(
                conn,
                "SELECT * FROM publish._refresh_begin(%s, %s, %s, NULL, NULL, NULL, NULL)",
                (use_k, use_d, use_v),
            )
        _write_ptable(conn, table)
        _protect_contributions(conn, table)
        # the analyst's exact layer: the same cells without the noise
        conn.execute("SELECT publish._refresh_exact(%s, %s, %s, %s)", (lo, hi, inds, kinds))
        if lo is None:
            # everything is rebuilt (an area import among others): the actors' own cells
            # are checked too, their rates per 1,000 made from the new populations
            conn.execute("SELECT restricted.sync_own_cells(true)")
        (version,) = one(
            conn,
            "SELECT publish._refresh_finish(%s, %s, %s, %s, %s, %s, %s, %s)",
            (use_k, use_d, use_v, lo, hi, inds, kinds, layer),
        )
    return version


#: What a full refresh rewrites whole (and migration 0028 fills), largest first.
REWRITTEN_TABLES = (
    "restricted.own_cells", "restricted.exact_cells", "publish.observations",
    "publish.observation_counts", "restricted.exact_cell_counts", "restricted.own_cell_counts",
)  # fmt: skip


def vacuum(conn: psycopg.Connection) -> None:
    """``VACUUM ANALYZE`` of the tables a full refresh rewrote (commits what ``conn`` has
    open; VACUUM cannot run in a transaction).

    After a rewrite no page of them is marked all-visible, so the restricted layers'
    index-only reads fetched every row from the heap as well until autovacuum came by: the
    analyst's layer answered 49.7 requests/s (p95 518 ms) on bench/serve.py's database just
    after its refresh and 99 requests/s (p95 198 ms) vacuumed. The planner's statistics are
    those of the old rows too. Run by ``lagesbild publish refresh`` and by ``lagesbild serve``
    after the refresh it makes; a review's refresh rewrites a few weeks and leaves them to
    autovacuum.
    """
    conn.commit()
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute(f"VACUUM (ANALYZE) {', '.join(REWRITTEN_TABLES)}")
    finally:
        conn.autocommit = autocommit


def _write_ptable(conn: psycopg.Connection, table: ptable.PTable) -> None:
    conn.execute("DELETE FROM publish.ptable")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO publish.ptable (row, perturbation, probability) VALUES (%s, %s, %s)",
            table.rows(),
        )


#: Units as the protection treats them: a share has two protected parts, the rest one count.
_SHARE = "share"


def _protect_contributions(conn: psycopg.Connection, table: ptable.PTable) -> None:
    """Protect every contribution in pg_temp.contribution_in into protected_contribution."""
    rows = conn.execute(
        "SELECT rn, unit = %s, num, den, wd, hr, digest FROM pg_temp.contribution_in ORDER BY rn",
        (_SHARE,),
    ).fetchall()
    if not rows:
        return
    rn = np.array([r[0] for r in rows], dtype=np.int64)
    share = np.array([r[1] for r in rows], dtype=bool)
    num = np.array([r[2] for r in rows], dtype=np.int64)
    den = np.array([r[3] if r[3] is not None else r[2] for r in rows], dtype=np.int64)
    u = keys.from_digests(r[6] for r in rows)
    num_p = protect.protect_counts(table, num, u[:, keys.SLOT_COUNT])
    rest_p = protect.protect_counts(table, den - num, u[:, keys.SLOT_REST])
    den_p = np.where(share, num_p + rest_p, 0)
    has_bins = np.array([r[4] is not None and r[5] is not None for r in rows], dtype=bool)
    wd_p = np.zeros((len(rows), 7), dtype=np.int64)
    hr_p = np.zeros((len(rows), 24), dtype=np.int64)
    ok = np.ones(len(rows), dtype=bool)
    if has_bins.any():
        idx = np.flatnonzero(has_bins)
        wd = np.array([rows[i][4] for i in idx], dtype=np.int64)
        hr = np.array([rows[i][5] for i in idx], dtype=np.int64)
        wd_p[idx] = protect.protect_breakdown(table, wd, u[idx, keys.SLOTS_WEEKDAY], num_p[idx])
        hr_p[idx] = protect.protect_breakdown(table, hr, u[idx, keys.SLOTS_HOUR], num_p[idx])
        ok[idx] = protect.breakdown_within(table, wd, wd_p[idx]) & protect.breakdown_within(
            table, hr, hr_p[idx]
        )
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY pg_temp.protected_contribution (rn, num, den, wd, hr, bins_ok) FROM STDIN"
        ) as copy,
    ):
        for i in range(len(rows)):
            copy.write_row(
                (
                    int(rn[i]),
                    int(num_p[i]),
                    int(den_p[i]) if share[i] else None,
                    wd_p[i].tolist() if has_bins[i] else None,
                    hr_p[i].tolist() if has_bins[i] else None,
                    bool(ok[i]),
                )
            )


def read_state(conn: psycopg.Connection) -> State:
    row = one(
        conn, "SELECT version, updated_at, reference_week, k, ckm_d, ckm_v FROM publish.state"
    )
    return State(*row)


def read_extents(conn: psycopg.Connection) -> Extents:
    """The bbox of the areas (CRS84) and the weeks with published observations.

    Falls back to Sweden's extent when no areas are loaded yet, so that the configuration is
    valid on an empty database too.
    """
    box = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
        " FROM (SELECT ST_Extent(geom) AS e FROM publish.areas) s"
    ).fetchone()
    weeks = one(conn, "SELECT min(week_start), max(week_end) FROM publish.observations")
    bbox = tuple(round(v, 6) for v in box) if box and box[0] is not None else SWEDEN_BBOX
    return Extents(bbox=bbox, first_week=weeks[0], last_week_end=weeks[1])


SWEDEN_BBOX = (10.03, 55.36, 24.17, 69.07)
