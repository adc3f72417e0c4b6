"""The embeddable trend map at /karta, in Debian's Chromium against a real server.

The server runs on the test history (tests/publish_data.py, 60 areas) with two trend runs
saved the way the nightly analysis saves them (``save_analysis_run``): Skadegörelse with 20
increasing and 10 decreasing areas, Anlagd brand with 5 decreasing. A second local origin
(a thread in this process) plays the city's web site: it frames the map, and it is the tile
server the map is configured with, so that "no request leaves the service when tiles are off"
and "tiles are drawn when on" are both seen from the browser. A screenshot of the map is kept
in ``tests/artefacts/karta.png`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

import re
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
import requests

from lagesbild_geo.access.identity import PUBLIC
from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.publish.results import save_analysis_run
from lagesbild_geo.server import karta
from lagesbild_geo.settings import Settings
from tests.servers import free_port, running_server

REPO = Path(__file__).resolve().parents[2]

CHROMIUM = "/usr/bin/chromium"  # Debian's, as tests/access/test_granskning_browser.py
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
INCREASING, DECREASING = "rgb(215, 48, 31)", "rgb(43, 131, 186)"  # karta.js's CLASSES
RUNS = {"skadegorelse": (20, 10), "anlagd_brand": (0, 5)}  # indicator -> (increasing, decreasing)


# -- the page's own answers, without a server ----------------------------------------------------


def _get(path, settings=None, **env):
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", **env}
    status, headers, body = karta.handle(environ, PUBLIC, settings or Settings())
    return status, dict(headers), b"".join(body)


def test_the_page_is_static_framable_and_fetches_nothing_elsewhere():
    status, headers, body = _get("/karta/")
    assert status.startswith("200") and headers["Content-Type"].startswith("text/html")
    assert b'<html lang="sv" dir="ltr">' in body and b"<title>Trendkarta" in body
    policy = headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self'; img-src 'self' data:;")
    assert policy.endswith("frame-ancestors *")
    assert "X-Frame-Options" not in headers  # embeddable, unlike /granskning
    assert not re.search(rb"(src|href)=\"(https?:)?//", body)
    assert not re.search(rb"<script(?![^>]*\bsrc=)", body)  # no inline script
    assert not re.search(rb"\son[a-z]+\s*=|style=", body)  # no inline handler or style
    assert b'src="../static/vendor/leaflet/leaflet.js"' in body  # the service's own Leaflet
    for name in ("karta.js", "karta.css", "config.json"):
        status, headers, _ = _get(f"/karta/{name}")
        assert status.startswith("200") and headers["X-Content-Type-Options"] == "nosniff", name
        assert _get(f"/karta/{name}", HTTP_IF_NONE_MATCH=headers["ETag"])[0].startswith("304")


def test_the_page_answers_only_for_its_files():
    status, headers, _ = _get("/karta", QUERY_STRING="indikator=ran&bakgrund=ingen")
    assert status.startswith("308") and headers["Location"] == "karta/?indikator=ran&bakgrund=ingen"
    for path in ("/karta/../settings.py", "/karta/x.js", "/karta/index.htm"):
        status, _, body = _get(path)
        assert status.startswith("404") and b"/karta/" in body, path
    status, headers, _ = _get("/karta/", REQUEST_METHOD="POST")
    assert status.startswith("405") and headers["Allow"] == "GET, HEAD"
    status, headers, body = _get("/karta/", REQUEST_METHOD="HEAD")
    assert status.startswith("200") and body == b"" and int(headers["Content-Length"]) > 0


def test_the_configuration_names_the_catalogue_and_the_tiles():
    import json

    config = json.loads(_get("/karta/config.json")[2])
    catalogue = load_catalogue().indicators
    assert [i["id"] for i in config["indicators"]] == list(catalogue)
    assert {i["name_sv"] for i in config["indicators"]} >= {"Skadegörelse", "Anlagd brand"}
    assert config["tiles"] is None
    assert config["collection"] == "../collections/trends-{indicator}/items"

    settings = Settings(
        map_tiles_url="https://{s}.tiles.example.se/topo/{z}/{x}/{y}.png",
        map_tiles_attribution="© Lantmäteriet",
        map_frame_ancestors="'self' https://karta.kommun.se",
    )
    status, headers, body = _get("/karta/config.json", settings)
    assert json.loads(body)["tiles"]["attribution"] == "© Lantmäteriet"
    policy = headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tiles.example.se;" in policy
    assert policy.endswith("frame-ancestors 'self' https://karta.kommun.se")


def test_a_frame_ancestors_setting_cannot_add_a_directive():
    with pytest.raises(ValueError, match="frame-ancestors"):
        Settings(map_frame_ancestors="* ; script-src *")


# -- in the browser ------------------------------------------------------------------------------


def _png() -> bytes:
    """A 256 × 256 light-green tile (a real PNG, so that the browser draws it)."""
    raw = b"".join(b"\x00" + b"\xcc\xee\xcc" * 256 for _ in range(256))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def city():
    """The city's web site on another local origin: a page framing the map, and tiles."""
    tile, seen, pages = _png(), [], {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            if self.path.startswith("/tiles/"):
                body, kind = tile, "image/png"
            elif self.path in pages:
                body, kind = pages[self.path].encode(), "text/html; charset=utf-8"
            else:
                src = self.path.removeprefix("/embed?src=")
                body = (
                    '<!doctype html><html lang="sv"><title>Stadens karta</title>'
                    f'<iframe id="karta" src="{src}" width="800" height="600"></iframe></html>'
                ).encode()
                kind = "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{httpd.server_address[1]}", "seen": seen, "pages": pages}
    httpd.shutdown()
    httpd.server_close()


def _save_trends(conn) -> dict[str, str]:
    """The two runs of :data:`RUNS`; returns area code -> name."""
    areas = dict(conn.execute("SELECT code, name FROM publish.areas ORDER BY code").fetchall())
    codes = list(areas)
    for indicator, (up, down) in RUNS.items():
        features = []
        for i, code in enumerate(codes):
            trend = "increasing" if i < up else "decreasing" if i < up + down else "no trend"
            sign = {"increasing": 1, "decreasing": -1, "no trend": 0}[trend]
            features.append(
                {
                    "properties": {
                        "area_code": code,
                        "indicator": indicator,
                        "weeks": 16,
                        "measure": "count",
                        "trend": trend,
                        "direction_sv": {1: "Ökande", -1: "Minskande", 0: "Ingen trend"}[sign],
                        "direction_en": trend,
                        "tau": 0.5 * sign,
                        "z": 2.5 * sign,
                        "p": 0.01 if sign else 0.6,
                        "slope_per_week": 0.3 * sign,
                    }
                }
            )
        params = {"period_start": "2026-W01", "period_end": "2026-W16"}
        save_analysis_run(
            conn,
            {"features": features, "provenance": {"process": "trends", "parameters": params}},
        )
    return areas


@pytest.fixture(scope="module")
def server(pg_server, city, tmp_path_factory):
    from tests.conftest import PG_PASSWORD, PG_USER, migrated_database
    from tests.publish_data import load

    password = "karta-pw"
    with migrated_database(pg_server, "karta_browser") as url:
        with psycopg.connect(url) as conn:
            load(conn)
            areas = _save_trends(conn)
            conn.commit()
            conn.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{password}'")
        public = url.replace(f"{PG_USER}:{PG_PASSWORD}", f"{publish.READER_ROLE}:{password}")
        with running_server(
            database_url=url,
            public_url=public,
            data_dir=tmp_path_factory.mktemp("karta-server"),
            LAGESBILD_MAP_TILES_URL=city["url"] + "/tiles/{z}/{x}/{y}.png",
            LAGESBILD_MAP_TILES_ATTRIBUTION="Stadens bakgrundskarta",
        ) as srv:
            yield {**srv, "areas": areas}


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def _page(browser):
    """A page that records every request, every script error and every CSP violation."""
    page = browser.new_context(viewport={"width": 1000, "height": 760}).new_page()
    page.seen, page.errors = [], []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.seen.append(r.url))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("response", lambda r: r.status >= 400 and page.errors.append(f"{r.status} {r.url}"))
    return page


def _fills(frame) -> list[str]:
    return frame.locator("path.leaflet-interactive").evaluate_all(
        "paths => paths.map(p => getComputedStyle(p).fill)"
    )


@pytest.mark.server
def test_the_map_draws_the_chosen_indicators_trend(server, browser):
    from playwright.sync_api import expect

    url = server["url"]
    page = _page(browser)
    page.goto(url + "/karta?indikator=skadegorelse&bakgrund=ingen")
    assert page.url == url + "/karta/?indikator=skadegorelse&bakgrund=ingen"
    page.locator('body[data-loaded="skadegorelse"]').wait_for()
    assert page.title().startswith("Trendkarta")

    # one coloured polygon per area, in the trend's colour
    fills = _fills(page)
    assert len(fills) == len(server["areas"]) == 60
    assert fills.count(INCREASING) == 20 and fills.count(DECREASING) == 10

    # the legend: the three classes in Swedish with English beside, and how many areas each
    legend = page.locator("#legend-rows li").all_inner_texts()
    assert legend == [
        "Ökande / increasing (20)",
        "Minskande / decreasing (10)",
        "Ingen signifikant trend / no significant trend (30)",
    ]
    # the date of the data: the analysis window and when it was computed
    date_line = page.locator("#data-date").inner_text()
    assert date_line.startswith("Skadegörelse: veckor / weeks 2026-W01 – 2026-W16")
    assert "up to 2026-04-19" in date_line and re.search(
        r"computed \d{4}-\d\d-\d\d \d\d:\d\d", date_line
    )

    # the selector has the catalogue's Swedish names and changes the layer
    options = page.locator("#indikator option").all_inner_texts()
    assert options == [i.name_sv for i in load_catalogue().indicators.values()]
    page.get_by_label("Indikator").select_option(label="Anlagd brand")
    page.locator('body[data-loaded="anlagd_brand"]').wait_for()
    fills = _fills(page)
    assert len(fills) == 60 and fills.count(INCREASING) == 0 and fills.count(DECREASING) == 5
    assert page.locator("#legend-rows li").first.inner_text() == "Ökande / increasing (0)"
    assert any("/collections/trends-anlagd_brand/items" in u for u in page.seen)

    # an indicator with no run says so, and draws nothing
    page.get_by_label("Indikator").select_option(label="Rån")
    page.locator('body[data-loaded="ran"]').wait_for()
    assert _fills(page) == [] and "inga trender" in page.locator("#data-date").inner_text()

    # the area's name in a popup, as text
    page.get_by_label("Indikator").select_option(label="Skadegörelse")
    page.locator('body[data-loaded="skadegorelse"]').wait_for()
    first_code = min(server["areas"])
    page.locator("path.leaflet-interactive").first.click(force=True)
    popup = page.locator(".leaflet-popup-content .popup")
    popup.wait_for()
    title = popup.locator("h3").inner_text()
    code = re.fullmatch(r".+ \((?P<code>[^()]+)\)", title)["code"]
    assert title == f"{server['areas'][code]} ({code})" and first_code in server["areas"]
    assert "Skadegörelse" in popup.inner_text() and "2026-W01 – 2026-W16" in popup.inner_text()

    expect(page.locator(".leaflet-popup")).to_have_css("opacity", "1")  # faded in
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTEFACTS / "karta.png")

    outside = [u for u in page.seen if not u.startswith(url + "/")]
    assert outside == [], outside
    assert not any("/tiles/" in u for u in page.seen)
    assert page.errors == [], page.errors


@pytest.mark.server
def test_the_map_works_framed_by_another_origin_with_its_tiles(server, city, browser):
    page = _page(browser)
    page.goto(f"{city['url']}/embed?src={server['url']}/karta/?indikator=skadegorelse")
    frame = page.frame_locator("#karta")
    frame.locator('body[data-loaded="skadegorelse"]').wait_for()
    fills = _fills(frame)
    assert len(fills) == 60 and fills.count(INCREASING) == 20
    assert frame.locator("#legend-rows li").count() == 3
    # the configured tiles are drawn (the policy lets exactly their origin in)
    tiles = frame.locator("img.leaflet-tile-loaded")
    tiles.first.wait_for()
    assert tiles.count() > 0 and any(p.startswith("/tiles/") for p in city["seen"])
    assert "Stadens bakgrundskarta" in frame.locator(".leaflet-control-attribution").inner_text()
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTEFACTS / "karta-iframe.png")

    origins = {re.match(r"https?://[^/]+", u)[0] for u in page.seen}
    assert origins == {city["url"], server["url"]}, origins
    assert page.errors == [], page.errors


@pytest.mark.server
def test_frame_ancestors_comes_from_the_settings_over_http(server):
    response = requests.get(server["url"] + "/karta/", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].endswith("frame-ancestors *")
    assert "X-Frame-Options" not in response.headers
    assert "img-src 'self' data: http://127.0.0.1:" in response.headers["Content-Security-Policy"]
    leaflet = requests.get(server["url"] + "/static/vendor/leaflet/leaflet.js", timeout=30)
    assert leaflet.status_code == 200 and b"Leaflet" in leaflet.content[:200]


def _snippet(document: str, name: str) -> str:
    """The code block after ``<!-- snippet: name ... -->`` in ``document`` (of the repo)."""
    text = (REPO / document).read_text(encoding="utf-8")
    found = re.search(rf"<!-- snippet: {name} .*?-->\n```js\n(?P<code>.*?)```", text, re.S)
    assert found, f"no snippet {name} in {document}"
    return found["code"]


@pytest.mark.server
@pytest.mark.parametrize(
    ("document", "name", "shows"),
    [("docs/publishing.md", "karta-leaflet", "popup"), ("README.md", "readme-leaflet", "tooltip")],
)
def test_the_documented_snippet_draws_the_layer_on_the_citys_own_map(
    server, city, browser, document, name, shows
):
    """The snippet as documented, its address replaced by the test server's, run on a page of
    another origin with its own Leaflet map (CORS: the layer is fetched across origins)."""
    from playwright.sync_api import expect

    code = _snippet(document, name).replace("http://127.0.0.1:5000", server["url"])
    assert code.count(server["url"]) == 1
    city["pages"][f"/{name}"] = (
        '<!doctype html><html lang="sv"><title>Stadens webbkarta</title>'
        f'<link rel="stylesheet" href="{server["url"]}/static/vendor/leaflet/leaflet.css">'
        '<div id="map" style="width: 800px; height: 600px"></div>'
        f'<script src="{server["url"]}/static/vendor/leaflet/leaflet.js"></script>'
        "<script>const map = L.map('map').setView([59.33, 18.07], 12);\n"
        f"{code}</script></html>"
    )
    page = _page(browser)
    page.goto(f"{city['url']}/{name}")
    paths = page.locator("path.leaflet-interactive")
    expect(paths).to_have_count(60)
    fills = _fills(page)
    assert fills.count(INCREASING) == 20 and fills.count(DECREASING) == 10
    page.evaluate("map.fitBounds(Object.values(map._layers).find(l => l.getBounds).getBounds())")
    target = paths.first
    if shows == "popup":
        target.click(force=True)
        shown = page.locator(".leaflet-popup-content p")
    else:
        target.hover(force=True)
        shown = page.locator(".leaflet-tooltip")
    shown.wait_for()
    area_name, trend = shown.inner_text().split(" (")[0].split(": ")
    assert area_name in server["areas"].values() and trend in {"Ökande", "Minskande", "Ingen trend"}
    assert page.errors == [], page.errors
