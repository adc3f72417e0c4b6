"""The classes of every styled layer: values, colours and legend titles, defined once.

The SLD and QML files (:mod:`.sld`, :mod:`.qml`) and the HTML pages' map previews
(:mod:`lagesbild_geo.server.map_styles`) read these, so that an area is the same colour in
QGIS, in an actor's GIS and on the service's own page:

- hot spots: the Gi* confidence ``bin`` (±3/±2/±1 = 99/95/90 %), ColorBrewer RdBu with red
  for hot (the diverging palette ArcGIS's and PySAL's hot-spot maps use);
- trends: the Mann-Kendall ``trend`` (increasing red, decreasing blue, no trend white);
- situation: the change of the last four weeks against the twelve before, in steps of
  :data:`CHANGE_BOUNDS` per cent, RdBu with blue for a decrease;
- observations: counts in fixed steps (:data:`COUNT_BOUNDS`), ColorBrewer YlOrRd.

A null value is never left to a client's default: each layer's styles have an explicit rule
for it (:data:`NULL_COLOUR` greys), since QGIS 3.22 imports no ``ElseFilter``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ColorBrewer RdBu, 7 classes, from dark red to dark blue.
RDBU_7 = ("#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac")
#: ColorBrewer YlOrRd, 6 classes, light to dark.
YLORRD_6 = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
#: Grey for a value that is not there (protected, not delivered, not computed).
NULL_COLOUR = "#bdbdbd"
#: A darker grey for a value withheld by protection, a lighter one for nothing delivered.
PROTECTED_COLOUR = "#969696"
NO_DATA_COLOUR = "#e0e0e0"


@dataclass(frozen=True)
class Category:
    """One value of a categorised field, with its colour and legend titles."""

    value: int | str
    color: str
    sv: str
    en: str


@dataclass(frozen=True)
class Step:
    """A range ``lower <= value < upper`` (None: unbounded on that side; ``lower_open``:
    ``lower < value``; ``lower == upper``: exactly that value)."""

    lower: float | None
    upper: float | None
    color: str
    sv: str
    en: str
    lower_open: bool = False


HOTSPOT_PROPERTY = "bin"
HOTSPOT_BINS: tuple[Category, ...] = (
    Category(3, RDBU_7[0], "Hot spot 99 %", "Hot spot, 99 % confidence (Gi* bin 3)"),
    Category(2, RDBU_7[1], "Hot spot 95 %", "Hot spot, 95 % confidence (Gi* bin 2)"),
    Category(1, RDBU_7[2], "Hot spot 90 %", "Hot spot, 90 % confidence (Gi* bin 1)"),
    Category(0, RDBU_7[3], "Ej signifikant", "Not significant (Gi* bin 0)"),
    Category(-1, RDBU_7[4], "Cold spot 90 %", "Cold spot, 90 % confidence (Gi* bin -1)"),
    Category(-2, RDBU_7[5], "Cold spot 95 %", "Cold spot, 95 % confidence (Gi* bin -2)"),
    Category(-3, RDBU_7[6], "Cold spot 99 %", "Cold spot, 99 % confidence (Gi* bin -3)"),
)
HOTSPOT_NULL = ("Ej beräknat", "Not computed (bin is null)")
HOTSPOT_TITLE = ("Heta punkter (Getis-Ord Gi*)", "Hot spots (Getis-Ord Gi*)")

TREND_PROPERTY = "trend"
TRENDS: tuple[Category, ...] = (
    Category("increasing", RDBU_7[0], "Ökande", "Increasing (Mann-Kendall)"),
    Category("decreasing", RDBU_7[6], "Minskande", "Decreasing (Mann-Kendall)"),
    Category("no trend", RDBU_7[3], "Ingen signifikant trend", "No significant trend"),
)
TREND_TITLE = ("Trend (Mann-Kendall)", "Trend (Mann-Kendall)")

#: The steps of the change in %, from the HTML maps' first legend (issue 11).
CHANGE_BOUNDS = (-50, -20, -5, 5, 20, 50)
CHANGE_STEPS: tuple[Step, ...] = (
    Step(None, -50, RDBU_7[6], "under −50 %", "below −50 %"),
    Step(-50, -20, RDBU_7[5], "−50 till −20 %", "−50 to −20 %"),
    Step(-20, -5, RDBU_7[4], "−20 till −5 %", "−20 to −5 %"),
    Step(-5, 5, RDBU_7[3], "ungefär oförändrat (±5 %)", "about unchanged (±5 %)"),
    Step(5, 20, RDBU_7[2], "+5 till +20 %", "+5 to +20 %"),
    Step(20, 50, RDBU_7[1], "+20 till +50 %", "+20 to +50 %"),
    Step(50, None, RDBU_7[0], "över +50 %", "above +50 %"),
)
CHANGE_TITLE = (
    "Förändring, 4 senaste veckorna mot 12 före",
    "Change, last 4 weeks against the 12 before",
)
#: The per-indicator situation layer says why a change is missing (``value_status``).
SITUATION_PROTECTED = ("Skyddat värde", "Protected value (value_status = protected)")
SITUATION_NO_DATA = ("Inga uppgifter", "Nothing delivered (value_status = no_data)")
SITUATION_NO_BASE = (
    "Ingen jämförelse (0 de 12 veckorna före)",
    "No comparison (nothing in the 12 weeks before, or one side missing)",
)
#: The wide layer names missing figures in two text columns; its rule says all three.
SITUATION_WIDE_NULL = (
    "Skyddat, saknas eller ingen jämförelse",
    "Protected, missing or no comparison",
)

OBSERVATION_PROPERTY = "value"
COUNT_BOUNDS = (3, 6, 11, 26)
OBSERVATION_STEPS: tuple[Step, ...] = (
    Step(0, 0, YLORRD_6[0], "0", "0 (value = 0)"),
    Step(0, 3, YLORRD_6[1], "1–2", "1–2 (0 < value < 3)", lower_open=True),
    Step(3, 6, YLORRD_6[2], "3–5", "3–5 (3 ≤ value < 6)"),
    Step(6, 11, YLORRD_6[3], "6–10", "6–10 (6 ≤ value < 11)"),
    Step(11, 26, YLORRD_6[4], "11–25", "11–25 (11 ≤ value < 26)"),
    Step(26, None, YLORRD_6[5], "26 eller fler", "26 or more"),
)
OBSERVATION_NULL = ("Skyddat eller saknas", "Protected or missing (see value_status)")
OBSERVATION_TITLE = ("Värde per område och vecka", "Value per area and week")

AREA_LABEL = "name"
AREA_TITLE = ("Områden (NYKO nivå 3)", "Areas (NYKO level 3)")
AREA_OUTLINE = "#404040"
#: The outline of every choropleth's areas.
OUTLINE = "#636363"
