"""Read an actor's delivery file (Excel or CSV) into a table of strings, nothing interpreted yet.

Reading is kept apart from validation so that the privacy scan sees every cell exactly as the
actor wrote it, and so that every later problem can point at the row number the actor sees in
Excel or a text editor (the header is row 1). What a file is follows from its bytes as much as
from its name: a workbook named ``.csv``, a CSV named ``.xlsx``, an image or an archive are
refused saying what they are. The encodings and CSV rules are in :mod:`.read_csv`, the sheets,
formulas and size limits of workbooks in :mod:`.read_excel`.

Refusals that name a workbook's sheets (several candidates, a hidden sheet, no sheet of the
given name) wait for the privacy gate: ``screen`` is called first on everything read, and when
it finds personal data (a personal sheet name, a personnummer on another sheet) its problems
refuse the delivery instead, so that no refusal repeats a personal sheet name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.ingest.read_csv import parse_csv
from lagesbild_geo.ingest.read_excel import parse_workbook

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
MAX_LISTED_HEADERS = 20
#: The largest file read at all: four times a million single events as CSV (60 MB), so that a
#: runaway export or a device behind a link cannot take the server's memory before any check.
MAX_FILE_BYTES = 256 * 1024 * 1024
"""Repeated header rows listed one by one."""


@dataclass(frozen=True)
class RawTable:
    """A delivery as read: every cell a string, header names as the actor wrote them.

    ``rows[i]`` is the row number the actor sees for ``frame.iloc[i]`` (header = row 1), which
    differs from ``i + 2`` when blank rows were skipped or a quoted cell spans several lines.
    ``sheet`` is the workbook sheet read (``None`` for CSV); ``other_cells`` holds every other
    sheet of the workbook, hidden ones included, as ``(sheet name, cells)``: cells as strings,
    columns named by their letters (``A``, ``B``, …), indexed by their row number, blank rows
    left out. The privacy gate screens them and the sheet names; nothing else uses them.
    """

    file: str
    frame: pd.DataFrame
    rows: np.ndarray
    sheet: str | None = None
    other_cells: list[tuple[str, pd.DataFrame]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)


Screen = Callable[[RawTable], list[Problem]]
"""The privacy gate as the reader calls it: the problems of a table, empty when it is clean."""


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    max_rows: int | None = None,
    screen: Screen | None = None,
) -> RawTable:
    """Read an ``.xlsx`` or CSV delivery; refuse with every reason found when it cannot be read.

    ``sheet`` names the workbook sheet to read (see :mod:`.read_excel` for the choice without
    it); ``max_rows`` guards the service against files far larger than any real delivery;
    ``screen`` runs before any refusal that names sheets (see above).
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
    if not path.is_file():
        _refuse(
            name,
            "not a regular file (a folder or a device); deliver the file itself"
            if path.exists()
            else "no such file; check the path",
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        _refuse(
            name,
            f"the file is {size // 2**20:,} MB; at most {MAX_FILE_BYTES // 2**20} MB are read "
            "(split the delivery by period)",
        )
    data = path.read_bytes()
    if not data:
        prefix = "not a valid Excel file: " if suffix in EXCEL_SUFFIXES else ""
        _refuse(name, prefix + "the file is empty (0 bytes)")
    if suffix in EXCEL_SUFFIXES:
        table = _read_excel(name, data, sheet, screen)
    else:
        if sheet is not None:
            _refuse(name, "a CSV file has no sheets; leave out --sheet")
        table = _finish(name, *parse_csv(name, data))
    if len(table) == 0:
        _refuse(name, "no data rows: the file has a header but nothing below it")
    if max_rows is not None and len(table) > max_rows:
        _refuse(name, f"the file has {len(table)} data rows; at most {max_rows} are accepted")
    return table


def _refuse(name: str, reason: str, row: int | None = None) -> NoReturn:
    raise DeliveryRefusedError([Problem(name, reason, row=row)])


def _read_excel(name: str, data: bytes, sheet: str | None, screen: Screen | None) -> RawTable:
    book = parse_workbook(name, data, sheet)
    if book.problems:
        frame = book.frame
        if book.header:  # name the columns so the gate can name them (formulas found)
            frame = book.frame.set_axis([h or f"f{i}" for i, h in enumerate(book.header)], axis=1)
        table = RawTable(name, frame, book.rows, book.sheet, book.other_cells)
        found = screen(table) if screen is not None else []
        raise DeliveryRefusedError(found or book.problems)
    prefix = f"sheet '{book.sheet}': "
    table = _finish(name, book.header, book.frame, book.rows, prefix)
    return RawTable(name, table.frame, table.rows, book.sheet, book.other_cells)


def _finish(
    name: str, header: list[str], frame: pd.DataFrame, rows: np.ndarray, where: str = ""
) -> RawTable:
    """Name the columns, drop fully blank rows and unnamed empty columns, refuse the rest.

    ``where`` starts each reason (the sheet of a workbook).
    """
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
                    f"{where}column {i + 1} has values but no name in the header; "
                    "name it or remove it",
                )
            )
    seen: dict[str, int] = {}
    for i in keep:
        first = seen.setdefault(header[i], i)
        if first != i:
            problems.append(
                Problem(
                    name,
                    f"{where}the column name appears twice (columns {first + 1} and {i + 1})",
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
    _refuse_repeated_header(name, frame, rows, where)
    return RawTable(file=name, frame=frame, rows=rows)


def _refuse_repeated_header(name: str, frame: pd.DataFrame, rows: np.ndarray, where: str) -> None:
    """A row that repeats the header (two files pasted together) is named, not validated."""
    if frame.empty or len(frame.columns) == 0:
        return
    same = np.ones(len(frame), dtype=bool)
    for column_name in frame.columns:
        cells = frame[column_name].str.replace("\ufeff", "").str.strip().str.casefold()
        same &= (cells == column_name.casefold()).to_numpy(dtype=bool, na_value=False)
        if not same.any():
            return
    hits = rows[same]
    problems = [
        Problem(
            name,
            f"{where}row {row} repeats the header (two files pasted together?); remove it",
            row=int(row),
        )
        for row in hits[:MAX_LISTED_HEADERS]
    ]
    if len(hits) > MAX_LISTED_HEADERS:
        problems.append(
            Problem(name, f"{where}{len(hits) - MAX_LISTED_HEADERS} more rows repeat the header")
        )
    raise DeliveryRefusedError(problems)


def _is_empty(column: pd.Series) -> np.ndarray:
    """Cells holding the empty string (a byte count in Arrow, not a character count)."""
    lengths = pc.binary_length(pa.array(column.array, type=pa.string(), from_pandas=True))
    return pc.fill_null(pc.equal(lengths, 0), False).to_numpy(zero_copy_only=False)
