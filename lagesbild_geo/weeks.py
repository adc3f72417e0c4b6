"""ISO weeks and the dates they stand for: the one place the conversion is written.

Every count is kept per ISO week (Monday to Sunday), stored as the Monday's date and shown as
``2026-W07``; the ingest, the store, the analyses, the CLI and the demo all convert between
the two. Written once here, they cannot disagree about week 53 or about the ISO year of the
days around New Year (2026-12-31 lies in 2026-W53, 2027-01-01 too). The SQL side writes the
same text with ``to_char(week_start, 'IYYY-"W"IW')``.

This module imports nothing else of the project, so every stage may use it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

#: A week written the ISO way, ``2026-W07`` or ``2026W07``: year and two-digit week.
ISO_WEEK = re.compile(r"(\d{4})-?W(\d{2})")


def weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always lies in the last ISO week of its year.

    >>> weeks_in_year(2026), weeks_in_year(2020)
    (53, 53)
    >>> weeks_in_year(2025)
    52
    """
    return date(year, 12, 28).isocalendar().week


def monday(year: int, week: int) -> date:
    """Monday of week ``week`` of ISO year ``year``; ``ValueError`` if the year has no such week.

    >>> monday(2026, 7)
    datetime.date(2026, 2, 9)
    >>> monday(2027, 53)
    Traceback (most recent call last):
    ...
    ValueError: Invalid week: 53
    """
    return date.fromisocalendar(year, week, 1)


def week_start(day: date) -> date:
    """Monday of the ISO week ``day`` lies in.

    >>> week_start(date(2026, 2, 15))
    datetime.date(2026, 2, 9)
    """
    return day - timedelta(days=day.weekday())


def iso_week(day: date) -> str:
    """``YYYY-Www`` of the ISO week ``day`` lies in (the ISO year, not the calendar year).

    >>> iso_week(date(2026, 2, 9)), iso_week(date(2027, 1, 1)), iso_week(date(2024, 12, 30))
    ('2026-W07', '2026-W53', '2025-W01')
    """
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(text: str) -> date:
    """Monday of the week ``text`` names: ``2026-W07`` (or ``2026W07``), or any ISO date in it.

    Raises ``ValueError`` for anything else, and for a week its year does not have.

    >>> monday_of("2026-W07"), monday_of("2026W07"), monday_of("2026-02-12")
    (datetime.date(2026, 2, 9), datetime.date(2026, 2, 9), datetime.date(2026, 2, 9))
    """
    match = ISO_WEEK.fullmatch(text)
    if match:
        return monday(int(match[1]), int(match[2]))
    return week_start(date.fromisoformat(text))
