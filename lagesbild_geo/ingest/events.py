"""Check single events: category, date, time of day and position ("events" deliveries).

Dates and times repeat, so everything derived from them (week, weekday, hour) is computed per
distinct value and only gathered per row; coordinates are parsed and brought to SWEREF 99 TM
as whole arrays (``positions``). A million events validate in about a second. Dates lie from
the earliest accepted date to today, and an event today no later than now, in Swedish time
(``periods``). The same event
delivered twice (category, minute, position and reference) is refused.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from lagesbild_geo.ingest.columns import Problems, parse_distinct, report_distinct, strings
from lagesbild_geo.ingest.periods import check_day, parse_date, parse_time
from lagesbild_geo.ingest.positions import crs_per_row, parse_coordinates, to_sweref
from lagesbild_geo.ingest.read import RawTable
from lagesbild_geo.ingest.shapes import (
    RATIO_UNITS,
    Catalogue,
    EventDelivery,
    arrow_source_refs,
    indicator_lookup,
    require_columns,
)
from lagesbild_geo.settings import DeliveryLimits


def validate_events(
    raw: RawTable,
    columns: dict[str, str],
    problems: Problems,
    catalogue: Catalogue,
    today: date,
    default_crs: str,
    limits: DeliveryLimits,
    now: datetime | None = None,
) -> EventDelivery:
    """The checked events with week, weekday, hour and SWEREF 99 TM position; refuse with
    every problem found. ``default_crs`` is the file's CRS where a row names none; ``now``
    (Stockholm wall-clock time, on ``today``) refuses an event later today."""
    geographic = "lat" in columns or "lon" in columns
    if geographic and ("x" in columns or "y" in columns):
        problems.file("give the position either as x and y or as lat and lon, not both")
    xy = ("lat", "lon") if geographic else ("x", "y")
    require_columns(columns, ("indicator", "period", *xy), problems)
    if geographic and "crs" in columns:
        problems.file("lat and lon are always WGS84; remove the crs column", column=columns["crs"])
    problems.raise_if_any()
    frame = raw.frame
    n = len(frame)

    lookup = indicator_lookup(catalogue)

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

    def event_date(text: str) -> tuple[date, int | None]:
        parsed = parse_date(text)
        check_day(parsed[0], limits.earliest_date, today)
        return parsed

    date_codes, dates, date_errors = parse_distinct(frame[columns["period"]], event_date)
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
    if now is not None and now.date() == today:
        later = (day_of == today.toordinal() - epoch)[date_codes] & (
            minute_of > now.hour * 60 + now.minute
        )[time_codes]
        problems.rows(
            later & ~bad,
            columns.get("time", columns["period"]),
            "the time lies in the future (later today, Swedish time)",
        )

    x_name, y_name = (
        (columns["lon"], columns["lat"]) if geographic else (columns["x"], columns["y"])
    )
    x, _ = parse_coordinates(problems, frame[x_name], x_name)
    y, _ = parse_coordinates(problems, frame[y_name], y_name)
    crs_codes, sources = crs_per_row(problems, frame, columns, default_crs, geographic, n)
    problems.raise_if_any()

    east, north = to_sweref(problems, x, y, crs_codes, sources, geographic, x_name)
    problems.raise_if_any()

    refs = arrow_source_refs(frame, columns)
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
    rows["minute"] = minute  # minutes since 1970: the events' digest (store.content_digest)
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
