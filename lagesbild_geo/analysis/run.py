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

import json
import math
import platform
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from importlib import metadata

import numpy as np
import psycopg

from lagesbild_geo.analysis.cube import SOURCES, Cube, load_cube
from lagesbild_geo.analysis.params import (
    BIN_LABELS,
    MIN_WEEKS,
    PATTERN_SV,
    TREND_LABELS,
    Params,
    parse_params,
)
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


#: A seasonal Mann-Kendall test compares each week of the year with the same week in other
#: years; over a window where more than this share of the weeks are empty (no approved
#: delivery, or nothing in any area) most of those pairs are missing or tied at zero, and the
#: result carries a warning.
SEASONAL_EMPTY_SHARE = 0.25


def _trends(cube, params, keep, values, covered, rows) -> list[str]:
    if params.seasonal:
        r = trends.seasonal_mann_kendall(values, alpha=params.alpha)
        per_week = r.slope / trends.WEEKS_PER_YEAR
    else:
        r = trends.mann_kendall(values, alpha=params.alpha, hamed_rao=params.hamed_rao)
        per_week = r.slope
    # one test per area and indicator: with 60 areas x 16 indicators at 5 %, some 48 "trends"
    # would be noise; the classes are decided on Benjamini-Hochberg q-values across all of them
    # (as early warning does), the raw p beside
    q = hotspots.fdr_qvalues(r.p)
    decide = np.nan_to_num(q if params.fdr else r.p, nan=1.0)
    classes = np.where(
        decide <= params.alpha, np.where(r.z > 0, "increasing", "decreasing"), "no trend"
    )
    codes = [c for c, ok in zip(cube.codes, keep, strict=True) if ok]
    for j, name in enumerate(params.indicators):
        for i, code in enumerate(codes):
            sv, en = TREND_LABELS[str(classes[i, j])]
            rows.append(_base(cube, params, code, name) | {
                "trend": str(classes[i, j]), "direction_sv": sv, "direction_en": en,
                "tau": _num(r.tau[i, j]), "z": _num(r.z[i, j]), "p": _num(r.p[i, j]),
                "q": _num(q[i, j]), "slope_per_week": _num(per_week[i, j]),
                "weeks": int(r.n[i, j]),
            })  # fmt: skip
    notes = []
    if params.seasonal:
        empty = ~covered | ~np.nan_to_num(values).any(axis=(0, 1))
        if empty.mean() > SEASONAL_EMPTY_SHARE:
            notes.append(
                f"WARNING: {int(empty.sum())} of the {empty.size} weeks are empty (no approved "
                "delivery, or nothing in any area); the seasonal test compares each week of the "
                "year across years, so most of its pairs are missing or tied at zero: read the "
                "seasonal trends with care, or use the plain test"
            )
    return notes


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
            "source": SOURCES[params.source].description,
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


def run(
    conninfo: str,
    process: str,
    inputs: dict,
    *,
    exact: Callable[[], AbstractContextManager[psycopg.Connection]] | None = None,
    save: str | None = None,
) -> dict:
    """Parse, analyse and (with ``publish: true``) save; the entry point of processes and CLI.

    ``conninfo`` reads the publication; ``exact()`` opens the caller's transaction on the
    exact data (``source: exact``; the server's processes only, which check the role first);
    ``save`` is the connection a saved run is written with (``lagesbild_jobs`` in the server;
    default ``conninfo``, the owner for ``lagesbild analyse``).
    """
    params = parse_params(process, inputs)
    if params.source == "exact":
        if exact is None:
            raise InputError("source 'exact' is for the server's processes; use 'published'")
        with exact() as conn:
            collection = analyse(conn, params)
    else:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            collection = analyse(conn, params)
    if params.publish:
        from lagesbild_geo.publish.results import save_analysis_run

        with psycopg.connect(save or conninfo, autocommit=True) as conn:
            collection["provenance"]["published_run_id"] = save_analysis_run(conn, collection)
    return collection


def indicators_with_data(conn: psycopg.Connection) -> list[tuple[str, date]]:
    """(indicator, newest published week) of every weekly indicator with published data."""
    return conn.execute(
        "SELECT id, last_week FROM publish.indicators"
        " WHERE last_week IS NOT NULL AND unit <> 'share' ORDER BY id"
    ).fetchall()
