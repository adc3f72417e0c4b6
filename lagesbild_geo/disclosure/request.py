"""The ``k-anonymity`` process's request: its inputs, their limits and defaults, and the checks.

:func:`parse_request` turns the process inputs (a table of counts as JSON rows or CSV text, the
margins to be published with it, k, the method and its parameters) into a :class:`Request`, or
raises :class:`TableError` with a message that says what to change: which input, row or
column, never a value of the table (the rule of issue 11). :func:`input_schema` states the same
limits for the process description. :mod:`.table` protects the request.

The limits: :data:`MAX_CELLS` per method (:data:`SYNC_CELLS` in a synchronous request; the
adapter asks for ``Prefer: respond-async`` above), :data:`MAX_DIMENSIONS` dimensions (every
column other than the count), :data:`MAX_MARGINS` margins, counts and the table's total up to
:data:`MAX_COUNT`, names up to :data:`MAX_NAME` and labels up to :data:`MAX_LABEL` characters.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass

import numpy as np

from lagesbild_geo.disclosure.ptable import KEY_STEPS, build, default_d, default_v

METHODS = ("cell_key", "suppression")
DEFAULT_K = 5
#: k of 2..MAX_K; D of 1..MAX_D (the perturbation table is solved for D up to 15).
MAX_K = 15
MAX_D = 15
#: Most cells per method (asynchronous), and per synchronous request; measured in
#: tests/disclosure/test_table.py (suppression: the audit solves two integer programs per
#: suppressed figure).
MAX_CELLS = {"cell_key": 100_000, "suppression": 1_000}
SYNC_CELLS = {"cell_key": 10_000, "suppression": 100}
MAX_DIMENSIONS = 6
MAX_MARGINS = 2**MAX_DIMENSIONS - 1
MAX_NAME = 64
MAX_LABEL = 200
#: Largest count, and largest sum of the table (a margin) -- exact in float64 for HiGHS.
MAX_COUNT = 10**9
#: Seconds the secondary suppression may take: a table whose structure makes it slower (many
#: dimensions, every margin) is refused with advice. (A synchronous run has at most
#: SYNC_CELLS cells, seconds at most in the tests.)
SUPPRESSION_SECONDS = 900.0
#: Secrets in bytes: generated, and the accepted lengths.
SECRET_BYTES = 32
SECRET_RANGE = (16, 64)
DEFAULT_COUNT_COLUMN = "count"
INPUTS = ("table", "count_column", "margins", "k", "method", "ckm_d", "ckm_v", "secret")
#: Rows listed per reason in an error message.
LISTED_ROWS = 10


class TableError(ValueError):
    """The posted table or a parameter is wrong; the message says what to change and never
    repeats a value of the table."""


class TableTooLargeError(TableError):
    """More cells, dimensions or margins than the limits allow."""


@dataclass(frozen=True)
class Request:
    """A checked request: cells (labels per dimension, counts), margins, method, parameters."""

    dimensions: tuple[str, ...]
    labels: list[tuple]
    counts: np.ndarray
    margins: tuple[tuple[int, ...], ...]
    k: int
    method: str
    d: int
    v: float
    secret: bytes | None

    @property
    def cells(self) -> int:
        return len(self.counts)


#: Inputs a request must have.
REQUIRED = ("table", "margins")
#: Each input's title and description in Swedish and English, for the process description.
INPUT_TEXTS = {
    "table": ("Tabell", "Table",
              "Rader som JSON-objekt (kolumn: värde) eller CSV-text med rubrikrad (, ; eller "
              "tabb). Varje kolumn utom antalskolumnen är en dimension; ange nollor som rader.",
              "Rows as JSON objects (column: value) or CSV text with a header row (, ; or "
              "tab). Every column but the count column is a dimension; list zeros as rows."),
    "count_column": ("Antalskolumn", "Count column", "Kolumnen med antalen (heltal ≥ 0).",
                     "The column with the counts (integers ≥ 0)."),
    "margins": ("Marginaler", "Margins",
                'Summorna som publiceras med tabellen, t.ex. [["area"], ["week"], []] (per '
                "område, per vecka, totalen); [] om inga.",
                'The totals published with the table, e.g. [["area"], ["week"], []] (per '
                "area, per week, the grand total); [] for none."),
    "k": ("k", "k", "Tröskel: 1..k-1 skyddas.", "Threshold: 1..k-1 is protected."),
    "method": ("Metod", "Method",
               "cell_key (brus, standard) eller suppression (exakta värden, undertryckning).",
               "cell_key (noise, default) or suppression (exact figures, suppressed cells)."),
    "ckm_d": ("D", "D", "Största avvikelse (cell_key), minst k-2. Standard: k-2.",
              "Largest deviation (cell_key), at least k-2. Default: k-2."),
    "ckm_v": ("V", "V", "Brusets varians (cell_key). Standard: 1,0 (D = 1: 0,5).",
              "Variance of the noise (cell_key). Default: 1.0 (D = 1: 0.5)."),
    "secret": ("Hemlighet", "Secret",
               "Hex-hemligheten från en tidigare körning: samma brus för oförändrade celler i "
               "en rättad tabell (cell_key), samma val av sekundära celler (suppression). "
               "Utan den skapas en ny. Aldrig publiceringens hemlighet.",
               "The hex secret of an earlier run: the same noise for unchanged cells of a "
               "corrected table (cell_key), the same choice of secondary cells "
               "(suppression). Without it a new one is made. Never the publication's."),
}  # fmt: skip

_SECRET_PATTERN = f"^([0-9a-fA-F]{{2}}){{{SECRET_RANGE[0]},{SECRET_RANGE[1]}}}$"


def input_schema() -> dict[str, dict]:
    """The JSON schema of every input, from the limits and defaults applied here."""
    name = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
    return {
        "table": {"oneOf": [
            {"type": "array", "minItems": 1, "maxItems": MAX_CELLS["cell_key"],
             "items": {"type": "object", "maxProperties": MAX_DIMENSIONS + 1}},
            {"type": "string", "contentMediaType": "text/csv"}]},
        "count_column": name | {"default": DEFAULT_COUNT_COLUMN},
        "margins": {"type": "array", "maxItems": MAX_MARGINS, "items": {
            "type": "array", "maxItems": MAX_DIMENSIONS - 1, "items": name}},
        "k": {"type": "integer", "minimum": 2, "maximum": MAX_K, "default": DEFAULT_K},
        "method": {"type": "string", "enum": list(METHODS), "default": METHODS[0]},
        "ckm_d": {"type": "integer", "minimum": 1, "maximum": MAX_D},
        "ckm_v": {"type": "number", "exclusiveMinimum": 0},
        "secret": {"type": "string", "pattern": _SECRET_PATTERN},
    }  # fmt: skip


# -- reading the table -------------------------------------------------------------------------


class _Problems:
    """Problems by (reason, column), with the rows they occur in."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str | None], list[int]] = {}

    def add(self, row: int, column: str | None, reason: str) -> None:
        self.rows.setdefault((reason, column), []).append(row)

    def raise_any(self) -> None:
        if not self.rows:
            return
        lines = []
        for (reason, column), rows in self.rows.items():
            where = f", column '{column}'" if column is not None else ""
            named = ", ".join(str(r) for r in rows[:LISTED_ROWS])
            more = f" and {len(rows) - LISTED_ROWS:,} more" if len(rows) > LISTED_ROWS else ""
            lines.append(f"table{where}, row{'s' if len(rows) > 1 else ''} {named}{more}: {reason}")
        raise TableError("The table cannot be protected:\n  " + "\n  ".join(lines))


def _column_names(names: list, where: str) -> list[str]:
    for i, name in enumerate(names, 1):
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME or not name.isprintable():
            raise TableError(
                f"{where}: column {i}'s name must be printable text of 1..{MAX_NAME} characters"
            )
    if len(set(names)) != len(names):
        raise TableError(f"{where}: a column name occurs twice; give each column once")
    return names


def _count(value, text: bool) -> int | None:
    if text:
        value = value.strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value)


def _records(table) -> tuple[list[str], list[tuple[int, list]], bool]:
    """(columns, [(row number, values)], values are text) of JSON rows or CSV text."""
    if isinstance(table, str):
        text = table.removeprefix("\ufeff")
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise TableError("Input table: the CSV text is empty; give a header row and rows")
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(lines[0], ",;\t")
        except csv.Error:
            dialect = csv.excel
        try:
            reader = csv.reader(io.StringIO(text), dialect)
            rows = [(n, r) for n, r in enumerate(reader, 1) if any(c.strip() for c in r)]
        except csv.Error:
            raise TableError(
                "Input table: the CSV text cannot be read (an unclosed quote, or a field "
                "longer than 131,072 characters); check the quotes"
            ) from None
        header = _column_names([c.strip() for c in rows[0][1]], "the CSV header")
        return header, rows[1:], True
    if not isinstance(table, list) or not table:
        raise TableError(
            "Input table must be a list of rows (JSON objects of column: value) or CSV text "
            "with a header row"
        )
    if not all(isinstance(r, dict) for r in table):
        first = next(i for i, r in enumerate(table, 1) if not isinstance(r, dict))
        raise TableError(f"Input table, row {first}: every row must be a JSON object")
    columns = _column_names(list(table[0]), "Input table, row 1")
    rows = []
    for n, row in enumerate(table, 1):
        if row.keys() != set(columns):
            missing = [c for c in columns if c not in row]
            what = f"misses column '{missing[0]}'" if missing else "has a column row 1 has not"
            raise TableError(f"Input table, row {n} {what}; every row has the same columns")
        rows.append((n, [row[c] for c in columns]))
    return columns, rows, False


def read_table(table, count_column: str, max_cells: int):
    """(dimensions, labels per cell, counts) of the posted table, checked."""
    columns, rows, text = _records(table)
    if count_column not in columns:
        raise TableError(
            f"count_column is not a column of the table; its columns: {', '.join(columns)}"
        )
    dims = tuple(c for c in columns if c != count_column)
    if not 1 <= len(dims) <= MAX_DIMENSIONS:
        raise (TableError if not dims else TableTooLargeError)(
            f"The table has {len(dims)} dimensions besides the count column; give 1.."
            f"{MAX_DIMENSIONS} (each column other than count_column is a dimension)"
        )
    if not rows:
        raise TableError("The table has no rows below its header; give at least one cell")
    if len(rows) > max_cells:
        raise TableTooLargeError(
            f"The table has {len(rows):,} cells; at most {max_cells:,} are protected "
            "in one request: split it (e.g. by one dimension) or aggregate"
        )
    where = columns.index(count_column)
    problems = _Problems()
    labels: list[tuple] = []
    counts = np.zeros(len(rows), dtype=np.int64)
    seen: dict[tuple, int] = {}
    for i, (n, values) in enumerate(rows):
        if text and len(values) != len(columns):
            problems.add(n, None, f"the header has {len(columns)} fields; give as many")
            continue
        count = _count(values[where], text)
        if count is None or not 0 <= count <= MAX_COUNT:
            problems.add(n, count_column, f"a count must be a whole number 0..{MAX_COUNT:,}")
        else:
            counts[i] = count
        cell = tuple(v for j, v in enumerate(values) if j != where)
        for name, label in zip(dims, cell, strict=True):
            ok = isinstance(label, str) or (isinstance(label, int) and not isinstance(label, bool))
            if not ok or len(str(label)) > MAX_LABEL or not str(label).isprintable():
                problems.add(n, name, f"a label must be text (or a whole number) of at most "
                             f"{MAX_LABEL} printable characters")  # fmt: skip
        key = tuple(str(v).strip() if text else str(v) for v in cell)
        if key in seen:
            problems.add(n, None, f"the same cell as row {seen[key]}; give each cell once")
        seen.setdefault(key, n)
        labels.append(tuple(v.strip() for v in cell) if text else cell)
    problems.raise_any()
    if counts.sum() > MAX_COUNT:
        raise TableError(f"The table's total is above {MAX_COUNT:,}; split the table")
    return dims, labels, counts


def _margins(value, dims: tuple[str, ...]) -> tuple[tuple[int, ...], ...]:
    if not isinstance(value, list):
        raise TableError(
            'Input margins must be a list of dimension lists, e.g. [["area"], ["week"], []] '
            "for the totals per area, per week and the grand total ([] for none)"
        )
    if len(value) > MAX_MARGINS:
        raise TableTooLargeError(f"Input margins: give at most {MAX_MARGINS} margins")
    out: list[tuple[int, ...]] = []
    for i, margin in enumerate(value, 1):
        if not isinstance(margin, list) or not all(isinstance(d, str) for d in margin):
            raise TableError(f"margins item {i} must be a list of dimension names")
        if not set(margin) <= set(dims):
            raise TableError(
                f"margins item {i} names a dimension the table has not; its dimensions: "
                f"{', '.join(dims)}"
            )
        if len(set(margin)) != len(margin) or len(margin) == len(dims):
            raise TableError(
                f"margins item {i} names a dimension twice or all of them (that is the table)"
            )
        idx = tuple(sorted(dims.index(d) for d in margin))
        if idx in out:
            raise TableError(f"margins item {i} is the same margin as an earlier one")
        out.append(idx)
    return tuple(out)


def _int_input(inputs: dict, name: str, default: int, low: int, high: int) -> int:
    value = inputs.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TableError(f"Input {name} must be a whole number {low}..{high}")
    return value


def parse_request(inputs: dict, max_cells: int | None = None) -> Request:
    """Check the process inputs (:data:`INPUTS`); every mistake is a :class:`TableError`."""
    unknown = sorted(set(inputs) - set(INPUTS))
    if unknown:
        raise TableError(f"Unknown input(s) {', '.join(unknown)}; the inputs: {', '.join(INPUTS)}")
    method = inputs.get("method", METHODS[0])
    if method not in METHODS:
        raise TableError(f"Input method must be one of {', '.join(METHODS)}")
    if method != "cell_key" and {"ckm_d", "ckm_v"} & set(inputs):
        raise TableError("Inputs ckm_d and ckm_v belong to method cell_key; leave them out")
    k = _int_input(inputs, "k", DEFAULT_K, 2, MAX_K)
    count_column = inputs.get("count_column", DEFAULT_COUNT_COLUMN)
    if not isinstance(count_column, str):
        raise TableError("Input count_column must be the name of the column with the counts")
    if "table" not in inputs:
        raise TableError("Input table is missing: give the rows (JSON) or CSV text")
    dims, labels, counts = read_table(inputs["table"], count_column, max_cells or MAX_CELLS[method])
    if "margins" not in inputs:
        raise TableError('Input margins is missing: e.g. [["area"], []]; [] when none is published')
    margins = _margins(inputs["margins"], dims)
    d = _int_input(inputs, "ckm_d", default_d(k), max(1, k - 2), MAX_D)
    v = inputs.get("ckm_v", default_v(d))
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= d * d:
        raise TableError(f"Input ckm_v (the variance V) must be a number in (0, D²] = (0, {d * d}]")
    secret = inputs.get("secret")
    if secret is not None:
        low, high = SECRET_RANGE
        try:
            secret = bytes.fromhex(secret) if isinstance(secret, str) else None
        except ValueError:
            secret = None
        if secret is None or not low <= len(secret) <= high:
            raise TableError(f"Input secret must be {low}..{high} bytes as hexadecimal text")
    return Request(dims, labels, counts, margins, k, method, d, float(v), secret)


# -- the perturbation table as the public reads it ------------------------------------------


@functools.cache
def possible_perturbations(d: int, v: float) -> np.ndarray:
    """possible[row, j]: perturbation ``j - d`` can happen to a value of that row."""
    table = build(d, v)
    bounds = np.round(table.cumulative * KEY_STEPS).astype(np.int64)
    bounds[:, -1] = KEY_STEPS
    return np.diff(bounds, axis=1, prepend=0) > 0
