"""The style files on the live layers in QGIS 3.22, and the collections' links to them.

The server runs on a copy of the demo with ``lagesbild analyse`` for one indicator (as
tests/server/test_html_pages.py does), so ``hotspots`` and ``trends`` have classes to show.
QGIS runs in one subprocess of the system Python (Debian's python3-qgis, headless, as in
tests/server/test_field_types.py): it opens each public layer with its own OGC API Features
provider (``OAPIF``, what "Add WFS / OGC API - Features layer" makes), loads each SLD
(``loadSldStyle``) and each QML (``loadNamedStyle``) fetched from the server's
``/styles/<file>``, records every message QGIS logs meanwhile, the renderer, its rules'
titles and the labelling, and renders the layer to a PNG kept in ``tests/artefacts/styles/``
(ignored by git) for a person to look at. The test checks the PNG by its pixels: the fill
colour of every class the live features fall in is there.

Until the per-indicator layers (``situation-<id>``, issue 14 item 2) are served, the
per-indicator situation style is loaded onto a QGIS memory layer made in the same script
from the live wide ``situation`` layer with the per-indicator layer's fields
(``change_pct``, ``value_status`` from ``protected_fields`` / ``no_data_fields``); once the
server lists ``situation-<id>``, the live layer is used.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import requests
from lxml import etree

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.styles import files
from lagesbild_geo.styles.rules import all_styles, expression
from tests.conftest import PG_PASSWORD, PG_USER
from tests.servers import running_server
from tests.styles.test_files import OGC, SLD, _matches

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
ARTEFACTS = REPO / "tests" / "artefacts" / "styles"
COPY = "lagesbild_styles"
READER_PASSWORD = "reader-test-pw"  # the same as the other server tests (the role is global)
INDICATOR = "skadegorelse"
PUBLIC = ("areas", "indicators", "observations", "situation", "hotspots", "trends")

#: (collection, style base name): what the QGIS script loads and renders, SLD and QML each.
#: ``situation`` is the wide layer with the chosen indicator's file; ``situation-<id>`` the
#: per-indicator layer (live when served, else made from the wide one: module docstring).
RENDERED = [
    ("hotspots", "hotspots"),
    ("trends", "trends"),
    ("situation", f"situation-wide/{INDICATOR}"),
    (f"situation-{INDICATOR}", "situation"),
    ("observations", "observations"),
    ("areas", "areas"),
]
#: ``observations`` stacks every week, indicator and actor kind on each area (73,788 features
#: on the demo): QGIS 3.22's OAPIF provider filters on the client and downloads them all
#: (measured here: 4 minutes for the layer, twice). So it is read as a GIS person reads one
#: week of it with 3.22: the live items of one indicator and ISO week, filtered by the
#: server, as GeoJSON through GDAL (provider ``ogr``).
OBSERVATIONS_QUERY = "f=json&limit=1000&indicator={indicator}&iso_week={week}"

#: Run by the system Python with QGIS 3.22. argv: a JSON file of {"url", "jobs": [{"id",
#: "collection", "style", "png", "derive"}]}; prints one JSON line of results by job id.
QGIS_SCRIPT = r"""
import json, os, sys, urllib.request
from qgis.core import (NULL, QgsApplication, QgsCoordinateReferenceSystem,
                       QgsCoordinateTransform, QgsFeature, QgsField, QgsMapRendererParallelJob,
                       QgsMapSettings, QgsProject, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize, QVariant
from qgis.PyQt.QtGui import QColor

spec = json.load(open(sys.argv[1]))
url = spec["url"]
app = QgsApplication([], False)
app.initQgis()
log = []
QgsApplication.messageLog().messageReceived.connect(
    lambda message, tag, level: log.append([tag, int(level), message]))
layers = {}


def live(collection, uri=None):
    if collection not in layers:
        if uri:  # the server's filtered items as GeoJSON, through GDAL
            layer = QgsVectorLayer(uri, collection, "ogr")
        else:
            layer = QgsVectorLayer(f"url={url} typename={collection}", collection, "OAPIF")
        layers[collection] = layer
    return layers[collection]


def derived(collection):
    # the per-indicator situation layer's fields, from the wide layer (until it is served)
    if collection in layers:
        return layers[collection]
    indicator = collection.split("-", 1)[1]
    wide = live("situation")
    layer = QgsVectorLayer("MultiPolygon?crs=EPSG:4326", collection, "memory")
    fields = [QgsField("area_code", QVariant.String), QgsField("area_name", QVariant.String),
              QgsField("change_pct", QVariant.Double), QgsField("value_status", QVariant.String)]
    layer.dataProvider().addAttributes(fields)
    layer.updateFields()
    out = []
    for f in wide.getFeatures():
        change = f[indicator + "_change_pct"]
        protected = str(f["protected_fields"] or "").split(",")
        missing = str(f["no_data_fields"] or "").split(",")
        status = ("protected" if any(p.startswith(indicator + "_") for p in protected)
                  else "no_data" if any(m.startswith(indicator + "_") for m in missing)
                  else "ok")
        g = QgsFeature(layer.fields())
        g.setGeometry(f.geometry())
        g.setAttributes([f["area_code"], f["area_name"],
                         None if change in (None, NULL, "") else float(change), status])
        out.append(g)
    layer.dataProvider().addFeatures(out)
    layer.updateExtents()
    layers[collection] = layer
    return layer


def render(layer, png):
    settings = QgsMapSettings()
    settings.setLayers([layer])
    sweref = QgsCoordinateReferenceSystem("EPSG:3006")  # as the municipality's maps are
    extent = QgsCoordinateTransform(layer.crs(), sweref, QgsProject.instance()
                                    ).transformBoundingBox(layer.extent())
    settings.setDestinationCrs(sweref)
    settings.setExtent(extent.buffered(extent.width() * 0.02))
    settings.setOutputSize(QSize(900, 900))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(png, "PNG")
    colours = {}
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = QColor(image.pixel(x, y)).name()
            colours[c] = colours.get(c, 0) + 1
    return colours, [f"{e.layerID}: {e.message}" for e in job.errors()]


results = {}
for job in spec["jobs"]:
    layer = derived(job["collection"]) if job["derive"] else live(job["collection"], job["uri"])
    out = {"valid": layer.isValid(), "features": layer.featureCount()}
    path = os.path.join(os.getcwd(), job["style"].replace("/", "_"))
    with urllib.request.urlopen(f"{url}/styles/{job['style']}") as answer:
        open(path, "wb").write(answer.read())
    before = len(log)
    if job["style"].endswith(".sld"):
        message, ok = layer.loadSldStyle(path)
    else:
        message, ok = layer.loadNamedStyle(path)
    out.update(ok=bool(ok), message=message, log=log[before:])
    renderer = layer.renderer()
    out["renderer"] = renderer.type()
    if renderer.type() == "RuleRenderer":
        rules = renderer.rootRule().children()
        out["rules"] = [[r.label(), r.filterExpression(), r.description(),
                         r.symbol().color().name()] for r in rules]
    else:
        out["rules"] = []
        out["outline_unit"] = renderer.symbol().symbolLayer(0).properties().get(
            "outline_width_unit", renderer.symbol().symbolLayer(0).properties().get(
                "line_width_unit"))
    out["labels"] = bool(layer.labelsEnabled())
    out["label_field"] = layer.labeling().settings().fieldName if layer.labeling() else None
    if job["png"]:
        before = len(log)
        out["colours"], out["render_errors"] = render(layer, job["png"])
        out["render_log"] = log[before:]
    results[job["id"]] = out
print(json.dumps(results), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down; the answer is out
"""


@pytest.fixture(scope="module")
def server(demo_db_url, tmp_path_factory):
    admin = demo_db_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {COPY} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {COPY} TEMPLATE lagesbild_demo")
        conn.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")
    url = demo_db_url.rsplit("/", 1)[0] + f"/{COPY}"
    env = {**os.environ, "LAGESBILD_DATABASE_URL": url}
    done = subprocess.run(
        [str(BIN / "lagesbild"), "analyse", "--indicator", INDICATOR],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    public = url.replace(f"{PG_USER}:{PG_PASSWORD}", f"{publish.READER_ROLE}:{READER_PASSWORD}")
    try:
        with running_server(
            database_url=url, public_url=public, data_dir=tmp_path_factory.mktemp("styles")
        ) as srv:
            yield {**srv, "db": url}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {COPY} WITH (FORCE)")


@pytest.fixture(scope="module")
def collections(server) -> dict[str, dict]:
    listed = requests.get(server["url"] + "/collections", params={"f": "json"}, timeout=30)
    return {c["id"]: c for c in listed.json()["collections"]}


# -- links ---------------------------------------------------------------------------------------


def test_every_public_collection_links_its_styles_and_each_link_resolves(server, collections):
    """The links of /collections and of each /collections/<id> are the styles of the
    collection's kind; each one answers with the link's media type and the committed file."""
    assert set(PUBLIC) <= set(collections)
    fetched: dict[str, str] = {}
    for name in collections:
        expected = files.style_links(server["url"], name)
        if name in PUBLIC and name != "indicators":
            assert expected, name  # every public map layer has a style
        own = requests.get(f"{server['url']}/collections/{name}", params={"f": "json"},
                           timeout=30).json()  # fmt: skip
        for listing in (collections[name], own):
            links = [link for link in listing["links"] if link["rel"] == "stylesheet"]
            assert [(lk["href"], lk["type"], lk["title"]) for lk in links] == [
                (lk["href"], lk["type"], lk["title"]) for lk in expected
            ], name
        for link in expected:
            if link["href"] in fetched:
                continue
            got = requests.get(link["href"], timeout=30)
            assert got.status_code == 200, link["href"]
            assert got.headers["Content-Type"] == link["type"], link["href"]
            relative = link["href"].split("/styles/", 1)[1]
            assert got.content == (REPO / "sld" / relative).read_bytes(), link["href"]
            fetched[link["href"]] = got.headers["ETag"]
    hotspots = [lk for lk in collections["hotspots"]["links"] if lk["rel"] == "stylesheet"]
    assert [lk["type"] for lk in hotspots] == [
        "application/vnd.ogc.sld+xml;version=1.0", "application/vnd.qgis.qml"]  # fmt: skip
    assert all(lk["title"].startswith("Stil för") for lk in hotspots)
    # every file is linked from somewhere (situation.sld by the per-indicator layers, once
    # they are served)
    unlinked = set(files.generate()) - {h.split("/styles/", 1)[1] for h in fetched}
    per_indicator = any(name.startswith("situation-") for name in collections)
    assert unlinked == (set() if per_indicator else {"situation.sld", "situation.qml"})


def test_a_style_file_is_revalidated_with_its_etag(server):
    url = f"{server['url']}/styles/hotspots.sld"
    for encoding in ("identity", "gzip"):
        first = requests.get(url, headers={"Accept-Encoding": encoding}, timeout=30)
        assert first.status_code == 200 and first.headers["ETag"]
        again = requests.get(url, timeout=30, headers={
            "Accept-Encoding": encoding, "If-None-Match": first.headers["ETag"]})  # fmt: skip
        assert again.status_code == 304 and again.content == b"", encoding


@pytest.mark.parametrize(
    "path",
    [
        "/styles/../pygeoapi-config.yml",
        "/styles/%2e%2e/pygeoapi-config.yml",
        "/styles/%2E%2E%2Fpygeoapi-config.yml",
        "/styles/situation-wide/%2e%2e/%2e%2e/feature-schemas.json",
        "/styles//etc/passwd",
        "/styles/%2Fetc%2Fpasswd",
        "/styles/hotspots.sld%00.txt",
        "/styles/nope.sld",
    ],
)
def test_no_path_leaves_the_generated_files(server, path):
    """Sent as raw bytes (``requests`` would normalise ``..`` away before sending)."""
    parts = urlsplit(server["url"])
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", path)
    answer = conn.getresponse()
    body = answer.read()
    conn.close()
    assert answer.status == 404, (path, answer.status, body[:200])
    assert b"root:" not in body and b"resources" not in body and b"password" not in body


# -- QGIS 3.22 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def qgis(server, collections, tmp_path_factory) -> dict:
    """Every style in QGIS 3.22 on its live layer, in one QGIS process (see QGIS_SCRIPT)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    work = tmp_path_factory.mktemp("qgis-styles")
    with psycopg.connect(server["db"]) as conn:
        week = conn.execute("SELECT max(iso_week) FROM publish.observations WHERE indicator = %s",
                            (INDICATOR,)).fetchone()[0]  # fmt: skip
    query = OBSERVATIONS_QUERY.format(indicator=INDICATOR, week=week)
    uris = {"observations": f"{server['url']}/collections/observations/items?{query}"}
    jobs = []
    for collection, base in RENDERED:
        for ext in ("sld", "qml"):
            png = ARTEFACTS / f"{collection}--{base.replace('/', '_')}.{ext}.png"
            jobs.append({"id": f"{collection} {base}.{ext}", "collection": collection,
                         "style": f"{base}.{ext}", "png": str(png),
                         "derive": collection not in collections,
                         "uri": uris.get(collection)})  # fmt: skip
    for indicator in load_catalogue().indicators:  # every wide file loads (not rendered)
        if indicator != INDICATOR:
            for ext in ("sld", "qml"):
                jobs.append({"id": f"situation situation-wide/{indicator}.{ext}",
                             "collection": "situation", "png": None, "derive": False,
                             "uri": None,
                             "style": f"situation-wide/{indicator}.{ext}"})  # fmt: skip
    spec = work / "jobs.json"
    spec.write_text(json.dumps({"url": server["url"], "jobs": jobs}))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(work)}
    env.pop("PYTHONPATH", None)  # the system Python with its own QGIS, not the venv's path
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_SCRIPT, str(spec)],
        capture_output=True, text=True, timeout=900, env=env, cwd=work,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"QGIS printed no answer (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(lines[-1])


def _sld_rules(base: str) -> list[tuple[str, str, str | None, object]]:
    """(title, abstract, fill colour, filter element) of each rule of the committed SLD."""
    root = etree.fromstring((REPO / "sld" / f"{base}.sld").read_bytes())
    return [
        (r.findtext(f"{SLD}Title"), r.findtext(f"{SLD}Abstract"),
         r.findtext(f".//{SLD}Fill/{SLD}CssParameter[@name='fill']"), r.find(f"{OGC}Filter"))
        for r in root.iter(f"{SLD}Rule")
        if r.find(f"{SLD}PolygonSymbolizer") is not None
    ]  # fmt: skip


def _features(server, collection: str, query: bool = False) -> list[dict]:
    params = {"f": "json", "limit": 10000, "skipGeometry": "true"}
    if query:  # what QGIS read (OBSERVATIONS_QUERY)
        with psycopg.connect(server["db"]) as conn:
            week = conn.execute("SELECT max(iso_week) FROM publish.observations"
                                " WHERE indicator = %s", (INDICATOR,)).fetchone()[0]  # fmt: skip
        params.update(indicator=INDICATOR, iso_week=week, limit=1000)
    got = requests.get(f"{server['url']}/collections/{collection}/items", params=params,
                       timeout=120).json()  # fmt: skip
    return [f["properties"] for f in got["features"]]


def _expected_colours(server, collection: str, base: str, derive: bool) -> set[str]:
    """The fill colours of the classes that live features fall in."""
    if derive:  # the per-indicator fields, as QGIS_SCRIPT makes them
        records = []
        for f in _features(server, "situation"):
            status = ("protected" if f"{INDICATOR}_" in (f["protected_fields"] or "")
                      else "no_data" if f"{INDICATOR}_" in (f["no_data_fields"] or "")
                      else "ok")  # fmt: skip
            records.append({"change_pct": f[f"{INDICATOR}_change_pct"], "value_status": status})
    elif collection == "observations":
        records = _features(server, collection, query=True)
    else:
        records = _features(server, collection)
    colours = set()
    for _, _, fill, node in _sld_rules(base):
        if fill and any(node is None or _matches(node, r) is True for r in records):
            colours.add(fill)
    return colours


@pytest.mark.parametrize(("collection", "base"), RENDERED)
@pytest.mark.parametrize("ext", ["sld", "qml"])
def test_qgis_loads_the_style_on_the_live_layer_and_draws_its_classes(
    server, collections, qgis, collection, base, ext
):
    got = qgis[f"{collection} {base}.{ext}"]
    assert got["valid"] and got["features"] != 0, got
    assert got["ok"] and not got["message"], got["message"]
    noisy = [m for m in got["log"] + got.get("render_log", []) if m[1] >= 1]  # Warning, Critical
    assert noisy == [], noisy
    assert got["render_errors"] == []
    rules = _sld_rules(base)
    if base == "areas":
        assert got["renderer"] == "singleSymbol" and got["outline_unit"] == "Pixel"
        assert got["labels"] and got["label_field"] == "name"
    else:
        assert got["renderer"] == "RuleRenderer"
        assert [r[0] for r in got["rules"]] == [title for title, *_ in rules]
        assert [r[2] for r in got["rules"]] == [abstract for _, abstract, *_ in rules]
        assert [r[3] for r in got["rules"]] == [fill for _, _, fill, _ in rules]
        # every filter arrived whole (QGIS 3.22 drops an OGC operator it does not know
        # silently, with no message, and the rule then matches every feature)
        style = next(st for st in all_styles(list(load_catalogue().indicators.values()))
                     if st.name == base)  # fmt: skip
        assert [r[1].replace('"', "") for r in got["rules"]] == [
            expression(rule.filter).replace('"', "") for rule in style.rules]  # fmt: skip
        assert not got["labels"]
    colours = Counter(got["colours"])
    assert len([c for c, n in colours.items() if n >= 20]) >= 3, colours.most_common(8)
    if base != "areas":
        drawn = {c for c, n in colours.items() if n >= 3}
        expected = _expected_colours(server, collection, base, collection not in collections)
        if collection == "observations":  # the actor kinds of one week lie on each area
            assert len(expected & drawn) >= min(3, len(expected)), (expected, drawn)
        else:
            assert expected and expected <= drawn, (expected - drawn, colours.most_common(10))
    assert Path(qgis_png(collection, base, ext)).stat().st_size > 5000


def qgis_png(collection: str, base: str, ext: str) -> Path:
    return ARTEFACTS / f"{collection}--{base.replace('/', '_')}.{ext}.png"


def test_the_hot_spot_legend_in_qgis_is_the_swedish_one(qgis):
    """What an actor sees after Layer Properties -> Style -> Load Style -> hotspots.sld."""
    for ext in ("sld", "qml"):
        labels = [r[0] for r in qgis[f"hotspots hotspots.{ext}"]["rules"]]
        assert labels[:4] == ["Hot spot 99 %", "Hot spot 95 %", "Hot spot 90 %",
                              "Ej signifikant"]  # fmt: skip
        assert labels[-1] == "Ej beräknat"
        trends = [r[0] for r in qgis[f"trends trends.{ext}"]["rules"]]
        assert trends == ["Ökande", "Minskande", "Ingen signifikant trend"]


@pytest.mark.parametrize("ext", ["sld", "qml"])
def test_every_wide_situation_style_loads_on_the_live_layer(qgis, ext):
    for indicator in load_catalogue().indicators:
        got = qgis[f"situation situation-wide/{indicator}.{ext}"]
        assert got["ok"] and [m for m in got["log"] if m[1] >= 1] == [], (indicator, got)
        assert got["renderer"] == "RuleRenderer" and len(got["rules"]) == 8, indicator
        assert {r[1].replace('"', "") for r in got["rules"][:7]} >= {
            f"{indicator}_change_pct < -50"}, indicator  # fmt: skip
