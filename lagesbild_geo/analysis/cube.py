"""The areas × indicators × weeks cube an analysis runs on, read from its source.

Two sources (:data:`SOURCES`, input ``source``): the published, protected cells that anyone
may analyse, and the exact counts (migration 0024's security-invoker views) that an analyst
reads whole and an actor for its own deliveries only, the row-level security of the caller's
transaction deciding which rows there are. Both fill the same :class:`Cube`; how a published
cell that cannot be shown enters it, and how weeks without a delivery are told from zeros, is
in :mod:`lagesbild_geo.analysis.run`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import psycopg
import shapely
from psycopg import sql

from lagesbild_geo.analysis.params import DEFAULT_WEEKS, MAX_WEEKS, Params
from lagesbild_geo.db.connection import one
from lagesbild_geo.errors import InputError
from lagesbild_geo.stats import trends
from lagesbild_geo.weeks import iso_week


@dataclass
class Cube:
    """The public cube: values[area, indicator, week] (NaN: no delivery covers the week)."""

    codes: list[str]
    names: list[str]
    population: np.ndarray
    geojson: list[str]
    metric: np.ndarray  # shapely geometries in EPSG:3006, for the weights
    indicators: dict[str, dict]
    weeks: list[date]
    values: np.ndarray
    imputed_cells: int
    cells: int
    k: int
    version: int
    deliveries: list[int]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    """Where a cube's cells come from: the approved deliveries that cover weeks (``id,
    actor_kind, first_week, last_week, indicators``) and the cells' query (area, indicator,
    week index, suppressed, value)."""

    deliveries: tuple[str, str]
    cells: str
    description: str


SOURCES = {
    "published": Source(
        ("publish", "approved_deliveries"),
        "SELECT area_code, indicator, (week_start - %s) / 7, value_status <> 'published',"
        " CASE WHEN unit = 'count' THEN value ELSE numerator END"
        " FROM publish.observations WHERE indicator = ANY(%s) AND actor_kind = ANY(%s)"
        " AND week_start BETWEEN %s AND %s",
        "publish.observations: approved deliveries only, protected by the cell key method"
        " (docs/disclosure.md)",
    ),
    # migration 0024: security-invoker views, so the caller's row-level security applies
    "exact": Source(
        ("restricted", "analysis_deliveries"),
        "SELECT area_code, indicator_id, (week_start - %s) / 7, false, numerator"
        " FROM restricted.analysis_cells WHERE indicator_id = ANY(%s) AND actor_kind = ANY(%s)"
        " AND week_start BETWEEN %s AND %s",
        "restricted.analysis_cells: the exact counts of the approved deliveries the caller may"
        " read (an actor its own, an analyst all; row-level security)",
    ),
}


def load_cube(conn: psycopg.Connection, params: Params) -> Cube:
    """Read the tables of the run's source in one snapshot and build the cube.

    A published run opens its own read-only snapshot; an exact one runs inside the caller's
    transaction (its role and identity already set: :mod:`lagesbild_geo.access.session`).
    """
    source = SOURCES[params.source]
    deliveries_of = sql.Identifier(*source.deliveries)
    with conn.transaction():
        if params.source == "published":
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        version, k = one(conn, "SELECT version, k FROM publish.state")
        catalogue = {
            r[0]: {"id": r[0], "name_sv": r[1], "name_en": r[2], "unit": r[3]}
            for r in conn.execute("SELECT id, name_sv, name_en, unit FROM publish.indicators")
        }
        _check_indicators(params, catalogue)
        kinds = list(params.actor_kinds)
        inds = list(params.indicators)
        (newest,) = one(
            conn,
            sql.SQL(
                "SELECT max(last_week) FROM {} WHERE indicators && %s AND actor_kind = ANY(%s)"
            ).format(deliveries_of),
            (inds, kinds),
        )
        if newest is None:
            raise InputError(
                f"There is no published data for {', '.join(inds)} from actor kind(s) "
                f"{', '.join(kinds)}; choose another indicator or more actor kinds"
            )
        end = params.period_end or newest
        start = params.period_start or _default_start(params, end)
        n_weeks = (end - start).days // 7 + 1
        if n_weeks > MAX_WEEKS:
            raise InputError(f"The period has {n_weeks} weeks; at most {MAX_WEEKS} are analysed")
        weeks = [start + timedelta(weeks=i) for i in range(n_weeks)]
        areas = conn.execute(
            "SELECT code, name, population, ST_AsGeoJSON(geom, 6), ST_AsBinary(geom)"
            " FROM publish.areas ORDER BY code"
        ).fetchall()
        deliveries = conn.execute(
            sql.SQL(
                "SELECT id, first_week, last_week, indicators FROM {}"
                " WHERE indicators && %s AND actor_kind = ANY(%s) AND last_week >= %s"
                " AND first_week <= %s ORDER BY id"
            ).format(deliveries_of),
            (inds, kinds, start, end),
        ).fetchall()
        rows = conn.execute(source.cells, (start, inds, kinds, start, end)).fetchall()
    if not areas:
        raise InputError("No areas are published yet; import the area layer first")
    code_index = {r[0]: i for i, r in enumerate(areas)}
    ind_index = {name: j for j, name in enumerate(inds)}
    imputed = (k - 1) / 2
    if params.process == "early-warning":
        imputed = math.floor(imputed + 0.5)
    covered = np.zeros((len(inds), n_weeks), dtype=bool)
    for _, first, last, delivered in deliveries:
        lo, hi = max((first - start).days // 7, 0), min((last - start).days // 7, n_weeks - 1)
        for name in set(delivered) & set(inds):
            covered[ind_index[name], lo : hi + 1] = True
    values = np.zeros((len(areas), len(inds), n_weeks))
    n_imputed = 0
    for code, name, week, suppressed, value in rows:
        if code in code_index:
            n_imputed += bool(suppressed)
            values[code_index[code], ind_index[name], week] += imputed if suppressed else value
    values[:, ~covered] = np.nan
    if not covered.any():
        raise InputError(
            f"The period {iso_week(start)}..{iso_week(end)} has no published data for "
            f"{', '.join(inds)}; the newest published week is {iso_week(newest)}"
        )
    return Cube(
        codes=[r[0] for r in areas],
        names=[r[1] for r in areas],
        population=np.array([r[2] or 0 for r in areas], dtype=float),
        geojson=[r[3] for r in areas],
        metric=_to_sweref(shapely.from_wkb([bytes(r[4]) for r in areas])),
        indicators={name: catalogue[name] for name in inds},
        weeks=weeks,
        values=values,
        imputed_cells=n_imputed,
        cells=int(covered.sum()) * len(areas),  # area x week x indicator cells with data
        k=k,
        version=version,
        deliveries=[r[0] for r in deliveries],
    )


@functools.cache
def _sweref_transformer():
    import pyproj

    return pyproj.Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)


def _to_sweref(geoms: np.ndarray) -> np.ndarray:
    """CRS84 -> SWEREF 99 TM (metres) for the weights; one transformer per process, reused
    (PostGIS's ST_Transform pays the PROJ set-up on every new connection)."""
    transformer = _sweref_transformer()
    return shapely.transform(
        geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def _check_indicators(params: Params, catalogue: dict[str, dict]) -> None:
    for name in params.indicators:
        if name not in catalogue:
            known = ", ".join(sorted(i for i, v in catalogue.items() if v["unit"] != "share"))
            raise InputError(f"Unknown indicator (not in the catalogue); known indicators: {known}")
        if catalogue[name]["unit"] == "share":
            raise InputError(
                f"{name} is published as a share (yearly or quarterly), not as weekly counts; "
                "analyse a count indicator"
            )


def _default_start(params: Params, end: date) -> date:
    if params.process == "early-warning":
        weeks = params.baseline_weeks + params.guard_weeks + params.recent_weeks
    else:
        weeks = DEFAULT_WEEKS[params.process]
        if params.process == "trends" and params.seasonal:
            weeks = 2 * trends.WEEKS_PER_YEAR
    return end - timedelta(weeks=weeks - 1)
