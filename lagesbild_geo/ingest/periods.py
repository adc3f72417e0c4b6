"""Read ISO weeks, dates and times of day as actors write them.

Periods come in many spellings (2026-W07, "v7 2026", 2026-02-10, "2026-02-10T18:30" from
Excel); the parsers here accept them and otherwise raise ``ValueError`` with a reason an actor
can act on. They are apart from the validation stage so that other stages (and tests) can use
the same rules for what a week is; what a week is in the calendar (its Monday, week 53) is
``lagesbild_geo.weeks``.
"""

from __future__ import annotations

import re
from datetime import date

from lagesbild_geo import weeks
from lagesbild_geo.ingest.columns import short

_WEEK_YEAR_FIRST = re.compile(r"(\d{4})\s*-?\s*[WV]\.?\s*(\d{1,2})", re.IGNORECASE)
_WEEK_YEAR_LAST = re.compile(r"(?:[WV]|V\.|VECKA|WEEK)\s*(\d{1,2})\s*[-/, ]\s*(\d{4})", re.I)
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2})[:.](\d{2})(?::\d{2}(?:\.\d+)?)?)?")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?")


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
    if week == 53 and weeks.weeks_in_year(year) == 52:
        raise ValueError(f"{year} has only 52 ISO weeks; week 53 does not exist")
    return weeks.monday(year, week)


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
        return weeks.week_start(day)
    if re.fullmatch(r"\s*\d{4}-\d{1,2}\s*", text):
        raise ValueError(f"'{short(text)}' is ambiguous (month or week?); write 2026-W07")
    return iso_week_start(text)
