"""AreaLocator: hand-made layers with known answers, and PostGIS ``ST_Covers`` as the referee.

The PostGIS comparison is the proof of exactness: every point (vertices, edge midpoints,
points one float step off an edge, slivers, overlaps, random points) must get the very code the
database gives with the overlap rule ``ORDER BY code COLLATE "C" LIMIT 1``.
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from lagesbild_geo.ingest import locate
from lagesbild_geo.ingest.locate import AreaLocator

SODERTALJE = Path(__file__).resolve().parents[3] / "shared" / "areas" / "deso2018_sodertalje.gpkg"


def _toy_layer() -> tuple[list[str], list[shapely.Geometry]]:
    """Two squares sharing an edge, an overlap, a gap, a hole with an island, a MultiPolygon."""
    return (
        ["B1", "A1", "C1", "D1", "E1", "Z9", "F1"],
        [
            box(0, 0, 10, 10),  # B1
            box(10, 0, 20, 10),  # A1: shares the edge x = 10 with B1
            box(15, 5, 25, 15),  # C1: overlaps A1 on [15, 20] x [5, 10]
            box(0, 11, 10, 20),  # D1: a 1 m gap above B1
            Polygon(box(30, 0, 40, 10).exterior, [box(33, 3, 37, 7).exterior.coords]),  # E1
            box(34, 4, 36, 6),  # Z9: an island inside E1's hole
            MultiPolygon([box(50, 0, 52, 2), box(55, 0, 57, 2)]),  # F1
        ],
    )


TOY_CASES = [
    ((5, 5), "B1"),
    ((0, 0), "B1"),  # a vertex
    ((10, 5), "A1"),  # shared edge: both cover it, the smaller code wins
    ((10, 10), "A1"),  # shared corner
    ((17, 7), "A1"),  # overlap A1/C1
    ((22, 12), "C1"),
    ((25, 15), "C1"),  # C1's outer corner
    ((5, 10.5), None),  # the gap between B1 and D1
    ((5, 11), "D1"),  # D1's lower edge
    ((31, 1), "E1"),
    ((33, 5), "E1"),  # on the hole's edge: covered
    ((33.5, 3.5), None),  # inside the hole
    ((35, 5), "Z9"),  # the island in the hole
    ((34, 4), "Z9"),
    ((51, 1), "F1"),
    ((56, 1), "F1"),
    ((53.5, 1), None),  # between the parts of the MultiPolygon
    ((57, 2), "F1"),
    ((-1, -1), None),
    ((1e9, 1e9), None),
    ((np.nan, 5), None),
]


@pytest.mark.parametrize("cell_size", [None, 0.25, 3.0, 1000.0])
def test_toy_layer_known_answers(cell_size):
    # Tiny cells put most points on the fast path, huge ones send every point to the exact one.
    codes, geoms = _toy_layer()
    locator = AreaLocator(codes, geoms, cell_size=cell_size)
    x = np.array([p[0] for p, _ in TOY_CASES], dtype=float)
    y = np.array([p[1] for p, _ in TOY_CASES], dtype=float)
    idx = locator.locate(x, y)
    assert idx.dtype == np.int32
    got = [None if i < 0 else str(locator.codes[i]) for i in idx]
    assert got == [code for _, code in TOY_CASES]


def test_grid_and_exact_paths_agree_on_a_dense_sample():
    codes, geoms = _toy_layer()
    fine = AreaLocator(codes, geoms, cell_size=0.1)
    coarse = AreaLocator(codes, geoms, cell_size=500.0)  # everything exact
    rng = np.random.default_rng(7)
    x = np.r_[rng.uniform(-2, 60, 50_000), np.arange(-2, 60, 0.5)]
    y = np.r_[rng.uniform(-2, 22, 50_000), np.full(124, 5.0)]
    assert fine.exact_share(x, y) < 0.2  # the fast path is really exercised
    assert coarse.exact_share(x, y) == 1.0
    np.testing.assert_array_equal(fine.locate(x, y), coarse.locate(x, y))


def test_refuses_bad_layers():
    with pytest.raises(ValueError, match="unique"):
        AreaLocator(["A", "A"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    with pytest.raises(ValueError, match="Polygon"):
        AreaLocator(["A"], [shapely.LineString([(0, 0), (1, 1)])])
    with pytest.raises(ValueError, match="grid cells"):
        AreaLocator(["A"], [box(0, 0, 100_000, 100_000)], cell_size=0.01)


def test_empty_input_and_empty_layer():
    locator = AreaLocator(["A"], [box(0, 0, 1, 1)])
    assert locator.locate(np.array([]), np.array([])).shape == (0,)
    nothing = AreaLocator([], [])
    assert (nothing.locate(np.array([0.5]), np.array([0.5])) == -1).all()


def test_a_stored_locator_round_trips_and_another_format_is_refused():
    codes, geoms = _layer_as_stored()
    built = AreaLocator(codes, geoms)
    restored = AreaLocator.from_bytes(built.to_bytes())
    assert vars(restored).keys() == vars(built).keys()
    for name, value in vars(built).items():
        assert np.array_equal(getattr(restored, name), value), name
    assert restored.exact_share(*_test_points(geoms, seed=7)) > 0.05  # the exact path is used
    buf = io.BytesIO()
    np.savez_compressed(buf, format=np.int64(locate.LOCATOR_FORMAT + 1), codes=built.codes)
    with pytest.raises(ValueError, match="not an area locator of format"):
        AreaLocator.from_bytes(buf.getvalue())


def test_a_large_batch_split_over_threads_answers_as_one(monkeypatch):
    codes, geoms = _layer_as_stored()
    locator = AreaLocator(codes, geoms)
    x, y = _test_points(geoms, seed=11)
    whole = locator.locate(x, y)
    monkeypatch.setattr(locate, "PARALLEL_MIN_POINTS", len(x) // 3)
    monkeypatch.setattr(locate, "_WORKERS", 3)
    split = locator.locate(x, y)
    assert np.array_equal(split, whole) and (whole == -1).sum() > 1000


# --------------------------------------------------------------------------- PostGIS referee


def _postgis_codes(dsn: str, codes, geoms, x: np.ndarray, y: np.ndarray) -> list[str | None]:
    """What PostGIS answers for each point, with the documented overlap rule."""
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE t_area (code text PRIMARY KEY, geom geometry)")
        conn.cursor().executemany(
            "INSERT INTO t_area (code, geom) VALUES (%s, ST_GeomFromWKB(%s, 3006))",
            [(c, shapely.to_wkb(g)) for c, g in zip(codes, geoms, strict=True)],
        )
        conn.execute("CREATE INDEX ON t_area USING gist (geom)")
        conn.execute("CREATE TEMP TABLE t_point (i int PRIMARY KEY, x float8, y float8)")
        with conn.cursor().copy("COPY t_point (i, x, y) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "float8", "float8"])
            for row in zip(range(len(x)), x.tolist(), y.tolist(), strict=True):
                copy.write_row(row)
        rows = conn.execute(
            """
            SELECT (SELECT a.code FROM t_area a
                    WHERE ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 3006))
                    ORDER BY a.code COLLATE "C" LIMIT 1)
            FROM t_point p ORDER BY p.i
            """
        ).fetchall()
    return [r[0] for r in rows]


def _sample_inside(polygons: np.ndarray, per: int, rng: np.random.Generator) -> np.ndarray:
    """About ``per`` random points strictly inside each polygon (rejection in its box)."""
    tries = per * 20
    bounds = np.repeat(shapely.bounds(polygons), tries, axis=0)
    owner = np.repeat(np.arange(len(polygons)), tries)
    x = rng.uniform(bounds[:, 0], bounds[:, 2])
    y = rng.uniform(bounds[:, 1], bounds[:, 3])
    inside = shapely.contains_xy(polygons[owner], x, y)
    found = np.cumsum(inside)
    before = np.repeat(np.r_[0, found[tries - 1 :: tries][:-1]], tries)  # found in earlier boxes
    keep = inside & (found - before <= per)
    return np.c_[x[keep], y[keep]]


def _test_points(geoms: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points where a locator can go wrong, plus random ones over the whole extent."""
    rng = np.random.default_rng(seed)
    coords, ring = shapely.get_coordinates(
        shapely.get_rings(shapely.get_parts(geoms)), return_index=True
    )
    same = np.flatnonzero(ring[1:] == ring[:-1])
    a, b = coords[same], coords[same + 1]
    t = rng.uniform(0, 1, (len(same), 1))
    union = shapely.union_all(geoms)
    xmin, ymin, xmax, ymax = union.bounds
    pair_a, pair_b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = pair_a < pair_b
    overlaps = shapely.intersection(geoms[pair_a[keep]], geoms[pair_b[keep]])
    overlaps = overlaps[shapely.area(overlaps) > 0]
    slivers = [  # gaps enclosed by the layer: holes of the union
        shapely.Polygon(ring) for part in shapely.get_parts(union) for ring in part.interiors
    ]
    in_overlaps = _sample_inside(overlaps, 20, rng)
    in_slivers = _sample_inside(np.array(slivers, dtype=object), 5, rng)
    assert len(in_overlaps) > 500 and len(in_slivers) > 100  # the layer really is unclean
    pts = np.vstack(
        [
            coords,  # vertices
            (a + b) / 2,  # midpoints of every edge, shared ones included
            a + (b - a) * t,  # random points on every edge
            np.nextafter(a, a + [1, 0]),  # one float step off the vertices
            np.nextafter(a, a - [0, 1]),
            np.nextafter((a + b) / 2, (a + b) / 2 + [1, 1]),
            in_overlaps,
            in_slivers,
            np.c_[rng.uniform(xmin - 50, xmax + 50, 4000), rng.uniform(ymin - 50, ymax + 50, 4000)],
        ]
    )
    return pts[:, 0].copy(), pts[:, 1].copy()


def _layer_as_stored() -> tuple[list[str], np.ndarray]:
    frame = gpd.read_file(SODERTALJE)
    assert frame.crs.to_epsg() == 3006 and len(frame) == 51
    # The project stores areas as MultiPolygons; check that form and the plain Polygons.
    return frame["deso_code"].tolist(), frame.geometry.to_numpy()


@pytest.mark.parametrize("as_multi", [True, False])
def test_matches_postgis_st_covers_on_real_sodertalje(pg_dsn, as_multi):
    codes, geoms = _layer_as_stored()
    if as_multi:
        geoms = np.array([MultiPolygon([g]) for g in geoms], dtype=object)
    x, y = _test_points(geoms, seed=2018)
    assert len(x) > 10_000
    expected = _postgis_codes(pg_dsn, codes, geoms, x, y)
    built = [AreaLocator(codes, geoms, cell_size=size) for size in (None, 250.0)]
    # The locator the store keeps with an area import answers as the one built here.
    for locator in [*built, AreaLocator.from_bytes(built[0].to_bytes())]:
        idx = locator.locate(x, y)
        got = [None if i < 0 else str(locator.codes[i]) for i in idx]
        wrong = [(x[i], y[i], got[i], expected[i]) for i in range(len(x)) if got[i] != expected[i]]
        assert not wrong, f"{len(wrong)} of {len(x)} points differ from PostGIS: {wrong[:5]}"
    # Not a vacuous comparison: gaps, overlaps and boundaries were all hit.
    assert expected.count(None) > 1000
    tree = shapely.STRtree(geoms)
    point_idx, _ = tree.query(shapely.points(x, y), predicate="intersects")
    assert (np.bincount(point_idx, minlength=len(x)) >= 2).sum() > 1000


def test_matches_postgis_on_invalid_geometry(pg_dsn):
    # PostGIS counts winding numbers; GEOS and rasterisers use even-odd. A ring that runs
    # twice around a square has winding number 2 inside: PostGIS covers, even-odd does not.
    twice = Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)] * 2)
    bowtie = Polygon([(20, 0), (30, 10), (30, 0), (20, 10), (20, 0)])
    shell_in_hole = Polygon(box(40, 0, 50, 10).exterior, [box(45, -5, 55, 5).exterior.coords])
    codes = ["T", "B", "S", "M"]
    geoms = [twice, bowtie, shell_in_hole, MultiPolygon([box(60, 0, 70, 10), box(65, 5, 75, 15)])]
    rng = np.random.default_rng(3)
    x = np.r_[rng.uniform(-1, 76, 3000), np.arange(0, 76, 0.5), 5, 22, 45, 48, 50, 67]
    y = np.r_[rng.uniform(-6, 16, 3000), np.full(152, 5.0), 5, 2, 0, 2, 2, 7]
    expected = _postgis_codes(pg_dsn, codes, geoms, x, y)
    assert expected[-6:-4] == ["T", "B"]
    for cell_size in (0.5, None):
        locator = AreaLocator(codes, geoms, cell_size=cell_size)
        got = [None if i < 0 else str(locator.codes[i]) for i in locator.locate(x, y)]
        assert got == expected
    # GEOS (even-odd) disagrees with PostGIS here: a locator built on shapely.covers would fail.
    geos = shapely.covers(np.array(geoms)[:, None], shapely.points(x, y)[None, :]).any(axis=0)
    assert (geos != np.array([e is not None for e in expected])).sum() > 100
