"""The broken-input corpus through the whole pipeline: a specific error, and nothing stored.

Each case names the file in ``tests/data``, the expected (row, column) of the first problem
and a piece of its reason. The database's row counts are compared before and after.
"""

from datetime import date

import pytest

from lagesbild_geo.errors import DeliveryRefusedError
from lagesbild_geo.ingest.pipeline import ingest_file
from tests.conftest import TEST_DATA, table_counts

CASES = [
    ("utf16.csv", None, None, "UTF-16"),
    ("empty.csv", None, None, "the file is empty (0 bytes)"),
    ("empty.xlsx", None, None, "not a valid Excel file"),
    ("corrupt.xlsx", None, None, "not a valid Excel file"),
    ("leverans.ods", None, None, "unknown file type '.ods'"),
    ("header_only.csv", None, None, "no data rows"),
    ("ragged_rows.csv", 3, None, "has 5 fields, the header has 4"),
    ("personnummer.csv", 3, "referens", "looks like a personnummer"),
    ("name_column.csv", None, "Namn", "person's name"),
    ("email_in_ref.csv", 2, "referens", "looks like an e-mail address"),
    ("free_text_column.csv", None, "kommentar", "free text"),
    ("missing_columns.csv", None, None, "missing column 'period'"),
    ("unknown_column.csv", None, "status", "unknown column"),
    ("mixed_shapes.csv", None, None, "mixed shapes"),
    ("unknown_area.csv", 3, "område", "unknown area code"),
    ("unknown_indicator.csv", 2, "indikator", "unknown indicator 'skadegörelse_x'"),
    ("negative_count.csv", 3, "värde", "negative count -2"),
    ("decimal_count.csv", 2, "värde", "is not a whole number"),
    ("future_period.csv", 3, "vecka", "lies in the future"),
    ("week53_52_week_year.csv", 2, "vecka", "2025 has only 52 ISO weeks"),
    ("duplicate_rows.csv", 4, None, "duplicate of row 2"),
    ("share_numerator_above_denominator.csv", 3, "täljare", "larger than denominator"),
    ("wrong_crs_degrees.csv", 2, "x", "look like WGS84 degrees"),
    ("swapped_xy.csv", 2, "x", "look swapped"),
    ("unknown_crs.csv", 2, "crs", "unknown CRS 'EPSG:99999'"),
    ("invalid_date_time.csv", 2, "datum", "not a valid date"),
    ("duplicate_events.csv", 4, None, "duplicate of row 2"),
    ("outside_municipality_kiruna.csv", 2, None, "outside every area"),
]


def test_the_corpus_is_large_enough():
    broken = [
        p for p in TEST_DATA.iterdir() if p.is_file() and p.suffix != ".md" and p.suffix != ".py"
    ]
    assert len(broken) >= 15
    assert sorted(p.name for p in broken) == sorted(c[0] for c in CASES)


@pytest.mark.parametrize(("name", "row", "column", "reason"), CASES, ids=[c[0] for c in CASES])
def test_broken_file_is_refused_specifically_and_changes_nothing(
    ready_conn, name, row, column, reason
):
    before = table_counts(ready_conn)
    with pytest.raises(DeliveryRefusedError) as info:
        # The municipality may deliver every indicator, so only the file itself is judged.
        ingest_file(ready_conn, TEST_DATA / name, actor_id="kommunen", today=date(2026, 11, 20))
    matching = [p for p in info.value.problems if reason in p.reason]
    assert matching, f"expected {reason!r} among: {info.value}"
    first = matching[0]
    assert first.file == name
    assert (first.row, first.column) == (row, column) or (
        row is None and column is None and first.row is None
    ), str(first)
    assert table_counts(ready_conn) == before


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in (TEST_DATA / "good").iterdir()),
)
def test_good_files_are_stored(ready_conn, name):
    result = ingest_file(
        ready_conn, TEST_DATA / "good" / name, actor_id="kommunen", today=date(2026, 11, 20)
    )
    (stored,) = ready_conn.execute(
        "SELECT count(*) FROM lagesbild.observation WHERE delivery_id = %s",
        (result.delivery_id,),
    ).fetchone()
    assert stored == result.observations > 0
