"""The ingest's flow: every stage's problems in one refusal, grouped, never quoting personal
data (issue 11, item 6)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lagesbild_geo.errors import DeliveryRefusedError, Problem, grouped_problems
from lagesbild_geo.ingest.columns import COLUMN_NAMES
from lagesbild_geo.ingest.pipeline import ingest_file
from lagesbild_geo.ingest.shapes import canonical_column
from lagesbild_geo.ingest.validate import README_COLUMNS
from tests.conftest import table_counts

TODAY = date(2026, 11, 20)


def _refused(conn, path, actor) -> DeliveryRefusedError:
    before = table_counts(conn)
    with pytest.raises(DeliveryRefusedError) as info:
        ingest_file(conn, path, actor_id=actor, today=TODAY)
    assert table_counts(conn) == before
    return info.value


def test_a_duplicate_row_does_not_hide_a_thousand_rows_of_another_kinds_indicator(
    ready_conn, tmp_path
):
    """The issue's example: a duplicate stopped the checks before ownership was looked at."""
    weeks = [f"{y}-W{w:02d}" for y in (2024, 2025) for w in range(1, 53)]
    rows = ["1101,2026-W07,skadegorelse,3", "1101,2026-W07,skadegorelse,3"]
    areas = [r[0] for r in ready_conn.execute("SELECT code FROM lagesbild.area WHERE level = 3")]
    rows += [f"{a},{w},anlagd_brand,1" for a in areas for w in weeks][:1060]
    path = tmp_path / "vakt.csv"
    path.write_text("område,vecka,indikator,antal\n" + "\n".join(rows) + "\n", encoding="utf-8")
    refusal = _refused(ready_conn, path, "vaktbolaget")
    reasons = [p.reason for p in refusal.problems]
    assert any(r.startswith("duplicate of row 2") for r in reasons)
    owner = "indicator 'anlagd_brand' is delivered by police; actor 'vaktbolaget' is security"
    listed = [p for p in refusal.problems if p.reason == owner]
    assert [p.row for p in listed][:3] == [4, 5, 6] and len(listed) == 20
    assert f"1040 more rows like this: {owner}" in reasons
    text = str(refusal)
    assert f"vakt.csv, column 'indikator': 1,060 rows: {owner} — rows 4, 5, 6," in text
    assert text.count(owner) == 1 and len(text.splitlines()) < 10


def test_the_accepted_names_are_the_readmes_and_said_once(ready_conn, tmp_path):
    path = tmp_path / "vakt.csv"
    path.write_text(
        "område,vecka,indikator,antal,status,kod,extra\n"
        "1101,2026-W07,skadegorelse,1,ok,A,1\n1102,2026-W07,ran,2,ok,B,2\n",
        encoding="utf-8",
    )
    refusal = _refused(ready_conn, path, "vaktbolaget")
    unknown = [p for p in refusal.problems if p.reason.startswith("unknown column")]
    assert [p.column for p in unknown] == ["status", "kod", "extra"]
    accepted = unknown[0].reason.split(": ", 1)[1].split(", ")
    assert {"antal", "vecka", "kategori", "datum"} <= set(accepted)
    assert not {"värde", "period", "value"} & set(accepted)
    text = str(refusal)
    assert text.count("only these") == 1
    assert "vakt.csv, columns 'status', 'kod', 'extra': unknown column" in text
    # ... and the known columns were checked all the same: the police's robbery is named.
    assert "vakt.csv, row 3, column 'indikator': indicator 'ran' is delivered by police" in text


def test_every_readme_name_is_accepted_and_every_column_has_one():
    assert all(canonical_column(name) for name in README_COLUMNS)
    assert {canonical_column(name) for name in README_COLUMNS} == set(COLUMN_NAMES)


def test_beside_personal_data_no_other_problem_quotes_a_value(ready_conn, tmp_path):
    """A personnummer as a reference and an e-mail address as a column name: the scan's
    problems, and of the others only those that cannot repeat a value of a flagged cell."""
    path = tmp_path / "vakt.csv"
    path.write_text(
        "område,vecka,indikator,antal,referens,anna.svensson@example.se\n"
        "1101,2026-W07,ran,2,811218-9876,\n"
        "1102,2026-W07,ran,2,AR-2,\n"
        "1102,2026-W07,ran,2,AR-3,\n",  # a duplicate of row 3: its reason quotes the cell
        encoding="utf-8",
    )
    refusal = _refused(ready_conn, path, "vaktbolaget")
    message = str(refusal) + "".join(str(p) for p in refusal.problems)
    for value in ("811218-9876", "8112189876", "anna.svensson", "example.se"):
        assert value not in message
    assert {p.column for p in refusal.problems} >= {"referens", "column 6", "indikator"}
    assert not any(p.reason.startswith("unknown column") for p in refusal.problems)
    assert not any(p.reason.startswith("duplicate of row") for p in refusal.problems)
    assert "is delivered by police" in message  # ownership: its column held nothing personal


def test_grouping_keeps_single_problems_as_they_were():
    one = Problem("a.csv", "negative count", row=2, column="antal")
    assert [str(g) for g in grouped_problems([one])] == [str(one)]
    spread = [Problem("a.csv", "x", row=r) for r in range(2, 40)]
    (group,) = grouped_problems(spread)
    assert str(group) == "a.csv: 38 rows: x — rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, …"
    refusal = DeliveryRefusedError([Problem("a.csv", f"reason {i}", row=i) for i in range(2, 80)])
    assert len(refusal.problems) == 78
    assert (
        str(refusal).splitlines()[-1].strip()
        == "... and 28 more kinds of problem (28 rows or columns)"
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["antal", "vecka", None]),
            st.sampled_from(["negative count", "not a week", "unknown column"]),
            st.one_of(st.none(), st.integers(2, 5000)),
            st.integers(0, 3),
        ),
        max_size=60,
    )
)
def test_groups_account_for_every_problem(items):
    problems = []
    for column, reason, row, more in items:
        problems.append(Problem("a.csv", reason, row=row, column=column))
        if more and row is not None:
            problems.append(
                Problem("a.csv", f"{more} more rows like this: {reason}", column=column)
            )
    groups = grouped_problems(problems)
    listed = [p for p in problems if "more rows" not in p.reason]
    extra = sum(int(p.reason.split()[0]) for p in problems if "more rows" in p.reason)
    assert sum(g.count for g in groups) == len(listed) + extra
    assert sorted(r for g in groups for r in g.rows) == sorted(p.row for p in listed if p.row)
    text = str(DeliveryRefusedError(problems)) if problems else ""
    assert "more rows like this" not in text
