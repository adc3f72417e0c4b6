"""Spatial weights on the real Stockholms län DeSO areas, checked against libpysal."""

import warnings
from pathlib import Path

import geopandas as gpd
import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from scipy.spatial.distance import cdist
from shapely.geometry import box

from lagesbild_geo.stats.weights import (
    SpatialWeights,
    distance_band_weights,
    knn_weights,
    queen_weights,
    require_neighbours,
)

AREAS = Path(__file__).resolve().parents[2].parent / "shared" / "areas"
STOCKHOLM = AREAS / "deso2018_stockholms_lan.gpkg"


@pytest.fixture(scope="module")
def stockholm():
    return gpd.read_file(STOCKHOLM).set_index("deso_code")


def _pairs(w: SpatialWeights) -> set[tuple[str, str]]:
    coo = w.matrix.tocoo()
    return {(w.ids[i], w.ids[j]) for i, j in zip(coo.row, coo.col, strict=True)}


def _libpysal_pairs(lw) -> set[tuple[str, str]]:
    return {(str(i), str(j)) for i, nbs in lw.neighbors.items() for j in nbs}


def test_queen_structure(stockholm):
    w = queen_weights(stockholm)
    m = w.matrix
    assert w.n == 1287 and w.ids[0] == stockholm.index[0]
    assert m.diagonal().sum() == 0
    assert set(np.unique(m.data)) == {1.0}
    assert w.is_symmetric
    assert w.islands == ()
    # The figures quoted in DEFAULT_SNAP_METRES' comment.
    assert m.nnz // 2 == 3620
    assert queen_weights(stockholm, snap=0).matrix.nnz // 2 == 3510


def test_queen_contains_libpysal_queen_and_explains_the_rest(stockholm):
    """PySAL's Queen matches vertices; ours matches geometry within ``snap``.

    Every libpysal pair is found here; every extra pair comes within ``snap`` metres but shares
    no vertex -- exactly the pairs a non-topological simplification separates.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = libpysal.weights.Queen.from_dataframe(stockholm, use_index=True)
    lib_pairs = _libpysal_pairs(lib)
    assert len(lib_pairs) // 2 == 2852
    geoms = dict(zip(stockholm.index, stockholm.geometry, strict=True))
    for snap in (0.0, 1.0):
        ours = _pairs(queen_weights(stockholm, snap=snap))
        assert lib_pairs <= ours
        extra = ours - lib_pairs
        assert len(extra) > 0
        for a, b in extra:
            assert shapely.distance(geoms[a], geoms[b]) <= snap
            va = {tuple(c) for c in shapely.get_coordinates(geoms[a]).round(6)}
            vb = {tuple(c) for c in shapely.get_coordinates(geoms[b]).round(6)}
            assert not va & vb, (a, b)


def test_queen_snap_closes_gaps():
    squares = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(2.5, 0, 3, 1)]
    assert queen_weights(squares, snap=0).islands == ("2",)
    assert queen_weights(squares, snap=0.5).islands == ()
    assert queen_weights(squares, snap=0.49).islands == ("2",)
    # Touching at one corner only is queen contiguity.
    corner = queen_weights([box(0, 0, 1, 1), box(1, 1, 2, 2)], snap=0)
    assert corner.neighbour_lists() == {"0": ["1"], "1": ["0"]}


def test_distance_band_equals_libpysal(stockholm):
    ours = distance_band_weights(stockholm, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = libpysal.weights.DistanceBand.from_dataframe(
            stockholm, threshold=3000, binary=True, use_index=True
        )
    assert _pairs(ours) == _libpysal_pairs(lib)
    assert ours.is_symmetric


def test_distance_band_reports_islands(stockholm):
    w = distance_band_weights(stockholm, 1500)
    xy = shapely.get_coordinates(stockholm.geometry.centroid.values)
    d = cdist(xy, xy)
    np.fill_diagonal(d, np.inf)
    expected = tuple(stockholm.index[(d > 1500).all(axis=1)])
    assert len(expected) > 0
    assert w.islands == expected
    assert require_neighbours(w) is w


def test_all_isolated_raises(stockholm):
    w = distance_band_weights(stockholm, 1.0)
    assert len(w.islands) == w.n
    with pytest.raises(ValueError, match="choose a larger distance band"):
        require_neighbours(w)


def test_knn_rows_and_symmetry(stockholm):
    w = knn_weights(stockholm, k=8)
    assert (w.cardinalities == 8).all()
    assert not w.is_symmetric  # nearest-neighbour relations are not mutual in general
    sym = knn_weights(stockholm, k=8, symmetric=True)
    a = w.matrix
    union = ((a + a.T) > 0).astype(float)
    assert (sym.matrix != union).nnz == 0
    assert sym.is_symmetric and (sym.cardinalities >= 8).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = libpysal.weights.KNN.from_dataframe(stockholm, k=8, use_index=True)
    lib_sets = {str(i): {str(j) for j in nbs} for i, nbs in lib.neighbors.items()}
    ours = {i: set(nbs) for i, nbs in w.neighbour_lists().items()}
    same = sum(ours[i] == lib_sets[i] for i in ours)
    assert same >= 0.99 * w.n  # differences only where the 8th and 9th distances tie


def test_knn_duplicate_points_keep_k_others():
    pts = [shapely.Point(0, 0)] * 3 + [shapely.Point(5, 0)]
    w = knn_weights(pts, k=2)
    assert (w.cardinalities == 2).all()
    assert w.matrix.diagonal().sum() == 0


def test_neighbour_lists_build_libpysal_w(stockholm):
    w = queen_weights(stockholm)
    lw = libpysal.weights.W(w.neighbour_lists(), id_order=list(w.ids))
    assert (lw.sparse != w.matrix).nnz == 0


def test_refuses_bad_input(stockholm):
    with pytest.raises(ValueError, match="project it to metres"):
        queen_weights(stockholm.to_crs(4326))
    with pytest.raises(ValueError, match="one id per area"):
        queen_weights([box(0, 0, 1, 1)], ids=["a", "b"])
    with pytest.raises(ValueError, match="not unique"):
        queen_weights([box(0, 0, 1, 1), box(1, 0, 2, 1)], ids=["a", "a"])
    with pytest.raises(ValueError, match="no geometry"):
        queen_weights([box(0, 0, 1, 1), shapely.Polygon()])
    with pytest.raises(ValueError, match="snap"):
        queen_weights([box(0, 0, 1, 1)], snap=-1)
    with pytest.raises(ValueError, match="k must be between"):
        knn_weights([shapely.Point(0, 0), shapely.Point(1, 1)], k=2)
    with pytest.raises(ValueError, match="more than 0 metres"):
        distance_band_weights([shapely.Point(0, 0)], 0)
    with pytest.raises(ValueError, match="ids"):
        SpatialWeights(sp.csr_array((2, 2)), ("a",), "queen", 1.0)
