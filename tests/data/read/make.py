"""(Re)create the reading corpus: encodings, files that are not what their name says, CSV
structure, workbook sheets, formulas and workbooks built to blow up a reader.

Run ``.venv/bin/python tests/data/read/make.py``. Every byte is written out here: text as
explicit bytes in the encoding that is the point, workbooks as their XML parts in a zip with a
fixed timestamp (openpyxl cannot write hidden-sheet data with saved formula results, a DTD or
a lying size, and its output carries the time of writing). The cases are in
``tests/ingest/cases/read.py``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
FIXED = (2026, 1, 1, 0, 0, 0)
HEADER = ("område", "vecka", "indikator", "antal", "referens")
ROWS = (
    ("1101", "2026-W07", "skadegorelse", "3", "AR-2026-000123"),
    ("1102", "2026-W07", "skadegorelse", "1", "AR-2026-000124"),
)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def csv_text(rows, sep: str = ";", end: str = "\r\n") -> str:
    return "".join(sep.join(row) + end for row in rows)


GOOD_CSV = csv_text((HEADER, *ROWS))


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


# --- workbooks from their parts ----------------------------------------------------------


def cell(ref: str, value: str) -> str:
    """An inline-string cell, a number cell, or (``=…``) a formula, ``=…|3`` with its result."""
    if value.startswith("="):
        formula, _, saved = value[1:].partition("|")
        result = f"<v>{escape(saved)}</v>" if saved else ""
        kind = ' t="str"' if saved and not saved.isdigit() else ""
        return f'<c r="{ref}"{kind}><f>{escape(formula)}</f>{result}</c>'
    if value.isdigit():
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def sheet_xml(rows, first_row: int = 1) -> str:
    lines = []
    for number, row in enumerate(rows, start=first_row):
        cells = "".join(cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(row) if v != "")
        lines.append(f'<row r="{number}">{cells}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN}"><sheetData>{"".join(lines)}</sheetData></worksheet>'
    )


def workbook(name: str, sheets, parts: dict[str, str | bytes] | None = None) -> bytes:
    """A minimal .xlsx: ``sheets`` are ``(title, state, rows or sheet XML)``."""
    entries = "".join(
        f'<sheet name="{escape(title)}" sheetId="{i}" state="{state}" r:id="rId{i}"/>'
        for i, (title, state, _) in enumerate(sheets, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT}.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    if "xl/sharedStrings.xml" in (parts or {}):  # openpyxl finds them by their content type
        overrides += (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
        )
    files: dict[str, str | bytes] = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            f"<sheets>{entries}</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">{rels}'
            "</Relationships>"
        ),
    }
    for i, (_, _, rows) in enumerate(sheets, start=1):
        files[f"xl/worksheets/sheet{i}.xml"] = rows if isinstance(rows, str) else sheet_xml(rows)
    files.update(parts or {})
    return zipped(files)


def zipped(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            info = zipfile.ZipInfo(path, date_time=FIXED)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content.encode() if isinstance(content, str) else content)
    return out.getvalue()


def lying_size(data: bytes, member: str, declared: int) -> bytes:
    """The zip with ``member``'s uncompressed size (local and central header) set to ``declared``.

    The part then inflates beyond what the archive says it holds: a reader that trusts the
    declared size for its limits, and the data for its memory, is the target.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offset = archive.getinfo(member).header_offset
    out = bytearray(data)
    struct.pack_into("<I", out, offset + 22, declared)  # local file header
    position = data.find(b"PK\x01\x02")
    while position >= 0:  # central directory entries
        name_length = struct.unpack_from("<H", out, position + 28)[0]
        if out[position + 46 : position + 46 + name_length] == member.encode():
            struct.pack_into("<I", out, position + 24, declared)
        position = data.find(b"PK\x01\x02", position + 4)
    return bytes(out)


# --- the corpus ---------------------------------------------------------------------------


def encodings() -> None:
    good = GOOD_CSV.replace("skadegorelse", "skadegörelse")
    stray = good.encode() + b"1103;2026-W07;skadeg" + b"\xf6relse;2;AR-2026-000125\r\n"
    write("utf8_stray_cp1252_byte.csv", stray)  # line 4: one Windows-1252 "ö" in UTF-8
    write("utf16le_no_bom.csv", good.encode("utf-16-le"))
    write("utf16be_bom.csv", b"\xfe\xff" + good.encode("utf-16-be"))
    write("utf32le_bom.csv", good.encode("utf-32"))  # Python writes LE with its BOM
    write("utf32be_no_bom.csv", good.encode("utf-32-be"))
    write(
        "cp1252_undefined_byte.csv",
        GOOD_CSV.encode("cp1252").replace(b"AR-2026-000123", b"AR\x81-2026-00012"),
    )


def not_csv() -> None:
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    write("png_renamed.csv", png + b"\x00\x00\x00\x00IEND\xaeB`\x82")
    write("zip_renamed.csv", zipped({"leverans.csv": GOOD_CSV}))
    write("workbook_renamed.csv", workbook("x", [("Blad1", "visible", (HEADER, *ROWS))]))
    write("csv_renamed.xlsx", GOOD_CSV.encode())
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # an encrypted package's container
    write("password_protected.xlsx", ole)


def structure() -> None:
    write("pipe_separated.csv", csv_text((HEADER, *ROWS), sep="|").encode())
    write("header_repeated.csv", csv_text((HEADER, ROWS[0], ROWS[1], HEADER, ROWS[0])).encode())
    ragged = csv_text((HEADER, ROWS[0], ROWS[1][:3], ROWS[1]), end="\r")  # old Mac line ends
    write("cr_line_ends_ragged.csv", ragged.encode())


def sheets() -> None:
    data = (HEADER, *ROWS)
    notes = (("Leverans vecka 7",),)
    write(
        "hidden_data_sheet.xlsx",
        workbook("x", [("Om filen", "visible", notes), ("Data", "hidden", data)]),
    )
    write(
        "very_hidden_data_sheet.xlsx",
        workbook("x", [("Blad1", "visible", ()), ("Blad2", "veryHidden", data)]),
    )
    write(
        "two_visible_sheets.xlsx",
        workbook("x", [("Vecka 7", "visible", data), ("Vecka 8", "visible", data)]),
    )
    write("sheet_not_found.xlsx", workbook("x", [("Blad1", "visible", data)]))


def formulas() -> None:
    never = (HEADER, ("1101", "2026-W07", "skadegorelse", "=SUM(B9:B12)", "AR-1"))
    write("formula_never_calculated.xlsx", workbook("x", [("Data", "visible", never)]))
    link = '=HYPERLINK("http://evil.example/x","AR-2")|AR-2'
    cached = (HEADER, ROWS[0], ("1102", "2026-W07", "skadegorelse", "1", link))
    write("formula_hyperlink_cached.xlsx", workbook("x", [("Data", "visible", cached)]))


def bombs() -> None:
    data = (HEADER, *ROWS)
    big = (HEADER, ("1101", "2026-W07", "skadegorelse", "3", "A" * 100_000))
    write("huge_cell.xlsx", workbook("x", [("Data", "visible", big)]))
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        f']><sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>&c;</t></si></sst>'
    )
    strings = {"xl/sharedStrings.xml": laughs}
    write("dtd_entities.xlsx", workbook("x", [("Data", "visible", data)], strings))
    honest = workbook("x", [("Data", "visible", big)])
    write("lying_zip_size.xlsx", lying_size(honest, "xl/worksheets/sheet1.xml", 2_000))
    far = (
        sheet_xml(data)
        .replace('<row r="3">', '<row r="99999999">')
        .replace('r="A3"', 'r="A99999999"')
    )
    write("grid_overflow.xlsx", workbook("x", [("Data", "visible", far)]))


if __name__ == "__main__":
    encodings()
    not_csv()
    structure()
    sheets()
    formulas()
    bombs()
