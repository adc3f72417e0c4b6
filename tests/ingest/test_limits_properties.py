"""Property tests of the cell parsers: any text is a correct value within the limits, or a clean
refusal with a reason that does not repeat it; never another exception.

The strategies mix arbitrary Unicode with text shaped like what they parse (digits, separators,
signs, exponents, look-alike digits), where the edge cases live.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lagesbild_geo.errors import DeliveryRefusedError
from lagesbild_geo.ingest.cells import THOUSANDS_SEPARATORS, parse_count
from lagesbild_geo.ingest.periods import parse_date, parse_time, period_parser
from lagesbild_geo.ingest.read import RawTable
from lagesbild_geo.ingest.shapes import AggregatedDelivery
from tests.ingest.limit_tables import AREAS, COARSE, TODAY, check

MAX = 100_000
EARLIEST = date(2000, 1, 1)
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMBERISH = st.text(
    alphabet=st.sampled_from(
        list("0123456789 ,.-+eE" + THOUSANDS_SEPARATORS + "\u2212\uff11\u0663x")
    ),
    max_size=30,
)
PERIODISH = st.text(alphabet=st.sampled_from(list("0123456789-Ww v:T./\uff12")), max_size=20)
ANY_TEXT = st.text(max_size=40)


def _quiet(reason: str, text: str) -> None:
    """A refusal never repeats a value long enough to mean something."""
    if len(text.strip()) >= 10:
        assert text.strip() not in reason


@PROPERTY
@given(st.one_of(ANY_TEXT, NUMBERISH, st.integers(-(2**70), 2**70).map(str)))
@example("9" * 5000)
@example(str(2**63))
def test_a_count_is_within_limits_or_a_clean_refusal(text):
    try:
        value = parse_count(text, MAX)
    except ValueError as exc:
        _quiet(str(exc), text)
        return
    assert isinstance(value, int) and 0 <= value <= MAX
    digits = "".join(ch for ch in text.split(",")[0].split(".")[0] if "0" <= ch <= "9")
    assert value == int(digits)


@PROPERTY
@given(
    st.integers(0, MAX),
    st.sampled_from(["", *THOUSANDS_SEPARATORS]),
    st.sampled_from(["", ",0", ".0", ",00"]),
)
def test_every_count_written_as_accepted_reads_back(value, separator, fraction):
    grouped = f"{value:,}".replace(",", separator) if separator else str(value)
    assert parse_count(f" {grouped}{fraction} ", MAX) == value


@PROPERTY
@given(st.one_of(ANY_TEXT, PERIODISH))
@example("0001-W01")
@example("9999-W53")
@example("0000-01-01")
def test_a_period_is_within_limits_or_a_clean_refusal(text):
    try:
        monday = period_parser(EARLIEST, TODAY)(text)
    except ValueError as exc:
        _quiet(str(exc), text)
        return
    assert monday.weekday() == 0
    assert EARLIEST - timedelta(days=6) <= monday <= TODAY


@PROPERTY
@given(st.one_of(ANY_TEXT, PERIODISH))
def test_a_date_or_time_is_valid_or_a_clean_refusal(text):
    for parse in (parse_date, parse_time):
        try:
            parsed = parse(text)
        except ValueError as exc:
            _quiet(str(exc), text)
            continue
        minutes = parsed if isinstance(parsed, int) else parsed[1]
        assert minutes is None or 0 <= minutes < 24 * 60


@PROPERTY
@given(
    area=st.one_of(st.sampled_from([*AREAS, "110104", "11", "1101-GAMLA"]), ANY_TEXT),
    week=st.one_of(st.sampled_from(["2026-W07", "0001-W01", "2026-11-22"]), PERIODISH),
    count=st.one_of(NUMBERISH, ANY_TEXT),
    ref=ANY_TEXT,
)
def test_a_counted_row_is_stored_within_limits_or_refused_cleanly(area, week, count, ref):
    frame = pd.DataFrame(
        [[area, week, "skadegorelse", count, ref]],
        columns=["område", "vecka", "indikator", "antal", "referens"],
        dtype="str",
    )
    raw = RawTable(file="t.csv", frame=frame, rows=np.array([2]))
    try:
        result = check(raw)
    except DeliveryRefusedError as exc:
        assert all(p.row == 2 and p.column for p in exc.problems), exc.problems
        for value in (area, week, count, ref):
            for p in exc.problems:
                _quiet(p.reason, value)
        return
    assert isinstance(result, AggregatedDelivery)
    (row,) = result.rows.itertuples()
    assert row.area_code in AREAS and row.area_code not in COARSE
    assert 0 <= row.numerator <= MAX
    assert EARLIEST - timedelta(days=6) <= row.week_start.date() <= TODAY
    assert row.source_ref is None or len(row.source_ref) <= 64


COORDINATE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["623007.2", "623 007,2", "6\u00a0580\u00a0818", "6580818,0"]),
    NUMBERISH,
)


@PROPERTY
@given(
    day=st.one_of(st.sampled_from(["2026-11-22", "1900-01-01", "2026-11-23"]), PERIODISH),
    time=st.one_of(st.sampled_from(["18:30", "24:00", "18:30:99"]), PERIODISH),
    x=COORDINATE,
    y=COORDINATE,
)
def test_an_event_is_within_limits_or_refused_cleanly(day, time, x, y):
    frame = pd.DataFrame(
        [["skadegorelse", day, time, x, y]], columns=["kategori", "datum", "tid", "x", "y"]
    ).astype("str")
    raw = RawTable(file="t.csv", frame=frame, rows=np.array([2]))
    try:
        result = check(raw)
    except DeliveryRefusedError as exc:
        assert all(p.row in (2, None) for p in exc.problems), exc.problems
        return
    (row,) = result.rows.itertuples()
    assert EARLIEST <= row.hour_start.date() <= TODAY
    assert 0 <= row.hour < 24 and np.isfinite(row.x) and np.isfinite(row.y)
