"""The first corpus: files in tests/data itself, made by tests/data/make_corpus.py."""

from tests.ingest.corpus import Case

CASES = [
    Case("utf16.csv", "UTF-16"),
    Case("empty.csv", "the file is empty (0 bytes)"),
    Case("empty.xlsx", "not a valid Excel file"),
    Case("corrupt.xlsx", "not a valid Excel file"),
    Case("leverans.ods", "unknown file type '.ods'"),
    Case("header_only.csv", "no data rows"),
    Case("ragged_rows.csv", "has 5 fields, the header has 4", row=3),
    Case(
        "personnummer.csv",
        "looks like a personnummer",
        row=3,
        column="referens",
        hidden=("811218-9876", "198112189876"),
    ),
    Case("name_column.csv", "person's name", column="Namn", hidden=("Anna", "Svensson")),
    Case(
        "email_in_ref.csv",
        "looks like an e-mail address",
        row=2,
        column="referens",
        hidden=("anna.svensson", "example.se"),
    ),
    Case("free_text_column.csv", "free text", column="kommentar"),
    Case("missing_columns.csv", "missing column 'period'"),
    Case("unknown_column.csv", "unknown column", column="status"),
    Case("mixed_shapes.csv", "mixed shapes"),
    Case("unknown_area.csv", "unknown area code", row=3, column="område"),
    Case(
        "unknown_indicator.csv",
        "unknown indicator; did you mean: skadegorelse",
        row=2,
        column="indikator",
        hidden=("skadegörelse_x",),
    ),
    Case("negative_count.csv", "negative count", row=3, column="värde"),
    Case("decimal_count.csv", "not a whole number", row=2, column="värde"),
    Case("future_period.csv", "lies in the future", row=3, column="vecka"),
    Case("week53_52_week_year.csv", "2025 has only 52 ISO weeks", row=2, column="vecka"),
    Case("duplicate_rows.csv", "duplicate of row 2", row=4),
    Case(
        "share_numerator_above_denominator.csv", "larger than denominator", row=3, column="täljare"
    ),
    Case("wrong_crs_degrees.csv", "look like WGS84 degrees", row=2, column="x"),
    Case("swapped_xy.csv", "look swapped", row=2, column="x"),
    Case("unknown_crs.csv", "unknown CRS 'EPSG:99999'", row=2, column="crs"),
    Case("invalid_date_time.csv", "not a valid date", row=2, column="datum"),
    Case("duplicate_events.csv", "duplicate of row 2", row=4),
    Case("outside_municipality_kiruna.csv", "outside every area", row=2),
]
