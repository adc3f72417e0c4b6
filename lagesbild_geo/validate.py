"""Turn a delivery read as strings into normalised rows, or refuse it with every reason found.

Two shapes come in (DOMAIN.md): rows already counted per area, week and indicator
("aggregated"), or single events with category, date, time and position ("events"). Which one a
file is follows from its columns; a file with both an area column and a position is refused,
because the two would be counted twice.

Only known columns are accepted, so that free text cannot slip in under an unexpected name.
Column names may be Swedish or English, in any case and with or without å/ä/ö.

Every check works on whole columns at once: columns that repeat themselves (weeks, dates,
categories, times, codes) are parsed once per distinct value and mapped back, coordinates are
parsed and transformed as arrays. A million events validate in about a second.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.privacy import fold_name
from lagesbild_geo.read import RawTable

COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    # canonical name -> accepted names; matching ignores case, accents and "-", " ", "_"
    "area": ("område", "area", "area_code", "nyko", "nyckelkod", "områdeskod"),
    "period": ("period", "vecka", "week", "datum", "date"),
    "indicator": ("indikator", "indicator", "kategori", "category"),
    "value": ("värde", "value", "antal", "count"),
    "numerator": ("täljare", "numerator"),
    "denominator": ("nämnare", "denominator"),
    "source_ref": ("referens", "ref", "source_ref", "reference", "källreferens"),
    "time": ("tid", "klockslag", "time", "kl"),
    "x": ("x", "e", "easting", "östkoordinat"),
    "y": ("y", "n", "northing", "nordkoordinat"),
    "crs": ("crs", "epsg", "koordinatsystem", "srid"),
    "lat": ("lat", "latitud", "latitude"),
    "lon": ("lon", "lng", "longitud", "longitude"),
}
_CANONICAL = {
    fold_name(alias).replace("_", ""): key
    for key, aliases in COLUMN_NAMES.items()
    for alias in aliases
}


RATIO_UNITS = ("share",)
"""Units delivered as numerator and denominator. Counts and rates per 1,000 come as a count
(a rate's denominator is the area's population, which the service knows)."""
MAX_ROWS_PER_CHECK = 20
"""Rows listed one by one per check; the rest are counted in a single summary problem."""

SWEREF_EAST = (180_000.0, 1_090_000.0)
SWEREF_NORTH = (6_100_000.0, 7_700_000.0)
"""Bounds of SWEREF 99 TM (EPSG:3006) around Sweden; anything outside is not a Swedish place."""
RT90_EAST = (1_200_000.0, 1_900_000.0)
SWEDEN_LAT = (55.0, 69.2)
SWEDEN_LON = (10.5, 24.2)
CRS_ALIASES = {"SWEREF99TM": "EPSG:3006", "WGS84": "EPSG:4326", "RT90": "EPSG:3021"}


@dataclass(frozen=True)
class Catalogue:
    """The part of the indicator catalogue the validator needs: each indicator's unit."""

    units: dict[str, str]


@dataclass(frozen=True)
class AggregatedDelivery:
    """Rows counted per area, ISO week and indicator, area codes rolled up to NYKO level 3.

    ``rows`` columns: row, area_code, week_start (Monday), indicator, numerator (the count, or
    the share's numerator), denominator (nullable; only for shares and rates), source_ref.
    """

    file: str
    rows: pd.DataFrame


@dataclass(frozen=True)
class EventDelivery:
    """Single events with their week, weekday, hour and position in SWEREF 99 TM (EPSG:3006).

    ``rows`` columns: row, indicator, week_start, weekday (0 = Monday), hour, hour_start (local
    time truncated to the hour), x, y, source_ref.
    """

    file: str
    rows: pd.DataFrame


# --- periods -------------------------------------------------------------------------------

_WEEK_YEAR_FIRST = re.compile(r"(\d{4})\s*-?\s*[WV]\.?\s*(\d{1,2})", re.IGNORECASE)
_WEEK_YEAR_LAST = re.compile(r"(?:[WV]|V\.|VECKA|WEEK)\s*(\d{1,2})\s*[-/, ]\s*(\d{4})", re.I)
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2})[:.](\d{2})(?::\d{2}(?:\.\d+)?)?)?")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?")


def weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always lies in the last ISO week of its year."""
    return date(year, 12, 28).isocalendar().week


def iso_week_start(text: str) -> date:
    """Monday of an ISO week: 2026-W07, 2026W07, 2026-W7, 2026 v7, v7 2026 or vecka 7 2026.

    Raises ``ValueError`` saying why, e.g. for week 53 of a year that has only 52 weeks.
    """
    cleaned = text.strip()
    match = _WEEK_YEAR_FIRST.fullmatch(cleaned)
    if match:
        year, week = int(match[1]), int(match[2])
    else:
        match = _WEEK_YEAR_LAST.fullmatch(cleaned)
        if not match:
            raise ValueError(f"'{_short(text)}' is not an ISO week like 2026-W07")
        week, year = int(match[1]), int(match[2])
    if not 1 <= week <= 53:
        raise ValueError(f"week {week} does not exist; ISO weeks are numbered 1 to 53")
    if week == 53 and weeks_in_year(year) == 52:
        raise ValueError(f"{year} has only 52 ISO weeks; week 53 does not exist")
    return date.fromisocalendar(year, week, 1)


def parse_date(text: str) -> tuple[date, int | None]:
    """A date written YYYY-MM-DD, optionally with a time ("2026-02-10T18:30" from Excel).

    Returns the date and the minutes after midnight when a time was given, else ``None``.
    """
    match = _DATE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"'{_short(text)}' is not a date like 2026-02-10")
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError(f"'{_short(text)}' is not a valid date") from None
    if match[4] is None:
        return day, None
    return day, parse_time(f"{match[4]}:{match[5]}")


def parse_time(text: str) -> int:
    """Minutes after midnight for HH:MM (also H:MM, HH.MM and HH:MM:SS)."""
    match = _TIME.fullmatch(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"'{_short(text)}' is not a time of day like 18:30")
    return int(match[1]) * 60 + int(match[2])


def parse_period(text: str) -> date:
    """Monday of the ISO week a period names: an ISO week, or a date (the week it falls in)."""
    if _DATE.fullmatch(text.strip()):
        day, _ = parse_date(text)
        return day.fromordinal(day.toordinal() - day.weekday())
    if re.fullmatch(r"\s*\d{4}-\d{1,2}\s*", text):
        raise ValueError(f"'{_short(text)}' is ambiguous (month or week?); write 2026-W07")
    return iso_week_start(text)


def _short(text: str, limit: int = 30) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- problems ------------------------------------------------------------------------------


class _Problems:
    """Collects problems; each check lists a few rows and counts the rest."""

    def __init__(self, raw: RawTable):
        self.raw = raw
        self.items: list[Problem] = []
        self.summaries: list[Problem] = []

    def file(self, reason: str, column: str | None = None) -> None:
        self.items.append(Problem(self.raw.file, reason, column=column))

    def rows(self, mask: np.ndarray, column: str | None, reason: str | Callable[[int], str]):
        """One problem per row where ``mask`` holds; ``reason(i)`` may depend on the row."""
        hits = np.flatnonzero(mask)
        for i in hits[:MAX_ROWS_PER_CHECK]:
            why = reason(int(i)) if callable(reason) else reason
            self.items.append(Problem(self.raw.file, why, row=int(self.raw.rows[i]), column=column))
        if len(hits) > MAX_ROWS_PER_CHECK:
            first = int(hits[MAX_ROWS_PER_CHECK])
            why = reason(first) if callable(reason) else reason
            more = len(hits) - MAX_ROWS_PER_CHECK
            self.summaries.append(
                Problem(self.raw.file, f"{more} more rows like this: {why}", column=column)
            )

    def raise_if_any(self) -> None:
        if self.items or self.summaries:
            ordered = sorted(self.items, key=lambda p: (p.row is not None, p.row or 0))
            raise DeliveryRefusedError(ordered + self.summaries)


# --- entry point ---------------------------------------------------------------------------


def validate(
    raw: RawTable,
    *,
    catalogue: Catalogue,
    area_codes: Collection[str],
    today: date,
    default_crs: str = "EPSG:3006",
) -> AggregatedDelivery | EventDelivery:
    """Check every row of ``raw`` and return it normalised; refuse with all problems found.

    ``area_codes`` are the municipality's NYKO level-3 codes; finer codes roll up to the
    longest of them that is a prefix. ``today`` decides what lies in the future.
    """
    problems = _Problems(raw)
    columns = _map_columns(raw, problems)
    problems.raise_if_any()
    has_area = "area" in columns
    position = {"x", "y", "lat", "lon"} & columns.keys()
    if has_area and position:
        problems.file(
            "mixed shapes: the file has both an area column "
            f"('{columns['area']}') and position columns "
            f"({', '.join(repr(columns[p]) for p in sorted(position))}); "
            "deliver counted rows and single events in separate files"
        )
    elif not has_area and not position:
        problems.file(
            "missing column: neither an area column (område, area, area_code, nyko) "
            "nor a position (x and y, or lat and lon)"
        )
    problems.raise_if_any()
    if has_area:
        return _validate_aggregated(raw, columns, problems, catalogue, area_codes, today)
    return _validate_events(raw, columns, problems, catalogue, today, default_crs)


def _map_columns(raw: RawTable, problems: _Problems) -> dict[str, str]:
    """Canonical name -> the actor's column name; unknown and doubled columns are problems."""
    columns: dict[str, str] = {}
    accepted = ", ".join(names[0] for names in COLUMN_NAMES.values())
    for name in raw.frame.columns:
        key = _CANONICAL.get(fold_name(name).replace("_", ""))
        if key is None:
            problems.file(
                f"unknown column; only these (or their English names) may be delivered: {accepted}",
                column=name,
            )
        elif key in columns:
            problems.file(
                f"columns '{columns[key]}' and '{name}' mean the same ({key}); keep one",
                column=name,
            )
        else:
            columns[key] = name
    return columns


def _require(columns: dict[str, str], needed: tuple[str, ...], problems: _Problems) -> None:
    for key in needed:
        if key not in columns:
            problems.file(f"missing column '{key}'; accepted names: {', '.join(COLUMN_NAMES[key])}")


def _distinct(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the list of distinct (trimmed) values: parse once, map back."""
    cells = _arrow_strings(column)
    encoded = pc.dictionary_encode(cells)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    values = [v.strip() for v in encoded.dictionary.to_pylist()]
    if len(set(values)) == len(values):
        return codes, values
    merged: dict[str, int] = {}
    remap = np.array([merged.setdefault(v, len(merged)) for v in values], dtype=np.int64)
    return remap[codes], list(merged)


def _strings(values: list[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as a pandas string array, built in Arrow (10x faster than objects)."""
    return pd.array(pa.array(values, type=pa.string()).take(pa.array(codes)), dtype="str")


def _arrow_strings(column: pd.Series) -> pa.Array:
    cells = pa.array(column.astype("str"), type=pa.string(), from_pandas=True)
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    return pc.fill_null(cells, "") if cells.null_count else cells


def _parse_distinct(
    column: pd.Series, parse: Callable[[str], object]
) -> tuple[np.ndarray, list[object], list[str | None]]:
    """Parse each distinct value once: (row codes, parsed values, error per value or None)."""
    codes, values = _distinct(column)
    parsed: list[object] = []
    errors: list[str | None] = []
    for value in values:
        if not value:
            parsed.append(None)
            errors.append("empty cell; a value is required")
            continue
        try:
            parsed.append(parse(value))
            errors.append(None)
        except ValueError as exc:
            parsed.append(None)
            errors.append(str(exc))
    return codes, parsed, errors


def _report_distinct(
    problems: _Problems, codes: np.ndarray, errors: list[str | None], column: str
) -> np.ndarray:
    """Report rows whose value failed to parse; returns the mask of bad rows."""
    bad_values = np.array([e is not None for e in errors], dtype=bool)
    if not bad_values.any():
        return np.zeros(len(codes), dtype=bool)
    bad = bad_values[codes]
    problems.rows(bad, column, lambda i: errors[codes[i]])
    return bad


def _indicator_lookup(catalogue: Catalogue) -> Callable[[str], str]:
    """Parse an indicator id: case and accents do not matter; unknown ids get suggestions."""
    known = {fold_name(i): i for i in catalogue.units}

    def lookup(text: str) -> str:
        found = known.get(fold_name(text))
        if found is not None:
            return found
        close = difflib.get_close_matches(fold_name(text), list(known), n=5, cutoff=0.5)
        hint = ", ".join(known[c] for c in close) if close else ", ".join(sorted(catalogue.units))
        label = "did you mean" if close else "known indicators"
        raise ValueError(f"unknown indicator '{_short(text)}'; {label}: {hint}")

    return lookup


def _parse_count(text: str) -> int:
    """A non-negative whole number; "3,0" and "1 234" are fine, "2,5" and "-1" are not."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    match = re.fullmatch(r"([-+]?)(\d+)(?:\.(\d+))?", cleaned)
    if not match:
        raise ValueError(f"'{_short(text)}' is not a number")
    if match[3] and int(match[3]) != 0:
        raise ValueError(f"'{_short(text)}' is not a whole number; counts must be integers")
    if match[1] == "-" and int(match[2]) != 0:
        raise ValueError(f"negative count {_short(text)}; counts cannot be below 0")
    return int(match[2])


# --- aggregated rows -----------------------------------------------------------------------


def _validate_aggregated(
    raw: RawTable,
    columns: dict[str, str],
    problems: _Problems,
    catalogue: Catalogue,
    area_codes: Collection[str],
    today: date,
) -> AggregatedDelivery:
    _require(columns, ("area", "period", "indicator"), problems)
    problems.raise_if_any()
    frame = raw.frame
    n = len(frame)
    level3 = {code.strip().upper() for code in area_codes}
    lengths = sorted({len(c) for c in level3}, reverse=True)

    def roll_up(text: str) -> str:
        code = text.upper()
        for length in lengths:
            if code[:length] in level3:
                return code[:length]
        raise ValueError(
            f"unknown area code '{_short(text)}': neither a NYKO level-3 code of the "
            "municipality nor a finer code under one"
        )

    area_codes_, areas, area_errors = _parse_distinct(frame[columns["area"]], roll_up)
    _report_distinct(problems, area_codes_, area_errors, columns["area"])
    week_codes, weeks, week_errors = _parse_distinct(frame[columns["period"]], parse_period)
    for k, monday in enumerate(weeks):
        if monday is not None and monday > today:
            week_errors[k] = f"the period {monday.isoformat()} (week start) lies in the future"
    _report_distinct(problems, week_codes, week_errors, columns["period"])
    ind_codes, indicators, ind_errors = _parse_distinct(
        frame[columns["indicator"]], _indicator_lookup(catalogue)
    )
    _report_distinct(problems, ind_codes, ind_errors, columns["indicator"])

    units = np.array([catalogue.units.get(i, "count") if i else "count" for i in indicators])
    is_ratio = np.isin(units, RATIO_UNITS)[ind_codes] if len(units) else np.zeros(n, dtype=bool)
    numerator = np.zeros(n, dtype=np.int64)
    denominator = np.zeros(n, dtype=np.int64)
    if (~is_ratio).any():
        if "value" not in columns:
            problems.file(
                f"missing column 'value' for counts; accepted names: "
                f"{', '.join(COLUMN_NAMES['value'])}"
            )
        else:
            numerator, _ = _counts(problems, frame, columns["value"], ~is_ratio)
    if is_ratio.any():
        ratio_columns = ("numerator", "denominator")
        _require(columns, ratio_columns, problems)
        if all(c in columns for c in ratio_columns):
            num, bad_num = _counts(problems, frame, columns["numerator"], is_ratio)
            den, bad_den = _counts(problems, frame, columns["denominator"], is_ratio)
            numerator = np.where(is_ratio, num, numerator)
            denominator = den
            checkable = is_ratio & ~bad_num & ~bad_den
            zero = checkable & (den == 0)
            problems.rows(zero, columns["denominator"], "denominator is 0; a share needs one > 0")
            above = checkable & (num > den)
            problems.rows(
                above,
                columns["numerator"],
                lambda i: (
                    f"numerator {num[i]} is larger than denominator {den[i]}; "
                    "a share cannot exceed 1"
                ),
            )
    problems.raise_if_any()

    week_start = np.array(weeks, dtype="datetime64[D]")[week_codes].astype("datetime64[s]")
    given_area = np.array(_distinct(frame[columns["area"]])[1], dtype=object)[area_codes_]
    rows = pd.DataFrame(
        {
            "row": raw.rows.astype(np.int64),
            "area_code": _strings(areas, area_codes_),
            "week_start": week_start,
            "indicator": _strings(indicators, ind_codes),
            "numerator": numerator,
            "denominator": pd.array(np.where(is_ratio, denominator, 0), dtype="Int64"),
            "source_ref": _source_refs(frame, columns),
        }
    )
    rows.loc[~is_ratio, "denominator"] = pd.NA
    key = pd.DataFrame(
        {"a": [a.upper() for a in given_area], "w": week_start, "i": rows["indicator"]}
    )
    twice = key.duplicated(keep="first").to_numpy()
    if twice.any():
        first_row = key.reset_index().groupby(["a", "w", "i"])["index"].transform("min").to_numpy()
        problems.rows(
            twice,
            None,
            lambda i: (
                f"duplicate of row {raw.rows[first_row[i]]}: the same area "
                f"{given_area[i]}, week starting {week_start[i].astype('datetime64[D]')} and "
                f"indicator {rows['indicator'].iat[i]} appear twice"
            ),
        )
        problems.raise_if_any()
    return AggregatedDelivery(file=raw.file, rows=rows)


def _counts(
    problems: _Problems, frame: pd.DataFrame, column: str, needed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whole non-negative numbers where ``needed``; returns values (0 where bad) and bad rows."""
    codes, values, errors = _parse_distinct(frame[column], _parse_count)
    failed = np.array([e is not None for e in errors], dtype=bool)[codes] & needed
    problems.rows(failed, column, lambda i: errors[codes[i]])
    numbers = np.array([v if v is not None else 0 for v in values], dtype=np.int64)[codes]
    return np.where(failed, 0, numbers), failed


def _source_refs(frame: pd.DataFrame, columns: dict[str, str]) -> pd.Series:
    """The actor's own reference per row; empty cells become None."""
    if "source_ref" not in columns:
        return pd.Series([None] * len(frame), dtype=object)
    refs = frame[columns["source_ref"]].str.strip()
    return refs.astype(object).where(refs.ne("") & refs.notna(), None)


# --- single events -------------------------------------------------------------------------


def _validate_events(
    raw: RawTable,
    columns: dict[str, str],
    problems: _Problems,
    catalogue: Catalogue,
    today: date,
    default_crs: str,
) -> EventDelivery:
    geographic = "lat" in columns or "lon" in columns
    if geographic and ("x" in columns or "y" in columns):
        problems.file("give the position either as x and y or as lat and lon, not both")
    xy = ("lat", "lon") if geographic else ("x", "y")
    _require(columns, ("indicator", "period", *xy), problems)
    if geographic and "crs" in columns:
        problems.file("lat and lon are always WGS84; remove the crs column", column=columns["crs"])
    problems.raise_if_any()
    frame = raw.frame
    n = len(frame)

    lookup = _indicator_lookup(catalogue)

    def event_indicator(text: str) -> str:
        found = lookup(text)
        if catalogue.units[found] in RATIO_UNITS:
            raise ValueError(
                f"indicator '{found}' is a {catalogue.units[found]}; "
                "single events can only be counts"
            )
        return found

    ind_codes, indicators, ind_errors = _parse_distinct(
        frame[columns["indicator"]], event_indicator
    )
    bad = _report_distinct(problems, ind_codes, ind_errors, columns["indicator"])
    date_codes, dates, date_errors = _parse_distinct(frame[columns["period"]], parse_date)
    for k, parsed in enumerate(dates):
        if parsed is not None and parsed[0] > today:
            date_errors[k] = f"the date {parsed[0].isoformat()} lies in the future"
    bad |= _report_distinct(problems, date_codes, date_errors, columns["period"])
    epoch = date(1970, 1, 1).toordinal()
    days = np.array([d[0].toordinal() - epoch if d else 0 for d in dates], np.int64)[date_codes]
    if "time" in columns:
        time_codes, times, time_errors = _parse_distinct(frame[columns["time"]], parse_time)
        bad |= _report_distinct(problems, time_codes, time_errors, columns["time"])
        minutes = np.array([t if t is not None else 0 for t in times], np.int64)[time_codes]
    else:
        given = np.array([d[1] if d and d[1] is not None else -1 for d in dates], np.int64)
        minutes = given[date_codes]
        missing = (minutes < 0) & ~bad
        problems.rows(
            missing,
            columns["period"],
            "no time of day: add a time column (tid) or write date and time",
        )
        minutes = np.maximum(minutes, 0)

    x_name, y_name = (
        (columns["lon"], columns["lat"]) if geographic else (columns["x"], columns["y"])
    )
    x, _ = _numbers(problems, frame[x_name], x_name)
    y, _ = _numbers(problems, frame[y_name], y_name)
    crs_codes, sources = _crs_per_row(problems, frame, columns, default_crs, geographic, n)
    problems.raise_if_any()

    east = np.full(n, np.nan)
    north = np.full(n, np.nan)
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
            x_name,
            lambda i: _why_outside(x[i], y[i], sources[crs_codes[i]], geographic),
        )
    problems.raise_if_any()

    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    hour = minutes // 60
    rows = pd.DataFrame(
        {
            "row": raw.rows.astype(np.int64),
            "indicator": _strings(indicators, ind_codes),
            "week_start": (days - weekday).astype("datetime64[D]").astype("datetime64[s]"),
            "weekday": weekday.astype(np.int8),
            "hour": hour.astype(np.int8),
            "hour_start": (days * 86_400 + hour * 3_600).astype("datetime64[s]"),
            "x": east,
            "y": north,
            "source_ref": _source_refs(frame, columns),
        }
    )
    _refuse_duplicate_events(problems, rows, days * 1440 + minutes, ind_codes)
    return EventDelivery(file=raw.file, rows=rows)


def _numbers(problems: _Problems, column: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Decimal numbers (decimal comma or point) as float64; NaN and a problem where not."""
    cells = _arrow_strings(column)
    numbers = None
    if not pc.any(pc.match_substring(cells, ",")).as_py():
        try:  # the common case; a failing cast is slow, hence the comma test first
            numbers = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            numbers = None
    if numbers is None:
        cells = pc.utf8_trim_whitespace(pc.replace_substring(cells, ",", "."))
        ok = pc.match_substring_regex(cells, r"^[-+]?[0-9]+(\.[0-9]*)?$|^[-+]?\.[0-9]+$")
        values = pc.cast(pc.if_else(ok, cells, pa.scalar(None, pa.string())), pa.float64())
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
        raise ValueError(f"unknown CRS '{_short(text)}'; write it like EPSG:3006") from None
    code = crs.to_epsg()
    if code is None:
        raise ValueError(f"CRS '{_short(text)}' has no EPSG code; write it like EPSG:3006")
    return f"EPSG:{code}"


def _crs_per_row(
    problems: _Problems,
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
    codes, values = _distinct(frame[columns["crs"]])
    sources: list[str] = []
    errors: list[str | None] = []
    for value in values:
        try:
            sources.append(resolve_crs(value) if value else default)
            errors.append(None)
        except ValueError as exc:
            sources.append(default)
            errors.append(str(exc))
    _report_distinct(problems, codes, errors, columns["crs"])
    return codes, sources


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


def _refuse_duplicate_events(
    problems: _Problems, rows: pd.DataFrame, minute: np.ndarray, ind_codes: np.ndarray
) -> None:
    """The same category, minute, position and reference twice is one event delivered twice.

    A 64-bit hash of the numeric parts finds candidates cheaply; only those are compared
    exactly, references included.
    """
    parts = [ind_codes.astype(np.int64), minute, rows["x"].to_numpy(), rows["y"].to_numpy()]
    mixed = np.zeros(len(rows), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            mixed ^= np.ascontiguousarray(part).view(np.uint64)
            mixed *= np.uint64(0x9E3779B97F4A7C15)
            mixed ^= mixed >> np.uint64(29)
    candidates = np.flatnonzero(pd.Series(mixed).duplicated(keep=False).to_numpy())
    if len(candidates) == 0:
        return
    key = pd.DataFrame({f"k{j}": part[candidates] for j, part in enumerate(parts)})
    key["ref"] = rows["source_ref"].to_numpy()[candidates]
    key = key.fillna({"ref": ""})
    later = key.duplicated(keep="first").to_numpy()
    if not later.any():
        return
    first = key.reset_index().groupby(list(key.columns))["index"].transform("min").to_numpy()
    mask = np.zeros(len(rows), dtype=bool)
    mask[candidates[later]] = True
    first_of = dict(zip(candidates, candidates[first], strict=True))
    problems.rows(
        mask,
        None,
        lambda i: (
            f"duplicate of row {problems.raw.rows[first_of[i]]}: the same category, date, "
            "time, position and reference; separate events need references of their own"
        ),
    )
    problems.raise_if_any()
