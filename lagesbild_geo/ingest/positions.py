"""Bring event positions to SWEREF 99 TM (EPSG:3006), or say why a position cannot be used.

Actors deliver coordinates in whatever their system exports: SWEREF 99 TM metres, WGS84
degrees as lat/lon, sometimes RT 90, with a decimal comma or point. Every later stage (locate,
hotspots, weights) works in EPSG:3006 metres, so the conversion happens once, here, on whole
arrays. A position that does not land in Sweden is refused with the likeliest cause (swapped
axes, degrees given as metres, a wrong crs) rather than a bare "out of bounds".
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from lagesbild_geo.ingest.cells import coordinate_text
from lagesbild_geo.ingest.columns import Problems, arrow_strings, distinct, report_distinct, short

SWEREF_EAST = (180_000.0, 1_090_000.0)
SWEREF_NORTH = (6_100_000.0, 7_700_000.0)
"""Bounds of SWEREF 99 TM (EPSG:3006) around Sweden; anything outside is not a Swedish place."""
RT90_EAST = (1_200_000.0, 1_900_000.0)
SWEDEN_LAT = (55.0, 69.2)
SWEDEN_LON = (10.5, 24.2)
CRS_ALIASES = {"SWEREF99TM": "EPSG:3006", "WGS84": "EPSG:4326", "RT90": "EPSG:3021"}


def parse_coordinates(
    problems: Problems, column: pd.Series, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Decimal numbers (decimal comma or point, thousands grouped by a space or no-break space
    as in counts: ``cells.coordinate_text``) as float64; NaN and a problem where not."""
    cells = arrow_strings(column)
    numbers = None
    if not _has_byte(cells, b","):
        try:  # the common case; a failing cast is slow, hence the comma test first
            numbers = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            numbers = None
    if numbers is None:  # decimal commas, thousands separators (as in counts), or bad cells
        plain, ok = coordinate_text(cells)
        values = pc.cast(pc.if_else(ok, plain, pa.scalar(None, pa.string())), pa.float64())
        numbers = values.to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(numbers)
    if bad.any():
        empty = (column.str.strip() == "").to_numpy(dtype=bool, na_value=True)
        problems.rows(
            bad,
            name,
            lambda i: (
                "empty cell; a coordinate is required"
                if empty[i]
                else "not a number; write coordinates like 6580123.5 or 6580123,5"
            ),
        )
    return numbers, bad


def _has_byte(cells: pa.Array, byte: bytes) -> bool:
    """Whether any cell holds ``byte`` (one pass over the values' bytes, no per-cell call)."""
    offsets = np.frombuffer(
        cells.buffers()[1], dtype=np.int32, count=len(cells) + 1, offset=cells.offset * 4
    )
    data = cells.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return False
    values = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return bool((values == byte[0]).any())


def resolve_crs(text: str) -> str:
    """``EPSG:nnnn`` for a CRS written as EPSG:3006, 3006, SWEREF 99 TM, WGS84, an OGC URI, ...

    Raises ``ValueError`` for anything pyproj does not know or that has no EPSG code.
    """
    compact = re.sub(r"[\s_-]", "", text.strip().upper())
    if compact in CRS_ALIASES:
        return CRS_ALIASES[compact]
    if compact.isdigit():
        compact = f"EPSG:{compact}"
    try:
        crs = CRS.from_user_input(compact if compact.startswith("EPSG") else text.strip())
    except CRSError:
        raise ValueError(f"unknown CRS '{short(text)}'; write it like EPSG:3006") from None
    code = crs.to_epsg()
    if code is None:
        raise ValueError(f"CRS '{short(text)}' has no EPSG code; write it like EPSG:3006")
    return f"EPSG:{code}"


def crs_per_row(
    problems: Problems,
    frame: pd.DataFrame,
    columns: dict[str, str],
    default_crs: str,
    geographic: bool,
    n: int,
) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the list of source CRSs; an empty crs cell means ``default_crs``."""
    if geographic:
        return np.zeros(n, dtype=np.int64), ["EPSG:4326"]
    try:
        default = resolve_crs(default_crs)
    except ValueError as exc:
        problems.file(f"file-level crs: {exc}")
        return np.zeros(n, dtype=np.int64), ["EPSG:3006"]
    if "crs" not in columns:
        return np.zeros(n, dtype=np.int64), [default]
    codes, values = distinct(frame[columns["crs"]])
    sources: list[str] = []
    errors: list[str | None] = []
    for value in values:
        try:
            sources.append(resolve_crs(value) if value else default)
            errors.append(None)
        except ValueError as exc:
            sources.append(default)
            errors.append(str(exc))
    report_distinct(problems, codes, errors, columns["crs"])
    return codes, sources


def to_sweref(
    problems: Problems,
    x: np.ndarray,
    y: np.ndarray,
    crs_codes: np.ndarray,
    sources: list[str],
    geographic: bool,
    column: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Easting and northing in EPSG:3006; positions outside Sweden are problems on ``column``.

    ``crs_codes`` index each row into ``sources`` (see ``crs_per_row``); for lat/lon
    (``geographic``) ``x`` is the longitude and ``y`` the latitude.
    """
    if sources == ["EPSG:3006"]:
        east, north = x, y  # already SWEREF 99 TM: nothing to transform or copy
    else:
        east, north = np.full(len(x), np.nan), np.full(len(x), np.nan)
        for k, source in enumerate(sources):
            chosen = crs_codes == k
            if source == "EPSG:3006":
                east[chosen], north[chosen] = x[chosen], y[chosen]
            elif chosen.any():
                east[chosen], north[chosen] = _transformer(source).transform(x[chosen], y[chosen])
    outside = ~(
        (east >= SWEREF_EAST[0])
        & (east <= SWEREF_EAST[1])
        & (north >= SWEREF_NORTH[0])
        & (north <= SWEREF_NORTH[1])
    )
    if outside.any():
        problems.rows(
            outside,
            column,
            lambda i: _why_outside(x[i], y[i], sources[crs_codes[i]], geographic),
        )
    return east, north


@lru_cache(maxsize=32)
def _transformer(source: str) -> Transformer:
    return Transformer.from_crs(source, "EPSG:3006", always_xy=True)


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _why_outside(x: float, y: float, source: str, geographic: bool) -> str:
    """The likeliest reason a position is not in Sweden, in words an actor can act on."""
    if geographic:  # x is lon, y is lat
        if _within(y, SWEDEN_LON) and _within(x, SWEDEN_LAT):
            return "lat and lon look swapped"
        if abs(x) > 180 or abs(y) > 90:
            return "lat/lon are not degrees; projected metres belong in x and y with a crs"
        return "the position lies outside Sweden"
    if source == "EPSG:3006" or not source.startswith("EPSG:4"):
        if abs(x) <= 180 and abs(y) <= 90:
            return (
                f"x/y look like WGS84 degrees, not {source} metres; "
                "use lat/lon columns or crs EPSG:4326"
            )
        if _within(x, SWEREF_NORTH) and _within(y, SWEREF_EAST):
            return "x and y look swapped (x is the easting, y the northing)"
        if _within(x, RT90_EAST) and _within(y, SWEREF_NORTH) and source == "EPSG:3006":
            return "x/y look like RT 90 2.5 gon V; set crs EPSG:3021"
    return f"the position lies outside Sweden (as {source}); check the coordinates and crs"
