"""Read ISO weeks, dates and times of day as actors write them, within the accepted range.

Periods come in many spellings (2026-W07, "v7 2026", 2026-02-10, "2026-02-10T18:30" from
Excel); the parsers here accept them and otherwise raise ``ValueError`` with a reason an actor
can act on, never repeating the value. They are apart from the validation stage so that other
stages (and tests) can use the same rules for what a week is; what a week is in the calendar
(its Monday, week 53) is ``lagesbild_geo.weeks``.

What is accepted, exactly (digits are always the ASCII 0-9):

* **weeks**: ``2026-W07``, ``2026W07``, ``2026-W7``, ``2026 v7``, ``v7 2026``, ``vecka 7 2026``,
  ``week 7, 2026``; week 53 only in years that have one.
* **dates**: ``YYYY-MM-DD`` (also ``2026-2-1``), what Swedish Excel writes, optionally with a
  time after ``T`` or a space. ``11/2/2026`` is refused: day/month order cannot be told (it is
  11 February in Sweden, 2 November in the US); ``20260211`` is refused: it is also the first
  half of a personnummer.
* **times**: ``HH:MM``, ``H:MM``, ``HH.MM`` (the Swedish ``18.30``), ``HH:MM:SS`` with seconds
  00-59 and an optional fraction (``18:30:00.000`` from Excel). ``24:00``, ``7:5``, ``1830``
  and ``18:30:99`` are refused.
* **range**: from the earliest date (``LAGESBILD_EARLIEST_DATE``, default 2000-01-01) up to now
  in Swedish time (Europe/Stockholm, ``LOCAL_TIME``): a week that has not started, a date after
  today, an event later today are in the future.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from lagesbild_geo import weeks

LOCAL_TIME = ZoneInfo("Europe/Stockholm")
"""The time zone events are delivered in and "now" is judged in."""
_WEEK_YEAR_FIRST = re.compile(r"([0-9]{4})\s*-?\s*[WV]\.?\s*([0-9]{1,2})", re.IGNORECASE)
_WEEK_YEAR_LAST = re.compile(
    r"(?:[WV]|V\.|VECKA|WEEK)\s*([0-9]{1,2})\s*[-/, ]\s*([0-9]{4})", re.IGNORECASE
)
_CLOCK = r"([0-9]{1,2})[:.]([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]+)?)?"
_DATE = re.compile(rf"([0-9]{{4}})-([0-9]{{1,2}})-([0-9]{{1,2}})(?:[T ]({_CLOCK}))?")
_TIME = re.compile(_CLOCK)
_OTHER_DATE = re.compile(r"[0-9]{1,4}([./-])[0-9]{1,2}\1[0-9]{1,4}|[0-9]{1,2}/[0-9]{1,2}|[0-9]{8}")
"""Dates in other orders or without separators: refused with a hint to write YYYY-MM-DD."""


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
            raise ValueError("not an ISO week like 2026-W07")
        week, year = int(match[1]), int(match[2])
    if year < 1:
        raise ValueError("year 0 does not exist; write the week like 2026-W07")
    if not 1 <= week <= 53:
        raise ValueError("no such ISO week; weeks are numbered 1 to 53")
    if week == 53 and weeks.weeks_in_year(year) == 52:
        raise ValueError(f"{year} has only 52 ISO weeks; week 53 does not exist")
    return weeks.monday(year, week)


def parse_date(text: str) -> tuple[date, int | None]:
    """A date written YYYY-MM-DD, optionally with a time ("2026-02-10T18:30" from Excel).

    Returns the date and the minutes after midnight when a time was given, else ``None``.
    """
    match = _DATE.fullmatch(text.strip())
    if not match:
        if _OTHER_DATE.fullmatch(text.strip()):
            raise ValueError(
                "not a date like 2026-02-10: write year-month-day (day and month in another "
                "order cannot be told apart)"
            )
        raise ValueError("not a date like 2026-02-10")
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValueError("not a valid date (no such day in the calendar)") from None
    if match[4] is None:
        return day, None
    return day, parse_time(match[4])


def parse_time(text: str) -> int:
    """Minutes after midnight for HH:MM (also H:MM, HH.MM and HH:MM:SS, seconds 00-59)."""
    match = _TIME.fullmatch(text.strip())
    if not match:
        hint = "; put a colon between hours and minutes" if text.strip().isdecimal() else ""
        raise ValueError(f"not a time of day like 18:30{hint}")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour == 24:
        raise ValueError("not a time of day: 24:00 is 00:00 of the next day")
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("not a time of day like 18:30: hours run 0-23, minutes and seconds 0-59")
    return hour * 60 + minute


def parse_period(text: str) -> date:
    """Monday of the ISO week a period names: an ISO week, or a date (the week it falls in)."""
    if _DATE.fullmatch(text.strip()) or _OTHER_DATE.fullmatch(text.strip()):
        day, _ = parse_date(text)
        return weeks.week_start(day)
    if re.fullmatch(r"\s*[0-9]{4}-[0-9]{1,2}\s*", text):
        raise ValueError("ambiguous (a month or a week?); write the week like 2026-W07")
    return iso_week_start(text)


def local_now(now: datetime | None = None) -> datetime:
    """``now`` (the clock when ``None``) as a naive wall-clock time in Europe/Stockholm.

    A naive ``now`` is taken as Stockholm time already; an aware one is converted.
    """
    if now is None:
        return datetime.now(LOCAL_TIME).replace(tzinfo=None)
    if now.tzinfo is None:
        return now
    return now.astimezone(LOCAL_TIME).replace(tzinfo=None)


def check_day(day: date, earliest: date, today: date) -> None:
    """Refuse a date before ``earliest`` or after ``today`` (``ValueError`` with the reason)."""
    if day < earliest:
        raise ValueError(
            f"the date lies before {earliest.isoformat()}, the earliest accepted "
            "(LAGESBILD_EARLIEST_DATE); check the year"
        )
    if day > today:
        raise ValueError("the date lies in the future")


def period_parser(earliest: date, today: date) -> Callable[[str], date]:
    """``parse_period`` within the accepted range: a week that has not started lies in the
    future, as does a date after ``today``; a week or date before ``earliest`` is refused."""

    def parse(text: str) -> date:
        monday = parse_period(text)
        if _DATE.fullmatch(text.strip()):
            check_day(parse_date(text)[0], earliest, today)
        elif monday > today:
            raise ValueError("the week has not started yet; it lies in the future")
        elif monday + timedelta(days=6) < earliest:
            raise ValueError(
                f"the week lies before {earliest.isoformat()}, the earliest accepted "
                "(LAGESBILD_EARLIEST_DATE); check the year"
            )
        return monday

    return parse
