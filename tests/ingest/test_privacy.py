"""The privacy gate: personal column names and personal-looking values, without false alarms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lagesbild_geo.ingest.privacy.gate import find_personal_data
from lagesbild_geo.ingest.privacy.headers import personal_column_reason
from lagesbild_geo.ingest.read import RawTable, read_table

DATA = Path(__file__).parents[1] / "data"
PNR = "looks like a personnummer or samordningsnummer"


def table(columns: dict[str, list[str]], rows: list[int] | None = None) -> RawTable:
    frame = pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in columns.items()})
    numbers = np.arange(2, len(frame) + 2) if rows is None else np.array(rows)
    return RawTable(file="t.csv", frame=frame, rows=numbers)


def reasons(values: list[str]) -> list[list[str]]:
    """For each value alone in a column: the reasons found."""
    problems = find_personal_data(table({"referens": values}))
    found: list[list[str]] = [[] for _ in values]
    for p in problems:
        found[p.row - 2].append(p.reason)
    return found


@pytest.mark.parametrize(
    "value",
    [
        "19811218-9876",  # YYYYMMDD-XXXX
        "811218-9876",  # YYMMDD-XXXX
        "811218+9876",  # YYMMDD+XXXX (over 100 years old)
        "198112189876",  # YYYYMMDDXXXX
        "8112189876",  # YYMMDDXXXX
        "811278-9873",  # samordningsnummer: day 18 + 60
        "20080229-1237",  # 29 February of a leap year
        "070229-1238",  # century unknown: 29 February allowed
        "2602101830",  # any 10 digits with a valid date and Luhn digit are a personnummer
        "ärende 811218-9876 avslutat",  # inside other text
    ],
)
def test_personnummer_forms_are_found(value):
    assert PNR in reasons([value])[0]


@pytest.mark.parametrize(
    "value",
    [
        "811218-9875",  # wrong check digit
        "811318-9875",  # Luhn-valid, but month 13
        "1234567897",  # Luhn-valid, but month 34
        "20070229-1238",  # Luhn-valid, but 2007 was no leap year
        "0181C1010",  # DeSO code
        "110104",  # fine NYKO code
        "2026-W07",
        "2026W07",
        "2026-02-10",
        "2026-02-10T18:30",
        "18:30",
        "6580123.5",
        "6580123,5",
        "59,1234",
        "59.12345678901",  # ten decimals are not a personnummer
        "AR-2026-000123",
        "K123456-26",
        "EPSG:3006",
        "skadegorelse",
        "ofullstandiga_betyg_ak9",
        "01-02-2026",  # a date written the European way is not a phone number
        "v7 2026",
    ],
)
def test_legitimate_values_are_not_flagged(value):
    assert reasons([value]) == [[]]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("anna.svensson@example.se", "looks like an e-mail address"),
        ("kontakt: ANNA@EXEMPEL.COM", "looks like an e-mail address"),
        ("070-123 45 67", "looks like a telephone number"),
        ("0701234567", "looks like a telephone number"),
        ("+46 70 123 45 67", "looks like a telephone number"),
        ("+46701234567", "looks like a telephone number"),
        ("08-123 456 78", "looks like a telephone number"),
        ("031-12 34 56", "looks like a telephone number"),
        ("Ungdomar samlades vid skolan", "looks like free text"),
        ("Bråk, stök och skrik vid busshållplatsen", "looks like free text"),
        ("Anna Svensson", "looks like a person's name"),
        ("Åsa Öberg-Lind", "looks like a person's name"),
    ],
)
def test_contact_details_free_text_and_names(value, why):
    [found] = reasons([value])
    assert len(found) == 1
    assert found[0].startswith(why)


@pytest.mark.parametrize(
    "name",
    [
        "Namn",
        "Förnamn",
        "efternamn",
        "first_name",
        "Personnummer",
        "pnr",
        "Samordningsnummer",
        "E-post",
        "email",
        "Telefon",
        "tel",
        "Mobilnr",
        "Adress",
        "Gatuadress",
        "Kommentar",
        "fritext",
        "Händelsebeskrivning",
        "Description",
        "notes",
        "Anteckning",
    ],
)
def test_personal_column_names(name):
    assert personal_column_reason(name) is not None


@pytest.mark.parametrize(
    "name",
    ["område", "nämnare", "Nämnare", "täljare", "referens", "source_ref", "tid", "kategori", "x"],
)
def test_ordinary_column_names(name):
    assert personal_column_reason(name) is None


def test_message_names_column_and_row_but_never_the_value():
    raw = read_table(DATA / "personnummer.csv")
    problems = find_personal_data(raw)
    assert [(p.row, p.column, p.reason) for p in problems] == [
        (3, "referens", PNR),
        (4, "referens", PNR),
    ]
    assert not any("9876" in str(p) for p in problems)


def test_name_column_corpus_file():
    problems = find_personal_data(read_table(DATA / "name_column.csv"))
    assert [(p.row, p.column, p.reason) for p in problems] == [
        (None, "Namn", "the column name suggests a person's name; such data may not be delivered"),
        (2, "Namn", "looks like a person's name"),
    ]


def test_email_in_reference_corpus_file():
    [problem] = find_personal_data(read_table(DATA / "email_in_ref.csv"))
    assert (problem.row, problem.column, problem.reason) == (
        2,
        "referens",
        "looks like an e-mail address",
    )
    assert "svensson" not in str(problem)


def test_free_text_column_corpus_file():
    problems = find_personal_data(read_table(DATA / "free_text_column.csv"))
    assert [(p.row, p.column, p.reason.split(";")[0]) for p in problems] == [
        (None, "kommentar", "the column name suggests free text"),
        (2, "kommentar", "looks like free text"),
    ]


@pytest.mark.parametrize("path", sorted((DATA / "good").iterdir()), ids=lambda p: p.name)
def test_good_files_are_clean(path):
    assert find_personal_data(read_table(path)) == []


def test_a_header_that_is_personal_data_is_not_echoed():
    raw = table({"811218-9876": ["811218-9876"], "vecka": ["2026-W07"]})
    problems = find_personal_data(raw)
    assert {(p.row, p.column) for p in problems} == {(None, "column 1"), (2, "column 1")}
    assert not any("9876" in str(p) for p in problems)


def test_row_numbers_come_from_the_raw_table():
    raw = table({"ref": ["AR-1", "a@b.se", "AR-3"]}, rows=[2, 5, 9])
    [problem] = find_personal_data(raw)
    assert problem.row == 5


def test_many_hits_are_listed_up_to_a_cap_then_counted():
    raw = table({"ref": [f"person{i}@example.se" for i in range(25)]})
    problems = find_personal_data(raw)
    assert [p.row for p in problems[:10]] == list(range(2, 12))
    assert problems[10].row is None
    assert problems[10].reason == "15 more rows: looks like an e-mail address"
    assert len(problems) == 11


def test_repeated_values_are_found_in_every_row():
    """Low-cardinality columns are scanned per distinct value; every row must still count."""
    values = ["2026-W07"] * 5000 + ["811218-9876"] + ["2026-W08"] * 5000 + ["811218-9876"]
    problems = find_personal_data(table({"vecka": values}))
    assert [p.row for p in problems] == [5002, 10003]


def test_missing_values_are_not_a_problem():
    raw = table({"ref": ["AR-1", None, ""]})
    assert find_personal_data(raw) == []
