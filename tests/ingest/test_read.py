"""Reading deliveries: encodings, separators, Excel cells, row numbers and clear refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.ingest.read import read_table

DATA = Path(__file__).parents[1] / "data"
GOOD = DATA / "good"


def refused(path: Path, **kwargs) -> list[Problem]:
    with pytest.raises(DeliveryRefusedError) as caught:
        read_table(path, **kwargs)
    return caught.value.problems


def cells(table) -> list[list[str]]:
    return table.frame.astype(object).values.tolist()


# --- good files ----------------------------------------------------------------------------


def test_utf8_with_bom_comma_separated():
    table = read_table(GOOD / "aggregated_utf8.csv")
    assert table.file == "aggregated_utf8.csv"
    assert list(table.frame.columns) == ["area_code", "week", "indicator", "value", "source_ref"]
    assert table.rows.tolist() == [2, 3, 4, 5]
    assert cells(table) == [
        ["1101", "2026-W07", "skadegorelse", "3", "AR-2026-000123"],
        ["110104", "2026W08", "skadegorelse", "1", "AR-2026-000124"],
        ["1102", "2026-02-10", "ordningsstorning", "0", ""],
        ["2101", "v7 2026", "anlagd_brand", "12", ""],
    ]


def test_cp1252_semicolon_file_with_decimal_commas():
    raw_bytes = (GOOD / "aggregated_cp1252_semicolon.csv").read_bytes()
    assert b"omr\xe5de" in raw_bytes  # really Windows-1252, not UTF-8
    table = read_table(GOOD / "aggregated_cp1252_semicolon.csv")
    assert list(table.frame.columns) == ["område", "vecka", "indikator", "värde"]
    assert cells(table) == [
        ["1101", "2026-W07", "skadegorelse", "3,0"],
        ["1201", "2026-W07", "ordningsstorning", "12,0"],
        ["120105", "2026-W08", "anlagd_brand", "2"],
    ]


def test_excel_picks_data_sheet_converts_cells_and_keeps_row_numbers():
    table = read_table(GOOD / "aggregated.xlsx")
    assert list(table.frame.columns) == ["Område", "Vecka", "Indikator", "Antal", "Referens"]
    assert table.rows.tolist() == [2, 3, 5]  # row 4 is blank in the sheet
    assert cells(table) == [
        ["1101", "2026-W07", "skadegorelse", "4", "BB-7781"],
        ["1104", "2026-02-17", "ordningsstorning", "2", ""],
        ["2201", "2026-W08", "skadegorelse", "1", "BB-7790"],
    ]


def test_excel_times_and_datetimes_become_iso_strings(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["kategori", "datum", "tid", "x", "y"])
    sheet.append(["klotter", dt.datetime(2026, 2, 10, 18, 30), dt.time(7, 5), 623007.2, 6580818])
    path = tmp_path / "events.xlsx"
    workbook.save(path)
    assert cells(read_table(path)) == [
        ["klotter", "2026-02-10T18:30", "07:05", "623007.2", "6580818"]
    ]


def test_utf8_text_is_never_read_as_cp1252(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("kategori;värde\nskadegörelse;1\n".encode())
    table = read_table(path)
    assert list(table.frame.columns) == ["kategori", "värde"]
    assert cells(table) == [["skadegörelse", "1"]]


def test_tab_separated(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("område\tvecka\n1101\t2026-W07\n", encoding="utf-8")
    assert cells(read_table(path)) == [["1101", "2026-W07"]]


def test_blank_lines_keep_the_row_numbers_the_actor_sees(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a;b\n1;2\n\n3;4\n;\n5;6\n\n\n", encoding="utf-8")
    table = read_table(path)
    assert table.rows.tolist() == [2, 4, 6]
    assert cells(table) == [["1", "2"], ["3", "4"], ["5", "6"]]


def test_line_break_inside_quotes_counts_as_one_row(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('a,b\n"x\ny",2\n3,4\n', encoding="utf-8")
    table = read_table(path)
    assert table.rows.tolist() == [2, 3]
    assert cells(table) == [["x\ny", "2"], ["3", "4"]]


def test_trailing_empty_cells_from_excel_are_tolerated(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a;b;;\n1;2;;\n3;4\n", encoding="cp1252")
    table = read_table(path)
    assert list(table.frame.columns) == ["a", "b"]
    assert cells(table) == [["1", "2"], ["3", "4"]]


def test_big_file_reads_every_row_as_strings(tmp_path):
    path = tmp_path / "big.csv"
    lines = [f"skadegorelse;2026-02-10;18:30;{600000 + i}.5;6580000,25" for i in range(5000)]
    path.write_text("kategori;datum;tid;x;y\n" + "\n".join(lines) + "\n", encoding="utf-8")
    table = read_table(path)
    assert len(table) == 5000
    assert np.array_equal(table.rows, np.arange(2, 5002))
    assert table.frame["x"].iloc[4999] == "604999.5"
    assert table.frame["y"].iloc[0] == "6580000,25"


# --- refusals ------------------------------------------------------------------------------


def test_utf16_is_refused_by_name():
    [problem] = refused(DATA / "utf16.csv")
    assert problem.file == "utf16.csv"
    assert "UTF-16" in problem.reason
    assert "CSV UTF-8" in problem.reason


def test_neither_utf8_nor_cp1252(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a;b\n\x81\x8d;1\n")  # bytes undefined in Windows-1252
    problems = refused(path)
    assert [(p.row, p.reason[:8]) for p in problems] == [(2, "byte 4 ("), (2, "byte 5 (")]
    assert all("neither UTF-8 nor Windows-1252" in p.reason for p in problems)


def test_empty_csv():
    [problem] = refused(DATA / "empty.csv")
    assert problem.reason == "the file is empty (0 bytes)"
    assert problem.row is None


@pytest.mark.parametrize("name", ["empty.xlsx", "corrupt.xlsx"])
def test_broken_excel(name):
    [problem] = refused(DATA / name)
    assert problem.reason.startswith("not a valid Excel file")


def test_header_only():
    [problem] = refused(DATA / "header_only.csv")
    assert problem.reason.startswith("no data rows")


def test_unknown_extension():
    [problem] = refused(DATA / "leverans.ods")
    assert "unknown file type '.ods'" in problem.reason


def test_old_xls(tmp_path):
    path = tmp_path / "a.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    [problem] = refused(path)
    assert ".xls" in problem.reason and "not supported" in problem.reason


def test_ragged_rows_are_all_listed():
    problems = refused(DATA / "ragged_rows.csv")
    assert [(p.row, p.reason) for p in problems] == [
        (3, "row 3 has 5 fields, the header has 4"),
        (4, "row 4 has 2 fields, the header has 4"),
    ]


def test_duplicate_and_unnamed_columns(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("vecka;värde;;vecka\n2026-W07;1;hej;2026-W07\n", encoding="utf-8")
    problems = refused(path)
    reasons = sorted(p.reason for p in problems)
    assert reasons == [
        "column 3 has values but no name in the header; name it or remove it",
        "the column name appears twice (columns 1 and 4)",
    ]


def test_max_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n2\n3\n", encoding="utf-8")
    [problem] = refused(path, max_rows=2)
    assert problem.reason == "the file has 3 data rows; at most 2 are accepted"


def test_excel_saved_with_csv_name(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes((GOOD / "aggregated.xlsx").read_bytes())
    [problem] = refused(path)
    assert "Excel workbook with a CSV name" in problem.reason
