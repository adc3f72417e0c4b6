"""Reading workbooks: which sheet, the other sheets' cells, formulas, and limits that hold.

Workbooks are built from their XML parts (``tests/data/read/make.py``) where openpyxl cannot
write what the test needs (saved formula results, hidden data, a lying size, a DTD).
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.ingest import read_archive
from lagesbild_geo.ingest.read import RawTable, read_table
from tests.data.read.make import HEADER, MAIN, ROWS, workbook, zipped

DATA = (HEADER, *ROWS)
NOTES = (("Leverans vecka 7",),)


def book(tmp_path: Path, sheets, parts=None, name: str = "a.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(workbook("x", sheets, parts))
    return path


def refused(path: Path, **kwargs) -> list[Problem]:
    with pytest.raises(DeliveryRefusedError) as caught:
        read_table(path, **kwargs)
    return caught.value.problems


# --- which sheet ------------------------------------------------------------------------------


def test_the_one_visible_data_sheet_beside_a_notes_sheet(tmp_path):
    table = read_table(book(tmp_path, [("Om filen", "visible", NOTES), ("Blad2", "visible", DATA)]))
    assert table.sheet == "Blad2"
    assert table.frame["område"].tolist() == ["1101", "1102"]
    [(title, notes)] = table.other_cells
    assert title == "Om filen"
    assert notes.loc[1, "A"] == "Leverans vecka 7"  # index = row number, columns = letters


def test_a_hidden_sheet_is_never_read_instead_of_the_visible_one(tmp_path):
    other = (HEADER, ("2101", "2026-W08", "anlagd_brand", "9", "X-1"))
    path = book(tmp_path, [("Data", "hidden", other), ("Blad1", "visible", DATA)])
    table = read_table(path)
    assert table.sheet == "Blad1"
    assert table.frame["område"].tolist() == ["1101", "1102"]
    assert [t for t, _ in table.other_cells] == ["Data"]  # screened, not read


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_data_only_on_a_hidden_sheet_is_refused_by_name(tmp_path, state):
    [problem] = refused(book(tmp_path, [("Blad1", "visible", NOTES), ("Gömd", state, DATA)]))
    assert "the data is on a hidden sheet ('Gömd')" in problem.reason
    assert "--sheet" in problem.reason


def test_a_hidden_sheet_named_with_sheet_is_read(tmp_path):
    path = book(tmp_path, [("Blad1", "visible", NOTES), ("Gömd", "veryHidden", DATA)])
    assert read_table(path, sheet="Gömd").sheet == "Gömd"


def test_several_visible_data_sheets_are_ambiguous_even_if_one_is_named_data(tmp_path):
    path = book(tmp_path, [("Blad1", "visible", DATA), ("Data", "visible", DATA)])
    [problem] = refused(path)
    assert "several visible sheets hold data ('Blad1', 'Data')" in problem.reason
    assert read_table(path, sheet="Data").sheet == "Data"


@pytest.mark.parametrize("given", ["data", " DATA ", "Data"])
def test_the_sheet_name_ignores_case_and_surrounding_spaces(tmp_path, given):
    path = book(tmp_path, [("Blad1", "visible", DATA), ("Data", "visible", DATA)])
    assert read_table(path, sheet=given).sheet == "Data"


def test_two_sheets_that_differ_only_in_case_need_the_exact_name(tmp_path):
    path = book(tmp_path, [("data", "visible", DATA), ("DATA", "visible", DATA)])
    assert read_table(path, sheet="DATA").sheet == "DATA"
    [problem] = refused(path, sheet="Data")
    assert "no sheet of the name given (--sheet); its sheets: 'data', 'DATA'" in problem.reason


def test_an_unknown_sheet_does_not_repeat_the_name_given(tmp_path):
    [problem] = refused(book(tmp_path, [("Blad1", "visible", DATA)]), sheet="19850412-1234")
    assert "19850412" not in str(problem)


def test_a_visible_sheet_with_a_header_only(tmp_path):
    [problem] = refused(book(tmp_path, [("Blad1", "visible", (HEADER,))]))
    assert problem.reason.startswith("no data rows")


def test_a_workbook_without_data(tmp_path):
    [problem] = refused(book(tmp_path, [("Blad1", "visible", ()), ("Blad2", "hidden", NOTES)]))
    assert problem.reason == "the workbook has no data: no sheet holds a header and rows"


def test_a_header_repeated_in_a_sheet_names_the_sheet(tmp_path):
    [problem] = refused(book(tmp_path, [("Data", "visible", (*DATA, HEADER, ROWS[0]))]))
    assert problem.row == 4
    assert problem.reason.startswith("sheet 'Data': row 4 repeats the header")


# --- the privacy gate decides first ------------------------------------------------------------


def test_the_screen_refuses_before_a_refusal_that_names_sheets(tmp_path):
    seen: list[RawTable] = []

    def screen(table: RawTable) -> list[Problem]:
        seen.append(table)
        return [Problem(table.file, "a sheet name looks like a person's name")]

    path = book(tmp_path, [("Anna Svensson", "visible", DATA), ("Blad2", "visible", DATA)])
    [problem] = refused(path, screen=screen)
    assert problem.reason == "a sheet name looks like a person's name"
    [table] = seen
    assert table.sheet is None
    assert [t for t, _ in table.other_cells] == ["Anna Svensson", "Blad2"]
    assert table.other_cells[0][1].loc[3, "A"] == "1102"


def test_without_findings_the_reader_refuses_as_before(tmp_path):
    path = book(tmp_path, [("Blad1", "visible", DATA), ("Blad2", "visible", DATA)])
    [problem] = refused(path, screen=lambda _table: [])
    assert "several visible sheets hold data" in problem.reason


# --- formulas ---------------------------------------------------------------------------------


def test_every_formula_of_the_sheet_read_is_refused_by_cell(tmp_path):
    rows = (
        HEADER,
        ("1101", "2026-W07", "skadegorelse", "=B7+1|3", "AR-1"),
        ("1102", "2026-W07", "skadegorelse", "=SUM(Z1:Z9)", '=HYPERLINK("http://e.example")|x'),
    )
    problems = refused(book(tmp_path, [("Data", "visible", rows)]))
    assert [(p.row, p.column) for p in problems] == [(2, "antal"), (3, "antal"), (3, "referens")]
    assert problems[0].reason == "sheet 'Data', cell D2: a formula, not a value; paste values"
    assert "without a calculated value" in problems[1].reason
    assert "a formula, not a value" in problems[2].reason
    assert "HYPERLINK" not in str(problems) and "e.example" not in str(problems)


def test_shared_and_array_formulas_are_formulas(tmp_path):
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<worksheet xmlns="{MAIN}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>antal</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>vecka</t></is></c></row>'
        '<row r="2"><c r="A2"><f t="shared" ref="A2:A3" si="0">C2*2</f><v>2</v></c>'
        '<c r="B2" t="inlineStr"><is><t>2026-W07</t></is></c></row>'
        '<row r="3"><c r="A3"><f t="shared" si="0"/><v>4</v></c>'
        '<c r="B3"><f t="array" ref="B3">"2026-W07"</f><v>0</v></c></row>'
        "</sheetData></worksheet>"
    )
    problems = refused(book(tmp_path, [("Data", "visible", sheet)]))
    assert [(p.row, p.column) for p in problems] == [(2, "antal"), (3, "antal"), (3, "vecka")]


def test_a_formula_in_the_header_is_named_by_its_letter(tmp_path):
    rows = (("område", "=1|vecka"), ("1101", "2026-W07"))
    [problem] = refused(book(tmp_path, [("Data", "visible", rows)]))
    assert (problem.row, problem.column) == (1, "B")


def test_many_formulas_are_listed_up_to_a_limit(tmp_path):
    rows = (("antal",), *((f"=A{i}|1",) for i in range(30)))
    problems = refused(book(tmp_path, [("Data", "visible", rows)]))
    assert len(problems) == 21
    assert problems[-1].reason == "sheet 'Data': 10 more formula cells"


def test_formulas_on_other_sheets_are_screened_not_refused(tmp_path):
    path = book(tmp_path, [("Data", "visible", DATA), ("Summa", "hidden", (("=1+1|2",),))])
    table = read_table(path)
    assert table.other_cells[0][1].loc[1, "A"] == "2"  # the saved result, for the gate


# --- limits -----------------------------------------------------------------------------------


def test_a_cell_longer_than_excel_allows(tmp_path):
    rows = (HEADER, ("1101", "2026-W07", "skadegorelse", "3", "x" * 32_768))
    [problem] = refused(book(tmp_path, [("Data", "visible", rows)]))
    assert "a cell holds more than 32767 characters" in problem.reason


def test_a_cell_exactly_as_long_as_excel_allows_is_read(tmp_path):
    rows = (HEADER, ("1101", "2026-W07", "skadegorelse", "3", "x" * 32_767))
    assert (
        len(read_table(book(tmp_path, [("Data", "visible", rows)])).frame["referens"][0]) == 32_767
    )


def test_a_long_shared_string_is_refused_by_its_markup_run(tmp_path):
    strings = f'<sst xmlns="{MAIN}"><si><t>{"y" * (2**20 + 1)}</t></si></sst>'
    [problem] = refused(
        book(tmp_path, [("Data", "visible", DATA)], {"xl/sharedStrings.xml": strings})
    )
    assert "more than 1 MB in one tag or text" in problem.reason


def test_the_cells_of_every_sheet_count_as_openpyxl_pads_them(tmp_path, monkeypatch):
    monkeypatch.setattr(read_archive, "MAX_CELLS", 100)
    wide = sheet_with('<row r="1"><c r="A1"><v>1</v></c><c r="CW1"><v>2</v></c></row>')
    [problem] = refused(book(tmp_path, [("Data", "visible", DATA), ("Bred", "hidden", wide)]))
    assert "more than 100 cells" in problem.reason


def test_a_dimension_that_claims_the_whole_grid_costs_nothing(tmp_path):
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{v}</t></is></c></row>'
        for r, v in ((1, "vecka"), (2, "2026-W07"))
    )
    sheet = sheet_with(rows, dimension='<dimension ref="A1:XFD1048576"/>')
    table = read_table(book(tmp_path, [("Data", "visible", sheet)]))
    assert table.frame.shape == (1, 1)


@pytest.mark.parametrize(
    ("ref", "why"),
    [('r="1048577"', "row number outside"), ('r="-1"', "row number outside")],
)
def test_rows_outside_excel_grid(tmp_path, ref, why):
    sheet = sheet_with(f"<row {ref}><c><v>1</v></c></row>")
    [problem] = refused(book(tmp_path, [("Data", "visible", sheet)]))
    assert why in problem.reason


@pytest.mark.parametrize("ref", ["XFE1", "AAAA1", "Ä1", "1"])
def test_cells_outside_excel_grid(tmp_path, ref):
    sheet = sheet_with(f'<row r="1"><c r="{ref}"><v>1</v></c></row>')
    [problem] = refused(book(tmp_path, [("Data", "visible", sheet)]))
    assert "outside Excel's grid" in problem.reason


def test_too_many_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(read_archive, "MAX_MEMBERS", 5)
    [problem] = refused(book(tmp_path, [("Data", "visible", DATA)], {"x/1": "", "x/2": ""}))
    assert "parts; at most 5" in problem.reason


def test_declared_size_above_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(read_archive, "MAX_UNCOMPRESSED", 1000)
    [problem] = refused(book(tmp_path, [("Data", "visible", DATA)]))
    assert "MB are accepted" in problem.reason


def test_a_part_other_than_a_sheet_above_its_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(read_archive, "MAX_PART", 2000)
    styles = f'<styleSheet xmlns="{MAIN}">{"<x/>" * 1000}</styleSheet>'
    [problem] = refused(book(tmp_path, [("Data", "visible", DATA)], {"xl/styles.xml": styles}))
    assert "the part xl/styles.xml unpacks to" in problem.reason


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_xml_parts_in_another_encoding(tmp_path, codec):
    sheet = sheet_with("").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode(codec)
    [problem] = refused(
        book(tmp_path, [("Data", "visible", DATA)], {"xl/worksheets/sheet1.xml": sheet})
    )
    assert "is not UTF-8 XML" in problem.reason


def test_a_dtd_anywhere_is_refused(tmp_path):
    sheet = sheet_with("").replace("<worksheet", '<!DOCTYPE w [<!ENTITY e "x">]><worksheet')
    [problem] = refused(book(tmp_path, [("Data", "visible", sheet)]))
    assert "has a DTD" in problem.reason


def test_a_part_cut_short_is_damaged(tmp_path):
    data = workbook("x", [("Data", "visible", DATA)])
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename)
    damaged = data[: start + 5] + bytes(info.compress_size - 5) + data[start + info.compress_size :]
    path = tmp_path / "a.xlsx"
    path.write_bytes(damaged)
    [problem] = refused(path)
    assert problem.reason.startswith("not a valid Excel file")


def test_a_zip_that_is_no_workbook(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(zipped({"leverans.csv": "a;b\n1;2\n"}))
    [problem] = refused(path)
    assert problem.reason.startswith("not a valid Excel file")


def sheet_with(rows: str, dimension: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<worksheet xmlns="{MAIN}">{dimension}<sheetData>{rows}</sheetData></worksheet>'
    )


def test_openpyxl_workbooks_keep_working(tmp_path):
    workbook_ = Workbook()
    workbook_.active.append(list(HEADER))
    workbook_.active.append(["1101", "2026-W07", "skadegorelse", 3, None])
    workbook_.create_sheet("Anteckningar").append(["Skapad av kommunen"])
    workbook_["Anteckningar"].sheet_state = "hidden"
    path = tmp_path / "a.xlsx"
    workbook_.save(path)
    table = read_table(path)
    assert table.frame.values.tolist() == [["1101", "2026-W07", "skadegorelse", "3", ""]]


# --- memory -----------------------------------------------------------------------------------

BOMB_MB = 200
MB = 2**20


def one_cell() -> Iterator[bytes]:
    yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>'
    yield from (b"A" * MB for _ in range(BOMB_MB))
    yield b"</t></is></c></row>"


def rich_text_runs() -> Iterator[bytes]:
    """One cell of 1 MB runs: every run short enough for the markup limit, the cell not."""
    yield b'<row r="1"><c r="A1" t="inlineStr"><is>'
    yield from (b"<r><t>" + b"A" * (MB - 100) + b"</t></r>" for _ in range(BOMB_MB))
    yield b"</is></c></row>"


def many_cells() -> Iterator[bytes]:
    cells = b"".join(b'<c t="n"><v>1</v></c>' for _ in range(100))
    for row in range(1, BOMB_MB * MB // len(cells)):
        yield b'<row r="%d">%s</row>' % (row % 1_000_000 + 1, cells)


def many_strings() -> Iterator[bytes]:
    yield b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'


@pytest.mark.parametrize("body", [one_cell, rich_text_runs, many_cells, many_strings])
def test_a_zip_bomb_is_refused_in_little_memory(tmp_path, body):
    """A workbook of well under a megabyte that unpacks to 200 MB: refused, the reader's peak
    memory below 500 MB (one 200 MB cell cost 1.8 GB before the limits)."""
    path = tmp_path / "bomb.xlsx"
    strings = {}
    if body is many_strings:
        strings = {"xl/sharedStrings.xml": ""}
    small = workbook("x", [("Data", "visible", DATA)], strings)
    bombs = ["xl/worksheets/sheet1.xml", *strings]
    with (
        zipfile.ZipFile(io.BytesIO(small)) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename not in bombs:
                target.writestr(info, source.read(info.filename))
        for member in bombs:
            part_info = zipfile.ZipInfo(member, date_time=(2026, 1, 1, 0, 0, 0))
            part_info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(part_info, "w", force_zip64=True) as part:  # streamed
                if member.endswith("sharedStrings.xml"):
                    part.write(f'<sst xmlns="{MAIN}">'.encode())
                    for _ in range(BOMB_MB):
                        part.write(b"<si><t>" + b"A" * (MB - 100) + b"</t></si>")
                    part.write(b"</sst>")
                    continue
                part.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
                for chunk in body():
                    part.write(chunk)
                part.write(b"</sheetData></worksheet>")
    assert path.stat().st_size < 2 * MB
    child = textwrap.dedent(
        f"""
        import re
        from lagesbild_geo.errors import DeliveryRefusedError
        from lagesbild_geo.ingest.read import read_table
        try:
            read_table({str(path)!r})
            print("read")
        except DeliveryRefusedError as exc:
            print(exc.problems[0].reason)
        # VmHWM, not getrusage's ru_maxrss: on Linux ru_maxrss keeps the forking parent's
        # peak across exec, so a child of a big pytest process reports the parent's memory.
        status = open("/proc/self/status").read()
        print(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=300
    ).stdout.splitlines()
    reason, peak_kb = out[0], int(out[1])
    assert reason.startswith("not a valid Excel file: "), reason
    assert peak_kb < 500 * 1024, f"peak {peak_kb // 1024} MB"
    print(body.__name__, reason, peak_kb // 1024, "MB")


# --- through the pipeline and the command line -------------------------------------------------


def test_ingest_file_reads_the_sheet_it_is_given(ready_conn, tmp_path):
    from datetime import date

    from lagesbild_geo.ingest.pipeline import ingest_file

    path = book(tmp_path, [("Blad1", "visible", NOTES), ("Gömd", "hidden", DATA)])
    with pytest.raises(DeliveryRefusedError, match="hidden sheet"):
        ingest_file(ready_conn, path, actor_id="kommunen", today=date(2026, 11, 20))
    result = ingest_file(
        ready_conn, path, actor_id="kommunen", sheet="Gömd", today=date(2026, 11, 20)
    )
    assert result.observations == 2


def test_the_ingest_command_takes_sheet(pg_url, monkeypatch, ready_conn, tmp_path):
    from click.testing import CliRunner

    from lagesbild_geo.cli.main import main

    monkeypatch.setenv("LAGESBILD_DATABASE_URL", pg_url)
    path = book(tmp_path, [("Vecka 7", "visible", DATA), ("Vecka 8", "visible", DATA)])
    runner = CliRunner()
    refused_run = runner.invoke(main, ["ingest", str(path), "--actor", "kommunen"])
    assert refused_run.exit_code == 2, refused_run.output
    assert "name the one to read with --sheet" in refused_run.output
    run = runner.invoke(main, ["ingest", str(path), "--actor", "kommunen", "--sheet", "Vecka 8"])
    assert run.exit_code == 0, run.output


def test_a_shared_string_of_many_runs_is_bounded_like_a_cell(tmp_path):
    runs = "".join(f"<r><t>{'z' * 30_000}</t></r>" for _ in range(3))
    strings = f'<sst xmlns="{MAIN}"><si><t>ok</t></si><si>{runs}</si></sst>'
    parts = {"xl/sharedStrings.xml": strings}
    [problem] = refused(book(tmp_path, [("Data", "visible", DATA)], parts))
    assert "a shared string holds more than 32767 characters" in problem.reason


HEAD_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>antal</t></is></c></row>'


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ('<row r="2"><c r="A2" t="s"><v>99</v></c></row>', "not a valid Excel file (IndexError)"),
        ('<row r="2"><c r="A2"><v>abc</v></c></row>', "not a valid Excel file (ValueError)"),
        ('<row r="2"><c r="A2" t="d"><v>2026-13-45</v></c></row>', "(ValueError)"),
        (
            '<row r="3"><c r="A3"><v>1</v></c></row><row r="2"><c r="A2"><v>5</v></c></row>',
            "row 2 comes after row 3 in the sheet",
        ),
        (
            '<row r="2"><c r="A2"><v>1</v></c></row><row r="2"><c r="B2"><v>5</v></c></row>',
            "row 2 comes after row 2",
        ),
        (
            '<row r="2"><c r="B2"><v>1</v></c><c r="A2"><v>5</v></c></row>',
            "the cells of row 2 are out of order",
        ),
    ],
)
def test_cells_openpyxl_would_crash_on_or_drop_silently(tmp_path, rows, reason):
    [problem] = refused(book(tmp_path, [("Data", "visible", sheet_with(HEAD_ROW + rows))]))
    assert reason in problem.reason
