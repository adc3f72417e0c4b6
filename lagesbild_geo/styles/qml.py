"""A :class:`~.rules.Style` as a QGIS 3.22 style document (``.qml``), beside each SLD.

The SLD is what every GIS reads; the QML is what QGIS reads without a conversion: the same
rules as a rule-based renderer (``RuleRenderer``, each rule's ``label`` the Swedish legend
title, ``description`` the English one, ``filter`` the expression :func:`.rules.expression`
writes), outline widths and the label in pixels as the SLD has them, and the label's buffer
and placement inside the area, which SLD 1.0 cannot say. Each file is a complete style
document (``<!DOCTYPE qgis>``, ``styleCategories="Symbology|Labeling"``) that
``QgsVectorLayer.loadNamedStyle`` loads on its own, so a QGIS project can embed it as it is.

Written for QGIS 3.22 (``version="3.22.16-Białowieża"``, Debian bookworm's): symbol layer
properties as ``<Option type="Map">`` (3.22 reads them; it also writes the older ``<prop>``
pairs, which newer versions ignore). Rule keys are derived from the rule names, so the file
is the same every time it is generated.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lagesbild_geo.styles import rules as r
from lagesbild_geo.styles.sld import LABEL_FONT

QGIS_VERSION = "3.22.16-Białowieża"
#: QgsWkbTypes::PolygonGeometry: every styled layer is of area polygons.
POLYGON = "2"
#: Pixel outlines in the QML too: the width the SLD has, so both files draw alike.
UNIT = "Pixel"


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    """``#b2182b`` -> ``178,24,43,255`` (QGIS's colour property).

    >>> _rgba("#b2182b")
    '178,24,43,255'
    """
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"{red},{green},{blue},{alpha}"


def _options(parent: ET.Element, values: dict[str, str]) -> None:
    option_map = ET.SubElement(parent, "Option", {"type": "Map"})
    for name, value in sorted(values.items()):
        ET.SubElement(option_map, "Option", {"name": name, "type": "QString", "value": value})


def _symbol(parent: ET.Element, name: str, colour: str | None, style: r.Style) -> None:
    symbol = ET.SubElement(
        parent,
        "symbol",
        {"type": "fill", "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"},
    )
    layer = ET.SubElement(
        symbol, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"}
    )
    _options(
        layer,
        {
            "color": _rgba(colour) if colour else "0,0,0,0",
            "style": "solid" if colour else "no",
            "outline_color": _rgba(style.outline),
            "outline_style": "solid",
            "outline_width": r.format_number(style.outline_px),
            "outline_width_unit": UNIT,
            "joinstyle": "round",
            "offset": "0,0",
            "offset_unit": UNIT,
        },
    )


def _renderer(root: ET.Element, style: r.Style) -> None:
    attributes = {"forceraster": "0", "symbollevels": "0", "enableorderby": "0",
                  "referencescale": "-1"}  # fmt: skip
    if len(style.rules) == 1 and style.rules[0].filter is None:
        renderer = ET.SubElement(root, "renderer-v2", {"type": "singleSymbol", **attributes})
        _symbol(ET.SubElement(renderer, "symbols"), "0", style.rules[0].color, style)
        return
    renderer = ET.SubElement(root, "renderer-v2", {"type": "RuleRenderer", **attributes})
    rules = ET.SubElement(renderer, "rules", {"key": f"{{{style.layer}-root}}"})
    symbols = ET.SubElement(renderer, "symbols")
    for index, rule in enumerate(style.rules):
        element = ET.SubElement(rules, "rule", {"key": f"{{{style.layer}-{rule.name}}}",
                                                "symbol": str(index), "label": rule.sv,
                                                "description": rule.en})  # fmt: skip
        if rule.filter is not None:
            element.set("filter", r.expression(rule.filter))
        _symbol(symbols, str(index), rule.color, style)


def _labeling(root: ET.Element, prop: str) -> None:
    settings = ET.SubElement(
        ET.SubElement(root, "labeling", {"type": "simple"}), "settings", {"calloutType": "simple"}
    )
    text = ET.SubElement(settings, "text-style", {
        "fieldName": prop, "isExpression": "0", "fontFamily": LABEL_FONT[0],
        "fontSize": str(LABEL_FONT[1]), "fontSizeUnit": UNIT, "textColor": _rgba("#202020"),
        "textOpacity": "1", "fontWeight": "50", "fontItalic": "0", "namedStyle": "",
        "multilineHeight": "1", "capitalization": "0", "allowHtml": "0",
    })  # fmt: skip
    ET.SubElement(text, "text-buffer", {
        "bufferDraw": "1", "bufferSize": "1.5", "bufferSizeUnits": UNIT,
        "bufferColor": _rgba("#ffffff"), "bufferOpacity": "1", "bufferNoFill": "1",
        "bufferJoinStyle": "128",
    })  # fmt: skip
    ET.SubElement(settings, "text-format", {"wrapChar": "", "autoWrapLength": "0",
                                            "multilineAlign": "1"})  # fmt: skip
    # OverPoint (1) at a point inside the polygon: a name on its area, not on a neighbour's
    ET.SubElement(settings, "placement", {
        "placement": "1", "centroidInside": "1", "centroidWhole": "0", "fitInPolygonOnly": "0",
        "quadOffset": "4", "dist": "0", "distUnits": UNIT, "offsetType": "0",
        "xOffset": "0", "yOffset": "0", "offsetUnits": UNIT, "priority": "5",
        "layerType": "PolygonGeometry",
    })  # fmt: skip
    ET.SubElement(settings, "rendering", {
        "drawLabels": "1", "obstacle": "1", "obstacleType": "1", "displayAll": "0",
        "upsidedownLabels": "0", "labelPerPart": "0", "mergeLines": "0", "scaleVisibility": "0",
        "minFeatureSize": "0", "limitNumLabels": "0", "zIndex": "0",
    })  # fmt: skip


def document(style: r.Style) -> bytes:
    """The QML file's bytes (UTF-8, indented, ending in a newline)."""
    root = ET.Element("qgis", {
        "version": QGIS_VERSION, "styleCategories": "Symbology|Labeling",
        "labelsEnabled": "1" if style.label else "0",
    })  # fmt: skip
    _renderer(root, style)
    if style.label:
        _labeling(root, style.label)
    ET.SubElement(root, "layerGeometryType").text = POLYGON
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n").encode(
        "utf-8"
    )
