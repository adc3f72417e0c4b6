"""The parts of a workbook streamed through limits before openpyxl parses any of them.

A 0.2 MB workbook can hold a 200 MB cell, and openpyxl would build it in memory (1.8 GB measured
before these limits). So before openpyxl parses anything, every part of the archive is streamed
through checks with bounded memory: at most :data:`MAX_MEMBERS` parts and
:data:`MAX_UNCOMPRESSED` bytes in all (the zip's declared sizes, which :mod:`zipfile` enforces
while decompressing: a part that inflates beyond its declared size fails its CRC check); no XML
part in another encoding than UTF-8 and none with a DTD (entity expansion); no run of more than
:data:`MAX_MARKUP_RUN` bytes without markup (bounds every tag and text node openpyxl builds);
parts other than sheets at most :data:`MAX_PART` bytes, shared strings at most
:data:`MAX_SHARED_STRINGS` and each of them at most :data:`MAX_CELL_CHARS` characters. Each
sheet is then scanned with :mod:`xml.parsers.expat` (streamed, nothing kept but counts): cells
within Excel's grid, at most :data:`MAX_CELL_CHARS` characters per cell (Excel's own limit) and
at most :data:`MAX_CELLS` cells over all sheets, counted as openpyxl pads them (each row up to
its last cell), rows and cells in ascending order as Excel writes them (openpyxl silently drops
a row or cell out of order). The scan reads a sheet a second time: measured on 200,000 rows of
six cells it adds about a quarter to openpyxl's own parse.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

MAX_MEMBERS = 10_000
MAX_UNCOMPRESSED = 512 * 2**20
"""Declared bytes of all parts together; a delivery of 5 million cells needs about 200 MB."""
MAX_PART = 16 * 2**20
"""Styles, workbook, theme, charts: openpyxl builds each whole in memory (about 10x its size)."""
MAX_SHARED_STRINGS = 64 * 2**20
MAX_MARKUP_RUN = 2**20
"""A cell of 32,767 characters, each written as a 5-byte entity, fits with room to spare."""
MAX_CELL_CHARS = 32_767
"""Excel's own limit per cell: a longer cell was not written by Excel."""
MAX_CELLS = 5_000_000
"""About 800,000 rows of six columns: more than any delivery; larger event lists go as CSV."""
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384
_CHUNK = 1 << 16
_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


class ArchiveLimitError(Exception):
    """A limit broken while streaming; the reader refuses the whole file with its message."""


def check_archive(archive: zipfile.ZipFile) -> None:
    """Stream every part through the limits; sizes are judged by the declared content type."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ArchiveLimitError(f"the workbook has {len(members)} parts; at most {MAX_MEMBERS}")
    declared = sum(m.file_size for m in members)
    if declared > MAX_UNCOMPRESSED:
        raise ArchiveLimitError(
            f"the workbook unpacks to {declared // 2**20} MB; at most "
            f"{MAX_UNCOMPRESSED // 2**20} MB are accepted"
        )
    types: dict[str, str] = {}
    if "[Content_Types].xml" in archive.namelist():
        _stream_part(archive, "[Content_Types].xml")
        types = _content_types(archive.read("[Content_Types].xml"))
    for member in members:
        kind = types.get(member.filename, "")
        limit = {_WORKSHEET: MAX_UNCOMPRESSED, _SHARED_STRINGS: MAX_SHARED_STRINGS}.get(
            kind, MAX_PART
        )
        is_xml = _stream_part(archive, member.filename)
        if is_xml and member.file_size > limit:
            raise ArchiveLimitError(
                f"the part {member.filename} unpacks to {member.file_size // 2**20} MB; "
                f"at most {limit // 2**20} MB are accepted"
            )
        if kind == _SHARED_STRINGS:  # how openpyxl finds them, so these are what it reads
            _scan_strings(archive, member.filename)


def _content_types(xml: bytes) -> dict[str, str]:
    types: dict[str, str] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.rpartition(":")[2] == "Override" and "PartName" in attrs:
            types[attrs["PartName"].lstrip("/")] = attrs.get("ContentType", "")

    parser = _parser()
    parser.StartElementHandler = start
    _feed(parser, iter([xml]))
    return types


def _stream_part(archive: zipfile.ZipFile, member: str) -> bool:
    """Check one part as it unpacks; whether it is XML (binary parts are never parsed)."""
    try:
        return _stream_checked(archive, member)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ArchiveLimitError(
            f"the part {member} is damaged or unpacks to more than the archive declares"
        ) from exc


def _stream_checked(archive: zipfile.ZipFile, member: str) -> bool:
    with archive.open(member) as stream:
        first = stream.read(_CHUNK)
        head = first.lstrip(b" \t\r\n")
        if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")):
            raise ArchiveLimitError(f"the part {member} is not UTF-8 XML (Excel writes UTF-8)")
        if not head.removeprefix(b"\xef\xbb\xbf").startswith(b"<"):
            return False
        run = 0
        tail = b""
        chunk = first
        while chunk:
            window = tail + chunk
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                raise ArchiveLimitError(f"the part {member} has a DTD, which Excel never writes")
            pieces = chunk.split(b"<")
            run += len(pieces[0])
            longest = max(run, *(len(p) for p in pieces[1:])) if len(pieces) > 1 else run
            if longest > MAX_MARKUP_RUN:
                raise ArchiveLimitError(
                    f"the part {member} holds more than {MAX_MARKUP_RUN // 2**20} MB "
                    "in one tag or text (more than a cell can hold)"
                )
            if len(pieces) > 1:
                run = len(pieces[-1])
            tail = window[-8:]
            chunk = stream.read(_CHUNK)
    return True


def _parser() -> Any:
    parser = expat.ParserCreate()
    parser.buffer_text = True  # one call per text node, not one per entity or chunk
    parser.buffer_size = _CHUNK

    def doctype(*_args: object) -> None:
        raise ArchiveLimitError("a part of the workbook has a DTD, which Excel never writes")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    return parser


def _feed(parser: Any, chunks: Iterator[bytes]) -> None:
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise ArchiveLimitError(
            f"a part of the workbook is not well-formed XML ({exc.code})"
        ) from exc


def _chunks(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    with archive.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


@dataclass
class SheetScan:
    """What a sheet holds, counted without keeping any of it."""

    cells: int = 0  #: cells as openpyxl pads them: each row up to its last cell
    value_rows: int = 0  #: rows with at least one cell that holds something
    formulas: list[tuple[int, int, bool]] = field(default_factory=list)  #: row, column, saved


class _SheetScanner:
    """expat handlers over one sheet: position, padding, formulas and text length per cell."""

    def __init__(self, budget: list[int]):
        self.scan = SheetScan()
        self.budget = budget  # cells left for the whole workbook, shared by every sheet
        self.row = self.col = self.row_max = self.chars = 0
        self.row_values = self.formula = self.saved = False
        self.text: str | None = None  # the element whose text is counted: "v" or "t"

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = tag if len(tag) < 4 else tag.rpartition(":")[2]  # "x:c" as "c"
        if local == "c":
            col = _column(attrs.get("r"), self.col + 1)
            if col <= self.col:  # openpyxl would drop cells out of order without a word
                raise ArchiveLimitError(f"the cells of row {self.row} are out of order")
            self.col = col
            self.row_max = max(self.row_max, self.col)
            self.chars = 0
            self.formula = self.saved = False
        elif local in ("v", "t"):
            self.text = local
        elif local == "row":
            row = _number(attrs.get("r"), self.row + 1, MAX_ROW, "row")
            if row <= self.row:  # openpyxl would drop a row out of order without a word
                raise ArchiveLimitError(f"row {row} comes after row {self.row} in the sheet")
            self.row = row
            self.col = self.row_max = 0
            self.row_values = False
        elif local == "f":
            self.formula = True

    def end(self, tag: str) -> None:
        local = tag if len(tag) < 4 else tag.rpartition(":")[2]
        if local in ("v", "t"):
            self.text = None
        elif local == "c":
            self.row_values = self.row_values or self.chars > 0
            if self.formula:
                self.scan.formulas.append((self.row, self.col, self.saved))
        elif local == "row":
            self.scan.cells += self.row_max
            self.budget[0] -= self.row_max
            if self.budget[0] < 0:
                raise ArchiveLimitError(f"the workbook has more than {MAX_CELLS} cells")
            self.scan.value_rows += self.row_values

    def characters(self, data: str) -> None:
        if self.text is not None:
            self.saved = self.saved or (self.text == "v" and bool(data))
            self.chars += len(data)
            if self.chars > MAX_CELL_CHARS:
                raise ArchiveLimitError(
                    f"a cell holds more than {MAX_CELL_CHARS} characters (Excel's own limit)"
                )


def _scan_strings(archive: zipfile.ZipFile, member: str) -> None:
    """Bound each shared string, rich-text runs together, like a cell (openpyxl joins them)."""
    chars = [0]
    inside = [False]

    def start(tag: str, _attrs: dict[str, str]) -> None:
        local = tag.rpartition(":")[2]
        if local == "si":
            chars[0] = 0
        inside[0] = local == "t"

    def end(_tag: str) -> None:
        inside[0] = False

    def characters(data: str) -> None:
        if inside[0]:
            chars[0] += len(data)
            if chars[0] > MAX_CELL_CHARS:
                raise ArchiveLimitError(
                    f"a shared string holds more than {MAX_CELL_CHARS} characters "
                    "(Excel's own limit per cell)"
                )

    parser = _parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    _feed(parser, _chunks(archive, member))


def cell_budget() -> list[int]:
    """The cells a whole workbook may have, as the one-item list :func:`scan_sheet` counts down."""
    return [MAX_CELLS]


def scan_sheet(archive: zipfile.ZipFile, member: str, budget: list[int]) -> SheetScan:
    """Count a sheet's cells as openpyxl will pad them; find its formulas; bound each cell.

    ``budget`` is a one-item list with the cells left for the whole workbook.
    """
    scanner = _SheetScanner(budget)
    parser = _parser()
    parser.StartElementHandler = scanner.start
    parser.EndElementHandler = scanner.end
    parser.CharacterDataHandler = scanner.characters
    _feed(parser, _chunks(archive, member))
    return scanner.scan


def _number(text: str | None, default: int, limit: int, what: str) -> int:
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= limit:
        raise ArchiveLimitError(f"a {what} number outside Excel's grid (1 to {limit})")
    return int(text)


def _column(ref: str | None, default: int) -> int:
    """The column number of a cell reference such as ``AB12`` (A = 1)."""
    if ref is None:
        return default
    letters = ref.rstrip("0123456789")
    if not letters or len(letters) > 3 or not letters.isascii() or not letters.isalpha():
        raise ArchiveLimitError("a cell reference outside Excel's grid")
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    if number > MAX_COLUMN:
        raise ArchiveLimitError(f"a column number outside Excel's grid (1 to {MAX_COLUMN})")
    return number


def column_letter(number: int) -> str:
    """``1`` → ``A``, ``28`` → ``AB``."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
