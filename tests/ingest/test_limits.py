"""Limits and exactness: every cell rule, and the spellings that try to get around it.

Each rule is tried with what it accepts and with what an attacker (or a careless export) would
try instead: other digits, signs, separators, Unicode look-alikes, invisible characters. Every
refusal names the row and column and never repeats the value.
"""

from __future__ import annotations

import pytest

from lagesbild_geo.ingest.cells import parse_count
from lagesbild_geo.settings import MAX_COUNT, DeliveryLimits, Settings
from tests.ingest.limit_tables import MOST, POINT, check, counted, frame, located, only, refused

# --- counts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("12", 12),
        ("007", 7),
        ("1234", 1234),
        ("1 234", 1234),
        ("1\u00a0234", 1234),  # no-break space: Swedish Excel's thousands separator
        ("1\u202f234", 1234),  # narrow no-break space: newer Windows locales
        ("1\u2009234", 1234),  # thin space: Swedish typography
        ("12 345", 12345),
        ("3,0", 3),  # Swedish Excel's decimal comma
        ("3.0", 3),
        ("3,00", 3),
        ("12345,000", 12345),  # five digits before: not a thousands group
        ("1 234,000", 1234),  # grouped by spaces, so the comma is a decimal one
        (" 7 ", 7),
        (str(MAX_COUNT), MAX_COUNT),
    ],
)
def test_count_forms_accepted(text, value):
    assert parse_count(text, MAX_COUNT) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (str(MAX_COUNT + 1), "larger than 100 000 (LAGESBILD_MAX_COUNT)"),
        (str(2**63 - 1), "larger than"),  # was stored, and published as 9.2e18
        (str(2**63), "larger than"),  # was an OverflowError traceback
        ("9" * 5000, "larger than"),  # beyond Python's int() digit limit: no ValueError text
        ("1e3", "exponent form"),
        ("1E3", "exponent form"),
        ("1,0e2", "exponent form"),
        ("0x10", "not a count"),
        ("\uff11\uff12", "digits other than 0-9"),  # full-width １２
        ("\u0663", "digits other than 0-9"),  # Arabic-Indic ٣
        ("\u0967\u0968", "digits other than 0-9"),  # Devanagari
        ("1\uff12", "digits other than 0-9"),  # mixed
        ("+3", "a sign before the count"),
        ("-3", "negative count"),
        ("\u22123", "negative count"),  # minus sign
        ("\u20133", "negative count"),  # en dash
        ("\uff0d3", "negative count"),  # full-width hyphen-minus
        ("-0", "negative count"),
        ("2,5", "not a whole number"),
        ("0.5", "not a whole number"),
        ("1,000", "ambiguous"),  # a thousand in English, one in Swedish
        ("1.000", "ambiguous"),
        ("100,000", "ambiguous"),
        ("1.234.567", "thousands separated by a comma or point"),
        ("1,234,567", "thousands separated by a comma or point"),
        ("12 34", "grouped wrongly"),
        ("1  234", "grouped wrongly"),
        ("1 2", "grouped wrongly"),  # two values in one cell
        ("3,", "not a count"),
        (",5", "not a count"),
        ("3 st", "not a count"),
        ("tre", "not a count"),
        ("inf", "not a count"),
        ("NaN", "not a count"),
        ("3/4", "not a count"),
        ("1_000", "not a count"),
    ],
)
def test_count_spellings_refused_with_the_reason(text, reason):
    with pytest.raises(ValueError) as caught:
        parse_count(text, MAX_COUNT)
    assert reason in str(caught.value)
    if len(text.strip()) > 3:
        assert text.strip() not in str(caught.value)


def test_the_maximum_is_a_setting():
    assert parse_count("150 000", 200_000) == 150_000
    limits = DeliveryLimits(max_count=10)
    row, column, reason = only(counted(("1101", "2026-W07", "11")), limits=limits)
    assert (row, column) == (2, "antal") and "larger than 10 " in reason
    assert Settings(max_count=7).delivery_limits() == DeliveryLimits(max_count=7)


def test_a_huge_count_in_a_file_is_a_problem_not_an_overflow():
    raw = counted(("1101", "2026-W07", str(2**64)), ("1102", "2026-W07", "9223372036854775807"))
    problems = refused(raw)
    assert [(p.row, p.column) for p in problems] == [(2, "antal"), (3, "antal")]
    assert all("LAGESBILD_MAX_COUNT" in p.reason for p in problems)


def test_shares_follow_the_same_rules():
    header = ["område", "vecka", "indikator", "täljare", "nämnare"]
    share = "ofullstandiga_betyg_ak9"
    raw = frame(
        header,
        ["1101", "2026-W07", share, "3", str(2**63)],
        ["1102", "2026-W07", share, "1e1", "20"],
        ["1201", "2026-W07", share, "\uff13", "20"],
        ["1101", "2026-W08", share, "1\u00a0000", "2 000"],
    )
    assert [(p.row, p.column, p.reason.split(";")[0]) for p in refused(raw)] == [
        (2, "nämnare", f"larger than 100 000 (LAGESBILD_MAX_COUNT), {MOST}"),
        (3, "täljare", "a number in exponent form (like 1e3)"),
        (4, "täljare", "digits other than 0-9 (full-width or another script)"),
    ]


# --- area codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("1101", "1101"),
        (" 1101 ", "1101"),
        ("\u00a01101\u00a0", "1101"),
        ("110104", "1101"),  # a finer NYKO code rolls up by its digits
        ("11010499", "1101"),
        ("0181c1010", "0181C1010"),  # case does not matter
        ("0181C101012", "0181C1010"),
    ],
)
def test_area_codes_matched_exactly_after_normalisation(given, code):
    assert check(counted((given, "2026-W07", "3"))).rows["area_code"].tolist() == [code]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("1101-GAMLA", "not an area code"),  # rolled up to 1101 before
        ("1101 GAMLA", "not an area code"),
        ("1101 04", "not an area code"),  # inner spaces are not removed
        ("1101.04", "not an area code"),
        ("1101/1102", "not an area code"),
        ("1101GAMLA", "unknown area code"),
        ("1101A", "unknown area code"),
        ("\uff11\uff11\uff10\uff11", "not an area code"),  # full-width digits
        ("\u0661\u0661\u0660\u0661", "not an area code"),  # Arabic-Indic digits
        ("1101" + "0" * 30, "at most 20 characters"),
        ("9901", "unknown area code"),
        ("110", "unknown area code"),
        ("11", "a level-2 code; deliver level 3 or finer"),
        ("12", "a level-2 code; deliver level 3 or finer"),
        ("1", "a level-1 code; deliver level 3 or finer"),
    ],
)
def test_area_codes_that_do_not_roll_up(given, reason):
    row, column, message = only(counted((given, "2026-W07", "3")), hidden=given)
    assert (row, column) == (2, "område")
    assert reason in message


def test_two_finer_codes_under_one_area_are_one_cell_twice():
    raw = counted(
        ("1101", "2026-W07", "4"), ("110104", "2026-W07", "3"), ("110104", "2026-W08", "1")
    )
    assert located(refused(raw)) == [
        (
            3,
            None,
            "duplicate of row 2: both codes roll up to area 1101, week starting 2026-02-09, "
            "indicator skadegorelse; deliver one count per level-3 area",
        )
    ]


def test_a_zero_width_space_does_not_hide_an_area_code():
    problems = refused(counted(("1101\u200b", "2026-W07", "3")))
    assert {(p.row, p.column) for p in problems} == {(2, "område")}
    assert any("invisible" in p.reason for p in problems)


# --- references ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref", ["AR-2026-000123", "5000-K123456-26", "K-1", "a=b", "x" * 64, "Ärende 12"]
)
def test_references_accepted(ref):
    assert check(counted(("1101", "2026-W07", "3", ref), ref=True)).rows["source_ref"].tolist() == [
        ref
    ]


@pytest.mark.parametrize(
    "ref",
    [
        '=HYPERLINK("http://x";"y")',
        "=1+1",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        " =1+1",  # after spaces
        "\u00a0=1+1",  # after a no-break space
        "\u3000=1+1",  # after an ideographic space
        "'=1+1",  # after Excel's text marker
        '"=1+1',  # after a quote
        "\"'=1+1",
        "\uff1d1+1",  # full-width ＝
        "\uff0bcmd|' /C calc'!A0",  # full-width ＋
        "\uff0d2+3",  # full-width －
        "\uff20SUM(1)",  # full-width ＠
        "\ufe661+1",  # small ﹦
        "\u22122+3",  # minus sign
    ],
)
def test_formula_and_dde_references_are_refused(ref):
    row, column, reason = only(counted(("1101", "2026-W07", "3", ref), ref=True), hidden=ref)
    assert (row, column) == (2, "referens")
    assert "starts like a spreadsheet formula" in reason


@pytest.mark.parametrize("ref", ["\t=1+1", "\r=1+1"])
def test_tab_and_carriage_return_before_a_formula(ref):
    # the tab or CR is trimmed as space around the cell; what is left starts with =
    problems = refused(counted(("1101", "2026-W07", "3", ref), ref=True))
    assert any("spreadsheet formula" in p.reason for p in problems)


def test_long_references_are_refused_without_being_echoed():
    megabyte = "A" * 1_000_000
    raw = counted(
        ("1101", "2026-W07", "3", "x" * 65), ("1102", "2026-W07", "3", megabyte), ref=True
    )
    problems = refused(raw)
    assert [(p.row, p.column) for p in problems] == [(2, "referens"), (3, "referens")]
    assert all("longer than 64 characters" in p.reason for p in problems)
    assert all(len(str(p)) < 300 for p in problems)
    limits = DeliveryLimits(max_reference_length=100)
    assert check(counted(("1101", "2026-W07", "3", "x" * 65), ref=True), limits=limits)


# --- control characters in every column ----------------------------------------------------


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("indikator", "skadegorelse\x00"),  # was silently dropped by the name folding
        ("indikator", "skade\x00gorelse"),
        ("område", "1101\x00"),
        ("vecka", "2026-W07\x00"),
        ("antal", "3\x00"),
        ("referens", "K-1\x00"),
        ("referens", "K-1\x1fK-2"),
        ("referens", "K-1\x7f"),
        ("referens", "K\u0085-1"),  # C1 next line
        ("referens", "K\u200b-1"),  # zero-width space
        ("referens", "K\u202e1-"),  # right-to-left override
        ("referens", "K\ufeff-1"),  # BOM inside
        ("referens", "K\u00ad-1"),  # soft hyphen
        ("referens", "K\u2028-1"),  # line separator
        ("indikator", "skadegorelse\U000e0041"),  # a tag character
    ],
)
def test_control_and_invisible_characters_refused_in_every_column(column, cell):
    values = {"område": "1101", "vecka": "2026-W07", "indikator": "skadegorelse", "antal": "3"}
    values |= {"referens": "K-1", column: cell}
    raw = frame(list(values), list(values.values()))
    problems = refused(raw)
    control = [p for p in problems if "control character or an invisible one" in p.reason]
    assert [(p.row, p.column) for p in control] == [(2, column)]
    assert all(cell not in str(p) for p in problems)


def test_control_characters_in_event_columns():
    raw = frame(
        ["kategori", "datum", "tid", "x", "y"],
        ["skadegorelse", "2026-02-10", "18:30\x00", *POINT],
        ["skadegorelse", "2026-02-10", "18:30", "623007.2\x00", POINT[1]],
    )
    control = [p for p in refused(raw) if "invisible" in p.reason]
    assert [(p.row, p.column) for p in control] == [(2, "tid"), (3, "x")]


def test_spaces_around_a_cell_are_only_trimmed():
    raw = frame(
        ["område", "vecka", "indikator", "antal", "referens"],
        ["\t1101 ", " 2026-W07\t", "skadegorelse ", " 3 ", " K-1\t"],
    )
    assert check(raw).rows["source_ref"].tolist() == ["K-1"]


# --- coordinates ---------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [" ", "\u00a0", "\u202f", "\u2009"])
def test_coordinates_take_the_thousands_separators_counts_take(sep):
    raw = frame(
        ["kategori", "datum", "tid", "x", "y"],
        ["skadegorelse", "2026-02-10", "18:30", f"623{sep}007,2", f"6{sep}580{sep}818"],
        ["skadegorelse", "2026-02-10", "18:31", f"623{sep}007.2", f"6{sep}580{sep}818,0"],
    )
    assert check(raw).rows[["x", "y"]].to_numpy().tolist() == [[623007.2, 6580818.0]] * 2


def test_coordinates_with_other_separators_are_refused():
    for x in ("623.007,2", "6 23007", "623,007,2", "\uff16\uff12\uff13007", "623007,2e0"):
        raw = frame(
            ["kategori", "datum", "tid", "x", "y"],
            ["skadegorelse", "2026-02-10", "18:30", x, POINT[1]],
        )
        assert located(refused(raw)) == [
            (2, "x", "not a number; write coordinates like 6580123.5 or 6580123,5")
        ], x


def test_lat_lon_take_the_same_separators():
    raw = frame(
        ["kategori", "datum", "tid", "lat", "lon"],
        ["skadegorelse", "2026-02-10", "18:30", "59,348153", "17.163152"],
    )
    assert check(raw).rows["x"].round(0).tolist() == [623007.0]
