"""``/qgis/lagesbild.qgz`` (and ``.qgs``): a QGIS project to start from, made by the service.

One file a municipal GIS person opens to see the week's picture: every public per-indicator
layer of an indicator that has published data (``situation-<id>``, ``hotspots-<id>``,
``trends-<id>``) already connected to *this* service (QGIS's own OGC API Features provider,
``OAPIF``, at the configured public URL ``server.url``) and styled with the same QML files the
service links from its collections (:mod:`lagesbild_geo.styles`), over the area outlines.

The layout (decision): one group per indicator (those with every layer first, then the
strategic ones, else in the catalogue's order), under a mutually exclusive group
"Indikatorer", and each indicator's group mutually exclusive too: the situation, hot spots
and trend of one indicator are filled polygons of the same areas, so two of them on at once
show only the upper one. One click shows another layer; the first indicator's situation is
on as the project opens. The analysts' layer (``observations``, every indicator and week) is
in a group that is off, and the area outlines with their names lie at the bottom (QGIS
draws labels above every layer, so the names stay readable over the fills). The project's
CRS is SWEREF 99 TM and the view is the municipality's areas.

The project is written as XML here, without QGIS (the server has none): the elements QGIS
3.22 reads from a project (``layer-tree-group``, ``projectlayers/maplayer`` with its
datasource, provider and style, ``mapcanvas``), and a layer's style is the QML document's
content, which is what QGIS itself writes into a project. tests/server/test_qgis_project.py
opens the downloaded file with QGIS 3.22 (python3-qgis), checks every layer is valid and
styled, and renders it.

It is public: it names public layers only (a caller's key is not written into it).
"""

from __future__ import annotations

import functools
import io
import os
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.errors import DatabaseUnavailableError, NotFoundError
from lagesbild_geo.server import resources
from lagesbild_geo.server.project_paths import NAME, PREFIX, QGS_TYPE, QGZ_TYPE

#: QGIS reads projects written by older versions: the oldest this one is tested with.
QGIS_VERSION = "3.22.0-Białowieża"
#: The kinds of a per-indicator layer, as they stand in an indicator's group (top first),
#: with the layer's Swedish name. The first is on when the project opens.
KINDS = (
    ("situation", "Läget: senaste 4 veckorna mot de 12 före"),
    ("hotspots", "Heta punkter (Gi*)"),
    ("trends", "Trend (Mann-Kendall)"),
)
#: EPSG:3006's WKT (the project's CRS); QGIS also reads the authid.
SWEREF99TM = "EPSG:3006"
CRS84 = "EPSG:4326"
#: The zip entry's fixed time: the same project gives the same bytes (a stable ETag).
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Layer:
    """One layer of the project."""

    collection: str
    name: str
    kind: str  # the style's base name (``sld/<kind>.qml``)
    checked: bool


@dataclass(frozen=True)
class Group:
    name: str
    layers: tuple[Layer, ...]
    checked: bool
    mutually_exclusive: bool = False


@dataclass(frozen=True)
class Project:
    """What the project holds: the service's URL, the groups (top first), the bottom layer,
    the view (xmin, ymin, xmax, ymax in EPSG:3006)."""

    url: str
    title: str
    indicators: tuple[Group, ...]
    analysis: Group
    areas: Layer
    extent: tuple[float, float, float, float]


def plan(
    url: str, available: dict[str, set[str]], extent: tuple[float, float, float, float]
) -> Project:
    """The project for the service at ``url``. ``available``: layer kind -> the indicators
    whose layer of that kind has features (a layer with none has no geometry type in QGIS
    3.22, so no style: it is left out until the indicator has data, or its first analysis).
    Indicators with every kind come first, then the strategic ones, else the catalogue's order.

    >>> p = plan("http://x", {"situation": {"skadegorelse", "ran"}, "trends": {"ran"}},
    ...          (0, 0, 1, 1))
    >>> [g.name for g in p.indicators]
    ['Rån', 'Skadegörelse']
    >>> [(l.collection, l.checked) for l in p.indicators[0].layers]
    [('situation-ran', True), ('trends-ran', False)]
    >>> [l.collection for l in p.indicators[1].layers], p.indicators[1].checked
    (['situation-skadegorelse'], False)
    """
    catalogue = load_catalogue()
    ordered = sorted(
        (i for i in catalogue.indicators.values()
         if any(i.id in ids for ids in available.values())),
        key=lambda i: (-sum(i.id in ids for ids in available.values()),
                       not getattr(i, "strategic", False)),
    )  # fmt: skip
    groups: list[Group] = []
    for ind in ordered:
        kinds = [(kind, label) for kind, label in KINDS if ind.id in available.get(kind, ())]
        layers = tuple(
            Layer(f"{kind}-{ind.id}", label, kind, checked=(k == 0))
            for k, (kind, label) in enumerate(kinds)
        )
        groups.append(Group(ind.name_sv, layers, checked=not groups, mutually_exclusive=True))
    analysis = Group(
        name="Analys: alla indikatorer i ett lager",
        layers=(
            Layer("observations", "Observationer per vecka (alla indikatorer)", "observations",
                  checked=False),
        ),
        checked=False,
    )  # fmt: skip
    areas = Layer("areas", "Områden (NYKO 3)", "areas", checked=True)
    return Project(url.rstrip("/"), "Lägesbild", tuple(groups), analysis, areas, extent)


def project_xml(project: Project, qml: Callable[[str], str]) -> bytes:
    """The ``.qgs`` document of ``project``; ``qml(kind)`` is the QML of a layer kind."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": project.title})
    ET.SubElement(root, "homePath", {"path": ""})
    ET.SubElement(root, "title").text = project.title
    _crs(ET.SubElement(root, "projectCrs"), SWEREF99TM)

    ids: dict[str, str] = {}
    layers: list[Layer] = []

    def layer_id(layer: Layer) -> str:
        """Stable per service and layer (the same project twice: the same bytes)."""
        stable = uuid.uuid5(uuid.NAMESPACE_URL, project.url + "/" + layer.collection)
        return ids.setdefault(
            layer.collection, f"{layer.collection.replace('-', '_')}_{stable.hex}"
        )

    def tree_layer(parent: ET.Element, layer: Layer) -> None:
        layers.append(layer)
        ET.SubElement(parent, "layer-tree-layer", {
            "id": layer_id(layer), "name": layer.name, "providerKey": "OAPIF",
            "source": _source(project.url, layer.collection),
            "checked": _checked(layer.checked), "expanded": "0",
        })  # fmt: skip

    def tree_group(parent: ET.Element, group: Group, expanded: bool) -> ET.Element:
        element = ET.SubElement(parent, "layer-tree-group", {
            "name": group.name, "checked": _checked(group.checked),
            "expanded": "1" if expanded else "0",
            "mutually-exclusive": "1" if group.mutually_exclusive else "0",
            "mutually-exclusive-child": "0" if group.mutually_exclusive else "-1",
        })  # fmt: skip
        for layer in group.layers:
            tree_layer(element, layer)
        return element

    tree = ET.SubElement(root, "layer-tree-group")
    indicators = ET.SubElement(tree, "layer-tree-group", {
        "name": "Indikatorer (en i taget)", "checked": _checked(bool(project.indicators)),
        "expanded": "1", "mutually-exclusive": "1",
        "mutually-exclusive-child": "0" if project.indicators else "-1",
    })  # fmt: skip
    for n, group in enumerate(project.indicators):
        tree_group(indicators, group, expanded=(n == 0))
    tree_group(tree, project.analysis, expanded=False)
    tree_layer(tree, project.areas)

    canvas = ET.SubElement(root, "mapcanvas", {"name": "theMapCanvas", "annotationsVisible": "1"})
    ET.SubElement(canvas, "units").text = "meters"
    extent = ET.SubElement(canvas, "extent")
    for name, value in zip(("xmin", "ymin", "xmax", "ymax"), project.extent, strict=True):
        ET.SubElement(extent, name).text = repr(float(value))
    ET.SubElement(canvas, "rotation").text = "0"
    _crs(ET.SubElement(canvas, "destinationsrs"), SWEREF99TM)

    # the view QGIS opens on (QgsProjectViewSettings; the canvas element is what the desktop
    # application also restores)
    view = ET.SubElement(root, "ProjectViewSettings", {"UseProjectScales": "0"})
    default = ET.SubElement(view, "DefaultViewExtent", dict(zip(
        ("xmin", "ymin", "xmax", "ymax"), (repr(float(v)) for v in project.extent),
        strict=True)))  # fmt: skip
    _crs(default, SWEREF99TM)

    maplayers = ET.SubElement(root, "projectlayers")
    for layer in layers:
        maplayers.append(_maplayer(project.url, layer, layer_id(layer), qml(layer.kind)))

    properties = ET.SubElement(root, "properties")
    paths = ET.SubElement(properties, "Paths")
    ET.SubElement(paths, "Absolute", {"type": "bool"}).text = "true"
    # QGIS 3.22 reads ``projectCrs`` only when this says the project has one
    srs = ET.SubElement(properties, "SpatialRefSys")
    ET.SubElement(srs, "ProjectionsEnabled", {"type": "int"}).text = "1"
    ET.indent(root)
    return (
        b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        + ET.tostring(root, encoding="utf-8", xml_declaration=False)
        + b"\n"
    )


def qgz(qgs: bytes) -> bytes:
    """The ``.qgz`` of a ``.qgs``: a zip holding ``lagesbild.qgs`` (what QGIS writes too)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo(f"{NAME}.qgs", date_time=ZIP_TIME)
        entry.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(entry, qgs)
    return out.getvalue()


def _source(url: str, collection: str) -> str:
    """QGIS's OAPIF data source: the landing page and the collection; pages of 1000 (QGIS
    3.22 asks for 10 a page unless told, so a layer of 1,287 areas would take 129 requests)."""
    return f"pagingEnabled='true' pageSize='1000' typename='{collection}' url='{url}'"


def _checked(on: bool) -> str:
    return "Qt::Checked" if on else "Qt::Unchecked"


def _crs(parent: ET.Element, authid: str) -> None:
    srs = ET.SubElement(parent, "spatialrefsys")
    ET.SubElement(srs, "wkt").text = _wkt(authid)
    ET.SubElement(srs, "authid").text = authid


@functools.cache
def _wkt(authid: str) -> str:
    import pyproj

    return pyproj.CRS.from_user_input(authid).to_wkt("WKT2_2019")


def _maplayer(url: str, layer: Layer, layer_id: str, qml: str) -> ET.Element:
    """The layer's element: data source, CRS and the QML style's content, as QGIS writes a
    styled layer into a project (the QML's root attributes such as ``labelsEnabled`` too)."""
    style = ET.fromstring(qml)
    attributes = {k: v for k, v in style.attrib.items() if k not in ("version", "styleCategories")}
    element = ET.Element("maplayer", {
        **attributes, "type": "vector", "geometry": "Polygon", "wkbType": "MultiPolygon",
    })  # fmt: skip
    ET.SubElement(element, "id").text = layer_id
    ET.SubElement(element, "datasource").text = _source(url, layer.collection)
    ET.SubElement(element, "layername").text = layer.name
    _crs(ET.SubElement(element, "srs"), CRS84)
    ET.SubElement(element, "provider", {"encoding": "UTF-8"}).text = "OAPIF"
    for child in style:
        if child.tag not in ("id", "datasource", "layername", "srs", "provider"):
            element.append(child)
    return element


# -- the resource ------------------------------------------------------------------------------


def handle(environ, identity: Identity) -> resources.Response:
    """``GET /qgis/lagesbild.qgz`` or ``.qgs`` (routed here by the middleware)."""
    return resources.page(environ, lambda env: _answer(env, identity), [])


def _answer(environ, identity: Identity) -> resources.Response:
    path = environ.get("PATH_INFO") or ""
    name = path.removeprefix(PREFIX).strip("/")
    types = {f"{NAME}.qgz": QGZ_TYPE, f"{NAME}.qgs": QGS_TYPE}
    if name not in types:
        raise NotFoundError(
            f"{path}: the QGIS project is at {PREFIX}/{NAME}.qgz (or .qgs) "
            f"(QGIS-projektet finns på {PREFIX}/{NAME}.qgz)."
        )
    resources.only_get(environ)
    qgs = project_xml(plan(_server_url(), *_published()), _qml)
    return resources.conditional(
        environ, qgz(qgs) if name.endswith(".qgz") else qgs, types[name],
        headers=[("Content-Disposition", f'attachment; filename="{name}"')],
    )  # fmt: skip


@functools.cache
def _server_url() -> str:
    """The public URL pygeoapi writes into its links (``server.url``, its variables resolved)."""
    from pygeoapi.util import yaml_load

    with open(os.environ["PYGEOAPI_CONFIG"], encoding="utf-8") as file:
        return str(yaml_load(file)["server"]["url"]).rstrip("/")


def _published() -> tuple[dict[str, set[str]], tuple[float, float, float, float]]:
    """Which indicators each layer kind has features for, and the areas' extent in EPSG:3006,
    read as the public path's login (the project shows what every public client gets)."""
    from lagesbild_geo.server.config import read_handoff

    try:
        with psycopg.connect(read_handoff().conninfo, connect_timeout=3) as conn:
            rows = conn.execute(
                "SELECT 'situation', id FROM publish.indicators WHERE last_week IS NOT NULL"
                " UNION ALL SELECT DISTINCT 'hotspots', indicator FROM publish.hotspots"
                " UNION ALL SELECT DISTINCT 'trends', indicator FROM publish.trends"
            ).fetchall()
            box = conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
                " SELECT ST_Extent(ST_Transform(geom, 3006)) AS e FROM publish.areas) x"
            ).fetchone()
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError("The database cannot be reached; try again.") from exc
    available: dict[str, set[str]] = {}
    for kind, indicator in rows:
        available.setdefault(kind, set()).add(indicator)
    extent = tuple(float(v) for v in box) if box and box[0] is not None else (
        266000.0, 6130000.0, 925000.0, 7680000.0)  # fmt: skip  # Sweden, before any import
    return available, extent  # type: ignore[return-value]


@functools.cache
def _qml(kind: str) -> str:
    """The QML of a layer kind: the file ``/styles/<kind>.qml`` serves (``sld/<kind>.qml``)."""
    from lagesbild_geo.styles import files

    return files.generate()[f"{kind}.qml"].decode()
