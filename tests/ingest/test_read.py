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


# --- encodings (issue 11) --------------------------------------------------------------------

SWEDISH = "område;vecka;indikator;antal\n1101;2026-W07;skadegörelse – klotter;3\n"


def write(tmp_path: Path, data: bytes, name: str = "a.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("codec", "bom", "named"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16"),
        ("utf-16-be", b"\xfe\xff", "UTF-16"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "UTF-32"),
    ],
)
@pytest.mark.parametrize("with_bom", [True, False])
def test_wide_encodings_are_named_in_both_byte_orders(tmp_path, codec, bom, named, with_bom):
    data = (bom if with_bom else b"") + SWEDISH.encode(codec)
    [problem] = refused(write(tmp_path, data))
    assert problem.reason == f"the file is {named} encoded; save it as CSV UTF-8"


def test_a_utf8_bom_is_accepted_and_dropped(tmp_path):
    table = read_table(write(tmp_path, b"\xef\xbb\xbf" + SWEDISH.encode()))
    assert list(table.frame.columns)[0] == "område"
    assert cells(table) == [["1101", "2026-W07", "skadegörelse – klotter", "3"]]


def test_windows_1252_from_swedish_excel_keeps_working(tmp_path):
    data = SWEDISH.replace("3\n", "3 €\n").encode("cp1252")
    assert b"\x96" in data and b"\x80" in data  # en dash and euro: cp1252, not Latin-1
    table = read_table(write(tmp_path, data))
    assert cells(table) == [["1101", "2026-W07", "skadegörelse – klotter", "3 €"]]


def test_one_stray_byte_in_utf8_is_refused_by_line_and_offset(tmp_path):
    good = SWEDISH.encode()
    data = good + b"1102;2026-W07;st\xf6ld;1\n"  # a Windows-1252 "ö" among UTF-8 ones
    [problem] = refused(write(tmp_path, data))
    assert problem.row == 3
    assert f"byte {len(good) + 16} (line 3) is not valid UTF-8" in problem.reason
    assert "CSV UTF-8" in problem.reason


@pytest.mark.parametrize(
    ("stray", "why"),
    [
        (b"\xc0\xaf", "overlong encoding of '/'"),
        (b"\xed\xa0\x80", "an encoded surrogate"),
        (b"\x80", "a lone continuation byte"),
        (b"\xe2\x80", "a sequence cut short"),
        (b"\xf5\x80\x80\x80", "beyond U+10FFFF"),
    ],
)
def test_malformed_utf8_is_never_decoded_some_other_way(tmp_path, stray, why):
    data = SWEDISH.encode() + b"1102;2026-W07;x" + stray + b";1\n"
    problems = refused(write(tmp_path, data))
    assert problems[0].row == 3, why
    assert all("not valid UTF-8" in p.reason or "more bytes" in p.reason for p in problems)


def test_a_stray_byte_in_the_header_is_row_1_and_offsets_count_the_bom(tmp_path):
    data = b"\xef\xbb\xbfomr\xc3\xa5de;v\xe4cka\n1101;2026-W07\n"
    [problem] = refused(write(tmp_path, data))
    assert problem.row == 1
    assert "byte 12 (line 1)" in problem.reason  # "v" is byte 11, the BOM counted


def test_a_utf8_bom_with_windows_1252_text_is_refused_not_guessed(tmp_path):
    data = b"\xef\xbb\xbf" + "område;vecka\n1101;2026-W07\n".encode("cp1252")
    [problem] = refused(write(tmp_path, data))
    assert "not valid UTF-8" in problem.reason and problem.row == 1


def test_many_stray_bytes_are_listed_up_to_a_limit(tmp_path):
    lines = "".join(f"110{i};2026-W07;st\xf6ld;1\n" for i in range(9)).encode("cp1252")
    data = SWEDISH.encode() + lines
    problems = refused(write(tmp_path, data))
    assert [p.row for p in problems[:-1]] == [3, 4, 5, 6, 7]
    assert problems[-1].reason == "more bytes that are not valid UTF-8 follow"


def test_line_numbers_of_stray_bytes_follow_cr_and_crlf_line_ends(tmp_path):
    data = "a;ö\r\nb;c\rd;e\n".encode() + b"f;\xf6\n"
    [problem] = refused(write(tmp_path, data))
    assert problem.row == 4


# --- not text, not what the name says ---------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff\xe0", "a JPEG image"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\x1f\x8b\x08\x00", "a gzip archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "password-protected"),
        (b"PK\x03\x04\x14\x00", "a ZIP archive"),
        (b"PK\x05\x06" + bytes(18), "a ZIP archive"),
    ],
)
def test_files_that_are_not_text_say_what_they_are(tmp_path, head, what):
    [problem] = refused(write(tmp_path, head + bytes(range(256))))
    assert what in problem.reason


def test_binary_noise_is_not_text(tmp_path):
    noise = bytes((i * 7919) % 256 for i in range(4000))
    [problem] = refused(write(tmp_path, b"a;b\n" + noise))
    assert "not text" in problem.reason


def test_a_nul_in_a_cell_reaches_validation_unchanged(tmp_path):
    table = read_table(write(tmp_path, b"a;b\n1\x00;2\n"))
    assert cells(table) == [["1\x00", "2"]]  # refused there by row and column, never dropped


def test_a_csv_with_an_excel_name(tmp_path):
    [problem] = refused(write(tmp_path, SWEDISH.encode(), "a.xlsx"))
    assert "text (CSV) file with an Excel name" in problem.reason


def test_sheet_given_for_a_csv(tmp_path):
    [problem] = refused(write(tmp_path, SWEDISH.encode()), sheet="Data")
    assert problem.reason == "a CSV file has no sheets; leave out --sheet"


# --- CSV structure ----------------------------------------------------------------------------


def test_old_mac_line_ends_keep_the_row_numbers(tmp_path):
    table = read_table(write(tmp_path, b"a;b\r1;2\r\r3;4\r"))
    assert table.rows.tolist() == [2, 4]
    assert cells(table) == [["1", "2"], ["3", "4"]]


def test_mixed_line_ends_keep_the_row_numbers(tmp_path):
    table = read_table(write(tmp_path, b"a;b\r\n1;2\n3;4\r5;6\r\n"))
    assert table.rows.tolist() == [2, 3, 4]


def test_quoted_line_breaks_with_crlf_and_an_empty_last_line(tmp_path):
    table = read_table(write(tmp_path, b'a,b\r\n"x\r\ny",2\r\n3,4\r\n\r\n'))
    assert table.rows.tolist() == [2, 3]
    assert cells(table) == [["x\r\ny", "2"], ["3", "4"]]


def test_tab_separated_with_a_csv_name(tmp_path):
    assert cells(read_table(write(tmp_path, b"a\tb\n1\t2\n"))) == [["1", "2"]]


@pytest.mark.parametrize("sep", ["|", ":"])
def test_other_separators_are_named(tmp_path, sep):
    [problem] = refused(write(tmp_path, f"a{sep}b\n1{sep}2\n".encode()))
    assert problem.reason == f"the columns are separated by '{sep}'; use semicolon, comma or tab"
    assert problem.row == 1


@pytest.mark.parametrize("repeat", ["område;vecka", " Område ; VECKA ", "\ufeffområde;vecka"])
def test_a_header_repeated_mid_file_is_named(tmp_path, repeat):
    data = f"område;vecka\n1101;2026-W07\n{repeat}\n1102;2026-W07\n".encode()
    problems = refused(write(tmp_path, data))  # the BOM: a second file pasted in whole
    assert [(p.row, p.reason) for p in problems] == [
        (3, "row 3 repeats the header (two files pasted together?); remove it")
    ]


def test_an_unterminated_quote_is_a_clear_problem(tmp_path):
    [problem] = refused(write(tmp_path, b'a,b\n1,"2\n3,4\n'))
    assert (problem.row, problem.reason) == (2, 'a quote (") opened in this row is never closed')


def test_a_missing_file_a_folder_and_a_device_are_refused_cleanly(tmp_path):
    for path, reason in [
        (tmp_path / "saknas.csv", "no such file"),
        (tmp_path / "mapp.csv", "not a regular file"),
        (tmp_path / "noll.csv", "not a regular file"),
    ]:
        if path.name == "mapp.csv":
            path.mkdir()
        if path.name == "noll.csv":
            path.symlink_to("/dev/zero")  # would be read for ever
        with pytest.raises(DeliveryRefusedError) as info:
            read_table(path)
        assert reason in str(info.value)


def test_a_file_larger_than_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from lagesbild_geo.ingest import read

    monkeypatch.setattr(read, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "stor.csv"
    path.write_text("område,vecka,indikator,antal\n" + "1101,2026-W07,skadegorelse,3\n" * 100)
    with pytest.raises(DeliveryRefusedError) as info:
        read_table(path)
    assert "at most 0 MB are read" in str(info.value) or "MB are read" in str(info.value)
