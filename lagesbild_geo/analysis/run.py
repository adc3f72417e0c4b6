"""Analyse: hot spots, emerging hot spots, trends and early warning on the published cube.

This module is what the four OGC API processes (``processes/``) and ``lagesbild analyse`` run:
parse and check the caller's parameters (:mod:`.params`), build the areas × indicators × weeks
cube from the public tables, call the pure statistics (:mod:`.hotspots`, :mod:`.emerging`,
:mod:`.trends`, :mod:`.early_warning`) and return a GeoJSON FeatureCollection (CRS84) with a
``provenance`` block that says exactly what was computed from what.

**Analyses see only what is already public.** The processes can be called by anyone, without
authentication, so their input is the published, protected weekly cells of
``publish.observations`` (read through the least-privilege reader role in the server), never
the exact restricted counts in schema ``lagesbild``:

* a Gi* z-score is linear in the values, ``z = (Σ_j w_ij y_j − k̄ x̄) / s…``, with weights the
  caller chooses; run over exact data, a few calls with different neighbourhoods (or knn with
  k = 1) solve for single cells, small ones included;
* trends, sums and rates over arbitrary periods difference out: the total of weeks 1–10 minus
  the total of weeks 1–9 is week 10, however small;
* everything computed from the published cells is a function of public data and can leak
  nothing that is not public already.

The published counts are protected by the cell key method (docs/disclosure.md): each is the
true count plus a bounded, unbiased perturbation, so the statistics run on them directly. A
cell published as NULL (``value_status`` not ``published``: a share or rate that cannot be
shown) enters the cube as the constant **(k − 1) / 2**; the output says how many cells were
imputed. Early warning needs whole counts and rounds the constant half up. Cells absent from
the public table in a week that an approved delivery of the indicator covers are zeros (event
deliveries only have rows where something happened); weeks that no approved delivery covers
have no data (NaN), not zeros, so a block still waiting for review does not look like a sudden
fall. The actor kinds the caller selects are summed. Indicators published as shares (school
results, reports of concern, the safety survey) come yearly or quarterly and are not analysed
here.
"""

from __future__ import annotations

import functools
import json
import math
import platform
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import metadata

import numpy as np
import psycopg
import shapely

from lagesbild_geo.analysis.params import (
    BIN_LABELS,
    DEFAULT_WEEKS,
    MAX_WEEKS,
    MIN_WEEKS,
    PATTERN_SV,
    TREND_LABELS,
    Params,
    parse_params,
)
from lagesbild_geo.db.connection import one
from lagesbild_geo.errors import InputError
from lagesbild_geo.stats import emerging, hotspots, trends
from lagesbild_geo.stats.early_warning import early_warning
from lagesbild_geo.stats.weights import (
    distance_band_weights,
    knn_weights,
    queen_weights,
    require_neighbours,
)
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


def load_cube(conn: psycopg.Connection, params: Params) -> Cube:
    """Read the public tables in one read-only snapshot and build the cube."""
    with conn.transaction():
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
            "SELECT max(last_week) FROM publish.approved_deliveries"
            " WHERE indicators && %s AND actor_kind = ANY(%s)",
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
            "SELECT id, first_week, last_week, indicators FROM publish.approved_deliveries"
            " WHERE indicators && %s AND actor_kind = ANY(%s) AND last_week >= %s"
            " AND first_week <= %s ORDER BY id",
            (inds, kinds, start, end),
        ).fetchall()
        rows = conn.execute(
            "SELECT area_code, indicator, (week_start - %s) / 7, value_status <> 'published',"
            " CASE WHEN unit = 'count' THEN value ELSE numerator END"
            " FROM publish.observations WHERE indicator = ANY(%s) AND actor_kind = ANY(%s)"
            " AND week_start BETWEEN %s AND %s",
            (start, inds, kinds, start, end),
        ).fetchall()
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


def _series(cube: Cube, params: Params) -> tuple[np.ndarray, np.ndarray]:
    """Values as counts or rates per 1,000; areas without population dropped for rates."""
    keep = np.ones(len(cube.codes), dtype=bool)
    values = cube.values
    if params.measure == "rate":
        keep = cube.population > 0
        if not keep.any():
            raise InputError("No area has a population; analyse measure 'count' instead")
        if not keep.all():
            dropped = [c for c, ok in zip(cube.codes, keep, strict=True) if not ok]
            cube.warnings.append(f"areas without population left out of the rates: {dropped}")
        values = values[keep] / cube.population[keep, None, None] * 1000.0
    return keep, values


def _weights(cube: Cube, keep: np.ndarray, params: Params):
    ids = [c for c, ok in zip(cube.codes, keep, strict=True) if ok]
    geoms = cube.metric[keep]
    try:
        if params.weights == "queen":
            w = queen_weights(geoms, ids)
        elif params.weights == "distance_band":
            assert params.distance_m is not None, "parse_params refuses a band without distance"
            w = distance_band_weights(geoms, params.distance_m, ids)
        else:
            w = knn_weights(geoms, params.k_neighbours, ids)
        return require_neighbours(w)
    except ValueError as exc:
        raise InputError(f"Spatial weights: {exc}") from None


def _covered_weeks(cube: Cube, params: Params) -> np.ndarray:
    covered = ~np.isnan(cube.values[0]).all(axis=0)
    period = f"{iso_week(cube.weeks[0])}..{iso_week(cube.weeks[-1])}"
    if params.process == "trends" and params.seasonal and len(cube.weeks) < 104:
        raise InputError(
            "The seasonal Mann-Kendall test needs a period of at least 104 weeks (two years); "
            f"the period {period} has {len(cube.weeks)}; choose a longer period"
        )
    need = MIN_WEEKS.get(params.process, 1)
    if covered.sum() < need:
        method = {"hotspots": "Gi*", "emerging-hotspots": "Emerging hot spot analysis"}.get(
            params.process, "The seasonal Mann-Kendall test" if params.seasonal else "Mann-Kendall"
        )
        raise InputError(
            f"{method} needs at least {need} weeks; the period {period} has "
            f"{int(covered.sum())} with published data; choose a longer period"
        )
    return covered


def _all_zero(values: np.ndarray, name: str, cube: Cube) -> None:
    if not np.nan_to_num(values).any():
        raise InputError(
            f"Every area has 0 {name} in {iso_week(cube.weeks[0])}..{iso_week(cube.weeks[-1])}: "
            "there is nothing to analyse; choose a longer period or another indicator"
        )


def _num(x, digits: int = 6):
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None


def analyse(conn: psycopg.Connection, params: Params) -> dict:
    """Run one process on the public cube; return its GeoJSON FeatureCollection."""
    cube = load_cube(conn, params)
    keep, values = _series(cube, params)
    covered = _covered_weeks(cube, params)
    rows: list[dict] = []
    run = {"hotspots": _hotspots, "emerging-hotspots": _emerging, "trends": _trends,
           "early-warning": _early_warning}[params.process]  # fmt: skip
    notes = run(cube, params, keep, values, covered, rows)
    if keep.sum() < hotspots.MIN_RELIABLE_AREAS:
        notes.insert(
            0,
            f"WARNING: only {int(keep.sum())} areas; the statistics need at least "
            f"{hotspots.MIN_RELIABLE_AREAS} for reliable results (as Esri warns)",
        )
    features = []
    index = {c: i for i, c in enumerate(cube.codes)}
    for row in rows:
        i = index[row["area_code"]]
        per_area = params.process in ("hotspots", "emerging-hotspots")
        fid = row["area_code"] if per_area else f"{row['area_code']}:{row['indicator']}"
        features.append(
            {
                "type": "Feature",
                "id": fid,
                "geometry": json.loads(cube.geojson[i]),
                "properties": {"area_name": cube.names[i], **row},
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberReturned": len(features),
        "warnings": cube.warnings + notes,
        "provenance": provenance(cube, params, covered),
    }


def _period(cube: Cube) -> str:
    return f"{iso_week(cube.weeks[0])}/{iso_week(cube.weeks[-1])}"


def _base(cube: Cube, params: Params, code: str, name: str) -> dict:
    ind = cube.indicators[name]
    return {"area_code": code, "indicator": name, "indicator_name_sv": ind["name_sv"],
            "indicator_name_en": ind["name_en"], "period": _period(cube),
            "measure": params.measure}  # fmt: skip


def _hotspots(cube, params, keep, values, covered, rows) -> list[str]:
    name = params.indicators[0]
    y = np.nansum(values[:, 0, :], axis=1)
    _all_zero(y, name, cube)
    w = _weights(cube, keep, params)
    r = hotspots.gi_star(y, w, permutations=params.permutations, seed=params.seed, fdr=params.fdr)
    decide = r.q if params.fdr else r.p
    for i, code in enumerate(r.ids):
        label_sv, label_en = BIN_LABELS[int(r.bin[i])]
        rows.append(_base(cube, params, code, name) | {
            "value": _num(y[i]), "z": _num(r.z[i]), "p": _num(r.p[i]), "p_sim": _num(r.p_sim[i]),
            "q": _num(r.q[i]), "bin": int(r.bin[i]), "label_sv": label_sv, "label_en": label_en,
            "significant": bool(decide[i] <= params.alpha), "island": code in r.islands,
        })  # fmt: skip
    return list(r.warnings)


def _emerging(cube, params, keep, values, covered, rows) -> list[str]:
    name = params.indicators[0]
    data = values[:, 0, covered]
    _all_zero(data, name, cube)
    w = _weights(cube, keep, params)
    r = emerging.emerging_hot_spots(
        data, w, time_steps=params.time_steps, alpha=params.alpha, fdr=params.fdr
    )
    for i, code in enumerate(r.ids):
        label_sv, label_en = BIN_LABELS[int(r.bin[i, -1])]
        rows.append(_base(cube, params, code, name) | {
            "pattern": str(r.pattern[i]), "pattern_en": str(r.pattern[i]),
            "pattern_sv": PATTERN_SV[str(r.pattern[i])], "trend_z": _num(r.trend_z[i]),
            "trend_p": _num(r.trend_p[i]), "hot_weeks": int(r.hot_weeks[i]),
            "cold_weeks": int(r.cold_weeks[i]), "value": _num(np.sum(data[i])),
            "z": _num(r.z[i, -1]), "p": _num(r.p[i, -1]), "bin": int(r.bin[i, -1]),
            "label_sv": label_sv, "label_en": label_en,
        })  # fmt: skip
    dropped = int((~covered).sum())
    notes = list(r.warnings)
    if dropped:
        notes.append(f"{dropped} week(s) without any approved delivery were left out of the cube")
    return notes


def _trends(cube, params, keep, values, covered, rows) -> list[str]:
    if params.seasonal:
        r = trends.seasonal_mann_kendall(values, alpha=params.alpha)
        per_week = r.slope / trends.WEEKS_PER_YEAR
    else:
        r = trends.mann_kendall(values, alpha=params.alpha, hamed_rao=params.hamed_rao)
        per_week = r.slope
    codes = [c for c, ok in zip(cube.codes, keep, strict=True) if ok]
    for j, name in enumerate(params.indicators):
        for i, code in enumerate(codes):
            sv, en = TREND_LABELS[str(r.trend[i, j])]
            rows.append(_base(cube, params, code, name) | {
                "trend": str(r.trend[i, j]), "direction_sv": sv, "direction_en": en,
                "tau": _num(r.tau[i, j]), "z": _num(r.z[i, j]), "p": _num(r.p[i, j]),
                "slope_per_week": _num(per_week[i, j]), "weeks": int(r.n[i, j]),
            })  # fmt: skip
    return []


def _early_warning(cube, params, keep, values, covered, rows) -> list[str]:
    need = params.baseline_weeks + params.guard_weeks + params.recent_weeks
    if len(cube.weeks) < need:
        raise InputError(
            f"Early warning with a {params.baseline_weeks}-week baseline, a "
            f"{params.guard_weeks}-week guard gap and {params.recent_weeks} recent week(s) "
            f"needs {need} weeks; the period has {len(cube.weeks)}"
        )
    r = early_warning(
        values, recent_weeks=params.recent_weeks, baseline_weeks=params.baseline_weeks,
        guard_weeks=params.guard_weeks, fdr_level=params.alpha,
    )  # fmt: skip
    for j, name in enumerate(params.indicators):
        for i, code in enumerate(cube.codes):
            flag = bool(r.flag[i, j])
            rows.append(_base(cube, params, code, name) | {
                "observed": _num(r.observed[i, j]), "expected": _num(r.expected[i, j]),
                "p": _num(r.p[i, j]), "q": _num(r.q[i, j]), "flag": flag,
                "method": str(r.method[i, j]),
                "label_sv": "Varning: ovanligt högt" if flag else "Inom det vanliga",
                "label_en": "Warning: unusually high" if flag else "Within the usual range",
            })  # fmt: skip
    return []


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for label, dist in (("lagesbild", "lagesbild-geo"), ("numpy", "numpy"), ("scipy", "scipy"),
                        ("pygeoapi", "pygeoapi"), ("psycopg", "psycopg")):  # fmt: skip
        try:
            versions[label] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[label] = "not installed"
    return versions


def provenance(cube: Cube, params: Params, covered: np.ndarray) -> dict:
    parameters = {
        k: (iso_week(v) if isinstance(v, date) else list(v) if isinstance(v, tuple) else v)
        for k, v in params.__dict__.items()
    }
    parameters["period_start"], parameters["period_end"] = (
        iso_week(cube.weeks[0]),
        iso_week(cube.weeks[-1]),
    )
    return {
        "process": params.process,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": parameters,
        "seed": params.seed,
        "software": software_versions(),
        "input": {
            "source": "publish.observations: approved deliveries only, protected by the cell key"
            " method (docs/disclosure.md)",
            "publication_version": cube.version,
            "k": cube.k,
            "imputed_value": (cube.k - 1) / 2
            if params.process != "early-warning"
            else math.floor((cube.k - 1) / 2 + 0.5),
            "imputed_cells": cube.imputed_cells,
            "cells": cube.cells,
            "areas": len(cube.codes),
            "weeks": len(cube.weeks),
            "weeks_without_data": [
                iso_week(w) for w, ok in zip(cube.weeks, covered, strict=True) if not ok
            ],
            "actor_kinds_summed": list(params.actor_kinds),
            "deliveries": cube.deliveries,
        },
    }


def run(conninfo: str, process: str, inputs: dict) -> dict:
    """Parse, analyse and (with ``publish: true``) save; the entry point of processes and CLI."""
    params = parse_params(process, inputs)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        collection = analyse(conn, params)
        if params.publish:
            from lagesbild_geo.publish.results import save_analysis_run

            collection["provenance"]["published_run_id"] = save_analysis_run(conn, collection)
    return collection


def indicators_with_data(conn: psycopg.Connection) -> list[tuple[str, date]]:
    """(indicator, newest published week) of every weekly indicator with published data."""
    return conn.execute(
        "SELECT id, last_week FROM publish.indicators"
        " WHERE last_week IS NOT NULL AND unit <> 'share' ORDER BY id"
    ).fetchall()
