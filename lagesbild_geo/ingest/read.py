"""Read an actor's delivery file (Excel or CSV) into a table of strings, nothing interpreted yet.

Reading is kept apart from validation so that the privacy scan sees every cell exactly as the
actor wrote it, and so that every later problem can point at the row number the actor sees in
Excel or a text editor (the header is row 1).

CSV files come in two flavours in practice: UTF-8 (often with a BOM, from modern tools) and the
Windows-1252, semicolon-separated files that Swedish Excel writes with "Spara som CSV". Big
event files are parsed with ``pyarrow.csv`` (about a second for a million rows); anything the
fast parser cannot place row by row (blank lines, line breaks inside quotes, ragged rows) is
re-read with the standard :mod:`csv` module, which knows the exact row of each record.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from lagesbild_geo.errors import DeliveryRefusedError, Problem

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
SEPARATORS = (";", ",", "\t")
SHEET_NAMES = ("data", "leverans", "delivery")
"""Sheets preferred over the first one when an actor's workbook has several (lower case)."""
_BLANK = re.compile(rb"[ \t\n\r\x0b\x0c\x1c-\x1f]*\Z")
"""ASCII that ``str.isspace`` calls blank, without decoding a whole file to ask it."""
MAX_LISTED_RAGGED = 20
"""Ragged rows listed one by one; beyond this a single summary problem counts the rest."""


@dataclass(frozen=True)
class RawTable:
    """A delivery as read: every cell a string, header names as the actor wrote them.

    ``rows[i]`` is the row number the actor sees for ``frame.iloc[i]`` (header = row 1), which
    differs from ``i + 2`` when blank rows were skipped or a quoted cell spans several lines.
    """

    file: str
    frame: pd.DataFrame
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)


def read_table(path: str | Path, *, max_rows: int | None = None) -> RawTable:
    """Read an ``.xlsx`` or CSV delivery; refuse with every reason found when it cannot be read.

    ``max_rows`` guards the service against files far larger than any real delivery.
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in EXCEL_SUFFIXES + CSV_SUFFIXES:
        if suffix == ".xls":
            reason = "old Excel 97-2003 format (.xls) is not supported; save as .xlsx or CSV"
        else:
            accepted = ", ".join(EXCEL_SUFFIXES + CSV_SUFFIXES)
            reason = f"unknown file type '{suffix or '(none)'}'; accepted: {accepted}"
        _refuse(name, reason)
    data = path.read_bytes()
    if not data:
        prefix = "not a valid Excel file: " if suffix in EXCEL_SUFFIXES else ""
        _refuse(name, prefix + "the file is empty (0 bytes)")
    table = _read_excel(name, data) if suffix in EXCEL_SUFFIXES else _read_csv(name, data)
    if len(table) == 0:
        _refuse(name, "no data rows: the file has a header but nothing below it")
    if max_rows is not None and len(table) > max_rows:
        _refuse(name, f"the file has {len(table)} data rows; at most {max_rows} are accepted")
    return table


def _refuse(name: str, reason: str, row: int | None = None) -> NoReturn:
    raise DeliveryRefusedError([Problem(name, reason, row=row)])


# --- CSV -----------------------------------------------------------------------------------


def _decode(name: str, data: bytes) -> tuple[bytes, str | None]:
    """The bytes as UTF-8 (without BOM), and the decoded text when decoding had to happen.

    UTF-8 is tried first because cp1252 accepts almost any byte sequence and would silently
    turn UTF-8 "ö" into "Ã¶"; only bytes that are not UTF-8 are read as Windows-1252. Plain
    ASCII is UTF-8 as it stands: it is not decoded here (a big file would be held twice), so
    the text is ``None`` and the caller decodes what it needs.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data):
        _refuse(name, "the file is UTF-16 encoded (Excel 'Unicode text'); save it as CSV UTF-8")
    if data.startswith(b"PK\x03\x04"):
        _refuse(name, "this is an Excel workbook with a CSV name; save it as .xlsx or as CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.isascii():
        return data, None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        _refuse(name, "the text is neither UTF-8 nor Windows-1252; save it as CSV UTF-8")
    return text.encode("utf-8"), text


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without BOM: every other byte of ASCII text is a NUL."""
    head = data[:200]
    return len(head) >= 4 and head.count(0) >= len(head) // 3


def _sniff_separator(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])  # ties: order of SEPARATORS
    return best if counts[best] > 0 else ","


def _read_csv(name: str, data: bytes) -> RawTable:
    encoded, text = _decode(name, data)
    blank = _BLANK.match(encoded) is not None if text is None else text.isspace()
    if not encoded or blank:
        _refuse(name, "the file contains only blank space, no header and no data")
    if encoded[:1] in (b"\r", b"\n"):  # blank lines above the header
        text = encoded.decode("utf-8") if text is None else text
        start = len(text) - len(text[:1000].lstrip("\r\n"))
        end = text.find("\n", start)
        return _read_csv_slow(name, text, _sniff_separator(text[start : end if end >= 0 else None]))
    end = encoded.find(b"\n")
    first_line = encoded[: end if end >= 0 else None].decode("utf-8")
    sep = _sniff_separator(first_line)
    header = next(csv.reader(io.StringIO(first_line), delimiter=sep))
    fast = _read_csv_fast(encoded, sep, len(header))
    if fast is None:
        return _read_csv_slow(name, encoded.decode("utf-8") if text is None else text, sep)
    header, frame = fast
    rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    return _finish(name, header, frame, rows)


def _read_csv_fast(encoded: bytes, sep: str, width: int) -> tuple[list[str], pd.DataFrame] | None:
    """Parse with pyarrow; ``None`` when row numbers could not be trusted or parsing failed.

    The parser skips blank lines and joins quoted line breaks, both of which leave fewer
    rows than line feeds; a lone carriage return (an old Mac line end) makes more. So the
    row count settles it, except when a carriage return could make up for a blank line.
    """
    end = len(encoded)
    while end and encoded[end - 1] in b"\r\n":
        end -= 1  # trailing blank lines carry no data
    if encoded.find(b"\r", 0, end) >= 0 and (
        encoded.find(b"\n\n", 0, end) >= 0 or encoded.find(b"\n\r\n", 0, end) >= 0
    ):
        return None  # blank rows: the slow path keeps their numbers
    names = [f"f{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(encoded).slice(0, end)),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != encoded.count(b"\n", 0, end) + 1:
        return None  # a quoted cell held a line break
    header = [table.column(i)[0].as_py() for i in range(width)]
    frame = table.slice(1).to_pandas()
    frame.index = pd.RangeIndex(len(frame))
    return header, frame


def _read_csv_slow(name: str, text: str, sep: str) -> RawTable:
    """Row-exact reading with :mod:`csv`; lists every ragged row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] | None = None
    records: list[list[str]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    ragged = 0
    row_number = 0
    try:
        for row_number, record in enumerate(reader, start=1):
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = record
                while len(header) > 1 and not header[-1].strip():
                    header.pop()  # unnamed trailing columns: Excel's padding
                continue
            while len(record) > len(header) and not record[-1].strip():
                record.pop()  # Excel pads rows with empty trailing cells
            if len(record) != len(header):
                ragged += 1
                if ragged <= MAX_LISTED_RAGGED:
                    problems.append(
                        Problem(
                            name,
                            f"row {row_number} has {len(record)} fields, "
                            f"the header has {len(header)}",
                            row=row_number,
                        )
                    )
                continue
            records.append(record)
            rows.append(row_number)
    except csv.Error as exc:
        problems.append(Problem(name, f"cannot read CSV: {exc}", row=row_number + 1))
    if ragged > MAX_LISTED_RAGGED:
        problems.append(
            Problem(name, f"{ragged - MAX_LISTED_RAGGED} more rows with the wrong number of fields")
        )
    if problems:
        raise DeliveryRefusedError(problems)
    if header is None:
        _refuse(name, "the file contains only blank space, no header and no data")
    frame = pd.DataFrame(records, columns=[f"f{i}" for i in range(len(header))], dtype="str")
    return _finish(name, header, frame, np.asarray(rows, dtype=np.int64))


# --- Excel ---------------------------------------------------------------------------------


def _read_excel(name: str, data: bytes) -> RawTable:
    from openpyxl import load_workbook  # imported here: CSV-only callers skip its import cost

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, Exception) as exc:  # openpyxl raises many kinds for bad files
        raise DeliveryRefusedError(
            [Problem(name, f"not a valid Excel file ({type(exc).__name__}); save it as .xlsx")]
        ) from exc
    try:
        sheet = _pick_sheet(workbook)
        header: list[str] | None = None
        records: list[list[str]] = []
        rows: list[int] = []
        for row_number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = cells
                continue
            records.append(cells)
            rows.append(row_number)
    finally:
        workbook.close()
    if header is None:
        _refuse(name, "the first sheet is empty: no header and no data")
    width = max([len(header), *(len(r) for r in records)])
    header = header + [""] * (width - len(header))
    records = [r + [""] * (width - len(r)) for r in records]
    frame = pd.DataFrame(records, columns=[f"f{i}" for i in range(width)], dtype="str")
    if frame.empty:
        frame = pd.DataFrame({f"f{i}": pd.Series([], dtype="str") for i in range(width)})
    return _finish(name, header, frame, np.asarray(rows, dtype=np.int64))


def _pick_sheet(workbook):
    for sheet_name in workbook.sheetnames:
        if sheet_name.strip().lower() in SHEET_NAMES:
            return workbook[sheet_name]
    return workbook.worksheets[0]


def _cell_text(value: object) -> str:
    """A cell as the text an actor would expect; dates and times in ISO form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, dt.timedelta):
        minutes = int(value.total_seconds() // 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


# --- shared --------------------------------------------------------------------------------


def _finish(name: str, header: list[str], frame: pd.DataFrame, rows: np.ndarray) -> RawTable:
    """Name the columns, drop fully blank rows and unnamed empty columns, refuse the rest."""
    header = [h.replace("\ufeff", "").strip() for h in header]
    keep: list[int] = []
    problems: list[Problem] = []
    for i, column_name in enumerate(header):
        column = frame[f"f{i}"]
        if column_name:
            keep.append(i)
        elif column.str.strip().ne("").any():
            problems.append(
                Problem(
                    name,
                    f"column {i + 1} has values but no name in the header; name it or remove it",
                )
            )
    seen: dict[str, int] = {}
    for i in keep:
        first = seen.setdefault(header[i], i)
        if first != i:
            problems.append(
                Problem(
                    name,
                    f"the column name appears twice (columns {first + 1} and {i + 1})",
                    column=header[i],
                )
            )
    if problems:
        raise DeliveryRefusedError(problems)
    frame = frame[[f"f{i}" for i in keep]]
    frame.columns = [header[i] for i in keep]
    blank = np.ones(len(frame), dtype=bool)
    for column_name in frame.columns:
        blank &= _is_empty(frame[column_name])
        if not blank.any():
            break
    if blank.any():
        frame = frame[~blank].reset_index(drop=True)
        rows = rows[~blank]
    return RawTable(file=name, frame=frame, rows=rows)


def _is_empty(column: pd.Series) -> np.ndarray:
    """Cells holding the empty string (a byte count in Arrow, not a character count)."""
    lengths = pc.binary_length(pa.array(column.array, type=pa.string(), from_pandas=True))
    return pc.fill_null(pc.equal(lengths, 0), False).to_numpy(zero_copy_only=False)
