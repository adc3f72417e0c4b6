"""Every style as a list of rules with filters: what both the SLD and the QML are written from.

A rule is a filter (a small tree of comparisons, :class:`Compare`, :class:`IsNull`,
:class:`AllOf`, :class:`AnyOf`), a fill colour and a Swedish title with English beside it.
The rules of one style are mutually exclusive and together cover every feature, null values
included: QGIS 3.22 imports no ``ElseFilter`` (``QgsRuleBasedRenderer::createFromSld`` turns
each ``Rule`` into a rule of its rule-based renderer and drops the else), so a feature that no
rule matches would simply not be drawn. Each filter can be written as OGC Filter 1.0
(:mod:`.sld`) and as a QGIS expression (:func:`expression`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lagesbild_geo.catalogue import Indicator
from lagesbild_geo.styles import classes as c

Value = int | float | str


@dataclass(frozen=True)
class Compare:
    """``property <op> value``; ``op`` one of :data:`OPERATORS`."""

    prop: str
    op: str
    value: Value


@dataclass(frozen=True)
class IsNull:
    prop: str


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Filter, ...]


Filter = Compare | IsNull | AllOf | AnyOf

#: Comparison -> (OGC Filter 1.0 element, QGIS expression operator).
OPERATORS = {
    "=": ("PropertyIsEqualTo", "="),
    "<": ("PropertyIsLessThan", "<"),
    ">": ("PropertyIsGreaterThan", ">"),
    ">=": ("PropertyIsGreaterThanOrEqualTo", ">="),
}


@dataclass(frozen=True)
class Rule:
    """One legend entry: ``name`` (a machine name), ``sv`` (the legend title), ``en``."""

    name: str
    sv: str
    en: str
    color: str | None  # None: no fill (outlines only)
    filter: Filter | None = None


@dataclass(frozen=True)
class Style:
    """One style file: its base name (``hotspots``, ``situation-wide/ran``), titles, rules."""

    name: str
    layer: str  # the collection (kind) it is written for: the SLD's NamedLayer
    title_sv: str
    title_en: str
    rules: tuple[Rule, ...]
    outline: str = c.OUTLINE
    outline_px: float = 1.0
    label: str | None = None  # the one property the areas are labelled with
    abstract: str = ""
    properties: tuple[str, ...] = field(default=())  # every property a filter reads


def expression(node: Filter) -> str:
    """The filter as a QGIS expression.

    >>> expression(AllOf((Compare("change_pct", ">=", -5), Compare("change_pct", "<", 5))))
    '"change_pct" >= -5 AND "change_pct" < 5'
    >>> expression(AnyOf((IsNull("value_status"), Compare("value_status", "=", "ok"))))
    '("value_status" IS NULL OR "value_status" = \\'ok\\')'
    """
    if isinstance(node, Compare):
        return f"{_field(node.prop)} {OPERATORS[node.op][1]} {_literal(node.value)}"
    if isinstance(node, IsNull):
        return f"{_field(node.prop)} IS NULL"
    if isinstance(node, AllOf):
        return " AND ".join(expression(p) for p in node.parts)  # an OR comes in parentheses
    return "(" + " OR ".join(expression(p) for p in node.parts) + ")"


def _field(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return format_number(value)


def format_number(value: float) -> str:
    """``3`` not ``3.0``: integers as integers (QGIS converts an SLD literal by its text)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def properties_of(node: Filter | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, Compare | IsNull):
        return {node.prop}
    return set().union(*(properties_of(p) for p in node.parts))


def _step_filter(prop: str, step: c.Step) -> Filter:
    if step.lower is not None and step.lower == step.upper:
        return Compare(prop, "=", step.lower)
    parts: list[Filter] = []
    if step.lower is not None:
        parts.append(Compare(prop, ">" if step.lower_open else ">=", step.lower))
    if step.upper is not None:
        parts.append(Compare(prop, "<", step.upper))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")


def _style(name: str, layer: str, title: tuple[str, str], rules: list[Rule], **kw) -> Style:
    props = sorted(set().union(*(properties_of(r.filter) for r in rules)))
    return Style(name, layer, title[0], title[1], tuple(rules), properties=tuple(props), **kw)


def hotspots() -> Style:
    """The Gi* bins of ``hotspots`` and every ``hotspots-<indicator>`` layer, and the null
    ``bin`` of an area where Gi* was not computed."""
    prop = c.HOTSPOT_PROPERTY
    rules = [
        Rule(f"bin_{k.value}".replace("-", "minus_"), k.sv, k.en, k.color,
             Compare(prop, "=", k.value))
        for k in c.HOTSPOT_BINS
    ]  # fmt: skip
    rules.append(Rule("bin_null", *c.HOTSPOT_NULL, c.NULL_COLOUR, IsNull(prop)))
    return _style(
        "hotspots", "hotspots", c.HOTSPOT_TITLE, rules,
        abstract="Getis-Ord Gi* confidence bins (bin: 3/2/1 = hot spot at 99/95/90 %, "
        "-1/-2/-3 = cold spot), ColorBrewer RdBu; bin null: not computed.",
    )  # fmt: skip


def trends() -> Style:
    """The Mann-Kendall classes of ``trends`` and every ``trends-<indicator>`` layer
    (``trend`` is NOT NULL in publish.trends: a class for each of its three values)."""
    prop = c.TREND_PROPERTY
    rules = [
        Rule(_slug(str(k.value)), k.sv, k.en, k.color, Compare(prop, "=", k.value))
        for k in c.TRENDS
    ]
    return _style(
        "trends", "trends", c.TREND_TITLE, rules,
        abstract="Mann-Kendall trend per area (trend: increasing / decreasing / no trend, "
        "classified on the false-discovery-rate q), ColorBrewer RdBu.",
    )  # fmt: skip


def _change_rules(prop: str) -> list[Rule]:
    return [
        Rule(f"change_{i}", s.sv, s.en, s.color, _step_filter(prop, s))
        for i, s in enumerate(c.CHANGE_STEPS, start=1)
    ]


def situation() -> Style:
    """``situation-<indicator>``: ``change_pct`` in the HTML maps' steps; a missing change
    has one rule per reason (``value_status``: protected, no data; or no comparison base)."""
    prop, status = "change_pct", "value_status"
    missing = IsNull(prop)
    rules = _change_rules(prop) + [
        Rule("protected", *c.SITUATION_PROTECTED, c.PROTECTED_COLOUR,
             AllOf((missing, Compare(status, "=", "protected")))),
        Rule("no_data", *c.SITUATION_NO_DATA, c.NO_DATA_COLOUR,
             AllOf((missing, Compare(status, "=", "no_data")))),
        Rule("no_comparison", *c.SITUATION_NO_BASE, c.NULL_COLOUR,
             AllOf((missing, AnyOf((IsNull(status), Compare(status, "=", "ok")))))),
    ]  # fmt: skip
    return _style(
        "situation", "situation", c.CHANGE_TITLE, rules,
        abstract="Change in % of the last four weeks against the weekly mean of the twelve "
        "before (change_pct), ColorBrewer RdBu with red for an increase; a missing change "
        "by value_status (protected, no_data) or without a comparison base.",
    )  # fmt: skip


def situation_wide(indicator: Indicator) -> Style:
    """The wide ``situation`` layer (one column per indicator), on ``<id>_change_pct``."""
    prop = f"{indicator.id}_change_pct"
    rules = _change_rules(prop) + [
        Rule("missing", *c.SITUATION_WIDE_NULL, c.NULL_COLOUR, IsNull(prop)),
    ]
    title = (f"{indicator.name_sv}: {c.CHANGE_TITLE[0].lower()}",
             f"{indicator.name_en}: {c.CHANGE_TITLE[1].lower()}")  # fmt: skip
    return _style(
        f"situation-wide/{indicator.id}", "situation", title, rules,
        abstract=f"{indicator.name_en} ({indicator.id}): change in % of the last four weeks "
        f"against the twelve before ({prop}); null: protected, not delivered or no base "
        "(protected_fields, no_data_fields).",
    )  # fmt: skip


def observations() -> Style:
    """``observations``: ``value`` in fixed steps of a count (the same steps on a share or a
    rate), null (protected or missing, ``value_status`` says which) in grey."""
    prop = c.OBSERVATION_PROPERTY
    rules = [
        Rule(f"value_{i}", s.sv, s.en, s.color, _step_filter(prop, s))
        for i, s in enumerate(c.OBSERVATION_STEPS, start=1)
    ]
    rules.append(Rule("value_null", *c.OBSERVATION_NULL, c.NULL_COLOUR, IsNull(prop)))
    return _style(
        "observations", "observations", c.OBSERVATION_TITLE, rules,
        abstract="Published (protected) value per area, week, indicator and actor kind in "
        "steps of a count, ColorBrewer YlOrRd; null: protected or missing.",
    )  # fmt: skip


def areas() -> Style:
    """``areas``: outlines and the area's name (``name``) as label."""
    rule = Rule("areas", *c.AREA_TITLE, None)
    return _style(
        "areas", "areas", c.AREA_TITLE, [rule], outline=c.AREA_OUTLINE, outline_px=1.5,
        label=c.AREA_LABEL, abstract="Outlines of the areas labelled with their name.",
    )  # fmt: skip


def all_styles(indicators: list[Indicator]) -> list[Style]:
    """Every style file, the wide layer's per indicator in the catalogue's order."""
    return [hotspots(), trends(), situation(), observations(), areas()] + [
        situation_wide(i) for i in indicators
    ]
