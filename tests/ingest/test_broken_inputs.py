"""The broken-delivery corpus through the whole pipeline: a specific error, and nothing changed.

Every topic's cases (``tests/ingest/cases/``, see ``tests/ingest/corpus.py``): the refusal
must carry the expected reason at the expected row and column, name the file, repeat none of
the case's hidden values in any message, and leave every row of the restricted and the public
schema as it was.
"""

from datetime import date

import pytest

from lagesbild_geo.errors import DeliveryRefusedError
from lagesbild_geo.ingest.pipeline import ingest_file
from tests.conftest import TEST_DATA
from tests.ingest.corpus import Case, all_cases, database_digest

CASES = all_cases()
#: Files of the corpus that are not deliveries.
NOT_DELIVERIES = {".md", ".py", ".yml"}


def test_every_corpus_file_has_a_case_and_every_case_a_file():
    files = {
        str(p.relative_to(TEST_DATA))
        for p in TEST_DATA.rglob("*")
        if p.is_file()
        and p.suffix not in NOT_DELIVERIES
        and not {"good", "areas"} & set(p.relative_to(TEST_DATA).parts)
        and "__pycache__" not in p.parts
    }
    named = [c.file for c in CASES]
    assert len(named) == len(set(named)), "a file with two cases"
    assert files == set(named) | {f for c in CASES for f in c.before}
    assert len(CASES) >= 28


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_file_is_refused_specifically_and_changes_nothing(ready_conn, case: Case):
    for earlier in case.before:
        ingest_file(ready_conn, TEST_DATA / earlier, actor_id=case.actor, today=date(2026, 11, 20))
    before = database_digest(ready_conn)
    with pytest.raises(DeliveryRefusedError) as info:
        ingest_file(
            ready_conn, case.path, actor_id=case.actor, today=date(2026, 11, 20), **case.options
        )
    matching = [p for p in info.value.problems if case.reason in p.reason]
    assert matching, f"expected {case.reason!r} among: {info.value}"
    first = matching[0]
    assert first.file == case.path.name
    assert (first.row, first.column) == (case.row, case.column) or (
        case.row is None and case.column is None and first.row is None
    ), str(first)
    message = str(info.value) + "".join(str(p) for p in info.value.problems)
    for value in case.hidden:
        assert value.lower() not in message.lower(), f"the refusal repeats {value!r}"
    assert database_digest(ready_conn) == before


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
