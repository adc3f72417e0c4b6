"""A :class:`~.rules.Style` as an SLD 1.0.0 document, in the subset QGIS 3.22 imports.

What QGIS 3.22's reader does (``QgsVectorLayer::readSld``, ``QgsFeatureRenderer::loadSld``,
``QgsRuleBasedRenderer::createFromSld``, ``QgsSymbolLayerUtils``, ``QgsOgcUtils``) and so what
is written here:

* it reads the first ``NamedLayer``'s first ``UserStyle`` and merges the ``Rule`` elements of
  all its ``FeatureTypeStyle`` elements: one ``FeatureTypeStyle`` here, so that no other
  reader (GeoServer draws each ``FeatureTypeStyle`` as its own pass) sees something else;
* several rules or a filter make a rule-based renderer, one unfiltered rule a single-symbol
  renderer; a rule's ``Title`` becomes its legend label (its ``Name`` only when there is no
  title), ``Abstract`` its description: every rule has both;
* no ``ElseFilter`` (dropped on import; :mod:`.rules` covers nulls with an explicit rule);
* sizes without ``uom``: SLD 1.0's unit is the pixel, which QGIS converts to millimetres at
  0.28 mm a pixel (``QgsSymbolLayerUtils::decodeSldUom``); SE 1.1's ``uom`` attribute is
  not SLD 1.0 and would fail the schema;
* labels from ``TextSymbolizer`` with one ``ogc:PropertyName`` in ``Label`` (QGIS 3.22 takes
  a label from a single property; a mix of text and properties is dropped);
* filters of ``PropertyIsEqualTo`` / ``LessThan`` / ``GreaterThan(OrEqualTo)`` /
  ``PropertyIsNull`` and ``And`` / ``Or``: each a QGIS expression after import.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lagesbild_geo.styles import rules as r

SLD = "http://www.opengis.net/sld"
OGC = "http://www.opengis.net/ogc"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{SLD} http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd"
#: The label's font (DejaVu Sans: on every Debian desktop and in QGIS's own fallback list).
LABEL_FONT = ("DejaVu Sans", 11)


def _sld(tag: str) -> str:
    return f"{{{SLD}}}{tag}"


def _ogc(tag: str) -> str:
    return f"{{{OGC}}}{tag}"


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _css(parent: ET.Element, name: str, value: str) -> None:
    _text(parent, _sld("CssParameter"), value).set("name", name)


def document(style: r.Style) -> bytes:
    """The SLD file's bytes (UTF-8, indented, ending in a newline)."""
    ET.register_namespace("", SLD)
    ET.register_namespace("ogc", OGC)
    ET.register_namespace("xsi", XSI)
    root = ET.Element(_sld("StyledLayerDescriptor"), {"version": "1.0.0"})
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    layer = ET.SubElement(root, _sld("NamedLayer"))
    _text(layer, _sld("Name"), style.layer)
    user = ET.SubElement(layer, _sld("UserStyle"))
    _text(user, _sld("Name"), style.name)
    _text(user, _sld("Title"), style.title_sv)
    _text(user, _sld("Abstract"), f"{style.title_en}. {style.abstract}".strip())
    feature_type = ET.SubElement(user, _sld("FeatureTypeStyle"))
    for rule in style.rules:
        _rule(feature_type, rule, style)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _rule(parent: ET.Element, rule: r.Rule, style: r.Style) -> None:
    element = ET.SubElement(parent, _sld("Rule"))
    _text(element, _sld("Name"), rule.name)
    _text(element, _sld("Title"), rule.sv)
    _text(element, _sld("Abstract"), rule.en)
    if rule.filter is not None:
        _filter(ET.SubElement(element, _ogc("Filter")), rule.filter)
    polygon = ET.SubElement(element, _sld("PolygonSymbolizer"))
    if rule.color is not None:
        _css(ET.SubElement(polygon, _sld("Fill")), "fill", rule.color)
    stroke = ET.SubElement(polygon, _sld("Stroke"))
    _css(stroke, "stroke", style.outline)
    _css(stroke, "stroke-width", r.format_number(style.outline_px))
    _css(stroke, "stroke-linejoin", "round")
    if style.label:
        _label(element, style.label)


def _label(rule: ET.Element, prop: str) -> None:
    text = ET.SubElement(rule, _sld("TextSymbolizer"))
    label = ET.SubElement(text, _sld("Label"))
    _text(label, _ogc("PropertyName"), prop)
    font = ET.SubElement(text, _sld("Font"))
    _css(font, "font-family", LABEL_FONT[0])
    _css(font, "font-size", str(LABEL_FONT[1]))
    placement = ET.SubElement(ET.SubElement(text, _sld("LabelPlacement")), _sld("PointPlacement"))
    anchor = ET.SubElement(placement, _sld("AnchorPoint"))
    _text(anchor, _sld("AnchorPointX"), "0.5")
    _text(anchor, _sld("AnchorPointY"), "0.5")
    halo = ET.SubElement(text, _sld("Halo"))
    _text(halo, _sld("Radius"), "1.5")
    _css(ET.SubElement(halo, _sld("Fill")), "fill", "#ffffff")
    _css(ET.SubElement(text, _sld("Fill")), "fill", "#202020")


def _filter(parent: ET.Element, node: r.Filter) -> None:
    if isinstance(node, r.Compare):
        element = ET.SubElement(parent, _ogc(r.OPERATORS[node.op][0]))
        _text(element, _ogc("PropertyName"), node.prop)
        value = node.value if isinstance(node.value, str) else r.format_number(node.value)
        _text(element, _ogc("Literal"), value)
    elif isinstance(node, r.IsNull):
        element = ET.SubElement(parent, _ogc("PropertyIsNull"))
        _text(element, _ogc("PropertyName"), node.prop)
    else:
        element = ET.SubElement(parent, _ogc("And" if isinstance(node, r.AllOf) else "Or"))
        for part in node.parts:
            _filter(element, part)
