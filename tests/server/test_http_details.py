"""HTTP details clients rely on (issue 14, item 7), against the real server (``lagesbild serve``).

Short CRS names, gzip with an ETag per encoding, kept-alive connections, nulls last in
``sortby``, plain text in JSON, job results as JSON for ``Accept: */*``, and a browser on
another origin starting an asynchronous job through the CORS preflight. One server on the
history of ``tests/publish_data.py`` for the module.
"""

from __future__ import annotations

import gzip
import http.client
import http.server
import json
import threading
import time
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from lagesbild_geo.server import compression
from tests.disclosure.test_table import CLASSIC, MARGINS_2D, grid_rows
from tests.servers import serving_test_history

pytestmark = pytest.mark.server

EPSG3006 = "http://www.opengis.net/def/crs/EPSG/0/3006"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
CHROMIUM = "/usr/bin/chromium"
K_ANONYMITY = {
    "table": grid_rows(CLASSIC),
    "margins": MARGINS_2D,
    "method": "suppression",
    "secret": "5e" * 32,
}


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    with serving_test_history(
        pg_server, "lagesbild_http_details", tmp_path_factory.mktemp("http"), k=5,
        password="reader-http-pw",
    ) as srv:  # fmt: skip
        yield srv


@pytest.fixture(scope="module")
def db(server):
    with psycopg.connect(server["db"], autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def known_point(db):
    """A point inside area 1101 in SWEREF 99 TM (E, N) and CRS84 (lon, lat), from PostGIS."""
    return db.execute(
        "SELECT ST_X(p), ST_Y(p), ST_X(ST_Transform(p, 4326)), ST_Y(ST_Transform(p, 4326))"
        " FROM (SELECT ST_PointOnSurface(geom) AS p FROM lagesbild.area WHERE code = '1101') s"
    ).fetchone()


def _get(server, path, headers=None, **params):
    return requests.get(server["url"] + path, params=params, headers=headers, timeout=60)


# -- short CRS names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "short", ["EPSG:3006", "epsg:3006", "[EPSG:3006]", "urn:ogc:def:crs:EPSG::3006"]
)
def test_crs_accepts_the_short_name_and_answers_the_uri(server, short):
    by_uri = _get(server, "/collections/areas/items/1101", crs=EPSG3006)
    by_name = _get(server, "/collections/areas/items/1101", crs=short)
    assert by_name.status_code == 200, by_name.text
    assert by_name.headers["Content-Crs"] == f"<{EPSG3006}>"
    assert by_name.json()["geometry"] == by_uri.json()["geometry"]
    north, east = by_name.json()["geometry"]["coordinates"][0][0][0]
    assert 6_000_000 < north < 7_700_000 and 200_000 < east < 1_000_000  # metres, N first


def test_crs_epsg_4326_short_name_is_latitude_first(server):
    response = _get(server, "/collections/areas/items/1101", crs="EPSG:4326")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Crs"] == f"<{EPSG4326}>"
    lat, lon = response.json()["geometry"]["coordinates"][0][0][0]
    assert 59 < lat < 60 and 17 < lon < 18


def test_an_unknown_short_crs_is_still_a_400_naming_the_supported(server):
    response = _get(server, "/collections/areas/items", crs="EPSG:9999")
    assert response.status_code == 400
    assert "not supported" in response.json()["description"]


def test_bbox_crs_and_filter_crs_accept_short_names(server, known_point):
    east, north, lon, lat = known_point
    box = f"{north - 20},{east - 20},{north + 20},{east + 20}"  # EPSG:3006 axis order
    hits = _get(server, "/collections/areas/items", bbox=box, **{"bbox-crs": "EPSG:3006"})
    assert hits.status_code == 200, hits.text
    assert [f["id"] for f in hits.json()["features"]] == ["1101"]
    hits = _get(
        server,
        "/collections/areas/items",
        filter=f"S_INTERSECTS(geom,POINT({north} {east}))",
        **{"filter-crs": "EPSG:3006"},
    )
    assert hits.status_code == 200, hits.text
    assert [f["id"] for f in hits.json()["features"]] == ["1101"]
    hits = _get(
        server,
        "/collections/areas/items",
        filter=f"S_INTERSECTS(geom,POINT({lat} {lon}))",
        **{"filter-crs": "EPSG:4326"},
    )
    assert [f["id"] for f in hits.json()["features"]] == ["1101"]


# -- gzip --------------------------------------------------------------------------------------


def _raw(server, path, method="GET", **headers):
    """Status, headers and the body as sent (not decoded), over http.client."""
    parts = urlsplit(server["url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


PAGE = "/collections/observations/items?limit=100&f=json"


def test_gzip_when_accepted_with_its_own_etag_and_vary(server):
    status, plain_headers, plain = _raw(server, PAGE, **{"Accept-Encoding": "identity"})
    assert status == 200 and "content-encoding" not in plain_headers
    status, headers, body = _raw(server, PAGE, **{"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    unzipped, expected = json.loads(gzip.decompress(body)), json.loads(plain)
    assert unzipped["features"] == expected["features"]  # (timeStamp is the response's own)
    assert int(headers["content-length"]) == len(body) < len(plain) / 3
    assert "accept-encoding" in headers["vary"].lower()
    assert "accept-encoding" in plain_headers["vary"].lower()
    assert headers["etag"] == plain_headers["etag"][:-1] + '-gz"'
    print(f"observations page of 100: {len(plain):,} B, gzip {len(body):,} B")


def test_a_conditional_request_matches_the_etag_of_its_encoding(server):
    _, identity, _ = _raw(server, PAGE, **{"Accept-Encoding": "identity"})
    _, zipped, _ = _raw(server, PAGE, **{"Accept-Encoding": "gzip"})
    status, headers, _ = _raw(
        server, PAGE, **{"Accept-Encoding": "gzip", "If-None-Match": zipped["etag"]}
    )
    assert status == 304 and headers["etag"] == zipped["etag"]
    status, headers, _ = _raw(
        server, PAGE, **{"Accept-Encoding": "identity", "If-None-Match": identity["etag"]}
    )
    assert status == 304 and headers["etag"] == identity["etag"]
    # a client that no longer accepts gzip has not got the identity body cached
    status, _, body = _raw(
        server, PAGE, **{"Accept-Encoding": "identity", "If-None-Match": zipped["etag"]}
    )
    assert status == 200 and body.startswith(b"{")


@pytest.mark.parametrize("path", ["/static/vendor/leaflet/leaflet.js", "/karta/karta.js"])
def test_files_of_other_handlers_are_gzipped_and_revalidated(server, path):
    """pygeoapi's static files (Flask's own ETag and 304) and the service's pages know only the
    identity validator: the gzip one is matched as it, and the 304 gives it back."""
    status, plain_headers, plain = _raw(server, path, **{"Accept-Encoding": "identity"})
    assert status == 200 and "etag" in plain_headers, path
    status, headers, body = _raw(server, path, **{"Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == plain
    assert headers["etag"] != plain_headers["etag"]
    status, again, _ = _raw(
        server, path, **{"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]}
    )
    assert status == 304 and again["etag"] == headers["etag"]
    status, _, _ = _raw(
        server, path, **{"Accept-Encoding": "identity", "If-None-Match": headers["etag"]}
    )
    assert status == 200


def test_no_gzip_for_head_small_bodies_or_refusing_clients(server):
    status, headers, body = _raw(server, PAGE, method="HEAD", **{"Accept-Encoding": "gzip"})
    assert status == 200 and "content-encoding" not in headers and body == b""
    candidates = (
        "/collections/areas/items/1101?f=json&skipGeometry=true&properties=code",
        "/collections/observations/items?f=json&resulttype=hits&limit=1",
        "/collections/areas/queryables?f=json",
    )
    bodies = {p: _raw(server, p, **{"Accept-Encoding": "identity"})[2] for p in candidates}
    small, plain = min(bodies.items(), key=lambda item: len(item[1]))
    assert len(plain) < compression.MIN_BYTES, {p: len(b) for p, b in bodies.items()}
    status, headers, body = _raw(server, small, **{"Accept-Encoding": "gzip"})
    assert status == 200 and "content-encoding" not in headers and body == plain
    assert "accept-encoding" in headers["vary"].lower()
    status, headers, _ = _raw(server, PAGE, **{"Accept-Encoding": "gzip;q=0, *;q=1"})
    assert status == 200 and "content-encoding" not in headers


def test_requests_gets_the_same_features_gzipped(server):
    """What every client does: ``requests`` sends gzip, decodes it, and sees the same data."""
    zipped = _get(server, "/collections/situation/items", limit=50)
    plain = _get(server, "/collections/situation/items", {"Accept-Encoding": "identity"}, limit=50)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.json()["features"] == plain.json()["features"]


# -- keep-alive --------------------------------------------------------------------------------


def _on_one_connection(server, paths, **headers):
    """(status, headers, body) of each path, asked in turn over one kept-alive connection
    (so of one worker: gunicorn's gthread keeps a connection with its worker)."""
    parts = urlsplit(server["url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    answers = []
    try:
        for path in paths:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            answers.append(
                (response.status, {k.lower(): v for k, v in response.getheaders()},
                 response.read())
            )  # fmt: skip
    finally:
        conn.close()
    return answers


def test_a_repeated_public_page_is_sent_as_kept_until_the_version_changes(server, db):
    """A worker keeps the public item pages it answered by their strong ETag
    (lagesbild_geo/server/responses.py): the same URL again is the same bytes (the
    timeStamp of the first answer: pygeoapi writes microseconds), in each encoding; once the
    publication's version changes, the page is made anew."""
    page = "/collections/observations/items?f=json&limit=50&offset=7"
    first, again = _on_one_connection(server, [page, page], **{"Accept-Encoding": "gzip"})
    assert first[0] == again[0] == 200
    assert again[2] == first[2] and again[1]["etag"] == first[1]["etag"]
    assert again[1]["content-encoding"] == "gzip"
    (plain,) = _on_one_connection(server, [page], **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain[1]
    identity, zipped = json.loads(plain[2]), json.loads(gzip.decompress(first[2]))
    assert identity["features"] == zipped["features"]  # (each encoding is kept on its own)
    stamp = json.loads(gzip.decompress(first[2]))["timeStamp"]
    (version,) = db.execute("SELECT version FROM publish.state").fetchone()
    try:
        db.execute("UPDATE publish.state SET version = version + 1")
        (after,) = _on_one_connection(server, [page], **{"Accept-Encoding": "gzip"})
        assert after[0] == 200 and after[1]["etag"] != first[1]["etag"]
        assert after[1]["etag"].startswith(f'"v{version + 1}-')
        assert json.loads(gzip.decompress(after[2]))["timeStamp"] != stamp
    finally:
        db.execute("UPDATE publish.state SET version = %s", (version,))


def test_an_area_in_epsg_3006_is_the_same_on_every_page_and_as_postgis_has_it(server, db):
    """Each area's shape on a page is transformed once per CRS and then reused
    (provider._transform): the same on pages of observations and trends, and PostGIS's
    ST_Transform(geom, 3006) with EPSG:3006's axis order (north, east), as the area read as
    one item (from its own WKB, not the pages' shapes) is."""
    ((east, north),) = db.execute(
        "SELECT ST_X(ST_StartPoint(ST_ExteriorRing(ST_GeometryN(g, 1)))),"
        " ST_Y(ST_StartPoint(ST_ExteriorRing(ST_GeometryN(g, 1))))"
        " FROM (SELECT ST_Transform(geom, 3006) AS g FROM publish.areas WHERE code = '1101') a"
    ).fetchall()
    shapes = []
    for path, params in (
        ("/collections/areas/items/1101", {}),
        ("/collections/observations/items", {"filter": "area_code = '1101'", "limit": 3}),
        ("/collections/trends/items", {"area_code": "1101", "limit": 2}),
        ("/collections/observations/items", {"filter": "area_code = '1101'", "limit": 2,
                                             "offset": 3}),
    ):  # fmt: skip
        answer = _get(server, path, crs="EPSG:3006", f="json", **params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        shapes += [f["geometry"] for f in body.get("features", [body])]
    item, pages = shapes[0], shapes[1:]
    assert len(pages) >= 5 and all(s == pages[0] for s in pages)
    for shape in (item, pages[0]):
        assert shape["coordinates"][0][0][0] == pytest.approx([north, east], abs=0.01)


def test_one_connection_serves_many_requests(server):
    """gunicorn's sync worker closed every connection (``Connection: close``); the gthread
    workers keep it: ten requests over one socket."""
    parts = urlsplit(server["url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.connect()
        sock = conn.sock
        for offset in range(0, 100, 10):
            conn.request("GET", f"/collections/observations/items?limit=10&offset={offset}")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            assert response.getheader("Connection", "").lower() != "close"
            assert conn.sock is sock  # http.client reconnects (a new socket) after a close
    finally:
        conn.close()


def test_concurrent_requests_in_one_worker_give_the_right_answers(server, db):
    """Threads in a worker share the provider, its pools and caches: 24 requests at once, each
    a different filter, each with its own exact count."""
    from concurrent.futures import ThreadPoolExecutor

    weeks = [
        str(w)
        for (w,) in db.execute(
            "SELECT DISTINCT week_start FROM publish.observations ORDER BY 1 LIMIT 6"
        )
    ]
    expected = {
        (w, ind): db.execute(
            "SELECT count(*) FROM publish.observations WHERE week_start = %s AND indicator = %s",
            (w, ind),
        ).fetchone()[0]
        for w in weeks
        for ind in ("ran", "anlagd_brand", "unga_misstankta_boende", "nope")
    }

    def matched(key):
        week, indicator = key
        response = _get(
            server,
            "/collections/observations/items",
            indicator=indicator,
            datetime=f"{week}/{week}",
            limit=1,
        )
        return response.json()["numberMatched"]

    with ThreadPoolExecutor(8) as pool:
        got = dict(zip(expected, pool.map(matched, expected), strict=True))
    assert got == expected


# -- sortby ------------------------------------------------------------------------------------


@pytest.mark.parametrize("way", ["-", "+"])
def test_sortby_puts_nulls_last_both_ways(server, db, way):
    nulls, values = db.execute(
        "SELECT count(*) FILTER (WHERE value IS NULL), count(value) FROM publish.observations"
    ).fetchone()
    assert nulls > 0 and values > 0  # the history has protected (null) weeks
    first = _get(server, "/collections/observations/items", sortby=f"{way}value", limit=5)
    assert first.status_code == 200, first.text
    shown = [f["properties"]["value"] for f in first.json()["features"]]
    assert None not in shown
    assert shown == sorted(shown, reverse=way == "-")
    last = _get(
        server, "/collections/observations/items", sortby=f"{way}value", limit=5,
        offset=nulls + values - 5,
    )  # fmt: skip
    assert [f["properties"]["value"] for f in last.json()["features"]] == [None] * 5


# -- plain text in JSON ------------------------------------------------------------------------


def test_json_descriptions_are_plain_text(server):
    situation = _get(server, "/collections/situation", f="json", lang="sv")
    assert situation.status_code == 200
    assert "(<indikator>_week)" in situation.json()["description"]
    for path in ("/collections", "/collections/situation", "/openapi", "/processes"):
        text = _get(server, path, f="json").text
        assert "&lt;" not in text and "&gt;" not in text, path
    assert "\\u003cindikator\\u003e" in _get(server, "/collections/situation", f="json").text


# -- job results -------------------------------------------------------------------------------


def _job(server) -> str:
    accepted = requests.post(
        server["url"] + "/processes/k-anonymity/execution",
        json={"inputs": K_ANONYMITY},
        headers={"Prefer": "respond-async"},
        timeout=60,
    )
    assert accepted.status_code == 201, accepted.text
    location = accepted.headers["Location"]
    deadline = time.monotonic() + 120
    while requests.get(location, params={"f": "json"}, timeout=30).json()["status"] != (
        "successful"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    return location


def test_job_results_are_json_unless_html_is_asked_for(server):
    location = _job(server)
    for accept in ("*/*", None, "application/json"):
        results = requests.get(location + "/results", headers={"Accept": accept}, timeout=30)
        assert results.status_code == 200
        assert results.headers["Content-Type"].startswith("application/json"), accept
        assert results.json()["cells"]
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = requests.get(location + "/results", headers={"Accept": browser}, timeout=30)
    assert page.headers["Content-Type"].startswith("text/html") and "<html" in page.text
    forced = requests.get(location + "/results", params={"f": "html"}, timeout=30)
    assert forced.headers["Content-Type"].startswith("text/html")


# -- CORS in a real browser --------------------------------------------------------------------


PAGE_OF_ANOTHER_ORIGIN = """<!doctype html><html lang="sv"><title>Annan webbplats</title>
<script>
async function tryHeader(service, name) {
  try {
    await fetch(service + "/collections", {headers: {[name]: "x"}});
    return "answered";
  } catch (e) {
    return "blocked";
  }
}
async function startJob(service, inputs) {
  const accepted = await fetch(service + "/processes/k-anonymity/execution", {
    method: "POST",
    headers: {"Content-Type": "application/json", "Prefer": "respond-async"},
    body: JSON.stringify({inputs: inputs}),
  });
  const location = accepted.headers.get("Location");
  let status = null;
  for (let i = 0; i < 200 && status !== "successful"; i++) {
    status = (await (await fetch(location + "?f=json")).json()).status;
    if (status !== "successful") await new Promise(r => setTimeout(r, 300));
  }
  const results = await fetch(location + "/results");
  return {
    status: accepted.status,
    refused: await tryHeader(service, "X-Nope"),
    allowed: await tryHeader(service, "X-API-Key"),
    location: location,
    applied: accepted.headers.get("Preference-Applied"),
    job: status,
    resultType: results.headers.get("Content-Type"),
    cells: (await results.json()).cells.length,
  };
}
</script></html>"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = PAGE_OF_ANOTHER_ORIGIN.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_browser_on_another_origin_starts_a_job_and_reads_location(server):
    """Chromium on http://127.0.0.1:<other port> POSTs with ``Prefer: respond-async`` and a JSON
    body: that needs a preflight (OPTIONS) allowing POST, Content-Type and Prefer, and the
    answer must expose ``Location`` and ``Preference-Applied`` to the page's script."""
    from playwright.sync_api import sync_playwright

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    preflights: list[dict] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.on(
                "request",
                lambda r: preflights.append(r.headers) if r.method == "OPTIONS" else None,
            )
            page.goto(f"http://127.0.0.1:{site.server_address[1]}/")
            got = page.evaluate(
                "([service, inputs]) => startJob(service, inputs)", [server["url"], K_ANONYMITY]
            )
            browser.close()
    finally:
        site.shutdown()
    assert got["refused"] == "blocked"  # a header the preflight does not allow: no request
    assert got["allowed"] == "answered"  # (a 401 for the wrong key, but readable)
    assert got["status"] == 201
    assert got["location"].startswith(server["url"] + "/jobs/")
    assert got["applied"] == "respond-async" and got["job"] == "successful"
    assert got["resultType"].startswith("application/json") and got["cells"] > 0
    # (Chromium may not show its preflights to the page's request events; those it shows
    # asked for what the server allows.)
    for headers in preflights:
        assert headers.get("access-control-request-method") in ("POST", "GET")
