"""The real server (``lagesbild serve``) read by real clients: OWSLib, GDAL's OAPIF driver, HTTP.

One database with the deterministic history of ``tests/publish_data.py`` and one server process
for the module; every expected number comes from the restricted tables.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import requests
from owslib.ogcapi.features import Features

from lagesbild_geo.publish import publication
from tests.conftest import PG_PASSWORD
from tests.publish_data import SMALL_CELL
from tests.servers import serving_test_history

pytestmark = pytest.mark.server

K = 5
REPO = Path(__file__).resolve().parents[2]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG3006 = "http://www.opengis.net/def/crs/EPSG/0/3006"
COLLECTIONS = ("areas", "indicators", "observations", "situation")


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    """``lagesbild serve`` as a subprocess on a free port, stopped with SIGTERM at the end."""
    with serving_test_history(
        pg_server, "lagesbild_serve_test", tmp_path_factory.mktemp("serve"), k=K,
        password="reader-test-pw",
    ) as srv:  # fmt: skip
        yield srv
    assert "Lägesbild serverar på" in srv["log"].read_text()


@pytest.fixture(scope="module")
def db(server):
    with psycopg.connect(server["db"], autocommit=True) as conn:
        yield conn


def _get(server, path, **params):
    response = requests.get(server["url"] + path, params=params, timeout=30)
    return response


# -- configuration ---------------------------------------------------------------------------


def test_config_validates_with_pygeoapi(server):
    env = {**os.environ, "LAGESBILD_PUBLIC_DB_PASSWORD": "x"}
    for config in (REPO / "pygeoapi-config.yml", server["data_dir"] / "pygeoapi-config.yml"):
        result = subprocess.run(
            [str(Path(sys.executable).parent / "pygeoapi"), "config", "validate", "-c", config],
            capture_output=True,
            text=True,
            env=env,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    written = (server["data_dir"] / "pygeoapi-config.yml").read_text()
    assert "reader-test-pw" not in written and PG_PASSWORD not in written
    assert "${LAGESBILD_PUBLIC_DB_PASSWORD" in written


def test_openapi_is_served(server):
    response = _get(server, "/openapi", f="json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for name in COLLECTIONS:
        assert f"/collections/{name}/items" in paths


# -- OWSLib ----------------------------------------------------------------------------------


def test_owslib_lists_collections_with_swedish_and_english_metadata(server):
    api = Features(server["url"])
    assert set(api.feature_collections()) >= set(COLLECTIONS)
    sv = requests.get(server["url"] + "/collections/observations", params={"lang": "sv"}).json()
    en = requests.get(server["url"] + "/collections/observations", params={"lang": "en"}).json()
    assert sv["title"].startswith("Observationer") and en["title"].startswith("Observations")
    assert sv["extent"]["temporal"]["interval"][0][0].startswith("2025-12-29")
    assert len(sv["extent"]["spatial"]["bbox"][0]) == 4
    assert EPSG3006 in sv["crs"] and sv["storageCrs"] == CRS84


def test_owslib_reads_every_collection_and_pages_with_next_links(server, db):
    api = Features(server["url"])
    (n_obs,) = db.execute("SELECT count(*) FROM publish.observations").fetchone()
    expected = {"areas": 60, "indicators": 32, "situation": 60, "observations": n_obs}
    for name in COLLECTIONS:
        page = api.collection_items(name, limit=10)
        assert page["numberMatched"] == expected[name]
    # follow next links through one week of observations
    seen, url = [], server["url"] + "/collections/observations/items"
    params = {"limit": 40, "datetime": "2026-02-09/2026-02-15"}
    while url:
        page = requests.get(url, params=params, timeout=30).json()
        params = None
        seen += [f["id"] for f in page["features"]]
        url = next((lnk["href"] for lnk in page["links"] if lnk["rel"] == "next"), None)
    (n_week,) = db.execute(
        "SELECT count(*) FROM (SELECT DISTINCT area_code, indicator_id, actor_kind"
        " FROM lagesbild.approved_observation WHERE week_start = '2026-02-09') cells"
    ).fetchone()
    assert len(seen) == len(set(seen)) == n_week
    assert all(":2026-W07:" in i for i in seen)


def test_cql2_filter_returns_exactly_the_published_counts(server, db):
    """The API shows the protected figures of publish.observations, each within D of the
    ingested count, and filters and counts them as they are published."""
    api = Features(server["url"])
    result = api.collection_items(
        "observations",
        filter="indicator = 'skadegorelse' AND actor_kind = 'security' AND area_code = '1102'",
        limit=100,
    )
    published = {f["properties"]["week_start"]: f["properties"] for f in result["features"]}
    rows = db.execute(
        "SELECT week_start::text, numerator FROM lagesbild.approved_observation"
        " WHERE indicator_id = 'skadegorelse' AND actor_kind = 'security' AND area_code = '1102'"
    ).fetchall()
    stored = dict(
        db.execute(
            "SELECT week_start::text, value FROM publish.observations WHERE indicator ="
            " 'skadegorelse' AND actor_kind = 'security' AND area_code = '1102'"
        ).fetchall()
    )
    assert len(rows) == 16 == len(published)
    for week, n in rows:
        props = published[week]
        assert props["value"] == stored[week] and props["value_status"] == "published"
        assert abs(props["value"] - n) <= K - 2 and (n > 0 or props["value"] == 0)
    total = api.collection_items(
        "observations", filter="indicator = 'ran' AND value >= 5", limit=1
    )["numberMatched"]
    (expected,) = db.execute(
        "SELECT count(*) FROM publish.observations WHERE indicator = 'ran' AND value >= 5"
    ).fetchone()
    assert total == expected


@pytest.mark.parametrize(
    ("params", "where"),
    [
        # answered from the table of counts (publish.observation_counts)
        ({"filter": "indicator = 'ran' AND value >= 5"}, "indicator = 'ran' AND value >= 5"),
        (
            {"filter": "indicator IN ('ran', 'inbrott') OR value_status = 'published'",
             "datetime": "2026-02-01/2026-03-15"},
            "(indicator IN ('ran', 'inbrott') OR value_status = 'published')"
            " AND week_end >= '2026-02-01' AND week_start <= '2026-03-15'",
        ),
        ({"filter": "value = 0 AND NOT (actor_kind = 'police')"},
         "value = 0 AND NOT actor_kind = 'police'"),
        ({"actor_kind": "security", "value_status": "published"},
         "actor_kind = 'security' AND value_status = 'published'"),
        ({"filter": "indicator_name_en LIKE 'Van%' AND iso_week > '2026-W03'"},
         "indicator_name_en LIKE 'Van%' AND iso_week > '2026-W03'"),
        # counted in publish.observations (an area, a column of the features alone, a bbox)
        ({"filter": "area_code = '1102' AND value > 0"}, "area_code = '1102' AND value > 0"),
        ({"filter": "numerator IS NULL AND indicator = 'ran'"},
         "numerator IS NULL AND indicator = 'ran'"),
        ({"bbox": "17.0,59.0,18.2,59.5", "filter": "indicator = 'ran'"},
         "indicator = 'ran' AND geom && ST_MakeEnvelope(17.0, 59.0, 18.2, 59.5, 4326)"
         " AND ST_Intersects(geom, ST_MakeEnvelope(17.0, 59.0, 18.2, 59.5, 4326))"),
    ],
)  # fmt: skip
def test_number_matched_is_the_exact_count_of_the_filter(server, db, params, where):
    """numberMatched comes from the table of counts when the filter names only its columns,
    from the features otherwise; either way it is the count of the published features."""
    (expected,) = db.execute(f"SELECT count(*) FROM publish.observations WHERE {where}").fetchone()
    assert expected > 0
    response = _get(server, "/collections/observations/items", limit=3, **params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["numberMatched"] == expected
    assert page["numberReturned"] == min(3, expected)


def test_datetime_interval_selects_exactly_that_week(server, db):
    api = Features(server["url"])
    page = api.collection_items(
        "observations", datetime_="2026-02-09/2026-02-15", filter="indicator = 'ran'", limit=100
    )
    assert page["numberMatched"] == 60
    assert {f["properties"]["iso_week"] for f in page["features"]} == {"2026-W07"}
    instant = api.collection_items(
        "observations", datetime_="2026-02-11", filter="indicator = 'ran'", limit=1
    )
    assert instant["numberMatched"] == 60
    assert instant["features"][0]["properties"]["week_start"] == "2026-02-09"


def test_sortby_and_property_filter(server):
    page = _get(
        server, "/collections/observations/items", indicator="anlagd_brand",
        value_status="published", sortby="-value", limit=5,
    ).json()  # fmt: skip
    values = [f["properties"]["value"] for f in page["features"]]
    assert values == sorted(values, reverse=True) and values[0] >= K


def test_pages_sorted_by_a_property_with_ties_neither_overlap_nor_skip(server, db):
    """Many cells share a value: the id breaks the ties, so paging by offset visits each
    matching feature exactly once, pages in (value desc, id) order, all properties kept."""
    (expected,) = db.execute(
        "SELECT array_agg(id ORDER BY value DESC, id) FROM publish.observations"
        " WHERE indicator = 'skadegorelse' AND value_status = 'published'"
    ).fetchone()
    assert len(expected) > 30 and len(set(expected)) == len(expected)
    seen = []
    for offset in range(0, len(expected), 7):
        page = _get(
            server, "/collections/observations/items", filter="indicator='skadegorelse'",
            value_status="published", sortby="-value", limit=7, offset=offset,
        ).json()  # fmt: skip
        seen += [f["id"] for f in page["features"]]
        props = page["features"][0]["properties"]
        assert props["indicator"] == "skadegorelse" and "by_hour_23" in props
    assert seen == expected
    few = _get(
        server, "/collections/observations/items", properties="value,area_code", limit=3,
        sortby="-value",
    ).json()  # fmt: skip
    assert [sorted(f["properties"]) for f in few["features"]] == [["area_code", "value"]] * 3
    assert all(f["id"] and f["geometry"]["type"] == "MultiPolygon" for f in few["features"])


# -- GDAL / QGIS -----------------------------------------------------------------------------


def test_ogrinfo_opens_every_collection_with_the_right_count(server, db):
    (n_obs,) = db.execute("SELECT count(*) FROM publish.observations").fetchone()
    expected = {"areas": 60, "indicators": 32, "situation": 60, "observations": n_obs}
    for name, count in expected.items():
        result = subprocess.run(
            ["ogrinfo", "-ro", "-so", f"OAPIF:{server['url']}", name],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        match = re.search(r"Feature Count: (\d+)", result.stdout)
        assert match and int(match[1]) == count, result.stdout


# -- caching ---------------------------------------------------------------------------------


def test_etag_and_last_modified_give_304(server):
    path = "/collections/observations/items"
    params = {"limit": 10, "filter": "indicator = 'ran'"}
    first = _get(server, path, **params)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = requests.get(server["url"] + path, params=params, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    since = requests.get(
        server["url"] + path, params=params, headers={"If-Modified-Since": modified}
    )
    assert since.status_code == 304
    other = requests.get(
        server["url"] + path, params={**params, "f": "html"}, headers={"If-None-Match": etag}
    )
    assert other.status_code == 200 and other.headers["ETag"] != etag


def test_etag_changes_when_a_delivery_is_reviewed(server, db):
    path = "/collections/situation/items"
    before = _get(server, path).headers["ETag"]
    publication.refresh(db, K)
    response = requests.get(server["url"] + path, headers={"If-None-Match": before})
    assert response.status_code == 200 and response.headers["ETag"] != before


def test_a_rebuilt_publication_never_answers_304_to_an_old_etag(server, db):
    """A migration that rebuilds everything sets the version back to 0 (0017, 0025): the
    rebuilt publication reaches the same version number again, with other contents."""
    path = "/collections/situation/items"
    before = _get(server, path)
    version = db.execute("SELECT version FROM publish.state").fetchone()[0]
    db.execute("UPDATE publish.state SET version = %s", (version - 1,))
    publication.refresh(db, K)
    assert db.execute("SELECT version FROM publish.state").fetchone()[0] == version
    again = requests.get(server["url"] + path, headers={"If-None-Match": before.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != before.headers["ETag"]


# -- HTML ------------------------------------------------------------------------------------


def test_html_pages_render_with_the_map(server):
    for name in COLLECTIONS:
        page = _get(server, f"/collections/{name}", f="html")
        assert page.status_code == 200 and "<html" in page.text
        items = _get(server, f"/collections/{name}/items", f="html", limit=5)
        assert items.status_code == 200
        if name != "indicators":
            assert 'id="items-map"' in items.text and "L.map(" in items.text
    one = _get(server, "/collections/areas/items/1101", f="html")
    assert one.status_code == 200 and "Gamla stan" in one.text


CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by ./run.sh test


def test_map_previews_draw_in_a_browser_without_the_internet(server):
    """Chromium may reach the service and nothing else (as on a closed municipal network):
    every map preview still draws its features, because Leaflet and Bootstrap come from the
    service (lagesbild_geo.server.webassets), and no page has a script error."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def only_the_service(route):
        if route.request.url.startswith(server["url"]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        context = browser.new_context()
        context.route("**/*", only_the_service)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        shapes = "#items-map path.leaflet-interactive"
        for name in ("areas", "observations", "situation"):
            page.goto(f"{server['url']}/collections/{name}/items?f=html&limit=7")
            page.wait_for_selector(shapes, timeout=20_000)
            assert page.locator(shapes).count() == 7, name
            assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times"
        page.goto(f"{server['url']}/collections/areas/items/1101?f=html")
        page.wait_for_selector(shapes, timeout=20_000)
        assert page.locator(shapes).count() == 1
        page.goto(f"{server['url']}/collections/observations?f=html")
        page.wait_for_selector("#collection-map path.leaflet-interactive", timeout=20_000)
        browser.close()
    assert errors == []
    assert outside and all("/static/" not in url for url in outside)  # only map tiles left


# -- disclosure ------------------------------------------------------------------------------


def test_the_small_cell_is_seen_only_as_its_protected_figure(server, db):
    """Every format, and every filter that probes it, sees the planted 3 only as the figure the
    protection published: a filter for the true value matches the cell only if that happens
    to be the published figure, and a count's numerator is never shown."""
    area, week, indicator, kind, value = SMALL_CELL
    iso = f"{week.isocalendar()[0]}-W{week.isocalendar()[1]:02d}"
    item_id = f"{area}:{iso}:{indicator}:{kind}"
    (published,) = db.execute(
        "SELECT value FROM publish.observations WHERE id = %s", (item_id,)
    ).fetchone()
    assert abs(published - value) <= K - 2
    bodies = []
    for fmt in ("json", "html", "jsonld"):
        response = _get(server, f"/collections/observations/items/{item_id}", f=fmt)
        assert response.status_code == 200
        bodies.append(response.text)
    feature = json.loads(bodies[0])
    assert feature["properties"]["value_status"] == "published"
    assert feature["properties"]["value"] == published
    assert feature["properties"]["numerator"] is None
    if published != value:
        assert not re.search(rf">\s*{value}(\.0)?\s*<", bodies[1])
    this = f"area_code = '{area}' AND iso_week = '{iso}' AND indicator = '{indicator}'"
    for cql, matches in (
        (f"{this} AND value = {value}", published == value),
        (f"{this} AND value = {published}", True),
        (f"{this} AND numerator = {value}", False),
        (f"{this} AND value > {published}", False),
    ):
        page = _get(server, "/collections/observations/items", filter=cql).json()
        assert page["numberMatched"] == int(matches), cql


# -- coordinates -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def known_point(db):
    """A point inside area 1101 in SWEREF 99 TM (E, N) and CRS84 (lon, lat), from PostGIS."""
    return db.execute(
        "SELECT ST_X(p), ST_Y(p), ST_X(ST_Transform(p, 4326)), ST_Y(ST_Transform(p, 4326))"
        " FROM (SELECT ST_PointOnSurface(geom) AS p FROM lagesbild.area WHERE code = '1101') s"
    ).fetchone()


def test_coordinates_in_both_crs(server, db, known_point):
    first_3006 = db.execute(
        "SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)),"
        " ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1))"
        " FROM lagesbild.area WHERE code = '1101'"
    ).fetchone()
    crs84 = _get(server, "/collections/areas/items/1101").json()
    lon, lat = crs84["geometry"]["coordinates"][0][0][0]
    assert 17 < lon < 18 and 59 < lat < 60
    sweref = _get(server, "/collections/areas/items/1101", crs=EPSG3006)
    assert sweref.headers["Content-Crs"] == f"<{EPSG3006}>"
    north, east = sweref.json()["geometry"]["coordinates"][0][0][0]  # EPSG order: N, E
    assert east == pytest.approx(first_3006[0], abs=0.01)
    assert north == pytest.approx(first_3006[1], abs=0.01)


def test_bbox_in_both_crs(server, known_point):
    east, north, lon, lat = known_point
    d = 0.0005
    hits = _get(server, "/collections/areas/items", bbox=f"{lon - d},{lat - d},{lon + d},{lat + d}")
    assert [f["id"] for f in hits.json()["features"]] == ["1101"]
    box = f"{north - 20},{east - 20},{north + 20},{east + 20}"  # EPSG:3006 axis order
    hits = _get(server, "/collections/areas/items", bbox=box, **{"bbox-crs": EPSG3006})
    assert [f["id"] for f in hits.json()["features"]] == ["1101"]
    swapped = f"{east - 20},{north - 20},{east + 20},{north + 20}"
    hits = _get(server, "/collections/areas/items", bbox=swapped, **{"bbox-crs": EPSG3006})
    assert hits.status_code == 200 and hits.json()["features"] == []


def test_spatial_cql2_in_both_crs(server, known_point):
    east, north, lon, lat = known_point
    hits = _get(server, "/collections/areas/items", filter=f"S_INTERSECTS(geom,POINT({lon} {lat}))")
    assert hits.status_code == 200 and [f["id"] for f in hits.json()["features"]] == ["1101"]
    hits = _get(
        server,
        "/collections/areas/items",
        filter=f"S_INTERSECTS(geom,POINT({north} {east}))",
        **{"filter-crs": EPSG3006},
    )
    assert hits.status_code == 200 and [f["id"] for f in hits.json()["features"]] == ["1101"]
    week = _get(
        server,
        "/collections/observations/items",
        filter=f"S_INTERSECTS(geom,POINT({lon} {lat})) AND indicator = 'ran'",
        datetime="2026-02-09/2026-02-15",
    ).json()
    assert [f["properties"]["area_code"] for f in week["features"]] == ["1101"]


# -- wrong parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "number"),
        ({"nope": "3"}, "Unknown query parameter"),
        ({"sortby": "nope"}, "sortby"),
        ({"properties": "nope"}, "properties"),
        ({"filter": "nope = 3"}, "Unknown property in filter: nope"),
        ({"filter": "value >"}, "Bad CQL"),
        ({"filter": "indicator = 'x'; DROP TABLE publish.observations"}, "Bad CQL"),
        ({"filter": "indicator = 'x'' OR 1=1 --'"}, "Bad CQL"),
        ({"filter": "value > 'abc'"}, "type"),
        ({"value": "abc"}, "number"),
        ({"datetime": "garbage"}, "datetime"),
        ({"crs": "http://www.opengis.net/def/crs/EPSG/0/9999"}, "not supported"),
    ],
)
def test_wrong_parameters_give_400_with_a_message(server, params, needle):
    response = _get(server, "/collections/observations/items", **params)
    assert response.status_code == 400, response.text
    assert needle in response.json()["description"]


def test_sql_in_a_cql2_string_is_only_a_string(server, db):
    response = _get(
        server,
        "/collections/observations/items",
        filter="indicator = 'x OR 1=1; DROP TABLE publish.observations; --'",
    )
    assert response.status_code == 200 and response.json()["numberMatched"] == 0
    (n,) = db.execute("SELECT count(*) FROM publish.observations").fetchone()
    assert n > 0


# -- geometries spliced from the area cache (lagesbild_geo.server.geojson) ----------------


def test_every_published_geometry_is_its_areas(server, db):
    """The provider serves each feature the geometry of its area (provider.AREA_CODE_COLUMN);
    that is only right while every published row's geometry IS its area's, byte for byte."""
    from lagesbild_geo.server.provider import AREA_CODE_COLUMN

    for table in sorted(AREA_CODE_COLUMN.keys() - {"areas"}):
        (schema,) = db.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = %s"
            " AND table_schema IN ('publish', 'restricted')",
            (table,),
        ).fetchone()
        rows, differing = db.execute(
            f"SELECT count(*), count(*) FILTER (WHERE ST_AsEWKB(t.geom) IS DISTINCT FROM"
            f" ST_AsEWKB(a.geom)) FROM {schema}.{table} t"
            " LEFT JOIN publish.areas a ON a.code = t.area_code"
        ).fetchone()
        assert differing == 0, f"{schema}.{table}: {differing} of {rows} rows"
    (observations,) = db.execute("SELECT count(*) FROM publish.observations").fetchone()
    assert observations > 1000


def test_served_geometries_equal_postgis_geojson(server, db):
    page = _get(server, "/collections/observations/items", limit=50, sortby="-id").json()
    assert len(page["features"]) == 50
    ids = [f["id"] for f in page["features"]]
    truth = dict(
        db.execute(
            "SELECT id, ST_AsGeoJSON(geom, 9)::json FROM publish.observations WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
    )
    for feature in page["features"]:
        assert feature["geometry"] == truth[feature["id"]]
        assert feature["properties"]["id"] == feature["id"]
    bare = _get(server, "/collections/observations/items", limit=5, skipGeometry="true").json()
    assert [f["geometry"] for f in bare["features"]] == [None] * 5
