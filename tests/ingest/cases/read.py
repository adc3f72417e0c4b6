"""Reading: encodings, files that are not what their name says, CSV structure, sheets, formulas
and workbooks built to blow up a reader (files made by tests/data/read/make.py)."""

from tests.ingest.corpus import Case

CASES = [
    # encodings
    Case("read/utf8_stray_cp1252_byte.csv", "byte 152 (line 4) is not valid UTF-8", row=4),
    Case("read/utf16le_no_bom.csv", "the file is UTF-16 encoded; save it as CSV UTF-8"),
    Case("read/utf16be_bom.csv", "the file is UTF-16 encoded"),
    Case("read/utf32le_bom.csv", "the file is UTF-32 encoded; save it as CSV UTF-8"),
    Case("read/utf32be_no_bom.csv", "the file is UTF-32 encoded"),
    Case("read/cp1252_undefined_byte.csv", "neither UTF-8 nor Windows-1252", row=2),
    # not what the name says
    Case("read/png_renamed.csv", "this is a PNG image, not a CSV file"),
    Case("read/zip_renamed.csv", "this is a ZIP archive, not a CSV file"),
    Case("read/workbook_renamed.csv", "Excel workbook with a CSV name"),
    Case("read/csv_renamed.xlsx", "text (CSV) file with an Excel name"),
    Case("read/password_protected.xlsx", "password-protected"),
    # CSV structure
    Case("read/pipe_separated.csv", "separated by '|'", row=1),
    Case("read/header_repeated.csv", "repeats the header", row=4),
    Case("read/cr_line_ends_ragged.csv", "row 3 has 3 fields, the header has 5", row=3),
    # sheets
    Case("read/hidden_data_sheet.xlsx", "the data is on a hidden sheet ('Data')"),
    Case("read/very_hidden_data_sheet.xlsx", "the data is on a hidden sheet ('Blad2')"),
    Case("read/two_visible_sheets.xlsx", "several visible sheets hold data ('Vecka 7', 'Vecka 8')"),
    Case(
        "read/sheet_not_found.xlsx",
        "no sheet of the name given (--sheet); its sheets: 'Blad1'",
        options={"sheet": "Vecka 7"},
    ),
    # formulas
    Case(
        "read/formula_never_calculated.xlsx",
        "cell D2: a formula without a calculated value",
        row=2,
        column="antal",
        hidden=("SUM(", "B9:B12"),
    ),
    Case(
        "read/formula_hyperlink_cached.xlsx",
        "cell E3: a formula, not a value; paste values",
        row=3,
        column="referens",
        hidden=("HYPERLINK(", "evil.example"),
    ),
    # workbooks built to blow up a reader
    Case("read/huge_cell.xlsx", "a cell holds more than 32767 characters"),
    Case("read/dtd_entities.xlsx", "has a DTD"),
    Case("read/lying_zip_size.xlsx", "unpacks to more than the archive declares"),
    Case("read/grid_overflow.xlsx", "a row number outside Excel's grid"),
]
