"""Excel deliveries (.xlsx, .xlsm): which sheet, which cells, and a workbook that cannot blow up.

**Sheets.** ``sheet=`` (``--sheet NAME``) names the sheet to read: its exact name, or the one
name that equals it ignoring case and surrounding spaces; a hidden sheet is read only when
named so. Without it the reader takes the one *visible data sheet*: a visible sheet with at
least two rows holding values (a header and a row; a notes sheet with a single line is not
one). When several are visible the delivery is refused, naming them: which one was meant is
the actor's to say (before issue 11 a sheet named Data was preferred, also a hidden one, so a
hidden sheet could be read instead of the visible one the actor checked). Data only on hidden
or very hidden sheets is refused, naming them: a hidden sheet is never read silently. Every
other sheet's cells are handed on (``RawTable.other_cells``) so that the privacy gate screens
them too, and the sheet names with them.

**Formulas.** Every formula cell of the sheet read is refused by row and column ("a formula,
not a value; paste values"), whether or not the workbook saved its result: a saved result is
whatever the writing program put there (another program, or an attacker, can store a result
the formula does not give), a formula's result changes when the file is opened elsewhere, and
``=HYPERLINK(…)`` or DDE cells are formulas too. A formula that was never calculated has no
saved result at all and is refused with that reason. Formulas on other sheets are not refused:
their saved results are screened like every other cell.

**Limits** are :mod:`.read_archive`'s, checked before openpyxl parses anything.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.ingest.read_archive import (
    ArchiveLimitError,
    SheetScan,
    cell_budget,
    check_archive,
    column_letter,
    scan_sheet,
)

MAX_LISTED_FORMULAS = 20


@dataclass
class Workbook:
    """What the reader takes from a workbook; ``problems`` wait for the privacy gate."""

    header: list[str]
    frame: pd.DataFrame
    rows: np.ndarray
    sheet: str | None
    other_cells: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def refuse(name: str, reason: str) -> None:
    raise DeliveryRefusedError([Problem(name, f"not a valid Excel file: {reason}")])


def parse_workbook(name: str, data: bytes, sheet: str | None = None) -> Workbook:
    """Read the delivery's sheet and every other sheet's cells, within the limits above."""
    from openpyxl import load_workbook  # imported here: CSV-only callers skip its import cost

    if not data.startswith(b"PK"):
        _refuse_other_format(name, data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        check_archive(archive)
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except DeliveryRefusedError:
        raise
    except ArchiveLimitError as exc:
        refuse(name, str(exc))
    except Exception as exc:  # openpyxl and zipfile raise many kinds for bad files
        raise DeliveryRefusedError(
            [Problem(name, f"not a valid Excel file ({type(exc).__name__}); save it as .xlsx")]
        ) from exc
    try:
        return _read_sheets(name, archive, workbook, sheet)
    except ArchiveLimitError as exc:
        refuse(name, str(exc))
        raise  # unreachable: refuse raises
    except Exception as exc:  # a cell openpyxl cannot convert (a shared string that is not there)
        raise DeliveryRefusedError(
            [Problem(name, f"not a valid Excel file ({type(exc).__name__}); save it as .xlsx")]
        ) from exc
    finally:
        workbook.close()
        archive.close()


def _refuse_other_format(name: str, data: bytes) -> None:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        reason = (
            "an Excel 97-2003 workbook or a password-protected one; "
            "save it without a password as .xlsx"
        )
    elif b"\x00" not in data[:4096] and data[:4096].count(b"\n") + data[:4096].count(b";") > 0:
        reason = "this is a text (CSV) file with an Excel name; name it .csv"
    else:
        reason = "the file is not a workbook (no .xlsx archive); save it as .xlsx"
    raise DeliveryRefusedError([Problem(name, f"not a valid Excel file: {reason}")])


def _read_sheets(
    name: str, archive: zipfile.ZipFile, workbook: Any, wanted: str | None
) -> Workbook:
    budget = cell_budget()
    scans = {
        ws.title: scan_sheet(archive, ws._worksheet_path, budget) for ws in workbook.worksheets
    }
    sheets = {ws.title: ws for ws in workbook.worksheets}
    chosen, problems = _choose(name, workbook, scans, wanted)
    other_cells = [
        (title, _cells(sheets[title]) if title in sheets else pd.DataFrame())
        for title in workbook.sheetnames
        if title != chosen
    ]
    if chosen is None:
        empty = pd.DataFrame()
        return Workbook([], empty, np.zeros(0, np.int64), None, other_cells, problems)
    header, frame, rows = _table(sheets[chosen])
    problems = _formula_problems(name, chosen, header, scans[chosen])
    return Workbook(header, frame, rows, chosen, other_cells, problems)


def _choose(
    name: str, workbook: Any, scans: dict[str, SheetScan], wanted: str | None
) -> tuple[str | None, list[Problem]]:
    """The sheet to read, or the problems that say why none can be chosen."""
    titles = [ws.title for ws in workbook.worksheets]
    state = {ws.title: ws.sheet_state for ws in workbook.worksheets}
    listed = ", ".join(f"'{t}'" for t in workbook.sheetnames)

    def problem(reason: str) -> tuple[None, list[Problem]]:
        return None, [Problem(name, reason)]

    if wanted is not None:
        if wanted in titles:
            return wanted, []
        loose = [t for t in titles if t.strip().casefold() == wanted.strip().casefold()]
        if len(loose) == 1:
            return loose[0], []
        return problem(
            f"the workbook has no sheet of the name given (--sheet); its sheets: {listed}"
        )
    visible = [t for t in titles if state[t] == "visible"]
    data = [t for t in visible if scans[t].value_rows >= 2]
    if len(data) == 1:
        return data[0], []
    if len(data) > 1:
        names = ", ".join(f"'{t}'" for t in data)
        return problem(
            f"several visible sheets hold data ({names}); name the one to read with --sheet"
        )
    hidden = [t for t in titles if state[t] != "visible" and scans[t].value_rows >= 2]
    with_values = [t for t in visible if scans[t].value_rows]
    if len(with_values) == 1 and not hidden:
        return with_values[0], []  # a header alone: refused below as "no data rows"
    if hidden:
        names = ", ".join(f"'{t}'" for t in hidden)
        return problem(
            f"the data is on a hidden sheet ({names}), which is never read unless named; "
            "show the sheet in Excel or name it with --sheet"
        )
    if not titles:
        return problem("the workbook has no worksheet")
    return problem("the workbook has no data: no sheet holds a header and rows")


def _rows(ws: Any) -> Iterator[tuple[int, list[str]]]:
    """Each row that holds a value, with its number, as text; without openpyxl's padding."""
    ws.reset_dimensions()  # the sheet's own dimension may claim the whole grid
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        if values:
            cells = [_cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                yield number, cells


def _table(ws: Any) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    header: list[str] | None = None
    records: list[list[str]] = []
    rows: list[int] = []
    for number, cells in _rows(ws):
        if header is None:
            header = cells
            continue
        records.append(cells)
        rows.append(number)
    header = header or []
    width = max([len(header), *(len(r) for r in records)])
    header = header + [""] * (width - len(header))
    records = [r + [""] * (width - len(r)) for r in records]
    names = [f"f{i}" for i in range(width)]
    frame = pd.DataFrame(records, columns=names, dtype="str")
    if frame.empty:
        frame = pd.DataFrame({n: pd.Series([], dtype="str") for n in names})
    return header, frame, np.asarray(rows, dtype=np.int64)


def _cells(ws: Any) -> pd.DataFrame:
    """A sheet's cells as text: columns named by their letters, indexed by their row number."""
    numbers: list[int] = []
    records: list[list[str]] = []
    for number, cells in _rows(ws):
        numbers.append(number)
        records.append(cells)
    width = max([0, *(len(r) for r in records)])
    records = [r + [""] * (width - len(r)) for r in records]
    columns = [column_letter(i + 1) for i in range(width)]
    return pd.DataFrame(records, columns=columns, index=numbers, dtype="str")


def _formula_problems(name: str, sheet: str, header: list[str], scan: SheetScan) -> list[Problem]:
    problems: list[Problem] = []
    for row, col, saved in scan.formulas[:MAX_LISTED_FORMULAS]:
        letter = column_letter(col)
        label = header[col - 1].strip() if row > 1 and col <= len(header) else ""
        what = (
            "a formula, not a value"
            if saved
            else "a formula without a calculated value (never calculated), not a value"
        )
        problems.append(
            Problem(
                name,
                f"sheet '{sheet}', cell {letter}{row}: {what}; paste values",
                row=row,
                column=label or letter,
            )
        )
    more = len(scan.formulas) - MAX_LISTED_FORMULAS
    if more > 0:
        problems.append(Problem(name, f"sheet '{sheet}': {more} more formula cells"))
    return problems


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
