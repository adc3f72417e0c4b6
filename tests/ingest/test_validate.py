"""Validation: columns, periods, codes, counts, shares, positions; every problem located."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.ingest.periods import iso_week_start, parse_date, parse_period, parse_time
from lagesbild_geo.ingest.positions import resolve_crs
from lagesbild_geo.ingest.read import RawTable, read_table
from lagesbild_geo.ingest.shapes import AggregatedDelivery, Catalogue, EventDelivery
from lagesbild_geo.ingest.validate import validate
from lagesbild_geo.weeks import weeks_in_year

DATA = Path(__file__).parents[1] / "data"
GOOD = DATA / "good"
TODAY = date(2026, 11, 22)
CATALOGUE = Catalogue(
    units={
        "skadegorelse": "count",
        "ordningsstorning": "count",
        "anlagd_brand": "count",
        "ofullstandiga_betyg_ak9": "share",
        "unga_misstankta_boende": "rate_per_1000",
    }
)
AREAS = ["1101", "1102", "1103", "1104", "1201", "1202", "2101", "2201"]


def check(raw: RawTable, **kwargs) -> AggregatedDelivery | EventDelivery:
    options = {"catalogue": CATALOGUE, "area_codes": AREAS, "today": TODAY} | kwargs
    return validate(raw, **options)


def refused(raw: RawTable, **kwargs) -> list[Problem]:
    with pytest.raises(DeliveryRefusedError) as caught:
        check(raw, **kwargs)
    return caught.value.problems


def table(text: str, name: str = "t.csv") -> RawTable:
    """A RawTable from semicolon-separated lines, as read_table would give it."""
    header, *lines = [line.split(";") for line in text.strip().splitlines()]
    frame = pd.DataFrame(lines, columns=header, dtype="str")
    return RawTable(file=name, frame=frame, rows=np.arange(2, len(lines) + 2))


def located(problems: list[Problem]) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.reason) for p in problems]


def weeks(*days: str) -> np.ndarray:
    return np.array(days, dtype="datetime64[s]")


# --- periods -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-W07",
        "2026W07",
        "2026-W7",
        "2026-w07",
        "2026 v7",
        "2026v07",
        "v7 2026",
        "V07-2026",
        "vecka 7 2026",
        "week 7, 2026",
        " 2026-W07 ",
    ],
)
def test_iso_week_notations(text):
    assert iso_week_start(text) == date(2026, 2, 9)


def test_weeks_in_year():
    assert [weeks_in_year(y) for y in (2020, 2021, 2024, 2025, 2026, 2027)] == [
        53,
        52,
        52,
        52,
        53,
        52,
    ]


def test_week_53_exists_only_in_53_week_years():
    assert iso_week_start("2020-W53") == date(2020, 12, 28)
    # 1 January 2026 is a Thursday, so 2026 has 53 ISO weeks
    assert iso_week_start("2026-W53") == date(2026, 12, 28)
    for year in (2025, 2027):
        with pytest.raises(ValueError, match=f"{year} has only 52 ISO weeks"):
            iso_week_start(f"{year}-W53")


@pytest.mark.parametrize("text", ["2026-W00", "2026-W54", "v7", "2026", "W07-26", "2026-W7x"])
def test_impossible_weeks(text):
    with pytest.raises(ValueError):
        iso_week_start(text)


@pytest.mark.parametrize(
    ("day", "monday", "iso_week"),
    [
        ("2027-01-01", date(2026, 12, 28), (2026, 53)),  # Friday in the last week of 2026
        ("2027-01-04", date(2027, 1, 4), (2027, 1)),
        ("2026-01-01", date(2025, 12, 29), (2026, 1)),  # Thursday: week 1 of 2026
        ("2024-12-30", date(2024, 12, 30), (2025, 1)),  # Monday in week 1 of 2025
        ("2021-01-03", date(2020, 12, 28), (2020, 53)),  # Sunday in week 53 of 2020
        ("2026-02-10", date(2026, 2, 9), (2026, 7)),
    ],
)
def test_date_maps_to_monday_of_its_iso_week(day, monday, iso_week):
    assert parse_period(day) == monday
    assert tuple(date.fromisoformat(day).isocalendar())[:2] == iso_week
    assert parse_period(f"{iso_week[0]}-W{iso_week[1]:02d}") == monday


def test_period_month_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        parse_period("2026-07")


def test_dates_and_times():
    assert parse_date("2026-02-10") == (date(2026, 2, 10), None)
    assert parse_date("2026-02-10T18:30") == (date(2026, 2, 10), 18 * 60 + 30)
    assert parse_date("2026-02-10 07:05:00") == (date(2026, 2, 10), 7 * 60 + 5)
    assert [parse_time(t) for t in ("00:00", "7:45", "18.30", "23:59:59")] == [0, 465, 1110, 1439]
    for bad in ("24:00", "12:60", "1830", "kväll"):
        with pytest.raises(ValueError, match="not a time of day"):
            parse_time(bad)
    for bad in ("2026-02-30", "2026-13-01"):
        with pytest.raises(ValueError, match="not a valid date"):
            parse_date(bad)
    with pytest.raises(ValueError, match="not a date"):
        parse_date("10/2 2026")


@pytest.mark.parametrize(
    ("text", "epsg"),
    [
        ("EPSG:3006", "EPSG:3006"),
        ("3006", "EPSG:3006"),
        ("SWEREF 99 TM", "EPSG:3006"),
        ("sweref99tm", "EPSG:3006"),
        ("WGS84", "EPSG:4326"),
        ("epsg:3021", "EPSG:3021"),
        ("urn:ogc:def:crs:EPSG::3011", "EPSG:3011"),
    ],
)
def test_resolve_crs(text, epsg):
    assert resolve_crs(text) == epsg


def test_unknown_crs():
    with pytest.raises(ValueError, match="unknown CRS 'EPSG:99999'"):
        resolve_crs("EPSG:99999")


# --- good files ----------------------------------------------------------------------------


def aggregated(rows, areas, mondays, indicators, numerators, denominators, refs) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": np.array(rows, dtype=np.int64),
            "area_code": pd.array(areas, dtype="str"),
            "week_start": weeks(*mondays),
            "indicator": pd.array(indicators, dtype="str"),
            "numerator": np.array(numerators, dtype=np.int64),
            "denominator": pd.array(denominators, dtype="Int64"),
            "source_ref": pd.Series(refs, dtype=object),
        }
    )


def test_good_utf8_aggregated():
    delivery = check(read_table(GOOD / "aggregated_utf8.csv"))
    assert isinstance(delivery, AggregatedDelivery)
    assert delivery.file == "aggregated_utf8.csv"
    expected = aggregated(
        [2, 3, 4, 5],
        ["1101", "1101", "1102", "2101"],  # 110104 rolled up to 1101
        ["2026-02-09", "2026-02-16", "2026-02-09", "2026-02-09"],
        ["skadegorelse", "skadegorelse", "ordningsstorning", "anlagd_brand"],
        [3, 1, 0, 12],
        [None] * 4,
        ["AR-2026-000123", "AR-2026-000124", None, None],
    )
    pd.testing.assert_frame_equal(delivery.rows, expected)


def test_good_cp1252_semicolon_with_decimal_commas():
    delivery = check(read_table(GOOD / "aggregated_cp1252_semicolon.csv"))
    expected = aggregated(
        [2, 3, 4],
        ["1101", "1201", "1201"],
        ["2026-02-09", "2026-02-09", "2026-02-16"],
        ["skadegorelse", "ordningsstorning", "anlagd_brand"],
        [3, 12, 2],
        [None] * 3,
        [None] * 3,
    )
    pd.testing.assert_frame_equal(delivery.rows, expected)


def test_good_excel():
    delivery = check(read_table(GOOD / "aggregated.xlsx"))
    expected = aggregated(
        [2, 3, 5],
        ["1101", "1104", "2201"],
        ["2026-02-09", "2026-02-16", "2026-02-16"],
        ["skadegorelse", "ordningsstorning", "skadegorelse"],
        [4, 2, 1],
        [None] * 3,
        ["BB-7781", None, "BB-7790"],
    )
    pd.testing.assert_frame_equal(delivery.rows, expected)


def test_good_shares():
    delivery = check(read_table(GOOD / "shares.csv"))
    expected = aggregated(
        [2, 3, 4],
        ["1101", "1102", "2101"],
        ["2026-02-09"] * 3,
        ["ofullstandiga_betyg_ak9"] * 3,
        [12, 0, 28],
        [40, 35, 28],
        [None] * 3,
    )
    pd.testing.assert_frame_equal(delivery.rows, expected)


def test_good_events_in_sweref():
    delivery = check(read_table(GOOD / "events_sweref.csv"))
    assert isinstance(delivery, EventDelivery)
    expected = pd.DataFrame(
        {
            "row": np.array([2, 3, 4, 5], dtype=np.int64),
            "indicator": pd.array(
                ["skadegorelse", "anlagd_brand", "ordningsstorning", "skadegorelse"], dtype="str"
            ),
            "week_start": weeks("2026-02-09", "2025-12-29", "2025-12-29", "2026-02-09"),
            "weekday": np.array([1, 3, 2, 6], dtype=np.int8),
            "hour": np.array([18, 0, 23, 7], dtype=np.int8),
            "hour_start": weeks(
                "2026-02-10T18:00", "2026-01-01T00:00", "2025-12-31T23:00", "2026-02-15T07:00"
            ),
            "x": [623007.2, 627391.2, 620325.6, 623688.2],
            "y": [6580818.0, 6580887.3, 6581603.1, 6585290.2],
            "source_ref": pd.Series(["K123456-26", "K123457-26", None, None], dtype=object),
            "minute": (
                weeks(
                    "2026-02-10T18:30", "2026-01-01T00:05", "2025-12-31T23:59", "2026-02-15T07:45"
                )
                .astype("datetime64[m]")
                .astype(np.int64)
            ),
        }
    )
    pd.testing.assert_frame_equal(delivery.rows, expected)


def test_good_events_in_wgs84_are_transformed_to_sweref():
    delivery = check(read_table(GOOD / "events_latlon.csv"))
    rows = delivery.rows
    assert rows["row"].tolist() == [2, 3]
    assert rows["indicator"].tolist() == ["skadegorelse", "ordningsstorning"]
    assert rows["week_start"].tolist() == [pd.Timestamp("2026-03-02")] * 2
    assert rows["weekday"].tolist() == [0, 6]
    assert rows["hour_start"].tolist() == [
        pd.Timestamp("2026-03-02 21:00"),
        pd.Timestamp("2026-03-08 02:00"),
    ]
    # the same demo points as in events_sweref (1102, 1103), to well within a metre
    assert_allclose(rows["x"], [621710.3, 620597.1], atol=0.2)
    assert_allclose(rows["y"], [6581296.5, 6580681.1], atol=0.2)
    assert rows["source_ref"].tolist() == ["AR-2026-000200", "AR-2026-000201"]


def test_points_far_outside_the_municipality_pass_validation():
    """Kiruna lies in Sweden; refusing it is the locate stage's job, not this one's."""
    delivery = check(read_table(DATA / "outside_municipality_kiruna.csv"))
    assert delivery.rows[["x", "y"]].values.tolist() == [[719583.1, 7536070.0]]


# --- broken files --------------------------------------------------------------------------

BROKEN = {
    "missing_columns.csv": [
        (None, None, "missing column 'period'; accepted names: period, vecka, week, datum, date")
    ],
    "unknown_column.csv": [(None, "status", "unknown column;")],
    "mixed_shapes.csv": [
        (
            None,
            None,
            "mixed shapes: the file has both an area column ('område') and position "
            "columns ('x', 'y')",
        )
    ],
    "unknown_area.csv": [
        (3, "område", "unknown area code: neither a NYKO level-3 code"),
        (4, "område", "unknown area code: neither a NYKO level-3 code"),
    ],
    "unknown_indicator.csv": [(2, "indikator", "unknown indicator; did you mean: skadegorelse")],
    "negative_count.csv": [(3, "värde", "negative count; counts cannot be below 0")],
    "decimal_count.csv": [(2, "värde", "not a whole number; counts must be integers")],
    "future_period.csv": [(3, "vecka", "the week has not started yet; it lies in the future")],
    "week53_52_week_year.csv": [(2, "vecka", "2025 has only 52 ISO weeks; week 53 does not exist")],
    "duplicate_rows.csv": [
        (
            4,
            None,
            "duplicate of row 2: the same area 1101, week starting 2026-02-09 and "
            "indicator skadegorelse appear twice",
        )
    ],
    "share_numerator_above_denominator.csv": [
        (3, "täljare", "numerator is larger than denominator; a share cannot exceed 1")
    ],
    "wrong_crs_degrees.csv": [
        (
            2,
            "x",
            "x/y look like WGS84 degrees, not EPSG:3006 metres; use lat/lon columns or "
            "crs EPSG:4326",
        )
    ],
    "swapped_xy.csv": [(2, "x", "x and y look swapped (x is the easting, y the northing)")],
    "unknown_crs.csv": [(2, "crs", "unknown CRS 'EPSG:99999'; write it like EPSG:3006")],
    "invalid_date_time.csv": [
        (2, "datum", "not a valid date"),
        (3, "tid", "not a time of day like 18:30"),
    ],
    "duplicate_events.csv": [(4, None, "duplicate of row 2: the same category, date, time")],
    "free_text_column.csv": [(None, "kommentar", "unknown column;")],
    "name_column.csv": [(None, "Namn", "unknown column;")],
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file(name):
    problems = refused(read_table(DATA / name))
    assert all(p.file == name for p in problems)
    found = located(problems)
    assert len(found) == len(BROKEN[name]), found
    for (row, column, reason), (want_row, want_column, want_reason) in zip(
        found, BROKEN[name], strict=True
    ):
        assert (row, column) == (want_row, want_column)
        assert reason.startswith(want_reason), reason


# --- more rules ----------------------------------------------------------------------------


def test_column_names_ignore_case_and_accents():
    raw = table("OMRADE;Vecka;INDIKATOR;Värde;Käll-referens\n1101;2026-W07;SKADEGÖRELSE;3;AR-1")
    rows = check(raw).rows
    assert rows[["area_code", "indicator", "numerator", "source_ref"]].values.tolist() == [
        ["1101", "skadegorelse", 3, "AR-1"]
    ]


def test_two_columns_for_the_same_thing():
    problems = refused(table("område;vecka;datum;indikator;värde\n1101;2026-W07;2026-02-10;x;1"))
    assert located(problems)[0] == (
        None,
        "datum",
        "columns 'vecka' and 'datum' mean the same; keep one",
    )
    # The doubled column does not stop the checks of the others (issue 11: all at once).
    assert [(p.row, p.column) for p in problems[1:]] == [(2, "indikator")]


def test_rolls_up_to_the_longest_level3_prefix():
    raw = table(
        "område;vecka;indikator;värde\n0181C1010;2026-W07;skadegorelse;1\n0181C2;2026-W07;"
        "skadegorelse;2\n0181C10107;2026-W08;skadegorelse;3"
    )
    rows = check(raw, area_codes=["0181C", "0181C1010"]).rows
    assert rows["area_code"].tolist() == ["0181C1010", "0181C", "0181C1010"]


def test_counts_and_shares_in_one_file():
    raw = table(
        "område;vecka;indikator;värde;täljare;nämnare\n"
        "1101;2026-W07;skadegorelse;1 234;;\n"
        "1101;2026-W07;ofullstandiga_betyg_ak9;;5;20\n"
        "1102;2026-W07;unga_misstankta_boende;7;;"
    )
    rows = check(raw).rows
    assert rows["numerator"].tolist() == [1234, 5, 7]
    assert rows["denominator"].tolist() == [pd.NA, 20, pd.NA]


def test_share_without_its_columns_and_with_zero_denominator():
    problems = refused(
        table("område;vecka;indikator;värde\n1101;2026-W07;ofullstandiga_betyg_ak9;4")
    )
    assert [p.reason.split(";")[0] for p in problems] == [
        "missing column 'numerator'",
        "missing column 'denominator'",
    ]
    problems = refused(
        table("område;vecka;indikator;täljare;nämnare\n1101;2026-W07;ofullstandiga_betyg_ak9;0;0")
    )
    assert located(problems) == [(2, "nämnare", "denominator is 0; a share needs one > 0")]


def test_all_problems_are_collected_not_just_the_first():
    raw = table(
        "område;vecka;indikator;värde\n"
        "1101;2026-W07;skadegorelse;3\n"
        "9999;2026-W07;skadegorelse;1\n"
        "1102;2027-W53;skadegorelse;1\n"
        "1102;2026-W07;brand;1\n"
        "1103;2026-W07;skadegorelse;-1\n"
        "1104;;skadegorelse;x"
    )
    found = [(row, column) for row, column, _ in located(refused(raw))]
    assert found == [
        (3, "område"),
        (4, "vecka"),
        (5, "indikator"),
        (6, "värde"),
        (7, "vecka"),
        (7, "värde"),
    ]


def test_many_bad_rows_are_listed_up_to_a_cap_then_counted():
    lines = "\n".join(f"1101;2026-W{w:02d};skadegorelse;-1" for w in range(1, 31))
    problems = refused(table("område;vecka;indikator;värde\n" + lines))
    assert len(problems) == 21
    assert [p.row for p in problems[:20]] == list(range(2, 22))
    assert (problems[20].row, problems[20].column) == (None, "värde")
    assert problems[20].reason.startswith("10 more rows like this: negative count")


def test_unknown_indicator_lists_the_nearest_known_ids():
    problems = refused(table("område;vecka;indikator;värde\n1101;2026-W07;zzz;1"))
    assert problems[0].reason == (
        "unknown indicator; known indicators: anlagd_brand, ofullstandiga_betyg_ak9, "
        "ordningsstorning, skadegorelse, unga_misstankta_boende"
    )


def test_neither_area_nor_position():
    problems = refused(table("vecka;indikator;värde\n2026-W07;skadegorelse;1"))
    assert problems[0].reason.startswith("missing column: neither an area column")


EVENT = "kategori;datum;tid;x;y"


def test_event_rules():
    raw = table(
        f"{EVENT}\n"
        "skadegorelse;2030-01-07;12:00;623007.2;6580818.0\n"  # future
        "ofullstandiga_betyg_ak9;2026-02-10;12:00;623007.2;6580818.0\n"  # a share as event
        "skadegorelse;2026-02-10;12:00;1620000;6580818\n"  # RT 90
        "skadegorelse;2026-02-10;12:00;abc;6580818\n"
        "skadegorelse;2026-02-10;12:00;;6580818\n"
        "skadegorelse;2026-02-10;12:00;50000;6580818"  # outside Sweden
    )
    assert located(refused(raw)) == [
        (2, "datum", "the date lies in the future"),
        (
            3,
            "kategori",
            "indicator 'ofullstandiga_betyg_ak9' is a share; single events can only be counts",
        ),
        (5, "x", "not a number; write coordinates like 6580123.5 or 6580123,5"),
        (6, "x", "empty cell; a coordinate is required"),
    ]
    # positions are judged once every cell parses
    raw = table(
        f"{EVENT}\n"
        "skadegorelse;2026-02-10;12:00;1620000;6580818\n"
        "skadegorelse;2026-02-10;12:00;50000;6580818"
    )
    assert located(refused(raw)) == [
        (2, "x", "x/y look like RT 90 2.5 gon V; set crs EPSG:3021"),
        (3, "x", "the position lies outside Sweden (as EPSG:3006); check the coordinates and crs"),
    ]


def test_decimal_commas_and_crs_column_and_file_level_crs():
    raw = table(
        "kategori;datum;tid;x;y;crs\n"
        "klotter;2026-02-10;12:00;623007,2;6580818,0;\n"
        "skadegorelse;2026-02-10;12:00;17.163152;59.348153;EPSG:4326"
    )
    rows = check(raw, catalogue=Catalogue(units={"klotter": "count", "skadegorelse": "count"})).rows
    assert_allclose(rows[["x", "y"]].to_numpy(), [[623007.2, 6580818.0]] * 2, atol=0.2)
    # RT 90 2.5 gon V (EPSG:3021) as the file-level default, given as easting/northing
    rt90 = table(f"{EVENT}\nskadegorelse;2026-02-10;12:00;1577259.0;6581608.2")  # demo 1101
    rows = check(rt90, default_crs="EPSG:3021").rows
    assert_allclose(rows[["x", "y"]].to_numpy(), [[623007.2, 6580818.0]], atol=0.5)
    problems = refused(rt90, default_crs="EPSG:0")
    assert problems[0].reason.startswith("file-level crs: unknown CRS 'EPSG:0'")


def test_lat_lon_checks():
    raw = table(
        "kategori;datum;tid;lat;lon\n"
        "skadegorelse;2026-02-10;12:00;17.163152;59.348153\n"
        "skadegorelse;2026-02-10;12:00;6580818;623007\n"
        "skadegorelse;2026-02-10;12:00;48.85;2.35"
    )
    assert located(refused(raw)) == [
        (2, "lon", "lat and lon look swapped"),
        (3, "lon", "lat/lon are not degrees; projected metres belong in x and y with a crs"),
        (4, "lon", "the position lies outside Sweden"),
    ]
    problems = refused(table("kategori;datum;tid;lat;lon;crs\nx;2026-02-10;12:00;59;17;3006"))
    assert located(problems) == [
        (None, "crs", "lat and lon are always WGS84; remove the crs column")
    ]


def test_time_from_the_date_cell_when_there_is_no_time_column():
    raw = table(
        "kategori;datum;x;y\nskadegorelse;2026-02-10T18:30;623007.2;6580818\n"
        "skadegorelse;2026-02-10;623007.2;6580818"
    )
    assert located(refused(raw)) == [
        (3, "datum", "no time of day: add a time column (tid) or write date and time")
    ]
    rows = check(table("kategori;datum;x;y\nskadegorelse;2026-02-10T18:30;623007.2;6580818")).rows
    assert rows["hour_start"].tolist() == [pd.Timestamp("2026-02-10 18:00")]


def test_same_event_with_different_references_is_not_a_duplicate():
    raw = table(
        f"{EVENT};ref\n"
        + "\n".join(f"skadegorelse;2026-02-10;18:30;623007.2;6580818;K{i}" for i in range(3))
    )
    assert check(raw).rows["source_ref"].tolist() == ["K0", "K1", "K2"]


def test_a_reference_with_a_control_character_is_refused_by_row():
    raw = table(
        f"{EVENT};ref\n"
        "skadegorelse;2026-02-10;18:30;623007.2;6580818; K-1 \n"
        "skadegorelse;2026-02-10;18:30;623007.2;6580818;K-2\x1fK-3\n"
        "skadegorelse;2026-02-10;18:40;623007.2;6580818;K-4\tx\n"
    )
    with pytest.raises(DeliveryRefusedError) as err:
        check(raw)
    assert [(p.row, p.column) for p in err.value.problems] == [(3, "ref"), (4, "ref")]
    assert "control character" in err.value.problems[0].reason
    assert check(table(f"{EVENT};ref\nskadegorelse;2026-02-10;18:30;623007.2;6580818; K-1 \n"))
