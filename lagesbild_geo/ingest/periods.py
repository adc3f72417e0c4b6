"""Read ISO weeks, dates and times of day as actors write them, and parse columns per value.

Periods come in many spellings (2026-W07, "v7 2026", 2026-02-10, "2026-02-10T18:30" from
Excel); the parsers here accept them and otherwise raise ``ValueError`` with a reason an actor
can act on. They are apart from the validation stage so that other stages (and tests) can use
the same rules for what a week is. Whole counts ("3,0", "1 234") are read here as well.

Columns repeat themselves (a delivery has few distinct weeks, dates, categories or codes), so
the vectorised helpers parse each distinct value once and map the result back to the rows;
that is what keeps a million rows to about a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from lagesbild_geo.ingest.validate import Problems

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
            raise ValueError(f"'{short(text)}' is not an ISO week like 2026-W07")
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
        raise ValueError(f"'{short(text)}' is not a date like 2026-02-10")
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError(f"'{short(text)}' is not a valid date") from None
    if match[4] is None:
        return day, None
    return day, parse_time(f"{match[4]}:{match[5]}")


def parse_time(text: str) -> int:
    """Minutes after midnight for HH:MM (also H:MM, HH.MM and HH:MM:SS)."""
    match = _TIME.fullmatch(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"'{short(text)}' is not a time of day like 18:30")
    return int(match[1]) * 60 + int(match[2])


def parse_period(text: str) -> date:
    """Monday of the ISO week a period names: an ISO week, or a date (the week it falls in)."""
    if _DATE.fullmatch(text.strip()):
        day, _ = parse_date(text)
        return day.fromordinal(day.toordinal() - day.weekday())
    if re.fullmatch(r"\s*\d{4}-\d{1,2}\s*", text):
        raise ValueError(f"'{short(text)}' is ambiguous (month or week?); write 2026-W07")
    return iso_week_start(text)


def parse_count(text: str) -> int:
    """A non-negative whole number; "3,0" and "1 234" are fine, "2,5" and "-1" are not."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    match = re.fullmatch(r"([-+]?)(\d+)(?:\.(\d+))?", cleaned)
    if not match:
        raise ValueError(f"'{short(text)}' is not a number")
    if match[3] and int(match[3]) != 0:
        raise ValueError(f"'{short(text)}' is not a whole number; counts must be integers")
    if match[1] == "-" and int(match[2]) != 0:
        raise ValueError(f"negative count {short(text)}; counts cannot be below 0")
    return int(match[2])


def short(text: str, limit: int = 30) -> str:
    """``text`` cut to ``limit`` characters, so that a quoted cell keeps a message readable."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- vectorised helpers --------------------------------------------------------------------


def distinct(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the list of distinct (trimmed) values: parse once, map back."""
    cells = arrow_strings(column)
    encoded = pc.dictionary_encode(cells)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    values = [v.strip() for v in encoded.dictionary.to_pylist()]
    if len(set(values)) == len(values):
        return codes, values
    merged: dict[str, int] = {}
    remap = np.array([merged.setdefault(v, len(merged)) for v in values], dtype=np.int64)
    return remap[codes], list(merged)


def strings(values: list[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as a pandas string array, built in Arrow (10x faster than objects)."""
    return pd.array(pa.array(values, type=pa.string()).take(pa.array(codes)), dtype="str")


def arrow_strings(column: pd.Series) -> pa.Array:
    """A column as one Arrow string array, empty cells as ""."""
    cells = pa.array(column.astype("str"), type=pa.string(), from_pandas=True)
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    return pc.fill_null(cells, "") if cells.null_count else cells


def parse_distinct(
    column: pd.Series, parse: Callable[[str], object]
) -> tuple[np.ndarray, list[object], list[str | None]]:
    """Parse each distinct value once: (row codes, parsed values, error per value or None)."""
    codes, values = distinct(column)
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


def report_distinct(
    problems: Problems, codes: np.ndarray, errors: list[str | None], column: str
) -> np.ndarray:
    """Report rows whose value failed to parse; returns the mask of bad rows."""
    bad_values = np.array([e is not None for e in errors], dtype=bool)
    if not bad_values.any():
        return np.zeros(len(codes), dtype=bool)
    bad = bad_values[codes]
    problems.rows(bad, column, lambda i: errors[codes[i]])
    return bad


def parse_counts(
    problems: Problems, frame: pd.DataFrame, column: str, needed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whole non-negative numbers where ``needed``; returns values (0 where bad) and bad rows."""
    codes, values, errors = parse_distinct(frame[column], parse_count)
    failed = np.array([e is not None for e in errors], dtype=bool)[codes] & needed
    problems.rows(failed, column, lambda i: errors[codes[i]])
    numbers = np.array([v if v is not None else 0 for v in values], dtype=np.int64)[codes]
    return np.where(failed, 0, numbers), failed
