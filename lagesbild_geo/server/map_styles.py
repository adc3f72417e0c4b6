"""How the items pages' map previews colour each public layer, and the legend they show.

pygeoapi draws every layer uniform blue, which says nothing: the weekly meeting looks for hot
spots, rising trends and changes. Each layer gets a class of its main value and a legend in
the page's language (Swedish, English with ``?lang=en``). The classes, colours and titles are
:mod:`lagesbild_geo.styles.classes`', the same the SLD and QML files have (``/styles``), so an
area is the same colour on this page as in QGIS:

- ``hotspots``: the Gi* confidence ``bin`` (±3/±2/±1 = 99/95/90 %), ColorBrewer RdBu, red
  for hot;
- ``trends``: the Mann-Kendall ``trend`` (increasing / decreasing / no trend);
- ``situation``: ``<indicator>_change_pct``, the change of the last four weeks against the
  twelve before, in steps of the change (a selector picks the indicator);
- ``observations``: ``value`` in five classes of the values on the page (quantiles: the
  page shows one slice of a layer whose measure is a count, a share or a rate; the SLD, for a
  whole layer, has fixed steps), in the YlOrRd colours of the SLD.

``hotspots`` and ``trends`` have one feature per area and indicator, so the page draws one
indicator at a time (a selector; the first on the page unless the URL names one), else 16
polygons lie on every area. Protected or missing values (null) have their own grey class.
The dictionary is serialised into the items template (``webassets``) as JSON and read by its
script; nothing here imports pygeoapi.
"""

from __future__ import annotations

import json

from lagesbild_geo.styles import classes as c

#: Grey for null (protected or not delivered) and for a layer without a style.
NO_VALUE = {"color": c.NULL_COLOUR, "sv": "Skyddat eller saknas", "en": "Protected or missing"}


def _categories(categories: tuple[c.Category, ...]) -> list[dict]:
    return [{"value": k.value, "color": k.color, "sv": k.sv, "en": k.en} for k in categories]


def _steps(steps: tuple[c.Step, ...]) -> list[dict]:
    """The HTML script's form of the steps: upper bounds (exclusive), the last open."""
    return [{"below": s.upper, "color": s.color, "sv": s.sv, "en": s.en} for s in steps]


STYLES: dict[str, dict] = {
    "hotspots": {
        "kind": "categories",
        "property": c.HOTSPOT_PROPERTY,
        "group_by": "indicator",
        "title": {"sv": "Gi*-konfidens", "en": "Gi* confidence"},
        "classes": _categories(c.HOTSPOT_BINS),
    },
    "trends": {
        "kind": "categories",
        "property": c.TREND_PROPERTY,
        "group_by": "indicator",
        "title": {"sv": c.TREND_TITLE[0], "en": c.TREND_TITLE[1]},
        "classes": _categories(c.TRENDS),
    },
    "situation": {
        "kind": "steps",
        "property_suffix": "_change_pct",
        "title": {"sv": c.CHANGE_TITLE[0], "en": c.CHANGE_TITLE[1]},
        "classes": _steps(c.CHANGE_STEPS),
    },
    "observations": {
        "kind": "quantiles",
        "property": c.OBSERVATION_PROPERTY,
        "title": {"sv": "Värde (klasser av sidans värden)", "en": "Value (classes of the page)"},
        "colors": list(c.YLORRD_6[1:]),
    },
}


#: The per-indicator layers (lagesbild_geo/server/layers.py), by the prefix of their id: the
#: classes of their stacked or wide layer, on their own field (``change_pct``, ``bin``,
#: ``trend``); one indicator per layer, so the selector has one entry.
BY_PREFIX: dict[str, dict] = {
    "situation-": {
        **{k: v for k, v in STYLES["situation"].items() if k != "property_suffix"},
        "property": "change_pct",
    },
    "hotspots-": STYLES["hotspots"],
    "trends-": STYLES["trends"],
}


def style_of(collection: str) -> dict | None:
    """The map style of a collection: its own, or its kind's for a per-indicator layer.

    >>> style_of("situation-skadegorelse")["property"], style_of("trends")["property"]
    ('change_pct', 'trend')
    """
    if collection in STYLES:
        return STYLES[collection]
    return next((s for p, s in BY_PREFIX.items() if collection.startswith(p)), None)


def styles_json() -> str:
    """The styles as the items template's script reads them (with the null class)."""
    return json.dumps(
        {"layers": STYLES, "by_prefix": BY_PREFIX, "no_value": NO_VALUE}, ensure_ascii=False
    )
