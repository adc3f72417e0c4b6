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

This module is the stage itself: which columns mean what, the checks for each shape, and the
one ``validate`` entry point. How weeks, dates and times are read, and the per-distinct-value
helpers, are in ``periods``; how positions are brought to EPSG:3006 is in ``positions``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.ingest.periods import (
    arrow_strings,
    distinct,
    iso_week_start,
    parse_counts,
    parse_date,
    parse_distinct,
    parse_period,
    parse_time,
    report_distinct,
    short,
    strings,
    weeks_in_year,
)
from lagesbild_geo.ingest.positions import crs_per_row, parse_coordinates, resolve_crs, to_sweref
from lagesbild_geo.ingest.privacy import fold_name
from lagesbild_geo.ingest.read import RawTable

# The period parsers and resolve_crs live in periods and positions; they are re-exported here
# for callers that know them from this module.
__all__ = [
    "COLUMN_NAMES",
    "likely_shape",
    "MAX_ROWS_PER_CHECK",
    "RATIO_UNITS",
    "AggregatedDelivery",
    "Catalogue",
    "EventDelivery",
    "Problems",
    "iso_week_start",
    "parse_date",
    "parse_period",
    "parse_time",
    "resolve_crs",
    "validate",
    "weeks_in_year",
]

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
    time truncated to the hour), x, y, source_ref. ``source_refs`` holds the same references
    as an Arrow array (null where empty), for the stages that work in Arrow.
    """

    file: str
    rows: pd.DataFrame
    source_refs: pa.Array | None = field(default=None, repr=False, compare=False)


# --- problems ------------------------------------------------------------------------------


class Problems:
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
    problems = Problems(raw)
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
    _refuse_control_characters(problems, raw.frame, columns)
    problems.raise_if_any()
    if has_area:
        return _validate_aggregated(raw, columns, problems, catalogue, area_codes, today)
    return _validate_events(raw, columns, problems, catalogue, today, default_crs)


def likely_shape(raw: RawTable) -> str | None:
    """ "events" or "aggregated" as the column names suggest, before any check (``None``: mixed
    or neither). Lets a caller start preparing for a shape; ``validate`` decides."""
    keys = {_CANONICAL.get(fold_name(name).replace("_", "")) for name in raw.frame.columns}
    has_area, has_position = "area" in keys, bool({"x", "y", "lat", "lon"} & keys)
    if has_area != has_position:
        return "aggregated" if has_area else "events"
    return None


def _map_columns(raw: RawTable, problems: Problems) -> dict[str, str]:
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


def _require(columns: dict[str, str], needed: tuple[str, ...], problems: Problems) -> None:
    for key in needed:
        if key not in columns:
            problems.file(f"missing column '{key}'; accepted names: {', '.join(COLUMN_NAMES[key])}")


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
        raise ValueError(f"unknown indicator '{short(text)}'; {label}: {hint}")

    return lookup


# --- aggregated rows -----------------------------------------------------------------------


def _validate_aggregated(
    raw: RawTable,
    columns: dict[str, str],
    problems: Problems,
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
            f"unknown area code '{short(text)}': neither a NYKO level-3 code of the "
            "municipality nor a finer code under one"
        )

    area_codes_, areas, area_errors = parse_distinct(frame[columns["area"]], roll_up)
    report_distinct(problems, area_codes_, area_errors, columns["area"])
    week_codes, weeks, week_errors = parse_distinct(frame[columns["period"]], parse_period)
    for k, monday in enumerate(weeks):
        if monday is not None and monday > today:
            week_errors[k] = f"the period {monday.isoformat()} (week start) lies in the future"
    report_distinct(problems, week_codes, week_errors, columns["period"])
    ind_codes, indicators, ind_errors = parse_distinct(
        frame[columns["indicator"]], _indicator_lookup(catalogue)
    )
    report_distinct(problems, ind_codes, ind_errors, columns["indicator"])

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
            numerator, _ = parse_counts(problems, frame, columns["value"], ~is_ratio)
    if is_ratio.any():
        ratio_columns = ("numerator", "denominator")
        _require(columns, ratio_columns, problems)
        if all(c in columns for c in ratio_columns):
            num, bad_num = parse_counts(problems, frame, columns["numerator"], is_ratio)
            den, bad_den = parse_counts(problems, frame, columns["denominator"], is_ratio)
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
    given_area = np.array(distinct(frame[columns["area"]])[1], dtype=object)[area_codes_]
    rows = pd.DataFrame(
        {
            "row": raw.rows.astype(np.int64),
            "area_code": strings(areas, area_codes_),
            "week_start": week_start,
            "indicator": strings(indicators, ind_codes),
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


def _source_refs(frame: pd.DataFrame, columns: dict[str, str]) -> pd.Series:
    """The actor's own reference per row; empty cells become None."""
    refs = _arrow_source_refs(frame, columns)
    if refs is None:
        return pd.Series([None] * len(frame), dtype=object)
    return pd.Series(refs.to_numpy(zero_copy_only=False), index=frame.index, dtype=object)


def _arrow_source_refs(frame: pd.DataFrame, columns: dict[str, str]) -> pa.Array | None:
    """The references trimmed, empty ones null; ``None`` without a reference column."""
    if "source_ref" not in columns:
        return None
    refs = pc.utf8_trim_whitespace(arrow_strings(frame[columns["source_ref"]]))
    return pc.if_else(pc.equal(refs, ""), pa.scalar(None, pa.string()), refs)


def _refuse_control_characters(
    problems: Problems, frame: pd.DataFrame, columns: dict[str, str]
) -> None:
    """A reference is one line of text: a tab, a line break or another control character in it
    is refused (the store separates a cell's references with one, U+001F)."""
    if "source_ref" not in columns:
        return
    name = columns["source_ref"]
    refs = arrow_strings(frame[name])
    data = refs.buffers()[2]
    octets = np.frombuffer(data or b"", dtype=np.uint8)
    if not ((octets < 0x20) | (octets == 0x7F)).any():
        return  # the usual case, settled without looking at rows
    inner = pc.utf8_trim_whitespace(refs)  # spaces around a reference are only trimmed
    bad = pc.fill_null(pc.match_substring_regex(inner, r"[\x00-\x1f\x7f]"), False)
    problems.rows(
        bad.to_numpy(zero_copy_only=False),
        name,
        "the reference holds a control character (a tab, a line break or similar); "
        "a reference is one line of text",
    )


# --- single events -------------------------------------------------------------------------


def _validate_events(
    raw: RawTable,
    columns: dict[str, str],
    problems: Problems,
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

    ind_codes, indicators, ind_errors = parse_distinct(frame[columns["indicator"]], event_indicator)
    bad = report_distinct(problems, ind_codes, ind_errors, columns["indicator"])
    date_codes, dates, date_errors = parse_distinct(frame[columns["period"]], parse_date)
    for k, parsed in enumerate(dates):
        if parsed is not None and parsed[0] > today:
            date_errors[k] = f"the date {parsed[0].isoformat()} lies in the future"
    bad |= report_distinct(problems, date_codes, date_errors, columns["period"])
    # Dates and times repeat: everything derived from them is computed per distinct value
    # and only gathered per row.
    epoch = date(1970, 1, 1).toordinal()
    day_of = np.array([d[0].toordinal() - epoch if d else 0 for d in dates], np.int64)
    if "time" in columns:
        time_codes, times, time_errors = parse_distinct(frame[columns["time"]], parse_time)
        bad |= report_distinct(problems, time_codes, time_errors, columns["time"])
        minute_of = np.array([t if t is not None else 0 for t in times], np.int64)
    else:
        time_codes = date_codes
        minute_of = np.array([d[1] if d and d[1] is not None else -1 for d in dates], np.int64)
        missing = (minute_of < 0)[date_codes] & ~bad
        problems.rows(
            missing,
            columns["period"],
            "no time of day: add a time column (tid) or write date and time",
        )
        minute_of = np.maximum(minute_of, 0)

    x_name, y_name = (
        (columns["lon"], columns["lat"]) if geographic else (columns["x"], columns["y"])
    )
    x, _ = parse_coordinates(problems, frame[x_name], x_name)
    y, _ = parse_coordinates(problems, frame[y_name], y_name)
    crs_codes, sources = crs_per_row(problems, frame, columns, default_crs, geographic, n)
    problems.raise_if_any()

    east, north = to_sweref(problems, x, y, crs_codes, sources, geographic, x_name)
    problems.raise_if_any()

    refs = _arrow_source_refs(frame, columns)
    weekday_of = (day_of + 3) % 7  # 1970-01-01 was a Thursday
    hour_of = minute_of // 60
    hour_start = (day_of * 86_400)[date_codes]
    hour_start += (hour_of * 3_600)[time_codes]
    rows = pd.DataFrame(
        {
            "row": raw.rows.astype(np.int64, copy=False),
            "indicator": strings(indicators, ind_codes),
            "week_start": ((day_of - weekday_of) * 86_400).view("datetime64[s]")[date_codes],
            "weekday": weekday_of.astype(np.int8)[date_codes],
            "hour": hour_of.astype(np.int8)[time_codes],
            "hour_start": hour_start.view("datetime64[s]"),
            "x": east,
            "y": north,
            "source_ref": pd.Series(
                [None] * n if refs is None else refs.to_numpy(zero_copy_only=False), dtype=object
            ),
        },
        copy=False,  # fresh arrays: no need to copy them into blocks
    )
    minute = (day_of * 1440)[date_codes]
    minute += minute_of[time_codes]
    _refuse_duplicate_events(problems, rows, minute, ind_codes)
    return EventDelivery(file=raw.file, rows=rows, source_refs=refs)


def _refuse_duplicate_events(
    problems: Problems, rows: pd.DataFrame, minute: np.ndarray, ind_codes: np.ndarray
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
    ordered = np.sort(mixed)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeated) == 0:
        return
    candidates = np.flatnonzero(np.isin(mixed, repeated))
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
