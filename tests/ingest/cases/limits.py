"""Limits and exactness: files in tests/data/limits, made by tests/data/limits/make.py.

Each file breaks one rule in its second data row (row 3): counts within LAGESBILD_MAX_COUNT and
written with 0-9, dates from LAGESBILD_EARLIEST_DATE to now, times of the clock, area codes
matched exactly, references short and never formula-like, no control characters anywhere.
The runner's ``today`` is 2026-11-20.
"""

from datetime import datetime

from lagesbild_geo.settings import DeliveryLimits
from tests.ingest.corpus import Case

MAX = "larger than 100 000 (LAGESBILD_MAX_COUNT)"
EARLIEST = "before 2000-01-01, the earliest accepted (LAGESBILD_EARLIEST_DATE)"
FORMULA = "starts like a spreadsheet formula"
CONTROL = "a control character or an invisible one"


def _case(file: str, reason: str, column: str, hidden: tuple[str, ...] = (), **kw) -> Case:
    return Case(f"limits/{file}", reason, row=3, column=column, hidden=hidden, **kw)


CASES = [
    _case("count_int64_max.csv", MAX, "antal", ("9223372036854775807",)),
    _case("count_above_int64.csv", MAX, "antal", ("18446744073709551616",)),
    _case("count_int64_max.xlsx", MAX, "Antal", ("9223372036854775808",)),
    _case("count_exponent.csv", "a number in exponent form", "antal"),
    _case("count_fullwidth_digits.csv", "digits other than 0-9", "antal", ("\uff11\uff12",)),
    _case("count_arabic_indic_digit.csv", "digits other than 0-9", "antal", ("\u0663",)),
    _case("count_minus_sign.csv", "negative count; counts cannot be below 0", "antal"),
    _case("count_plus_sign.csv", "a sign before the count", "antal", ("+3",)),
    _case("count_thousand_or_one.csv", "ambiguous: three digits after a comma", "antal"),
    _case(
        "count_above_setting.csv",
        "larger than 100 (LAGESBILD_MAX_COUNT)",
        "antal",
        ("150",),
        options={"limits": DeliveryLimits(max_count=100)},
    ),
    _case("share_denominator_huge.csv", MAX, "nämnare", ("9223372036854775808",)),
    _case("week_year_0001.csv", EARLIEST, "vecka", ("0001-W01",)),
    _case("date_year_1900.csv", EARLIEST, "datum", ("1900-01-01",)),
    _case("event_year_1900.csv", EARLIEST, "datum", ("1900-03-01",)),
    _case(
        "event_later_today.csv",
        "the time lies in the future (later today, Swedish time)",
        "tid",
        options={"now": datetime(2026, 11, 20, 12, 0)},
    ),
    _case("time_seconds_99.csv", "minutes and seconds 0-59", "tid", ("18:30:99",)),
    _case("time_24_00.csv", "24:00 is 00:00 of the next day", "tid"),
    _case("date_day_month_order.csv", "write year-month-day", "datum", ("11/2/2026",)),
    _case("area_free_text_suffix.csv", "not an area code", "område", ("GAMLA",)),
    _case("area_level2.csv", "a level-2 code; deliver level 3 or finer", "område"),
    _case("area_zero_width_space.csv", CONTROL, "område", ("\u200b",)),
    _case("ref_formula.csv", FORMULA, "referens", ("=1+1",)),
    _case("ref_dde_fullwidth_plus.csv", FORMULA, "referens", ("cmd|", "calc")),
    _case("ref_dde_after_quote.csv", FORMULA, "referens", ("SUM(", "cmd|")),
    _case("ref_one_megabyte.csv", "longer than 64 characters", "referens", ("AAAAAAAAAA",)),
    _case("nul_in_indicator.csv", CONTROL, "indikator", ("\x00",)),
    _case("nul_in_count.csv", CONTROL, "antal", ("\x00",)),
    _case("bidi_override_in_ref.csv", CONTROL, "referens", ("\u202e",)),
    _case("coordinate_dots_as_thousands.csv", "not a number; write coordinates", "y"),
]
