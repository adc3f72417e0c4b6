"""CSV deliveries: which encoding, which separator, which row each record is on.

CSV files come in two flavours in practice: UTF-8 (often with a BOM, from modern tools) and the
Windows-1252, semicolon-separated files that Swedish Excel writes with "Spara som CSV". The
encoding rule, in order (the first that applies decides):

1. a byte-order mark or the NUL pattern of UTF-16/UTF-32 text (LE or BE, with or without BOM):
   refused by name ("the file is UTF-32 encoded; save it as CSV UTF-8");
2. the signature of something that is not text (a workbook, ZIP, PNG, PDF, an Excel 97-2003 or
   password-protected workbook) or mostly control bytes: refused, saying what it is;
3. valid UTF-8 (a UTF-8 BOM is dropped): UTF-8;
4. not valid UTF-8 but with a UTF-8 BOM or at least one valid multi-byte sequence: a UTF-8 file with
   stray bytes (a Windows-1252 character pasted in, two files joined): refused, naming the line
   and byte offset of each stray byte (up to :data:`MAX_LISTED_BYTES`). Reading such a file
   as Windows-1252 would turn every "ö" of it into "Ã¶" and name the wrong rows later;
5. no valid UTF-8 multi-byte sequence at all: Windows-1252 (what Swedish Excel writes); a byte
   that Windows-1252 leaves undefined is refused by line and offset.

Big event files are parsed with ``pyarrow.csv`` (about a second for a million rows); anything
the fast parser cannot place row by row (blank lines, line breaks inside quotes, ragged rows,
old Mac line ends) is re-read with the standard :mod:`csv` module, which knows the exact row of
each record.
"""

from __future__ import annotations

import csv
import io
import re
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from lagesbild_geo.errors import DeliveryRefusedError, Problem

SEPARATORS = (";", ",", "\t")
REFUSED_SEPARATORS = ("|", ":")
"""Separators some tools write that are refused by name rather than read as one column."""
MAX_LISTED_RAGGED = 20
"""Ragged rows listed one by one; beyond this a single summary problem counts the rest."""
MAX_LISTED_BYTES = 5
"""Stray bytes listed one by one (a whole file in the wrong encoding is one mistake)."""
SNIFF_BYTES = 8192
"""Bytes looked at to tell text from binary and to recognise UTF-16/32 without a BOM."""
MAX_CONTROL_SHARE = 0.05
"""Share of control bytes (other than tab, line ends) above which the file is not text.

A text file holds at most a few (a NUL or a form feed in a cell, which validation refuses
by row and column); an image or archive holds about one in eight."""
MIN_CONTROL_BYTES = 16
"""Control bytes a small text file may hold before the share above applies."""

_BLANK = re.compile(rb"[ \t\n\r\x0b\x0c\x1c-\x1f]*\Z")
"""ASCII that ``str.isspace`` calls blank, without decoding a whole file to ask it."""
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
"""One well-formed UTF-8 sequence of two to four bytes (RFC 3629, no surrogates)."""
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (
        b"\xd0\xcf\x11\xe0",
        "an Excel 97-2003 workbook or a password-protected workbook; save it without a "
        "password as .xlsx or as CSV",
    ),
)
_UTF_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "UTF-32"),  # before UTF-16 LE: the same first two bytes
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)

Parsed = tuple[list[str], pd.DataFrame, np.ndarray]
"""Header as written, cells (columns ``f0``, ``f1``, …) and the row number of each record."""


def _refuse(name: str, reason: str, row: int | None = None) -> NoReturn:
    raise DeliveryRefusedError([Problem(name, reason, row=row)])


def refuse_if_not_text(name: str, data: bytes) -> None:
    """Refuse bytes that are not a text file, saying what they are when it can be told."""
    for bom, encoding in _UTF_BOMS:
        if data.startswith(bom):
            _refuse(name, f"the file is {encoding} encoded; save it as CSV UTF-8")
    wide = _wide_encoding(data[:SNIFF_BYTES])
    if wide is not None:
        _refuse(name, f"the file is {wide} encoded; save it as CSV UTF-8")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        head = data[:SNIFF_BYTES]
        if b"[Content_Types].xml" in head or b"xl/" in head:
            _refuse(name, "this is an Excel workbook with a CSV name; save it as .xlsx or as CSV")
        if b"opendocument" in head:
            _refuse(name, "this is an OpenDocument file with a CSV name; save it as CSV UTF-8")
        _refuse(name, "this is a ZIP archive, not a CSV file; unpack it and deliver the CSV")
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            _refuse(name, f"this is {what}, not a CSV file")
    head = data[:SNIFF_BYTES]
    if len(_CONTROL.findall(head)) > max(MIN_CONTROL_BYTES, MAX_CONTROL_SHARE * len(head)):
        _refuse(name, "the file is not text (binary data); deliver a CSV or .xlsx file")


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32 without a BOM, told by where the NUL bytes of mostly-Latin text fall."""
    n = len(head) // 4 * 4
    if n < 4:
        return None
    share = [head[k:n:4].count(0) / (n // 4) for k in range(4)]
    if (share[2] > 0.9 and share[3] > 0.9 and share[0] < 0.5) or (
        share[0] > 0.9 and share[1] > 0.9 and share[3] < 0.5
    ):
        return "UTF-32"
    odd, even = (share[1] + share[3]) / 2, (share[0] + share[2]) / 2
    if (odd > 0.3 and even < 0.05) or (even > 0.3 and odd < 0.05):
        return "UTF-16"
    return None


def decode(name: str, data: bytes) -> tuple[bytes, str | None]:
    """The bytes as UTF-8 (without BOM), and the decoded text when decoding had to happen.

    Plain ASCII is UTF-8 as it stands: it is not decoded here (a big file would be held
    twice), so the text is ``None`` and the caller decodes what it needs.
    """
    refuse_if_not_text(name, data)
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    if data.isascii():
        return data, None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    skipped = 3 if bom else 0  # offsets count in the file as delivered, BOM included
    if bom or _UTF8_MULTIBYTE.search(data) is not None:
        raise DeliveryRefusedError(_stray_bytes(name, data, skipped))
    undefined = [m.start() for m in _CP1252_UNDEFINED.finditer(data, 0)][:MAX_LISTED_BYTES]
    if undefined:
        raise DeliveryRefusedError(
            [
                Problem(
                    name,
                    f"byte {offset + skipped} (line {_line(data, offset)}) is neither UTF-8 nor "
                    "Windows-1252 text; save the file as CSV UTF-8",
                    row=_line(data, offset),
                )
                for offset in undefined
            ]
        )
    text = data.decode("cp1252")
    return text.encode("utf-8"), text


def _stray_bytes(name: str, data: bytes, skipped: int) -> list[Problem]:
    """The first bytes where UTF-8 decoding fails, by line and offset (the offset counts from 0)."""
    offsets: list[int] = []
    position = 0
    while len(offsets) < MAX_LISTED_BYTES:
        try:
            data[position:].decode("utf-8")
            break
        except UnicodeDecodeError as exc:
            offsets.append(position + exc.start)
            position += exc.end
    problems = [
        Problem(
            name,
            f"the file is UTF-8 but byte {offset + skipped} (line {_line(data, offset)}) is "
            "not valid UTF-8 (a character from another encoding pasted in?); save the file as "
            "CSV UTF-8",
            row=_line(data, offset),
        )
        for offset in offsets
    ]
    try:
        data[position:].decode("utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(name, "more bytes that are not valid UTF-8 follow"))
    return problems


def _line(data: bytes, offset: int) -> int:
    """The line (1-based) a byte is on, as a text editor counts: LF, CRLF or a lone CR."""
    before = data[:offset]
    return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1


def sniff_separator(name: str, header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])  # ties: order of SEPARATORS
    if counts[best] > 0:
        return best
    for sep in REFUSED_SEPARATORS:
        if header_line.count(sep) > 0:
            _refuse(
                name,
                f"the columns are separated by '{sep}'; use semicolon, comma or tab",
                row=1,
            )
    return ","


def parse_csv(name: str, data: bytes) -> Parsed:
    """Header, cells and row numbers of a CSV delivery (nothing checked beyond the structure)."""
    encoded, text = decode(name, data)
    blank = _BLANK.match(encoded) is not None if text is None else text.isspace()
    if not encoded or blank:
        _refuse(name, "the file contains only blank space, no header and no data")
    if encoded[:1] in (b"\r", b"\n"):  # blank lines above the header
        text = encoded.decode("utf-8") if text is None else text
        start = len(text) - len(text[:1000].lstrip("\r\n"))
        end = min(i for i in (text.find("\n", start), text.find("\r", start), len(text)) if i >= 0)
        return _read_csv_slow(name, text, sniff_separator(name, text[start:end]))
    end = min(i for i in (encoded.find(b"\n"), encoded.find(b"\r"), len(encoded)) if i >= 0)
    first_line = encoded[:end].decode("utf-8")
    sep = sniff_separator(name, first_line)
    header = next(csv.reader(io.StringIO(first_line), delimiter=sep), [""])
    fast = _read_csv_fast(encoded, sep, len(header))
    if fast is None:
        return _read_csv_slow(name, encoded.decode("utf-8") if text is None else text, sep)
    header, frame = fast
    return header, frame, np.arange(2, len(frame) + 2, dtype=np.int64)


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
    if encoded.count(b"\r", 0, end) != encoded.count(b"\r\n", 0, end):
        return None  # a lone carriage return: a line end for the actor's editor
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


def _read_csv_slow(name: str, text: str, sep: str) -> Parsed:
    """Row-exact reading with :mod:`csv`; lists every ragged row."""
    # strict: a quote never closed is an error, not a cell that swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
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
        reason = f"cannot read CSV: {exc}"
        if "unexpected end of data" in str(exc):
            reason = 'a quote (") opened in this row is never closed'
        problems.append(Problem(name, reason, row=row_number + 1))
    if ragged > MAX_LISTED_RAGGED:
        problems.append(
            Problem(name, f"{ragged - MAX_LISTED_RAGGED} more rows with the wrong number of fields")
        )
    if problems:
        raise DeliveryRefusedError(problems)
    if header is None:
        _refuse(name, "the file contains only blank space, no header and no data")
    frame = pd.DataFrame(records, columns=[f"f{i}" for i in range(len(header))], dtype="str")
    return header, frame, np.asarray(rows, dtype=np.int64)
