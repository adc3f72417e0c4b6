"""How the items pages' map previews colour each public layer, and the legend they show.

pygeoapi draws every layer uniform blue, which says nothing: the weekly meeting looks for hot
spots, rising trends and changes. Each layer gets a class of its main value and a legend in
the page's language (Swedish, English with ``?lang=en``):

- ``hotspots``: the Gi* confidence ``bin`` (±3/±2/±1 = 99/95/90 %), the usual diverging
  palette (ColorBrewer RdYlBu, red for hot);
- ``trends``: the Mann-Kendall ``trend`` (increasing / decreasing / no trend);
- ``situation``: ``<indicator>_change_pct``, the change of the last four weeks against the
  twelve before, in steps of the change (a selector picks the indicator);
- ``observations``: ``value`` in five classes of the values on the page (quantiles: the
  measure is a count, a share or a rate depending on the indicator).

``hotspots`` and ``trends`` have one feature per area and indicator, so the page draws one
indicator at a time (a selector; the first on the page unless the URL names one), else 16
polygons lie on every area. Protected or missing values (null) have their own grey class.
The dictionary is serialised into the items template (``webassets``) as JSON and read by its
script; nothing here imports pygeoapi.
"""

from __future__ import annotations

import json

#: Grey for null (protected or not delivered) and for a layer without a style.
NO_VALUE = {"color": "#bdbdbd", "sv": "Skyddat eller saknas", "en": "Protected or missing"}

#: ColorBrewer RdYlBu, 7 classes (cold blue to hot red), as ArcGIS and PySAL's maps use.
_DIVERGING = ["#4575b4", "#91bfdb", "#e0f3f8", "#f7f7f7", "#fee090", "#fc8d59", "#d73027"]

STYLES: dict[str, dict] = {
    "hotspots": {
        "kind": "categories",
        "property": "bin",
        "group_by": "indicator",
        "title": {"sv": "Gi*-konfidens", "en": "Gi* confidence"},
        "classes": [
            {"value": 3, "color": _DIVERGING[6], "sv": "Het punkt 99 %", "en": "Hot spot 99 %"},
            {"value": 2, "color": _DIVERGING[5], "sv": "Het punkt 95 %", "en": "Hot spot 95 %"},
            {"value": 1, "color": _DIVERGING[4], "sv": "Het punkt 90 %", "en": "Hot spot 90 %"},
            {
                "value": 0,
                "color": _DIVERGING[3],
                "sv": "Inte signifikant",
                "en": "Not significant",
            },
            {"value": -1, "color": _DIVERGING[2], "sv": "Kall punkt 90 %", "en": "Cold spot 90 %"},
            {"value": -2, "color": _DIVERGING[1], "sv": "Kall punkt 95 %", "en": "Cold spot 95 %"},
            {"value": -3, "color": _DIVERGING[0], "sv": "Kall punkt 99 %", "en": "Cold spot 99 %"},
        ],
    },
    "trends": {
        "kind": "categories",
        "property": "trend",
        "group_by": "indicator",
        "title": {"sv": "Trend (Mann-Kendall)", "en": "Trend (Mann-Kendall)"},
        "classes": [
            {"value": "increasing", "color": "#d73027", "sv": "Ökande", "en": "Increasing"},
            {"value": "decreasing", "color": "#4575b4", "sv": "Minskande", "en": "Decreasing"},
            {
                "value": "no trend",
                "color": "#f7f7f7",
                "sv": "Ingen signifikant trend",
                "en": "No significant trend",
            },
        ],
    },
    "situation": {
        "kind": "steps",
        "property_suffix": "_change_pct",
        "title": {
            "sv": "Förändring, 4 senaste veckorna mot 12 före",
            "en": "Change, last 4 weeks against the 12 before",
        },
        # upper bounds (exclusive) of each class in %; the last class is open
        "classes": [
            {"below": -50, "color": _DIVERGING[0], "sv": "under −50 %", "en": "below −50 %"},
            {"below": -20, "color": _DIVERGING[1], "sv": "−50 till −20 %", "en": "−50 to −20 %"},
            {"below": -5, "color": _DIVERGING[2], "sv": "−20 till −5 %", "en": "−20 to −5 %"},
            {
                "below": 5,
                "color": _DIVERGING[3],
                "sv": "ungefär oförändrat (±5 %)",
                "en": "about unchanged (±5 %)",
            },  # fmt: skip
            {"below": 20, "color": _DIVERGING[4], "sv": "+5 till +20 %", "en": "+5 to +20 %"},
            {"below": 50, "color": _DIVERGING[5], "sv": "+20 till +50 %", "en": "+20 to +50 %"},
            {"below": None, "color": _DIVERGING[6], "sv": "över +50 %", "en": "above +50 %"},
        ],
    },
    "observations": {
        "kind": "quantiles",
        "property": "value",
        "title": {"sv": "Värde (klasser av sidans värden)", "en": "Value (classes of the page)"},
        # ColorBrewer YlOrRd, 5 classes
        "colors": ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
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
