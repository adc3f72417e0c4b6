"""Reading municipal area files: real DeSO layers, CRS handling, repairs and refusals."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from numpy.testing import assert_allclose

from lagesbild_geo.errors import InputError
from lagesbild_geo.ingest.area_geometry import measure_gaps_and_overlaps, neighbours
from lagesbild_geo.ingest.areas import (
    AreaCodeError,
    AreaCrsError,
    AreaGeometryError,
    AreaReport,
    parent_levels,
    read_area_file,
)

SHARED_AREAS = Path(__file__).resolve().parents[3] / "shared" / "areas"
SODERTALJE_GPKG = SHARED_AREAS / "deso2018_sodertalje.gpkg"
SODERTALJE_GEOJSON = SHARED_AREAS / "deso2018_sodertalje.geojson"
STOCKHOLM_GPKG = SHARED_AREAS / "deso2018_stockholms_lan.gpkg"
DESO = {"code_field": "deso_code", "name_field": "name", "population_field": "pop_2023"}


@pytest.fixture(scope="module")
def sodertalje():
    return read_area_file(SODERTALJE_GPKG, **DESO, level_prefixes=(2, 4))


@pytest.fixture(scope="module")
def sodertalje_raw():
    return gpd.read_file(SODERTALJE_GPKG)


def _small_layer(codes, geometries, tmp_path: Path, name="areas.gpkg", crs=3006) -> Path:
    path = tmp_path / name
    frame = gpd.GeoDataFrame({"code": codes}, geometry=geometries, crs=crs)
    frame.to_file(path)
    return path


def _squares(n: int, x0=650_000.0, y0=6_560_000.0, size=100.0) -> list[shapely.Polygon]:
    """``n`` unit squares in a row, in SWEREF 99 TM near Södertälje."""
    return [shapely.box(x0 + i * size, y0, x0 + (i + 1) * size, y0 + size) for i in range(n)]


# --- the real Södertälje and Stockholm DeSO layers --------------------------------------------


def test_sodertalje_geopackage_reads_51_level3_areas(sodertalje, sodertalje_raw):
    frame = sodertalje.frame
    assert len(frame) == 51
    assert list(frame.columns) == ["code", "name", "level", "parent_code", "population", "geometry"]
    assert frame.crs.to_epsg() == 3006
    assert set(frame.geom_type) == {"MultiPolygon"}
    assert frame["code"].is_unique and (frame["level"] == 3).all()
    assert set(frame["parent_code"]) == {"0181"}
    assert str(frame["population"].dtype) == "Int64"
    assert int(frame["population"].sum()) == int(sodertalje_raw["pop_2023"].sum())
    row = frame.set_index("code").loc["0181C1010"]
    raw_row = sodertalje_raw.set_index("deso_code").loc["0181C1010"]
    assert row["population"] == raw_row["pop_2023"]
    assert row.geometry.area == pytest.approx(raw_row.geometry.area, rel=1e-12)


def test_leading_zeros_are_kept(sodertalje):
    codes = sodertalje.frame["code"]
    assert all(code.startswith("0181") and len(code) == 9 for code in codes)
    assert "0181A0010" in set(codes)


def test_sodertalje_gaps_and_overlaps_match_the_known_defects(sodertalje):
    """The shared README: 148 sliver gaps (0.57 km²) and 0.59 km² of overlap."""
    report = sodertalje.report
    assert 145 <= len(report.gaps) <= 148  # one of the 148 holes is below 1 m²
    assert report.total_gap_m2 / 1e6 == pytest.approx(0.57, abs=0.005)
    assert report.total_overlap_m2 / 1e6 == pytest.approx(0.59, abs=0.005)
    assert report.gaps[0]["codes"] == ["0181A0020", "0181A0030"]
    assert report.gaps[0]["area_m2"] == pytest.approx(47_114, abs=5)
    assert report.overlaps[0]["codes"] == ["0181A0020", "0181B4010"]
    assert report.overlaps[0]["area_m2"] == pytest.approx(71_000, abs=5)
    assert all(len(o["codes"]) == 2 for o in report.overlaps)
    assert all(len(g["codes"]) >= 2 for g in report.gaps)  # an enclosed gap has ≥ 2 neighbours
    assert report.repaired == [] and report.feature_count == 51


def test_report_serialises_and_summarises(sodertalje):
    report = sodertalje.report
    data = report.to_dict()
    assert data["feature_count"] == 51 and data["crs_in"] == "EPSG:3006"
    assert data["total_gap_m2"] == pytest.approx(report.total_gap_m2, abs=0.01)
    summary = report.summary()
    assert "Luckor / gaps: 147, 0.57 km²" in summary
    assert "Överlapp / overlaps:" in summary and "0.59 km²" in summary


def test_sodertalje_geojson_in_wgs84_lands_where_the_geopackage_is(sodertalje):
    layer = read_area_file(SODERTALJE_GEOJSON, code_field="deso_code")
    assert layer.report.crs_in == "EPSG:4326"
    assert layer.frame.crs.to_epsg() == 3006 and len(layer.frame) == 51
    assert layer.frame["name"].tolist() == layer.frame["code"].tolist()  # no name field given
    assert layer.frame["population"].isna().all()
    ref = sodertalje.frame.set_index("code").geometry
    got = layer.frame.set_index("code").geometry
    for code in ("0181C1010", "0181A0020", "0181B4010"):
        a, b = ref[code].centroid, got[code].centroid
        assert a.distance(b) < 1.0, code
    assert layer.report.total_overlap_m2 / 1e6 == pytest.approx(0.59, abs=0.01)


def test_stockholms_lan_imports_fast():
    start = time.perf_counter()
    layer = read_area_file(STOCKHOLM_GPKG, code_field="deso_code", population_field="pop_2023")
    elapsed = time.perf_counter() - start
    assert len(layer.frame) == 1287
    assert layer.frame["code"].str.startswith("01").all()
    assert elapsed < 5.0, f"import took {elapsed:.1f} s"
    assert len(layer.report.gaps) > 1000 and len(layer.report.overlaps) > 1000


def test_parent_levels_dissolve_by_code_prefix(sodertalje):
    parents = parent_levels(sodertalje.frame, (2, 4))
    assert parents[["code", "level"]].values.tolist() == [["01", 1], ["0181", 2]]
    assert parents["parent_code"].tolist()[1] == "01"
    total = int(sodertalje.frame["population"].sum())
    assert parents["population"].tolist() == [total, total]
    union = shapely.union_all(sodertalje.frame.geometry.to_numpy())
    assert parents.geometry.iloc[1].symmetric_difference(union).area < 1.0


def test_parent_levels_refuse_bad_prefixes(sodertalje):
    with pytest.raises(InputError, match="two increasing"):
        parent_levels(sodertalje.frame, (4, 2))


# --- CRS --------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_file_without_crs_is_refused_unless_source_crs_given(sodertalje_raw, tmp_path):
    path = tmp_path / "no_crs.shp"
    sodertalje_raw[["deso_code", "geometry"]].set_crs(None, allow_override=True).to_file(path)
    with pytest.raises(AreaCrsError, match=r"has no CRS; pass --source-crs EPSG:NNNN") as err:
        read_area_file(path, code_field="deso_code")
    assert "no_crs.shp" in str(err.value)
    layer = read_area_file(path, code_field="deso_code", source_crs="EPSG:3006")
    assert len(layer.frame) == 51 and layer.report.crs_in == "EPSG:3006"


def test_degrees_stated_as_sweref_are_refused(tmp_path):
    wgs84 = gpd.read_file(SODERTALJE_GEOJSON)
    path = tmp_path / "wrong.gpkg"
    wgs84.set_crs(3006, allow_override=True).to_file(path)
    with pytest.raises(AreaCrsError, match="look like degrees: pass --source-crs EPSG:4326"):
        read_area_file(path, code_field="deso_code")
    fixed = read_area_file(path, code_field="deso_code", source_crs=4326)
    assert len(fixed.frame) == 51
    assert any("used the given source CRS EPSG:4326" in w for w in fixed.report.warnings)


def test_metres_stated_as_degrees_are_refused(sodertalje_raw, tmp_path):
    path = tmp_path / "metres_as_degrees.gpkg"
    sodertalje_raw.set_crs(4326, allow_override=True).to_file(path)
    with pytest.raises(AreaCrsError, match="not degrees"):
        read_area_file(path, code_field="deso_code")


def test_sweref_stated_as_web_mercator_lands_outside_sweden(sodertalje_raw, tmp_path):
    path = tmp_path / "mercator.gpkg"
    sodertalje_raw.set_crs(3857, allow_override=True).to_file(path)
    with pytest.raises(AreaCrsError, match="land outside Sweden"):
        read_area_file(path, code_field="deso_code")


def test_local_zone_3011_is_reprojected_to_3006(sodertalje, sodertalje_raw, tmp_path):
    path = tmp_path / "sodertalje_3011.gpkg"
    local = sodertalje_raw.to_crs(3011)
    assert abs(local.total_bounds[0] - sodertalje_raw.total_bounds[0]) > 100_000  # really moved
    local.to_file(path)
    layer = read_area_file(path, **DESO)
    assert layer.report.crs_in == "EPSG:3011"
    back = layer.frame.geometry.to_numpy()
    original = sodertalje.frame.geometry.to_numpy()
    assert layer.frame["code"].tolist() == sodertalje.frame["code"].tolist()
    assert shapely.equals_exact(back, original, tolerance=0.01).all()
    assert_allclose(shapely.area(back), shapely.area(original), rtol=1e-9)


# --- geometry repairs and refusals ------------------------------------------------------------


def _bow_tie(x0=650_500.0, y0=6_560_000.0, size=100.0) -> shapely.Polygon:
    return shapely.Polygon([(x0, y0), (x0 + size, y0 + size), (x0 + size, y0), (x0, y0 + size)])


def test_bow_tie_is_repaired_with_a_warning_naming_its_code(tmp_path):
    path = _small_layer(["0181X0001", "0181X0002"], [_squares(1)[0], _bow_tie()], tmp_path)
    layer = read_area_file(path)
    assert layer.report.repaired == ["0181X0002"]
    assert any("0181X0002" in w and "make_valid" in w for w in layer.report.warnings)
    repaired = layer.frame.set_index("code").geometry["0181X0002"]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert len(repaired.geoms) == 2 and repaired.area == pytest.approx(5_000.0)
    assert "0181X0002" in layer.report.summary()


def test_bow_tie_is_refused_when_repair_is_off(tmp_path):
    path = _small_layer(["0181X0001", "0181X0002"], [_squares(1)[0], _bow_tie()], tmp_path)
    with pytest.raises(AreaGeometryError, match=r"area 0181X0002 has invalid geometry: Self-"):
        read_area_file(path, repair=False)


def test_collapsed_polygon_is_refused_even_with_repair(tmp_path):
    x, y = 650_500.0, 6_560_000.0
    flat = shapely.Polygon([(x, y), (x + 100, y), (x + 200, y), (x, y)])
    path = _small_layer(["0181X0001", "0181X0002"], [_squares(1)[0], flat], tmp_path)
    with pytest.raises(AreaGeometryError, match="area 0181X0002 .*repair left no polygon"):
        read_area_file(path)


def test_duplicate_codes_are_refused_naming_the_code(tmp_path):
    path = _small_layer(["0101A", "0102A", "0102A"], _squares(3), tmp_path)
    with pytest.raises(AreaCodeError, match="area code 0102A occurs 2 times") as err:
        read_area_file(path)
    assert [p.column for p in err.value.problems] == ["code"]


def test_missing_code_is_refused_naming_the_feature(tmp_path):
    path = _small_layer(["0101A", None, "  "], _squares(3), tmp_path)
    with pytest.raises(AreaCodeError) as err:
        read_area_file(path)
    reasons = [p.reason for p in err.value.problems]
    assert reasons == ["feature 2 has no area code", "feature 3 has no area code"]


def test_unknown_field_is_refused_listing_the_fields(tmp_path):
    path = _small_layer(["0101A"], _squares(1), tmp_path)
    with pytest.raises(InputError, match="field 'deso_code' not found; the file has: code"):
        read_area_file(path, code_field="deso_code")


# --- formats, levels and fields ---------------------------------------------------------------


def test_shapefile_round_trip_keeps_codes_population_and_geometry(sodertalje, sodertalje_raw,
                                                                  tmp_path):  # fmt: skip
    path = tmp_path / "sodertalje.shp"
    sodertalje_raw[["deso_code", "name", "pop_2023", "geometry"]].to_file(path)
    layer = read_area_file(path, **DESO)
    assert layer.frame["code"].tolist() == sodertalje.frame["code"].tolist()
    assert layer.frame["population"].tolist() == sodertalje.frame["population"].tolist()
    same = shapely.equals_exact(
        layer.frame.geometry.to_numpy(), sodertalje.frame.geometry.to_numpy(), tolerance=1e-6
    )
    assert same.all()


def test_numeric_code_field_warns_that_zeros_may_be_lost(tmp_path):
    path = tmp_path / "numeric.gpkg"
    gpd.GeoDataFrame({"nyko": [1101, 1102]}, geometry=_squares(2), crs=3006).to_file(path)
    layer = read_area_file(path, code_field="nyko")
    assert layer.frame["code"].tolist() == ["1101", "1102"]
    assert any("leading zeros" in w for w in layer.report.warnings)


def test_level_field_keeps_only_level_3_and_sets_parent_code(tmp_path):
    path = tmp_path / "levels.gpkg"
    frame = gpd.GeoDataFrame(
        {"kod": ["11", "1101", "1102"], "niva": ["2", "3", "3"], "namn": ["Norr", "Ek", None]},
        geometry=[shapely.box(650_000, 6_560_000, 650_200, 6_560_100), *_squares(2)],
        crs=3006,
    )
    frame.to_file(path)
    layer = read_area_file(
        path, code_field="kod", level_field="niva", name_field="namn", level_prefixes=(1, 2)
    )
    assert layer.frame["code"].tolist() == ["1101", "1102"]
    assert layer.frame["name"].tolist() == ["Ek", "1102"]  # a missing name falls back to the code
    assert layer.frame["parent_code"].tolist() == ["11", "11"]


def test_code_too_short_for_the_prefixes_is_refused(tmp_path):
    path = _small_layer(["11", "1101"], _squares(2), tmp_path)
    with pytest.raises(AreaCodeError, match="area code 11 is not longer than the level-2 prefix"):
        read_area_file(path, level_prefixes=(1, 2))


# --- gaps, overlaps, neighbours on layers with known answers ----------------------------------


def test_gap_enclosed_by_a_ring_of_squares_is_measured_with_its_neighbours():
    ring = [shapely.box(i, j, i + 10, j + 10) for i in (0, 10, 20) for j in (0, 10, 20)]
    del ring[4]  # the middle square becomes a 100 m² hole
    codes = [f"A{i}" for i in range(8)]
    frame = gpd.GeoDataFrame({"code": codes}, geometry=ring, crs=3006)
    gaps, overlaps = measure_gaps_and_overlaps(frame)
    assert overlaps == []
    assert len(gaps) == 1 and gaps[0]["area_m2"] == pytest.approx(100.0)
    assert gaps[0]["codes"] == codes  # all eight touch the hole, corners included


def test_overlaps_below_the_threshold_are_ignored():
    geoms = [shapely.box(0, 0, 10, 10), shapely.box(9.95, 0, 20, 10), shapely.box(0, 9, 10, 20)]
    frame = gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=geoms, crs=3006)
    _, overlaps = measure_gaps_and_overlaps(frame, min_area_m2=1.0)
    assert overlaps == [{"area_m2": 10.0, "codes": ["a", "c"]}]
    _, all_overlaps = measure_gaps_and_overlaps(frame, min_area_m2=0.1)
    assert [o["codes"] for o in all_overlaps] == [["a", "c"], ["a", "b"]]
    assert all_overlaps[1]["area_m2"] == pytest.approx(0.5)


def test_gaps_and_overlaps_need_metres():
    frame = gpd.GeoDataFrame({"code": ["a"]}, geometry=[shapely.box(17, 59, 17.1, 59.1)], crs=4326)
    with pytest.raises(ValueError, match="metres"):
        measure_gaps_and_overlaps(frame)


def test_neighbours_are_queen_and_symmetric(sodertalje):
    grid = [shapely.box(i, j, i + 1, j + 1) for i in range(3) for j in range(3)]
    frame = gpd.GeoDataFrame({"code": [f"c{i}" for i in range(9)]}, geometry=grid, crs=3006)
    adjacency = neighbours(frame)
    assert len(adjacency["c4"]) == 8 and len(adjacency["c0"]) == 3
    real = neighbours(sodertalje.frame, tolerance_m=50.0)
    assert all(code in real[other] for code, others in real.items() for other in others)
    assert np.mean([len(v) for v in real.values()]) > 3


def test_empty_report_totals_are_zero():
    report = AreaReport(source="x", crs_in="EPSG:3006", feature_count=0)
    assert report.total_gap_m2 == 0.0 and report.total_overlap_m2 == 0.0
