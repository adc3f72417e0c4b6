"""Whatever bytes arrive, the reader ends in a table or a clean refusal, never another exception.

Random bytes, random CSV structure in random encodings, and random workbooks (sheets, states,
cells, formulas) damaged at random, each under a CSV and an Excel name.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lagesbild_geo.errors import DeliveryRefusedError
from lagesbild_geo.ingest.read import RawTable, read_table
from tests.data.read.make import workbook

SUFFIXES = (".csv", ".xlsx", ".txt", ".tsv", ".xlsm")
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_or_refuse(data: bytes, suffix: str, sheet: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"leverans{suffix}"
        path.write_bytes(data)
        try:
            table = read_table(path, sheet=sheet)
        except DeliveryRefusedError as exc:
            assert exc.problems and all(p.file == path.name for p in exc.problems)
            return
    assert isinstance(table, RawTable)
    assert len(table.rows) == len(table.frame) > 0
    assert all(isinstance(c, str) for c in table.frame.columns)


@PROPERTY
@given(st.binary(max_size=2000), st.sampled_from(SUFFIXES))
def test_random_bytes(data, suffix):
    read_or_refuse(data, suffix)


CELL = st.text(
    alphabet=st.sampled_from(list('ab1;,\t"\r\n \x00åö–€\ufeff|:')) | st.characters(),
    max_size=12,
)
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le", "utf-32-be", "latin-1")


@PROPERTY
@given(
    st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=12),
    st.sampled_from([";", ",", "\t", "|"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from(ENCODINGS),
    st.booleans(),
    st.sampled_from(SUFFIXES[:1] + SUFFIXES[2:4]),
)
def test_random_csv_structure(rows, sep, end, encoding, quote, suffix):
    def field(cell: str) -> str:
        return '"' + cell.replace('"', '""') + '"' if quote else cell

    text = end.join(sep.join(field(c) for c in row) for row in rows) + end
    data = text.encode(encoding, errors="replace")
    read_or_refuse(data, suffix)


SHEET_CELL = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=10),
    st.integers(0, 10**6).map(str),
    st.sampled_from(["=1+1|2", "=SUM(A1:A3)", '=HYPERLINK("x")|x', "=A1|"]),
)
SHEET = st.tuples(
    st.text(alphabet="abcÅÖ 1_-", min_size=1, max_size=8),
    st.sampled_from(["visible", "hidden", "veryHidden"]),
    st.lists(st.lists(SHEET_CELL, max_size=5), max_size=6),
)


@PROPERTY
@given(
    st.lists(SHEET, min_size=1, max_size=4, unique_by=lambda s: s[0].casefold()),
    st.one_of(st.none(), st.integers(0, 3000)),
    st.binary(max_size=8),
    st.sampled_from([".xlsx", ".csv"]),
    st.one_of(st.none(), st.sampled_from(["Data", "abc", "a"])),
)
def test_random_workbooks_damaged_at_random(sheets, cut, noise, suffix, sheet):
    data = workbook("x", [(t, s, [tuple(r) for r in rows]) for t, s, rows in sheets])
    if cut is not None:
        cut %= len(data)
        data = data[:cut] + noise + data[cut + len(noise) :]
    read_or_refuse(data, suffix, sheet if suffix == ".xlsx" else None)


XML_TEXT = st.text(alphabet="01aZ.-:#!E+ ", max_size=6)
RAW_CELL = st.tuples(
    st.one_of(st.none(), st.sampled_from(["A", "B", "C", "Z", "XFD", "XFE", "AA", "ö"])),
    st.sampled_from([None, "s", "n", "b", "d", "e", "str", "inlineStr", "zz"]),
    st.one_of(st.none(), XML_TEXT),
    st.booleans(),  # a formula
)
RAW_ROW = st.tuples(
    st.one_of(st.none(), st.integers(-1, 1_048_578)), st.lists(RAW_CELL, max_size=4)
)


def raw_cell(row: int | None, cell) -> str:
    column, kind, value, formula = cell
    ref = f' r="{column}{row if row is not None else 1}"' if column else ""
    kind_attr = f' t="{kind}"' if kind else ""
    inner = "<f>1+1</f>" if formula else ""
    if kind == "inlineStr":
        inner += f"<is><t>{value or ''}</t></is>"
    elif value is not None:
        inner += f"<v>{value}</v>"
    return f"<c{ref}{kind_attr}>{inner}</c>"


@PROPERTY
@given(
    st.lists(RAW_ROW, min_size=1, max_size=8),
    st.lists(XML_TEXT, max_size=3),
    st.sampled_from(["visible", "hidden"]),
)
def test_random_sheet_xml(rows, strings, state):
    from tests.data.read.make import MAIN

    body = "".join(
        (f'<row r="{r}">' if r is not None else "<row>")
        + "".join(raw_cell(r, c) for c in cells)
        + "</row>"
        for r, cells in rows
    )
    sheet = f'<worksheet xmlns="{MAIN}"><sheetData>{body}</sheetData></worksheet>'
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    parts = {"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{sst}</sst>'}
    read_or_refuse(workbook("x", [("Data", state, sheet)], parts), ".xlsx")
