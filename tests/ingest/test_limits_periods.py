"""Limits of dates, ISO weeks and times: from the earliest date to now in Swedish time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from lagesbild_geo.ingest.periods import local_now, parse_date, parse_time
from lagesbild_geo.settings import DeliveryLimits
from tests.ingest.limit_tables import check, counted, events, located, only, refused

# --- dates, weeks and times ----------------------------------------------------------------


@pytest.mark.parametrize(
    "week", ["0001-W01", "1900-W01", "1999-W51", "v1 1900", "vecka 7 1026", "0001W1"]
)
def test_weeks_before_the_earliest_date_are_refused(week):
    row, column, reason = only(counted(("1101", week, "3")), hidden=week)
    assert (row, column) == (2, "vecka")
    assert "before 2000-01-01, the earliest accepted (LAGESBILD_EARLIEST_DATE)" in reason


@pytest.mark.parametrize("day", ["0001-01-01", "1900-01-01", "1899-12-30", "1999-12-31"])
def test_dates_before_the_earliest_date_are_refused_in_both_shapes(day):
    assert "earliest accepted" in only(counted(("1101", day, "3")))[2]
    assert "earliest accepted" in only(events((day, "12:00")))[2]


def test_the_earliest_date_is_a_setting():
    limits = DeliveryLimits(earliest_date=date(2020, 1, 1))
    assert "before 2020-01-01" in only(counted(("1101", "2019-W40", "3")), limits=limits)[2]
    assert check(counted(("1101", "2000-W01", "3"), ("1101", "1999-W52", "3")))
    assert check(events(("2000-01-01", "00:00")))


def test_week_zero_and_impossible_years_are_refused_cleanly():
    for week in ("0000-W01", "9999-W53", "2026-W99", "2026-W00"):
        row, column, _ = only(counted(("1101", week, "3")))
        assert (row, column) == (2, "vecka")


def test_a_week_that_has_not_started_lies_in_the_future():
    assert check(counted(("1101", "2026-W47", "3")))  # started on Monday the 16th
    reason = only(counted(("1101", "2026-W48", "3")))[2]
    assert reason == "the week has not started yet; it lies in the future"
    assert only(counted(("1101", "9999-W01", "3")))[2].endswith("lies in the future")


def test_a_date_after_today_is_in_the_future_even_in_a_started_week():
    monday = check(counted(("1101", "2026-11-22", "3"))).rows["week_start"].iloc[0]
    assert monday == pd.Timestamp("2026-11-16")
    wednesday = date(2026, 11, 18)
    assert only(counted(("1101", "2026-11-22", "3")), today=wednesday)[2] == (
        "the date lies in the future"
    )


def test_an_event_later_today_is_refused_in_swedish_time():
    now = datetime(2026, 11, 22, 18, 30)
    raw = events(("2026-11-22", "18:30"), ("2026-11-22", "18:31"), ("2026-11-21", "23:59"))
    assert located(refused(raw, now=now)) == [
        (3, "tid", "the time lies in the future (later today, Swedish time)")
    ]
    # without a time column the date cell's time is judged, and reported on it
    raw = events(("2026-11-22T18:45",), time_column=False)
    assert located(refused(raw, now=now))[0][:2] == (2, "datum")
    # today alone (as tests pass it) accepts the whole day
    assert check(events(("2026-11-22", "23:59")))


def test_now_is_judged_in_stockholm():
    # 23:30 UTC on 21 November is 00:30 on the 22nd in Stockholm (UTC+1 in winter)
    utc = datetime(2026, 11, 21, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert local_now(utc) == datetime(2026, 11, 22, 0, 30)
    summer = datetime(2026, 7, 1, 22, 30, tzinfo=ZoneInfo("UTC"))
    assert local_now(summer) == datetime(2026, 7, 2, 0, 30)
    assert local_now(datetime(2026, 1, 1, 12, 0)) == datetime(2026, 1, 1, 12, 0)
    assert abs(local_now() - datetime.now(ZoneInfo("Europe/Stockholm")).replace(tzinfo=None)) < (
        timedelta(seconds=5)
    )


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("00:00", 0),
        ("7:45", 465),
        ("07:45", 465),
        ("18.30", 1110),
        ("23:59:59", 1439),
        ("18:30:00", 1110),
        ("18:30:00.000", 1110),
        (" 18:30 ", 1110),
    ],
)
def test_time_forms_accepted(text, minutes):
    assert parse_time(text) == minutes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("18:30:99", "seconds 0-59"),
        ("18:30:60", "seconds 0-59"),
        ("24:00", "24:00 is 00:00 of the next day"),
        ("25:10", "hours run 0-23"),
        ("18:60", "minutes and seconds 0-59"),
        ("7:5", "not a time of day like 18:30"),
        ("1830", "put a colon between hours and minutes"),
        ("18h30", "not a time of day"),
        ("6:30 PM", "not a time of day"),
        ("\uff11\uff18:\uff13\uff10", "not a time of day"),  # full-width
        ("18:30+01:00", "not a time of day"),
        ("18:3O", "not a time of day"),  # letter O
        ("-1:00", "not a time of day"),
    ],
)
def test_time_spellings_refused(text, reason):
    with pytest.raises(ValueError, match="not a time of day") as caught:
        parse_time(text)
    assert reason in str(caught.value)


def test_a_time_is_checked_in_the_file_too():
    problems = refused(events(("2026-02-10", "18:30:99"), ("2026-02-10", "24:00")))
    assert [(p.row, p.column) for p in problems] == [(2, "tid"), (3, "tid")]
    problems = refused(events(("2026-02-10T18:30:99",), time_column=False))
    assert [(p.row, p.column) for p in problems] == [(2, "datum")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-02-30", "not a valid date"),
        ("2026-13-01", "not a valid date"),
        ("2026-00-10", "not a valid date"),
        ("0000-01-01", "not a valid date"),
        ("11/2/2026", "write year-month-day"),
        ("2/11/2026", "write year-month-day"),
        ("11.2.2026", "write year-month-day"),
        ("20260211", "write year-month-day"),  # also the first half of a personnummer
        ("\uff12\uff10\uff12\uff16-02-11", "not a date"),
        ("2026-02-11Z", "not a date"),
        ("den 11 februari", "not a date"),
    ],
)
def test_date_spellings_refused(text, reason):
    with pytest.raises(ValueError, match="not a") as caught:
        parse_date(text)
    assert reason in str(caught.value)
    assert text not in str(caught.value)


def test_date_forms_accepted_as_before():
    assert parse_date("2026-02-11") == (date(2026, 2, 11), None)
    assert parse_date("2026-2-1") == (date(2026, 2, 1), None)
    assert parse_date("2026-02-11 18:30") == (date(2026, 2, 11), 1110)
    assert parse_date("2026-02-11T18:30:15.5") == (date(2026, 2, 11), 1110)


@pytest.mark.parametrize(
    ("period", "reason"),
    [
        ("\uff12\uff10\uff12\uff16-W07", "not an ISO week"),  # full-width digits
        ("2026-W\u0660\u0667", "not an ISO week"),  # Arabic-Indic digits
        ("11/2/2026", "write year-month-day"),
        ("20260211", "write year-month-day"),
        ("2026-07", "ambiguous (a month or a week?)"),
    ],
)
def test_periods_in_other_digits_or_orders_are_refused(period, reason):
    row, column, message = only(counted(("1101", period, "3")), hidden=period)
    assert (row, column) == (2, "vecka") and reason in message
