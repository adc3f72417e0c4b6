"""The per-indicator layers (lagesbild_geo/server/layers.py): ``situation-<id>``,
``hotspots-<id>`` and ``trends-<id>`` for every indicator of the catalogue, one feature per
area with the area code as id, served by the real server on the test history (60 areas) with
the hot spots and trends of two indicators recomputed as the follower does.
"""

from __future__ import annotations

import time

import psycopg
import pytest
import requests

from lagesbild_geo.analysis.follow import recompute
from lagesbild_geo.server import layers
from tests.servers import serving_test_history

pytestmark = pytest.mark.server

ANALYSED = ("skadegorelse", "anlagd_brand")
KINDS = tuple(layers.KINDS)
#: The fields of situation-<id> (CONTRACT14), in the table's order.
SITUATION_FIELDS = [
    "area_code", "area_name", "population", "indicator", "indicator_name_sv",
    "indicator_name_en", "unit", "reference_week", "last4", "prev12_mean", "change_pct",
    "value_status",
]  # fmt: skip


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("per-indicator")
    with serving_test_history(pg_server, "per_indicator", data_dir, password="layers-pw") as srv:
        done = recompute(srv["db"], srv["db"], list(ANALYSED))
        assert len(done.run_ids) == 2 * len(ANALYSED), done
        with psycopg.connect(srv["db"]) as conn:
            srv["areas"] = [c for (c,) in conn.execute("SELECT code FROM publish.areas ORDER BY 1")]
            srv["indicators"] = [
                i for (i,) in conn.execute("SELECT id FROM lagesbild.indicator ORDER BY 1")
            ]
        yield srv


def _get(server, path, **params):
    got = requests.get(server["url"] + path, params={"f": "json", **params}, timeout=60)
    assert got.status_code == 200, (path, got.status_code, got.text[:300])
    return got


def _columns(server, table: str) -> list[str]:
    with psycopg.connect(server["db"]) as conn:
        return [
            c
            for (c,) in conn.execute(
                "SELECT column_name::text FROM information_schema.columns"
                " WHERE table_schema = 'publish' AND table_name = %s ORDER BY ordinal_position",
                (table,),
            )
        ]


def test_every_indicator_has_a_layer_of_each_kind(server):
    listed = {c["id"]: c for c in _get(server, "/collections").json()["collections"]}
    assert len(server["indicators"]) == 32
    for kind in KINDS:
        for indicator in server["indicators"]:
            collection = listed[f"{kind}-{indicator}"]
            assert collection["title"], collection
            assert [link for link in collection["links"] if link["rel"] == "describedBy"]
            assert collection["extent"]["spatial"]["bbox"][0][0] > 10  # the data's, in Sweden
            crs = collection["crs"]
            assert "http://www.opengis.net/def/crs/EPSG/0/3006" in crs, crs
    # the stacked layers stay
    assert {"situation", "hotspots", "trends", "observations", "areas", "indicators"} <= set(listed)


def test_titles_are_the_catalogues_names_in_swedish_and_english(server):
    sv = requests.get(
        server["url"] + "/collections/trends-skadegorelse", params={"f": "json", "lang": "sv"},
        timeout=30,
    ).json()  # fmt: skip
    en = requests.get(
        server["url"] + "/collections/trends-skadegorelse", params={"f": "json", "lang": "en"},
        timeout=30,
    ).json()  # fmt: skip
    assert sv["title"] == "Trend: Skadegörelse"
    assert en["title"] == "Trend: Vandalism"
    assert "Skadegörelse" in _get(server, "/collections/situation-skadegorelse").json()["title"]
    assert "Heta punkter" in _get(server, "/collections/hotspots-skadegorelse").json()["title"]


@pytest.mark.parametrize("kind", KINDS)
def test_one_feature_per_area_with_the_area_code_as_id(server, kind):
    for indicator in (*ANALYSED, "otrygghet_enkat"):  # analysed, and one without data
        page = _get(server, f"/collections/{kind}-{indicator}/items", limit=1000).json()
        ids = [f["id"] for f in page["features"]]
        assert sorted(ids) == server["areas"], (kind, indicator)
        assert page["numberMatched"] == len(server["areas"])
        assert {f["properties"]["indicator"] for f in page["features"]} == {indicator}
        assert all(f["geometry"]["type"] == "MultiPolygon" for f in page["features"])
        assert all(f["properties"]["area_code"] == f["id"] for f in page["features"])
        hits = _get(server, f"/collections/{kind}-{indicator}/items", resulttype="hits").json()
        assert hits["numberMatched"] == len(server["areas"])


def test_the_fields_are_the_contracts(server):
    props = _get(server, "/collections/situation-skadegorelse/items", limit=1).json()
    assert list(props["features"][0]["properties"]) == SITUATION_FIELDS
    assert _columns(server, "situation_by_indicator") == [*SITUATION_FIELDS, "geom"]
    for kind, stacked in (("hotspots", "hotspots"), ("trends", "trends")):
        table = layers.tables()[kind]
        assert _columns(server, table) == _columns(server, stacked), kind
        got = _get(server, f"/collections/{kind}-skadegorelse/items", limit=1).json()
        assert set(got["features"][0]["properties"]) == set(_columns(server, stacked)) - {"geom"}


def test_situation_figures_are_the_wide_layers(server):
    """situation-<id> holds exactly the figures of the wide situation's <id>_* columns."""
    wide = {
        f["id"]: f["properties"]
        for f in _get(server, "/collections/situation/items", limit=1000).json()["features"]
    }
    for indicator in server["indicators"]:
        page = _get(server, f"/collections/situation-{indicator}/items", limit=1000).json()
        for f in page["features"]:
            p, w = f["properties"], wide[f["id"]]
            assert p["last4"] == w[f"{indicator}_last4"], (indicator, f["id"])
            assert p["prev12_mean"] == w[f"{indicator}_prev12_mean"], (indicator, f["id"])
            assert p["change_pct"] == w[f"{indicator}_change_pct"], (indicator, f["id"])
            assert p["reference_week"] == w[f"{indicator}_week"], (indicator, f["id"])
            fields = (w["no_data_fields"] or "").split(",")
            protected = (w["protected_fields"] or "").split(",")
            hidden = {f"{indicator}_last4", f"{indicator}_prev12_mean"}
            if hidden & set(protected):
                assert p["value_status"] == "protected"
            elif hidden & set(fields):
                assert p["value_status"] == "no_data"
            else:
                assert p["value_status"] == "ok" and p["last4"] is not None


def test_results_are_the_stacked_layers_rows(server):
    for kind in ("hotspots", "trends"):
        for indicator in ANALYSED:
            stacked = {
                f["properties"]["area_code"]: f["properties"]
                for f in _get(
                    server, f"/collections/{kind}/items", indicator=indicator, limit=1000
                ).json()["features"]
            }
            assert len(stacked) == len(server["areas"])
            page = _get(server, f"/collections/{kind}-{indicator}/items", limit=1000).json()
            for f in page["features"]:
                assert f["properties"] == stacked[f["id"]], (kind, indicator, f["id"])
        empty = _get(server, f"/collections/{kind}-otrygghet_enkat/items", limit=1000).json()
        assert all(f["properties"]["run_id"] is None for f in empty["features"])


def test_one_item_by_area_code_and_a_404_for_another(server):
    code = server["areas"][3]
    for kind in KINDS:
        item = _get(server, f"/collections/{kind}-skadegorelse/items/{code}").json()
        assert item["id"] == code and item["properties"]["indicator"] == "skadegorelse"
        missing = requests.get(
            f"{server['url']}/collections/{kind}-skadegorelse/items/nope", timeout=30
        )
        assert missing.status_code == 404, missing.text[:200]


def test_filters_work_within_the_indicator(server):
    page = _get(
        server, "/collections/trends-skadegorelse/items", limit=1000,
        filter="trend = 'no trend'",
    ).json()  # fmt: skip
    assert page["numberMatched"] == len(page["features"]) > 0
    assert {f["properties"]["trend"] for f in page["features"]} == {"no trend"}
    other = _get(server, "/collections/trends-skadegorelse/items", indicator="anlagd_brand")
    assert other.json()["numberMatched"] == 0  # the layer's own indicator only
    bbox = _get(server, "/collections/situation-skadegorelse/items", limit=1000).json()
    first = bbox["features"][0]["geometry"]["coordinates"][0][0][0]
    near = _get(
        server, "/collections/situation-skadegorelse/items", limit=1000,
        bbox=f"{first[0] - 0.001},{first[1] - 0.001},{first[0] + 0.001},{first[1] + 0.001}",
    ).json()  # fmt: skip
    assert 1 <= near["numberMatched"] < len(server["areas"])
    bad = requests.get(
        server["url"] + "/collections/situation-skadegorelse/items",
        params={"f": "json", "nope": "1"}, timeout=30,
    )  # fmt: skip
    assert bad.status_code == 400


def test_the_first_page_carries_values_of_every_numeric_field_that_has_any(server):
    """What QGIS 3.22 types its fields from (``items?limit=10``): every numeric field with a
    value anywhere in the layer has one there."""
    names = [(f"{kind}-{indicator}", numeric) for kind, (_, _, numeric) in layers.KINDS.items()
             for indicator in server["indicators"]]  # fmt: skip
    wide = [layers.IndicatorName(i, "", "", "") for i in server["indicators"]]
    names.append(("situation", layers.wide_situation_first(wide)))
    for collection, numeric in names:
        path = f"/collections/{collection}/items"
        every = _get(server, path, limit=1000).json()["features"]
        sample = _get(server, path, limit=10).json()["features"]
        assert len(every) == len(server["areas"])
        for name in numeric:
            if any(f["properties"][name] is not None for f in every):
                assert any(f["properties"][name] is not None for f in sample), (path, name)
    # paging in that order meets every area once
    pages = [
        f["id"]
        for offset in range(0, len(server["areas"]), 7)
        for f in _get(server, "/collections/situation-skadegorelse/items", limit=7,
                      offset=offset).json()["features"]
    ]  # fmt: skip
    assert sorted(pages) == server["areas"]


def test_queryables_html_etag_and_openapi(server):
    queryables = _get(server, "/collections/hotspots-skadegorelse/queryables").json()
    assert queryables["properties"]["bin"]["type"] == "integer"
    assert queryables["properties"]["z"]["type"] == "number"
    html = requests.get(
        server["url"] + "/collections/situation-skadegorelse/items",
        params={"f": "html"}, timeout=30,
    )  # fmt: skip
    assert html.status_code == 200 and "Skadegörelse" in html.content.decode()
    page = requests.get(
        server["url"] + "/collections/trends-skadegorelse/items", params={"f": "json"}, timeout=30
    )
    etag = page.headers["ETag"]
    again = requests.get(
        server["url"] + "/collections/trends-skadegorelse/items", params={"f": "json"},
        headers={"If-None-Match": etag}, timeout=30,
    )  # fmt: skip
    assert again.status_code == 304
    paths = _get(server, "/openapi").json()["paths"]
    for kind in KINDS:
        assert f"/collections/{kind}-skadegorelse/items" in paths
        assert f"/collections/{kind}-skadegorelse/items/{{featureId}}" in paths


def test_a_whole_layer_is_read_in_tens_of_milliseconds(server):
    """One page of all areas, as QGIS and the web map read it (the median of 5, after one
    to warm the worker's caches)."""
    with requests.Session() as session:
        for collection in (*(f"{kind}-skadegorelse" for kind in KINDS), "situation"):
            url = f"{server['url']}/collections/{collection}/items"
            session.get(url, params={"f": "json", "limit": 1000}, timeout=30)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                got = session.get(url, params={"f": "json", "limit": 1000}, timeout=30)
                times.append(time.perf_counter() - start)
                assert got.status_code == 200
            median = sorted(times)[2]
            print(f"{collection}: {1000 * median:.1f} ms for {len(server['areas'])} areas")
            assert median < 0.1, (collection, times)


def test_conformance_names_the_filter_classes_qgis_332_needs(server):
    """QGIS 3.32+ sends a layer's filter as CQL2 text only to a server whose /conformance names
    Part 3's ``filter`` and ``features-filter`` with ``cql2-text`` and ``basic-cql2``
    (qgis/QGIS#52775); the filter it sends works (on observations, the analysts' layer)."""
    classes = set(_get(server, "/conformance").json()["conformsTo"])
    assert {
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    } <= classes
    page = _get(
        server, "/collections/observations/items", limit=5,
        filter="indicator = 'skadegorelse' AND value >= 1", **{"filter-lang": "cql2-text"},
    ).json()  # fmt: skip
    assert page["numberMatched"] > 0
    assert all(f["properties"]["indicator"] == "skadegorelse" for f in page["features"])


def test_gdal_sends_where_to_the_server(server, tmp_path):
    """GDAL 3.6's ``-where`` on observations becomes a server-side filter (the URL it asks for
    carries it; CPL_DEBUG shows it), and the copy holds exactly the matching features."""
    import os
    import subprocess

    out = tmp_path / "skadegorelse.gpkg"
    where = "indicator = 'skadegorelse' AND value >= 1"
    done = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server['url']}/collections/observations",
         "-oo", "PAGE_SIZE=1000", "-where", where, "--config", "CPL_DEBUG", "ON"],
        capture_output=True, text=True, timeout=300, env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    asked = [line for line in done.stderr.splitlines() if "/collections/observations/items" in line]
    print("\n".join(asked[:3]))
    assert any("skadegorelse" in line for line in asked), asked[:5]
    expected = _get(server, "/collections/observations/items", limit=1, filter=where).json()[
        "numberMatched"
    ]
    info = subprocess.run(["ogrinfo", "-so", "-al", str(out)], capture_output=True, text=True)
    assert f"Feature Count: {expected}" in info.stdout, info.stdout[:500]
