"""The style files as an actor downloads them: committed = generated, SLD 1.0, QGIS's subset.

No server and no QGIS here (tests/styles/test_qgis.py loads them into QGIS 3.22 on the live
layers): the files in ``sld/`` are compared with what :mod:`lagesbild_geo.styles` generates,
every SLD is checked against the SLD 1.0.0 schema's content models (the XSD itself when a
copy is on this machine; none was found on the development machine, so the content models of
the elements used are written out below from StyledLayerDescriptor.xsd 1.0.0 and filter.xsd
1.0.0), and each style's filters are evaluated here, with SQL's null semantics, on every
value class: exactly one rule matches each feature, nulls included, without an ElseFilter.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.cli.main import main
from lagesbild_geo.styles import classes, files

REPO = Path(__file__).resolve().parents[2]
SLD_DIR = REPO / "sld"
SLD = "{http://www.opengis.net/sld}"
OGC = "{http://www.opengis.net/ogc}"

#: Where a copy of the SLD 1.0 schema may be (Debian packages, Python packages).
XSD_GLOBS = (
    "/usr/share/**/sld/1.0.0/StyledLayerDescriptor.xsd",
    "/usr/lib/python3*/**/sld/1.0.0/StyledLayerDescriptor.xsd",
    "/usr/local/lib/**/sld/1.0.0/StyledLayerDescriptor.xsd",
)


def _sld_files() -> list[str]:
    return sorted(n for n in files.generate() if n.endswith(".sld"))


# -- committed = generated ---------------------------------------------------------------------


def test_committed_files_are_what_the_code_generates():
    """Run ``lagesbild styles write`` in the repository when this fails."""
    generated = files.generate()
    committed = {
        p.relative_to(SLD_DIR).as_posix(): p.read_bytes() for p in SLD_DIR.rglob("*") if p.is_file()
    }
    assert sorted(committed) == sorted(generated), "run: lagesbild styles write"
    stale = [name for name, content in generated.items() if committed[name] != content]
    assert not stale, f"differ from the code (run: lagesbild styles write): {stale}"


def test_a_file_per_layer_kind_and_per_indicator_of_the_wide_layer():
    names = set(files.generate())
    for base in ("hotspots", "trends", "situation", "observations", "areas"):
        assert {f"{base}.sld", f"{base}.qml"} <= names
    indicators = load_catalogue().indicators
    wide = {n for n in names if n.startswith("situation-wide/")}
    assert wide == {f"situation-wide/{i}.{ext}" for i in indicators for ext in ("sld", "qml")}
    assert len(names) == 2 * (5 + len(indicators))


def test_the_command_writes_the_files_and_removes_stale_ones(tmp_path):
    stale = tmp_path / "situation-wide" / "utgangen_indikator.sld"
    stale.parent.mkdir()
    stale.write_text("<old/>")
    (tmp_path / "README.txt").write_text("kept")
    done = CliRunner().invoke(main, ["styles", "write", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert f"Wrote {len(files.generate())} style files" in done.output
    assert "utgangen_indikator.sld" in done.output and not stale.exists()
    assert (tmp_path / "README.txt").read_text() == "kept"
    for name, content in files.generate().items():
        assert (tmp_path / name).read_bytes() == content, name


# -- SLD 1.0 -------------------------------------------------------------------------------------

#: Element -> regular expression over its children's names (SLD 1.0.0 and Filter 1.0.0
#: content models; ``sld:``/``ogc:`` prefixes, one space after each name).
CONTENT = {
    "sld:StyledLayerDescriptor": r"(sld:Name )?(sld:Title )?(sld:Abstract )?"
    r"((sld:NamedLayer |sld:UserLayer ))+",
    "sld:NamedLayer": r"sld:Name (sld:LayerFeatureConstraints )?"
    r"((sld:NamedStyle |sld:UserStyle ))*",
    "sld:UserStyle": r"(sld:Name )?(sld:Title )?(sld:Abstract )?(sld:IsDefault )?"
    r"(sld:FeatureTypeStyle )+",
    "sld:FeatureTypeStyle": r"(sld:Name )?(sld:Title )?(sld:Abstract )?"
    r"(sld:FeatureTypeName )?(sld:SemanticTypeIdentifier )*(sld:Rule )+",
    "sld:Rule": r"(sld:Name )?(sld:Title )?(sld:Abstract )?(sld:LegendGraphic )?"
    r"(ogc:Filter |sld:ElseFilter )?(sld:MinScaleDenominator )?(sld:MaxScaleDenominator )?"
    r"((sld:LineSymbolizer |sld:PolygonSymbolizer |sld:PointSymbolizer "
    r"|sld:TextSymbolizer |sld:RasterSymbolizer ))+",
    "sld:PolygonSymbolizer": r"(sld:Geometry )?(sld:Fill )?(sld:Stroke )?",
    "sld:Fill": r"(sld:GraphicFill )?(sld:CssParameter )*",
    "sld:Stroke": r"((sld:GraphicFill |sld:GraphicStroke ))?(sld:CssParameter )*",
    "sld:TextSymbolizer": r"(sld:Geometry )?(sld:Label )?(sld:Font )?(sld:LabelPlacement )?"
    r"(sld:Halo )?(sld:Fill )?",
    "sld:Font": r"(sld:CssParameter )*",
    "sld:LabelPlacement": r"(sld:PointPlacement |sld:LinePlacement )",
    "sld:PointPlacement": r"(sld:AnchorPoint )?(sld:Displacement )?(sld:Rotation )?",
    "sld:AnchorPoint": r"sld:AnchorPointX sld:AnchorPointY ",
    "sld:Halo": r"(sld:Radius )?(sld:Fill )?",
    "ogc:Filter": r"(ogc:PropertyIs\w+ |ogc:And |ogc:Or |ogc:Not )",
    "ogc:And": r"((ogc:PropertyIs\w+ |ogc:And |ogc:Or |ogc:Not )){2,}",
    "ogc:Or": r"((ogc:PropertyIs\w+ |ogc:And |ogc:Or |ogc:Not )){2,}",
    "ogc:PropertyIsNull": r"(ogc:PropertyName |ogc:Literal )",
}
BINARY = ("EqualTo", "NotEqualTo", "LessThan", "GreaterThan", "LessThanOrEqualTo",
          "GreaterThanOrEqualTo")  # fmt: skip
for _op in BINARY:
    CONTENT[f"ogc:PropertyIs{_op}"] = r"ogc:PropertyName ogc:Literal "
#: Elements with text only.
TEXT = {"sld:Name", "sld:Title", "sld:Abstract", "sld:CssParameter", "sld:AnchorPointX",
        "sld:AnchorPointY", "sld:Radius", "ogc:PropertyName", "ogc:Literal"}  # fmt: skip
#: CssParameter names SLD 1.0 defines, by parent.
CSS = {
    "sld:Fill": {"fill", "fill-opacity"},
    "sld:Stroke": {"stroke", "stroke-opacity", "stroke-width", "stroke-linejoin",
                   "stroke-linecap", "stroke-dasharray", "stroke-dashoffset"},
    "sld:Font": {"font-family", "font-style", "font-weight", "font-size"},
}  # fmt: skip


def _name(element) -> str:
    return element.tag.replace(SLD, "sld:").replace(OGC, "ogc:")


def _structure_errors(root) -> list[str]:
    errors = []
    for element in root.iter():
        name = _name(element)
        children = "".join(_name(child) + " " for child in element)
        if name in TEXT:
            if children or not (element.text or "").strip():
                errors.append(f"{name}: text expected, got {children!r} {element.text!r}")
        elif name == "sld:Label":
            if children != "ogc:PropertyName " or (element.text or "").strip():
                errors.append(f"Label: one ogc:PropertyName expected, got {children!r}")
        elif name in CONTENT:
            if not re.fullmatch(CONTENT[name], children):
                errors.append(f"{name}: children {children!r} do not match SLD 1.0")
        else:
            errors.append(f"{name}: not an element these styles should use")
        if name == "sld:CssParameter":
            parent = _name(element.getparent())
            if element.get("name") not in CSS[parent]:
                errors.append(f"CssParameter {element.get('name')!r} is not SLD 1.0's in {parent}")
    return errors


def _xsd() -> etree.XMLSchema | None:
    for pattern in XSD_GLOBS:
        for path in glob.glob(pattern, recursive=True):
            return etree.XMLSchema(etree.parse(path))
    return None


@pytest.fixture(scope="module")
def schema():
    return _xsd()


@pytest.mark.parametrize("name", _sld_files())
def test_sld_is_sld_1_0_in_the_subset_qgis_3_22_imports(name, schema):
    root = etree.fromstring(files.generate()[name])  # well-formed, UTF-8 declared
    if schema is not None:
        schema.assertValid(root)
    assert root.tag == f"{SLD}StyledLayerDescriptor" and root.get("version") == "1.0.0"
    assert _structure_errors(root) == []
    assert len(root.findall(f"{SLD}NamedLayer")) == 1
    assert len(root.findall(f".//{SLD}UserStyle")) == 1
    assert len(root.findall(f".//{SLD}FeatureTypeStyle")) == 1
    assert root.find(f".//{SLD}ElseFilter") is None
    assert not [e for e in root.iter() if e.get("uom")]  # SLD 1.0: pixels, no SE uom
    rules = root.findall(f".//{SLD}Rule")
    assert rules and all(r.findtext(f"{SLD}Title", "").strip() for r in rules)
    assert all(r.findtext(f"{SLD}Abstract", "").strip() for r in rules)
    for width in root.iterfind(f".//{SLD}CssParameter[@name='stroke-width']"):
        assert 0 < float(width.text) <= 3  # pixels
    labels = root.findall(f".//{SLD}TextSymbolizer")
    assert len(labels) == (1 if name == "areas.sld" else 0)


def test_the_legends_are_swedish_with_english_beside():
    def titles(name):
        root = etree.fromstring(files.generate()[name])
        return [(r.findtext(f"{SLD}Title"), r.findtext(f"{SLD}Abstract"))
                for r in root.iter(f"{SLD}Rule")]  # fmt: skip

    hot = titles("hotspots.sld")
    assert [t for t, _ in hot] == [
        "Hot spot 99 %", "Hot spot 95 %", "Hot spot 90 %", "Ej signifikant",
        "Cold spot 90 %", "Cold spot 95 %", "Cold spot 99 %", "Ej beräknat",
    ]  # fmt: skip
    assert hot[0][1].startswith("Hot spot, 99 % confidence") and "Not significant" in hot[3][1]
    assert [t for t, _ in titles("trends.sld")] == ["Ökande", "Minskande",
                                                   "Ingen signifikant trend"]  # fmt: skip
    situation = [t for t, _ in titles("situation.sld")]
    assert situation[:7] == [s.sv for s in classes.CHANGE_STEPS]
    assert situation[7:] == ["Skyddat värde", "Inga uppgifter",
                             "Ingen jämförelse (0 de 12 veckorna före)"]  # fmt: skip
    wide = etree.fromstring(files.generate()["situation-wide/skadegorelse.sld"])
    assert wide.findtext(f".//{SLD}UserStyle/{SLD}Title").startswith("Skadegörelse: förändring")
    assert {p.text for p in wide.iter(f"{OGC}PropertyName")} == {"skadegorelse_change_pct"}


def test_the_html_maps_read_the_same_classes():
    """One definition: the items pages' legend (map_styles) has the SLD's classes."""
    from lagesbild_geo.server.map_styles import STYLES

    def by_title(name):
        root = etree.fromstring(files.generate()[name])
        return {r.findtext(f"{SLD}Title"): r.findtext(f".//{SLD}Fill/{SLD}CssParameter")
                for r in root.iter(f"{SLD}Rule")}  # fmt: skip

    for layer, sld in (("hotspots", "hotspots.sld"), ("trends", "trends.sld"),
                       ("situation", "situation-wide/ran.sld")):  # fmt: skip
        html = {c["sv"]: c["color"] for c in STYLES[layer]["classes"]}
        assert html.items() <= by_title(sld).items(), layer
    steps = STYLES["situation"]["classes"]
    assert [s["below"] for s in steps] == [*classes.CHANGE_BOUNDS, None]


# -- every feature gets exactly one rule ---------------------------------------------------------


def _matches(node, record) -> bool | None:
    """An OGC filter on a record with SQL's three-valued logic (None: unknown)."""
    name = _name(node)
    if name == "ogc:Filter":
        return _matches(node[0], record)
    if name in ("ogc:And", "ogc:Or"):
        values = [_matches(child, record) for child in node]
        if name == "ogc:And":
            return False if False in values else (None if None in values else True)
        return True if True in values else (None if None in values else False)
    value = record.get(node.findtext(f"{OGC}PropertyName"))
    if name == "ogc:PropertyIsNull":
        return value is None
    if value is None:
        return None
    literal = node.findtext(f"{OGC}Literal")
    other = type(value)(literal) if not isinstance(value, str) else literal
    return {
        "ogc:PropertyIsEqualTo": value == other,
        "ogc:PropertyIsLessThan": value < other,
        "ogc:PropertyIsGreaterThan": value > other,
        "ogc:PropertyIsGreaterThanOrEqualTo": value >= other,
    }[name]


def _records(name: str) -> list[dict]:
    change = [None, -1000.0, -50.5, -50.0, -20.0, -5.0, -4.9, 0.0, 4.99, 5.0, 20.0, 49.9,
              50.0, 999.0]  # fmt: skip
    if name == "hotspots.sld":
        return [{"bin": b} for b in (None, -3, -2, -1, 0, 1, 2, 3)]
    if name == "trends.sld":
        return [{"trend": t} for t in ("increasing", "decreasing", "no trend")]
    if name == "situation.sld":
        statuses = (None, "ok", "protected", "no_data")
        return [{"change_pct": v, "value_status": s} for v in change for s in statuses
                if v is None or s in ("ok", None)]  # fmt: skip
    if name == "observations.sld":
        return [{"value": v} for v in (None, 0.0, 0.4, 1.0, 2.0, 2.99, 3.0, 5.0, 6.0, 10.0,
                                       11.0, 25.0, 26.0, 1e6)]  # fmt: skip
    if name == "areas.sld":
        return [{"name": "Centrum"}, {"name": None}]
    prop = name.removeprefix("situation-wide/").removesuffix(".sld") + "_change_pct"
    return [{prop: v} for v in change]


@pytest.mark.parametrize("name", _sld_files())
def test_exactly_one_rule_draws_each_feature(name):
    root = etree.fromstring(files.generate()[name])
    rules = list(root.iter(f"{SLD}Rule"))
    for record in _records(name):
        hits = [
            r.findtext(f"{SLD}Title")
            for r in rules
            if (f := r.find(f"{OGC}Filter")) is None or _matches(f, record) is True
        ]
        assert len(hits) == 1, (record, hits)  # fmt: skip


# -- links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "bases"),
    [
        ("hotspots", ["hotspots"]),
        ("hotspots-skadegorelse", ["hotspots"]),
        ("trends", ["trends"]),
        ("trends-ran", ["trends"]),
        ("situation-skadegorelse", ["situation"]),
        ("observations", ["observations"]),
        ("areas", ["areas"]),
        ("indicators", []),
        ("my-observations", []),
        ("exact-observations", []),
    ],
)
def test_a_collection_links_the_styles_of_its_kind(collection, bases):
    links = files.style_links("https://lagesbild.example.se/api/", collection)
    assert [link["href"] for link in links] == [
        f"https://lagesbild.example.se/api/styles/{b}.{ext}" for b in bases
        for ext in ("sld", "qml")
    ]  # fmt: skip
    for link in links:
        assert link["rel"] == "stylesheet" and link["title"].startswith("Stil för")
        assert link["type"] == files.media_type(link["href"])
        assert link["href"].removeprefix("https://lagesbild.example.se/api/styles/") in (
            files.generate())  # fmt: skip


def test_the_wide_situation_links_one_style_per_indicator():
    links = files.style_links("http://x", "situation")
    catalogue = load_catalogue().indicators
    assert len(links) == 2 * len(catalogue)
    first = next(iter(catalogue.values()))
    assert links[0]["href"] == f"http://x/styles/situation-wide/{first.id}.sld"
    assert first.name_sv in links[0]["title"]
    assert {link["type"] for link in links} == set(files.MEDIA_TYPES.values())
