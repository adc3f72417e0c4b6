"""The demo municipality Lägesby: a clean, exact NYKO hierarchy, and the committed file."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lagesbild_geo.demo.areas import make_demo_areas, write_demo_areas
from lagesbild_geo.ingest.area_geometry import measure_gaps_and_overlaps, neighbours
from lagesbild_geo.ingest.areas import read_area_file

COMMITTED = Path(__file__).resolve().parents[2] / "areas" / "lagesby_nyko.gpkg"


@pytest.fixture(scope="module")
def demo() -> gpd.GeoDataFrame:
    return make_demo_areas()


@pytest.fixture(scope="module")
def committed() -> dict[str, gpd.GeoDataFrame]:
    return {name: gpd.read_file(COMMITTED, layer=name) for name in ("nyko3", "nyko2", "nyko1")}


def test_level3_layer_has_the_promised_shape(demo):
    assert 56 <= len(demo) <= 64
    assert list(demo.columns) == ["code", "name", "level", "parent_code", "population", "geometry"]
    assert demo.crs.to_epsg() == 3006
    assert demo["code"].is_unique and demo["name"].is_unique
    assert all(len(code) == 4 and code.isdigit() for code in demo["code"])
    assert set(demo["code"].str[:1]) == {"1", "2", "3", "4"}
    assert 12 <= demo["code"].str[:2].nunique() <= 16
    assert (demo["parent_code"] == demo["code"].str[:2]).all()
    assert (demo["level"] == 3).all()
    assert "Centrum" in set(demo["name"])


def test_population_is_in_the_deso_size_class(demo):
    population = demo["population"].astype(int)
    assert population.between(700, 2_700).all()
    assert population.std() > 200  # not one number repeated


def test_geometry_is_valid_single_part_and_in_sweden(demo):
    assert demo.is_valid.all()
    assert all(len(g.geoms) == 1 for g in demo.geometry)
    centre = shapely.union_all(demo.geometry.to_numpy()).centroid
    assert abs(centre.x - 620_000) < 10_000 and abs(centre.y - 6_580_000) < 10_000
    minx, miny, maxx, maxy = demo.total_bounds
    assert 15_000 < maxx - minx < 60_000 and 15_000 < maxy - miny < 60_000


def test_tessellation_has_no_gaps_or_overlaps(demo):
    gaps, overlaps = measure_gaps_and_overlaps(demo, min_area_m2=0.01)
    assert gaps == [] and overlaps == []
    union = shapely.union_all(demo.geometry.to_numpy())
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert union.area == pytest.approx(demo.area.sum(), abs=1.0)


def test_centre_is_dense_and_the_countryside_sparse(demo):
    area_km2 = demo.set_index("code").area / 1e6
    town = area_km2[area_km2.index.str.startswith("1")]
    rural = area_km2[~area_km2.index.str.startswith("1")]
    assert town.mean() * 5 < rural.mean()
    assert demo.set_index("name").area["Centrum"] / 1e6 < 3.0


def test_committed_file_equals_a_regeneration(demo, committed):
    level3 = committed["nyko3"]
    assert level3["code"].tolist() == demo["code"].tolist()
    assert level3["name"].tolist() == demo["name"].tolist()
    assert level3["population"].tolist() == demo["population"].astype(int).tolist()
    same = shapely.equals_exact(
        level3.geometry.to_numpy(), demo.geometry.to_numpy(), tolerance=1e-6
    )
    assert same.all(), level3["code"][~same].tolist()


def test_committed_hierarchy_is_exact(committed):
    level3, level2, level1 = committed["nyko3"], committed["nyko2"], committed["nyko1"]
    assert level1["code"].tolist() == ["1", "2", "3", "4"]
    assert set(level3["code"].str[:2]) == set(level2["code"])
    assert (level2["parent_code"] == level2["code"].str[:1]).all()
    assert level1["parent_code"].isna().all()
    for parents, length in ((level2, 2), (level1, 1)):
        for _, parent in parents.iterrows():
            children = level3[level3["code"].str[:length] == parent["code"]]
            union = shapely.union_all(children.geometry.to_numpy())
            assert parent.geometry.symmetric_difference(union).area < 1.0, parent["code"]
            assert parent["population"] == children["population"].sum()
            assert len(parent.geometry.geoms) == 1, parent["code"]  # each group is contiguous
    assert level1.area.sum() == pytest.approx(level3.area.sum(), abs=1.0)
    assert level2["name"].str.endswith(" m.fl.").all() and level2["name"].is_unique
    assert level1.set_index("code")["name"]["1"] == "Centralorten"


def test_committed_file_reads_as_a_clean_area_layer():
    layer = read_area_file(
        COMMITTED,
        layer="nyko3",
        name_field="name",
        population_field="population",
        level_field="level",
        level_prefixes=(1, 2),
    )
    assert len(layer.frame) >= 56
    assert layer.report.gaps == [] and layer.report.overlaps == []
    assert layer.report.repaired == [] and layer.report.warnings == []


def test_writing_is_byte_stable(tmp_path):
    first, second = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    write_demo_areas(first)
    write_demo_areas(second)
    assert first.read_bytes() == second.read_bytes()


def test_other_seeds_give_other_but_equally_clean_layers(demo):
    other = make_demo_areas(seed=8)
    assert not shapely.equals_exact(
        other.geometry.to_numpy(), demo.geometry.to_numpy(), tolerance=1.0
    ).all()
    gaps, overlaps = measure_gaps_and_overlaps(other, min_area_m2=0.01)
    assert gaps == [] and overlaps == [] and other.is_valid.all()
    for length in (1, 2):
        for _, group in other.groupby(other["code"].str[:length]):
            assert shapely.union_all(group.geometry.to_numpy()).geom_type == "Polygon"


def test_neighbours_are_symmetric_and_connect_the_whole_municipality(demo):
    adjacency = neighbours(demo)
    assert set(adjacency) == set(demo["code"])
    assert all(code in adjacency[other] for code, others in adjacency.items() for other in others)
    assert all(code not in others for code, others in adjacency.items())
    degrees = np.array([len(v) for v in adjacency.values()])
    assert degrees.min() >= 2 and 4.5 < degrees.mean() < 6.5  # planar Voronoi: about six
    seen, queue = {"1101"}, ["1101"]
    while queue:
        for other in adjacency[queue.pop()]:
            if other not in seen:
                seen.add(other)
                queue.append(other)
    assert seen == set(demo["code"])
    geometry = demo.set_index("code").geometry
    for code, others in adjacency.items():
        for other in others:
            assert geometry[code].distance(geometry[other]) == 0.0
