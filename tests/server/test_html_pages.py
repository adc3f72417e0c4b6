"""pygeoapi's HTML pages as a Swedish reader gets them, in Chromium on a copy of the demo.

The copy gets ``lagesbild analyse`` for one indicator, so that ``hotspots`` and ``trends`` have
features to colour. Chromium may reach the service and nothing else; a background tile server
(``server.map.url``) is the one outside address a page may ask for, and the test refuses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers import analyse, demo_copy, public_url, running_server

pytestmark = pytest.mark.server

COPY = "lagesbild_html_pages"
READER_PASSWORD = "reader-test-pw"  # the same as the other server tests (the role is global)
INDICATOR = "skadegorelse"
CHROMIUM = "/usr/bin/chromium"  # Debian's, as tests/server/test_server_features.py


@pytest.fixture(scope="module")
def database(demo_db_url):
    with demo_copy(demo_db_url, COPY, password=READER_PASSWORD) as url:
        analyse(url, [INDICATOR])
        yield url


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    with running_server(
        database_url=database,
        public_url=public_url(database, READER_PASSWORD),
        data_dir=tmp_path_factory.mktemp("serve-html"),
    ) as srv:
        yield srv


#: Every kind of page pygeoapi renders here: (path, a Swedish label it must show, the English
#: label that stood there before). The labels come from lagesbild_geo/server/locale.
PAGES = [
    ("/", "Visa tjänstens samlingar", "View the collections in this service"),
    ("/collections", "Datasamlingar i tjänsten", "Data collections in this service"),
    ("/collections/trends", "Bläddra bland objekten i", "Browse through the items of"),
    ("/collections/situation/items", "Objekt i samlingen", "Items in this collection"),
    ("/collections/areas/items/1101", "Egenskap", "Property"),
    ("/collections/observations/queryables", "Sökbara egenskaper", "Queryables"),
    ("/processes", "Processer i tjänsten", "Processes in this service"),
    ("/processes/hotspots", "Körsätt", "Execution modes"),
    ("/jobs", "Jobb-id", "Job ID"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A page that may reach the service only; what else it asks for is refused and kept.

    Chromium asks for ``Accept-Language: sv-SE`` as a Swedish reader's browser does; pygeoapi
    answers the first configured language (sv) to a request without one too
    (:func:`test_swedish_without_accept_language`)."""
    from urllib.parse import urlsplit

    import yaml

    config = yaml.safe_load((server["data_dir"] / "pygeoapi-config.yml").read_text())
    tiles = urlsplit(config["server"]["map"]["url"]).netloc
    context = browser.new_context(locale="sv-SE")  # a Swedish reader's Accept-Language
    asked = {"tiles": [], "outside": [], "errors": []}

    def only_the_service(route):
        url = route.request.url
        if url.startswith(server["url"] + "/"):
            route.continue_()
        else:
            asked["tiles" if urlsplit(url).netloc == tiles else "outside"].append(url)
            route.abort()

    context.route("**/*", only_the_service)
    tab = context.new_page()
    tab.on("pageerror", lambda exc: asked["errors"].append(str(exc)))
    tab.asked = asked
    yield tab
    context.close()
    assert asked["outside"] == [], "requests off the service (not map tiles)"
    assert asked["errors"] == []


@pytest.mark.parametrize(("path", "swedish", "english"), PAGES)
def test_every_page_is_swedish_with_a_title_and_nothing_from_a_cdn(server, page, path, swedish,
                                                                   english):  # fmt: skip
    response = page.goto(f"{server['url']}{path}?f=html")
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    root = page.locator("html")
    assert root.get_attribute("lang") == "sv"
    assert root.get_attribute("dir") == "ltr"
    title = page.title().strip()
    assert title and title.endswith("(EST)") and title != "(EST)"
    body = page.locator("body").inner_text()
    assert swedish in body
    assert english not in body.replace(swedish, "")
    assert "Drivs med" in body and "Powered by" not in body
    assert page.locator(".crumbs a").first.inner_text() == "Start"


def test_page_titles_name_the_page(server, page):
    """Item and items pages said nothing (`<title>  </title>`) or only an id."""
    page.goto(f"{server['url']}/collections/areas/items/1101?f=html")
    assert page.title().startswith("1101 Gamla stan – Områden")
    page.goto(f"{server['url']}/collections/trends/items?f=html")
    assert page.title().startswith("Trender per område och indikator – Objekt – Lägesbild")
    page.goto(f"{server['url']}/processes/hotspots?f=html")
    assert page.title().startswith("Heta punkter")


def test_swedish_without_accept_language(server):
    import requests

    response = requests.get(server["url"] + "/collections", params={"f": "html"}, timeout=30)
    text = response.content.decode("utf-8")
    assert '<html lang="sv" dir="ltr"' in text and "Datasamlingar i tjänsten" in text


def test_english_beside_with_lang_en(server, page):
    page.goto(f"{server['url']}/collections?f=html&lang=en")
    root = page.locator("html")
    assert (root.get_attribute("lang"), root.get_attribute("dir")) == ("en", "ltr")
    assert "Data collections in this service" in page.locator("body").inner_text()


def _drawn(page, map_id="#items-map"):
    page.wait_for_selector(f"{map_id} path.leaflet-interactive", timeout=20_000)
    return page.eval_on_selector_all(
        f"{map_id} path.leaflet-interactive", "paths => paths.map(p => p.getAttribute('fill'))"
    )


def _legend(page):
    rows = page.locator("#items-legend .legend-row")
    return {
        rows.nth(i).inner_text().strip(): rows.nth(i)
        .locator(".legend-swatch")
        .evaluate("s => getComputedStyle(s).backgroundColor")
        for i in range(rows.count())
    }


def _rgb(hex_colour):
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.mark.parametrize("layer", ["hotspots", "trends"])
def test_result_layers_are_coloured_by_their_class_with_a_legend(server, page, layer):
    """Each area's fill is the colour of its class (computed here from the JSON of the same
    page), one indicator at a time, and the legend names every class in Swedish."""
    from collections import Counter

    import requests

    from lagesbild_geo.server.map_styles import NO_VALUE, STYLES

    style = STYLES[layer]
    url = f"{server['url']}/collections/{layer}/items"
    features = requests.get(url, params={"f": "json", "limit": 1000}, timeout=30).json()
    features = [f["properties"] for f in features["features"]]
    assert {f["indicator"] for f in features} == {INDICATOR}
    colour = {c["value"]: c["color"] for c in style["classes"]}
    expected = Counter(colour.get(f[style["property"]], NO_VALUE["color"]) for f in features)

    page.goto(f"{url}?f=html&limit=1000")
    assert Counter(_drawn(page)) == expected
    legend = _legend(page)
    assert legend == {
        **{c["sv"]: _rgb(c["color"]) for c in style["classes"]},
        NO_VALUE["sv"]: _rgb(NO_VALUE["color"]),
    }
    assert "Skadegörelse" in page.locator("#items-legend").inner_text()
    if layer == "hotspots":  # the demo's planted vandalism cluster is hot
        assert colour[3] in expected or colour[2] in expected


def _step_colour(style, no_value, value):
    if value is None:
        return no_value["color"]
    return next(c["color"] for c in style["classes"] if c["below"] is None or value < c["below"])


def test_situation_is_coloured_by_the_change_of_the_chosen_indicator(server, page):
    """One feature per area with a change column per indicator: the selector in the legend
    picks the column, and every area's fill is the step of its change (computed here)."""
    from collections import Counter

    import requests

    from lagesbild_geo.server.map_styles import NO_VALUE, STYLES

    style = STYLES["situation"]
    url = f"{server['url']}/collections/situation/items"
    features = requests.get(url, params={"f": "json", "limit": 1000}, timeout=30).json()
    features = [f["properties"] for f in features["features"]]

    def expected(indicator):
        change = [f[indicator + style["property_suffix"]] for f in features]
        return Counter(_step_colour(style, NO_VALUE, v) for v in change)

    page.goto(f"{url}?f=html&limit=1000")
    first = _drawn(page)
    assert "#3388ff" not in first and len(set(first)) >= 2
    legend = _legend(page)
    assert "ungefär oförändrat (±5 %)" in legend and "Skyddat eller saknas" in legend
    selector = page.locator("#legend-indicator")
    options = selector.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert INDICATOR in options and len(options) > 10
    assert Counter(first) == expected(selector.input_value())
    for indicator in (INDICATOR, next(o for o in options if o != INDICATOR)):
        page.locator("#legend-indicator").select_option(indicator)
        assert page.locator("#legend-indicator").input_value() == indicator
        assert Counter(_drawn(page)) == expected(indicator), indicator


@pytest.mark.parametrize("kind", ["situation", "hotspots", "trends"])
def test_per_indicator_layers_are_coloured_by_their_kinds_style(server, page, kind):
    """situation-<id>, hotspots-<id>, trends-<id>: each area's fill is its class in the style
    of its kind (map_styles.BY_PREFIX), with the legend."""
    from collections import Counter

    import requests

    from lagesbild_geo.server.map_styles import NO_VALUE, style_of

    collection = f"{kind}-{INDICATOR}"
    style = style_of(collection)
    url = f"{server['url']}/collections/{collection}/items"
    features = requests.get(url, params={"f": "json", "limit": 1000}, timeout=30).json()
    values = [f["properties"][style["property"]] for f in features["features"]]
    if style["kind"] == "steps":
        expected = Counter(_step_colour(style, NO_VALUE, v) for v in values)
    else:
        colour = {c["value"]: c["color"] for c in style["classes"]}
        expected = Counter(colour.get(v, NO_VALUE["color"]) for v in values)
    page.goto(f"{url}?f=html&limit=1000")
    drawn = _drawn(page)
    assert Counter(drawn) == expected and "#3388ff" not in drawn
    assert len(set(drawn)) >= 2, drawn[:5]
    legend = _legend(page)
    assert {c["sv"] for c in style["classes"]} <= set(legend)


def test_observations_are_graduated_by_value(server, page):
    page.goto(f"{server['url']}/collections/observations/items?f=html&limit=100")
    fills = _drawn(page)
    assert len(fills) == 100 and "#3388ff" not in fills and len(set(fills)) >= 2
    legend = _legend(page)
    assert len(legend) >= 3 and all(k for k in legend)


# -- without a server: what start-up writes -------------------------------------------------


def test_every_label_of_pygeoapi_has_a_swedish_translation():
    """A label a pygeoapi update adds shows up here, not as English on a Swedish page."""
    import re

    import pygeoapi
    from babel.messages.pofile import read_po

    from lagesbild_geo.server.webassets import LOCALES

    templates = Path(pygeoapi.__file__).parent / "templates"
    labels = set()
    for page in templates.rglob("*.html"):
        labels |= set(re.findall(r"\{% trans %\}(.*?)\{% ?endtrans ?%\}", page.read_text()))
    with (LOCALES / "sv/LC_MESSAGES/messages.po").open("rb") as po:
        swedish = {m.id: m.string for m in read_po(po) if m.id}
    assert labels - set(swedish) == set()
    assert all(swedish.values())


def test_start_up_edits_match_pygeoapi_and_leave_no_cdn_address(tmp_path, caplog):
    from lagesbild_geo.server.webassets import (
        EDITS,
        local_translations,
        local_web_assets,
    )
    from lagesbild_geo.settings import Settings

    with caplog.at_level("WARNING", logger="lagesbild_geo.server.webassets"):
        written = Path(local_web_assets(tmp_path, Settings().js_dir)["path"])
    assert caplog.records == []  # every edit matched, every library found
    for name in {name for name, *_ in EDITS} | {"collections/items/index.html"}:
        text = (written / name).read_text()
        assert "unpkg.com" not in text and "cdnjs" not in text and "jsdelivr" not in text, name
    assert (written / "lagesbild/map_styles.json").is_file()
    locale = Path(local_translations(tmp_path))
    assert (locale / "sv/LC_MESSAGES/messages.mo").stat().st_size > 1000
    assert (locale / "en/LC_MESSAGES/messages.mo").is_file()
