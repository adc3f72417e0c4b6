"""Emerging hot spots: space-time Gi*, the 17 Esri patterns, and a whole run on Stockholm."""

import time
from pathlib import Path

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from shapely.geometry import box

from lagesbild_geo.stats.emerging import (
    PATTERNS,
    classify_patterns,
    emerging_hot_spots,
    space_time_gi_star,
)
from lagesbild_geo.stats.trends import mann_kendall
from lagesbild_geo.stats.weights import queen_weights

STOCKHOLM = (
    Path(__file__).resolve().parents[2].parent / "shared" / "areas" / "deso2018_stockholms_lan.gpkg"
)
WEEKS = 20  # 90 % of 20 weeks = 18 weeks

# (hot weeks, cold weeks, significant rising trend, significant falling trend, pattern)
CASES = [
    ([], [], False, False, "No Pattern Detected"),
    ([19], [], False, False, "New Hot Spot"),
    ([16, 17, 18, 19], [], False, False, "Consecutive Hot Spot"),
    (range(1, 20), [], True, False, "Intensifying Hot Spot"),
    ([*range(18), 19], [], False, False, "Persistent Hot Spot"),
    (range(20), [], False, True, "Diminishing Hot Spot"),
    ([3, 4, 10, 19], [], False, False, "Sporadic Hot Spot"),
    ([12, 19], [5, 6], False, False, "Oscillating Hot Spot"),
    (range(18), [], False, False, "Historical Hot Spot"),
    ([], [19], False, False, "New Cold Spot"),
    ([], [17, 18, 19], False, False, "Consecutive Cold Spot"),
    ([], range(1, 20), False, True, "Intensifying Cold Spot"),
    ([], range(20), False, False, "Persistent Cold Spot"),
    ([], range(2, 20), True, False, "Diminishing Cold Spot"),
    ([], [0, 8, 9, 19], False, False, "Sporadic Cold Spot"),
    ([2, 3, 4], [7, 19], False, False, "Oscillating Cold Spot"),
    ([], range(1, 19), False, False, "Historical Cold Spot"),
]

# Where literal definitions overlap or sit on a boundary (see classify_patterns' Notes).
EDGE_CASES = [
    ([5, 6], [], False, False, "No Pattern Detected"),  # hot before, not now, < 90 %
    ([19], [4], False, False, "Oscillating Hot Spot"),  # first hot week, but cold before
    ([10, 11, 18, 19], [], False, False, "Sporadic Hot Spot"),  # run of 2, hot before it
    ([*range(17), 19], [], True, False, "Intensifying Hot Spot"),  # exactly 18 of 20 weeks
    ([*range(16), 19], [], True, False, "Sporadic Hot Spot"),  # 17 of 20 weeks: < 90 %
    (range(19), [], True, False, "Historical Hot Spot"),  # trend, but final week not hot
    (range(19), [19], False, False, "Oscillating Cold Spot"),  # final week cold decides
    ([], range(19), False, True, "Historical Cold Spot"),
    ([18, 19], [], True, False, "Consecutive Hot Spot"),  # a trend alone changes nothing
]


def _classify(cases):
    hot = np.zeros((len(cases), WEEKS), dtype=bool)
    cold = np.zeros_like(hot)
    for i, (h, c, _, _, _) in enumerate(cases):
        hot[i, list(h)] = True
        cold[i, list(c)] = True
    up = np.array([case[2] for case in cases])
    down = np.array([case[3] for case in cases])
    return classify_patterns(hot, cold, up, down).tolist()


def test_every_pattern_as_defined():
    assert sorted(case[4] for case in CASES) == sorted(PATTERNS)
    assert _classify(CASES) == [case[4] for case in CASES]


def test_overlaps_and_boundaries():
    assert _classify(EDGE_CASES) == [case[4] for case in EDGE_CASES]


def test_classify_refuses_contradictions():
    flags = np.ones((1, 5), dtype=bool)
    with pytest.raises(ValueError, match="both"):
        classify_patterns(flags, flags, [False], [False])


def _grid(side):
    cells = [box(c, r, c + 1, r + 1) for r in range(side) for c in range(side)]
    return queen_weights(cells, snap=0)


def _brute_force_z(cube, neighbours, k):
    n_areas, n_weeks = cube.shape
    n = cube.size
    mean = cube.mean()
    s = np.sqrt((cube**2).mean() - mean**2)
    z = np.empty_like(cube)
    for i in range(n_areas):
        members = [i, *neighbours[i]]
        for t in range(n_weeks):
            weeks = range(max(0, t - k), t + 1)
            total = sum(cube[j, u] for j in members for u in weeks)
            w = len(members) * len(weeks)
            z[i, t] = (total - mean * w) / (s * np.sqrt((n * w - w * w) / (n - 1)))
    return z


@pytest.mark.parametrize("time_steps", [0, 1, 3])
def test_space_time_gi_star_by_definition(time_steps):
    w = _grid(5)
    cube = np.random.default_rng(time_steps).poisson(3, (25, 9)).astype(float)
    nbrs = {
        i: list(w.matrix.indices[w.matrix.indptr[i] : w.matrix.indptr[i + 1]]) for i in range(25)
    }
    assert_allclose(
        space_time_gi_star(cube, w, time_steps=time_steps),
        _brute_force_z(cube, nbrs, time_steps),
        rtol=0,
        atol=1e-9,
    )


def test_self_weights_in_the_input_are_ignored():
    w = _grid(4)
    cube = np.random.default_rng(2).poisson(3, (16, 8)).astype(float)
    with_self = w.matrix + sp.eye_array(16)
    assert_allclose(space_time_gi_star(cube, with_self), space_time_gi_star(cube, w))


def test_one_week_cube_is_plain_gi_star():
    w = _grid(6)
    y = np.random.default_rng(1).poisson(2, 36).astype(float)
    lw = libpysal.weights.W(w.neighbour_lists(), id_order=list(w.ids))
    ref = esda.G_Local(y, lw, transform="B", star=True, permutations=0)
    assert_allclose(space_time_gi_star(y[:, None], w)[:, 0], ref.Zs, rtol=0, atol=1e-9)


def test_planted_cube_patterns():
    """A 12 × 12 grid over 20 weeks with blocks planted to follow five patterns."""
    side = 12
    w = _grid(side)
    rng = np.random.default_rng(0)
    cube = rng.poisson(3, (side * side, WEEKS)).astype(float)

    def block(r, c):
        return [(r + dr) * side + c + dc for dr in range(3) for dc in range(3)]

    persistent, intensifying, new, historical, cold = (
        block(0, 0),
        block(0, 8),
        block(8, 0),
        block(8, 8),
        block(4, 4),
    )
    cube[persistent] += 8
    cube[intensifying] += np.linspace(6, 20, WEEKS)
    cube[new, -1] += 25
    cube[historical, :18] += 9  # 18 of 20 weeks = 90 %, then quiet
    cube[cold] = 0
    r = emerging_hot_spots(cube, w, time_steps=0)
    centre = {
        name: b[4]
        for name, b in zip(
            ("persistent", "intensifying", "new", "historical", "cold"),
            (persistent, intensifying, new, historical, cold),
            strict=True,
        )
    }
    assert r.pattern[centre["persistent"]] == "Persistent Hot Spot"
    assert r.pattern[centre["intensifying"]] == "Intensifying Hot Spot"
    assert r.pattern[centre["new"]] == "New Hot Spot"
    assert r.pattern[centre["historical"]] == "Historical Hot Spot"
    assert r.pattern[centre["cold"]] == "Persistent Cold Spot"
    assert r.warnings == ()
    assert_allclose(r.trend_z, mann_kendall(r.z, alpha=0.1).z)
    assert_array_equal(r.hot_weeks, ((r.z > 0) & (r.q <= 0.1)).sum(axis=1))


def test_fdr_is_stricter():
    w = _grid(8)
    cube = np.random.default_rng(3).poisson(2, (64, 15)).astype(float)
    cube[:3, 5:] += 3
    with_fdr = emerging_hot_spots(cube, w)
    without = emerging_hot_spots(cube, w, fdr=False)
    assert (with_fdr.hot_weeks <= without.hot_weeks).all()
    assert (np.abs(with_fdr.bin) <= np.abs(without.bin)).all()


def test_small_or_flat_cubes_warn_not_fail():
    w = _grid(3)
    flat = emerging_hot_spots(np.zeros((9, 10)), w)
    assert_array_equal(flat.pattern, "No Pattern Detected")
    assert any("only 9 areas" in m for m in flat.warnings)
    assert any("no variation" in m for m in flat.warnings)
    assert np.isfinite(flat.z).all() and (flat.trend_p == 1).all()


def test_errors_say_what_to_change():
    w = _grid(3)
    with pytest.raises(ValueError, match="shorter than the 8"):
        emerging_hot_spots(np.ones((9, 5)), w)
    with pytest.raises(ValueError, match="9 areas"):
        emerging_hot_spots(np.ones((8, 12)), w)
    with pytest.raises(ValueError, match="fill missing weeks"):
        emerging_hot_spots(np.full((9, 12), np.nan), w)
    with pytest.raises(ValueError, match="alpha"):
        emerging_hot_spots(np.ones((9, 12)), w, alpha=1.5)


def test_stockholm_104_weeks_runs_fast():
    areas = gpd.read_file(STOCKHOLM)
    w = queen_weights(areas, ids=areas["deso_code"])
    rng = np.random.default_rng(8)
    rate = (areas["pop_2023"].to_numpy() / 1000.0)[:, None] * np.ones(104)
    rate[:60] *= np.linspace(1, 4, 104)
    cube = rng.poisson(rate).astype(float)
    start = time.perf_counter()
    r = emerging_hot_spots(cube, w)
    elapsed = time.perf_counter() - start
    assert r.pattern.shape == (1287,) and r.z.shape == (1287, 104)
    assert set(r.pattern.tolist()) <= set(PATTERNS)
    assert (r.pattern != "No Pattern Detected").sum() > 0
    assert elapsed < 5.0
    assert isinstance(w.matrix, sp.csr_array)
