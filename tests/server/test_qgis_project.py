"""The downloadable QGIS project (lagesbild_geo/server/qgis_project.py), opened with QGIS 3.22.

The real server on the test history; the project is downloaded over HTTP as a GIS person
would, then read by Debian's QGIS 3.22 (python3-qgis, a subprocess of the system Python, as
in tests/server/test_field_types.py), which reports every layer (valid, provider, source,
renderer, legend, feature count, visibility) and renders the project as it opens and each
layer of the first indicator. The PNGs are kept in ``tests/artefacts/`` (ignored by git) for a
person to look at; the test checks they are maps (several colours), not blank images.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import psycopg
import pytest
import requests

from tests.servers import serving_analysed_demo

pytestmark = pytest.mark.server

SYSTEM_PYTHON = Path("/usr/bin/python3")
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
URL = "/qgis/lagesbild.qgz"
#: the demo's indicators given hot spots and trends before the server starts (the others have
#: their situation only, as before their first nightly analysis)
ANALYSED = ("skadegorelse", "ordningsstorning")


@pytest.fixture(scope="module")
def server(demo_db_url, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("qgis-project")
    with serving_analysed_demo(
        demo_db_url, "lagesbild_qgis_project", data_dir, indicators=ANALYSED,
        password="reader-test-pw",
    ) as srv:  # fmt: skip
        yield srv


@pytest.fixture(scope="module")
def published(server) -> dict:
    """What the database publishes: kind -> indicators with features, the areas, their
    extent in EPSG:3006."""
    with psycopg.connect(server["db"]) as conn:
        rows = conn.execute(
            "SELECT 'situation', id FROM publish.indicators WHERE last_week IS NOT NULL"
            " UNION SELECT 'hotspots', indicator FROM publish.hotspots"
            " UNION SELECT 'trends', indicator FROM publish.trends"
        ).fetchall()
        areas = conn.execute("SELECT count(*) FROM publish.areas").fetchone()[0]
        extent = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
            " SELECT ST_Extent(ST_Transform(geom, 3006)) e FROM publish.areas) x"
        ).fetchone()
    kinds: dict[str, set[str]] = {}
    for kind, indicator in rows:
        kinds.setdefault(kind, set()).add(indicator)
    assert set(kinds["hotspots"]) == set(kinds["trends"]) == set(ANALYSED)
    assert len(kinds["situation"]) > len(ANALYSED) and areas
    return {"kinds": kinds, "areas": areas, "extent": extent}


@pytest.fixture(scope="module")
def downloaded(server, tmp_path_factory) -> Path:
    got = requests.get(server["url"] + URL, timeout=60)
    assert got.status_code == 200, got.text
    assert got.headers["Content-Type"] == "application/vnd.qgis.qgz"
    assert 'filename="lagesbild.qgz"' in got.headers["Content-Disposition"]
    path = tmp_path_factory.mktemp("qgz") / "lagesbild.qgz"
    path.write_bytes(got.content)
    return path


@pytest.fixture(scope="module")
def opened(server, downloaded, tmp_path_factory) -> dict:
    """QGIS 3.22's report of the project (see ``QGIS_SCRIPT``)."""
    home = tmp_path_factory.mktemp("qgis-home")
    ARTEFACTS.mkdir(exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home)}
    env.pop("PYTHONPATH", None)  # the system Python with its own QGIS, not the venv's path
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_SCRIPT, str(downloaded), str(ARTEFACTS)],
        capture_output=True, text=True, timeout=600, env=env, cwd=home,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"QGIS printed no answer (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(lines[-1])


def test_the_project_is_a_qgz_of_one_qgs_naming_this_service_only(server, downloaded):
    with zipfile.ZipFile(downloaded) as archive:
        assert archive.namelist() == ["lagesbild.qgs"]
        qgs = archive.read("lagesbild.qgs").decode()
    assert qgs.startswith("<!DOCTYPE qgis")
    sources = [line for line in qgs.splitlines() if "<datasource>" in line]
    assert sources and all(f"url='{server['url']}'" in s for s in sources)
    # public layers only, and no credential of any kind
    for restricted in ("my-observations", "my-deliveries", "exact-observations", "lgb_"):
        assert restricted not in qgs


def test_the_qgs_the_etag_and_the_errors(server):
    qgs = requests.get(server["url"] + "/qgis/lagesbild.qgs", timeout=60)
    assert qgs.status_code == 200
    assert qgs.headers["Content-Type"] == "application/vnd.qgis.qgs+xml"
    assert b"<projectlayers>" in qgs.content
    first = requests.get(server["url"] + URL, timeout=60)
    again = requests.get(
        server["url"] + URL, headers={"If-None-Match": first.headers["ETag"]}, timeout=60
    )
    assert again.status_code == 304
    assert first.headers["ETag"] != qgs.headers["ETag"]
    for path, status in (("/qgis/other.qgz", 404), ("/qgis/", 404), ("/qgis/../qgis", 404)):
        got = requests.get(server["url"] + path, timeout=30)
        assert got.status_code == status, path
        assert "lagesbild.qgz" in got.json()["description"]
    posted = requests.post(server["url"] + URL, data=b"x", timeout=30)
    assert posted.status_code == 405


def test_qgis_opens_every_layer_of_the_project(opened, published):
    assert opened["read"], opened
    assert opened["crs"] == "EPSG:3006"
    layers = opened["layers"]
    expected = {f"{kind}-{i}" for kind, ids in published["kinds"].items() for i in ids}
    assert {layer["typename"] for layer in layers} == expected | {"areas", "observations"}
    for layer in layers:
        assert layer["valid"], layer
        assert layer["provider"] == "OAPIF", layer
        assert layer["crs"] == "EPSG:4326", layer
        if layer["typename"] != "observations":  # 1,287+ features a page: not opened here
            assert layer["features"] == published["areas"], layer


def test_every_layer_is_styled_from_the_service_s_qml(opened):
    renderers = {layer["typename"].split("-")[0]: layer for layer in opened["layers"]}
    # the renderer QGIS made of each kind's QML, with the Swedish legend of the style
    for kind in ("situation", "hotspots", "trends", "observations"):
        layer = renderers[kind]
        assert layer["renderer"] in ("RuleRenderer", "categorizedSymbol", "graduatedSymbol"), layer
        assert len(layer["legend"]) >= 3, layer
    assert any("Hot spot 99" in label for label in renderers["hotspots"]["legend"])
    assert any("Ökande" in label for label in renderers["trends"]["legend"])
    assert renderers["areas"]["labels"], renderers["areas"]


def test_the_project_opens_on_one_indicator_s_situation_over_the_areas(opened, published):
    tree = opened["tree"]
    assert tree[-1] == {"name": "Områden (NYKO 3)", "checked": True, "typename": "areas"}
    indicators = tree[0]
    assert indicators["mutually_exclusive"] and indicators["checked"]
    first, *others = indicators["children"]
    assert first["checked"] and first["mutually_exclusive"]
    assert [c["typename"].split("-")[0] for c in first["children"]] == [
        "situation", "hotspots", "trends"]  # fmt: skip
    assert [c["checked"] for c in first["children"]] == [True, False, False]
    assert not any(o["checked"] for o in others)
    assert opened["visible"] == [first["children"][0]["typename"], "areas"]
    # the first group is a strategic analysed indicator or the first with data; the view is
    # the municipality's areas
    assert opened["view"] == pytest.approx(list(published["extent"]), abs=1.0)


def test_the_rendered_maps_are_maps(opened):
    """The project as it opens and each layer of the first indicator, rendered by QGIS:
    several colours each (a blank, single-colour or transparent image fails)."""
    assert set(opened["renders"]) == {"project", "situation", "hotspots", "trends"}
    for name, render in opened["renders"].items():
        assert Path(render["path"]).is_file()
        assert render["colours"] >= 3, (name, render)


#: Run by the system Python with QGIS 3.22. argv: the .qgz, the artefacts folder. Prints one
#: JSON object: read, crs, layers, tree, visible, renders.
QGIS_SCRIPT = r"""
import json, os, sys
qgz, artefacts = sys.argv[1:3]
from qgis.core import (QgsApplication, QgsProject, QgsMapSettings, QgsMapRendererParallelJob,
                       QgsLayerTreeGroup, QgsLayerTreeLayer, QgsDataSourceUri)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
out = {"read": project.read(qgz), "crs": project.crs().authid(), "layers": [], "renders": {}}

def typename(layer):
    return QgsDataSourceUri(layer.source()).param("typename")

for layer in project.mapLayers().values():
    renderer = layer.renderer() if layer.isValid() else None
    legend = [item.label() for item in renderer.legendSymbolItems()] if renderer else []
    out["layers"].append({
        "typename": typename(layer), "valid": layer.isValid(), "provider": layer.providerType(),
        "crs": layer.crs().authid(), "renderer": renderer.type() if renderer else None,
        "legend": legend, "labels": bool(layer.labelsEnabled()),
        "features": layer.featureCount() if typename(layer) != "observations" else None,
    })

def node(n):
    if isinstance(n, QgsLayerTreeLayer):
        return {"name": n.name(), "checked": n.itemVisibilityChecked(),
                "typename": typename(n.layer())}
    return {"name": n.name(), "checked": n.itemVisibilityChecked(),
            "mutually_exclusive": n.isMutuallyExclusive(),
            "children": [node(c) for c in n.children()]}

root = project.layerTreeRoot()
out["tree"] = [node(c) for c in root.children()]
visible = [l for l in root.layerOrder() if root.findLayer(l.id()).isVisible()]
out["visible"] = [typename(l) for l in visible]

view = project.viewSettings().defaultViewExtent()
out["view"] = [view.xMinimum(), view.yMinimum(), view.xMaximum(), view.yMaximum()]

def render(name, layers):
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())
    settings.setExtent(view)
    settings.setOutputSize(QSize(900, 900))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    path = os.path.join(artefacts, f"qgis-project-{name}.png")
    image.save(path)
    colours = set()
    for x in range(0, image.width(), 9):
        for y in range(0, image.height(), 9):
            colours.add(image.pixel(x, y))
    out["renders"][name] = {"path": path, "colours": len(colours)}

areas = [l for l in project.mapLayers().values() if typename(l) == "areas"]
render("project", visible)
first = out["tree"][0]["children"][0]["children"]
by_type = {typename(l): l for l in project.mapLayers().values()}
for child in first:
    render(child["typename"].split("-")[0], [by_type[child["typename"]], *areas])
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down; the answer is out
"""
