"""The stored cells under the restricted layers (migration 0028): each actor's own cells and
the counts both layers' numberMatched is summed from.

restricted.my_observations reads restricted.own_cells, which triggers write when a
delivery's cells and its row both exist and every full refresh checks; these tests hold
them to what lagesbild.observation and lagesbild.delivery say, as the owner reads those
(the definition migration 0026's view computed on every read), through the paths that
write cells: the store as the owner and as an actor under row-level security, a delivery's
row before its cells, cells written with the triggers off; and through reviews and area
imports. The counts are held to counting the views themselves.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import psycopg
import pytest

from lagesbild_geo.publish import publication
from lagesbild_geo.publish.review import change_status
from lagesbild_geo.server.statements import COUNT_TABLES
from lagesbild_geo.store import deliveries as store
from tests import publish_data
from tests.access.test_restricted_layers import ACTOR_A, ACTOR_B, acting

#: The value of a cell as migration 0026's view computed it, from the exact tables.
EXPECTED = """
SELECT o.delivery_id || ':' || o.area_code || ':' || to_char(o.week_start, 'IYYY-"W"IW')
           || ':' || o.indicator_id AS id,
       d.actor_id, d.status,
       CASE WHEN i.unit = 'count' THEN o.numerator::double precision
            WHEN i.unit = 'share' THEN round(100.0 * o.numerator / o.denominator, 1)::float8
            WHEN i.unit = 'rate_per_1000' AND pa.population > 0
                 THEN round(1000.0 * o.numerator / pa.population, 2)::double precision
       END AS value,
       o.numerator, o.denominator, o.event_hours IS NOT NULL
FROM lagesbild.observation o
JOIN lagesbild.delivery d ON d.id = o.delivery_id
JOIN lagesbild.indicator i ON i.id = o.indicator_id
LEFT JOIN publish.areas pa ON pa.code = o.area_code
"""
COLUMNS = "id, actor_id, delivery_status, value, numerator, denominator, has_breakdown"
#: Filters a client sends (CQL2 and datetime as the server compiles them), the counts cover
#: them all; numberMatched must be the count of the view whatever the filter.
FILTERS = (
    "true",
    "indicator = 'skadegorelse'",
    "indicator = 'skadegorelse' AND value >= 5",
    "indicator = 'unga_misstankta_boende' AND value > 10",
    "week_start <= '2026-02-15' AND week_end >= '2026-01-12' AND week_start >= '2026-01-06'",
    "delivery_status = 'approved'",
    "delivery_status = 'pending' AND has_breakdown",
    "iso_week = '2026-W03' AND unit = 'count'",
)
EXACT_FILTERS = tuple(f for f in FILTERS if "delivery_status" not in f) + (
    "actor_kind = 'police' AND value BETWEEN 2 AND 6",
    "n_actors = 2",
)


@pytest.fixture
def history(pg_conn):
    return pg_conn, publish_data.load(pg_conn)


def _expected(conn, actor_id: str) -> set[tuple]:
    return set(conn.execute(f"{EXPECTED} WHERE d.actor_id = %s", (actor_id,)).fetchall())


def _as_actor(conn, actor_id: str, statement: str = f"SELECT {COLUMNS}", *params) -> list:
    with acting(conn, "actor", actor_id):
        return conn.execute(f"{statement} FROM restricted.my_observations", params).fetchall()


def _deliver(conn, actor_id: str, name: str, week: date, n: int) -> int:
    rows = pd.DataFrame(
        [
            {"area_code": code, "week_start": week, "indicator": "skadegorelse", "numerator": n}
            for code in ("1101", "1102", "1201")
        ]
    )
    delivery_id, _ = store.save_delivery(
        conn,
        store.NewDelivery(
            actor_id=actor_id,
            file_name=name,
            content_sha256=publish_data._sha(name),
            shape="aggregated",
            row_count=len(rows),
            observations=rows,
        ),
    )
    return delivery_id


def _matched(conn, role: str, actor_id: str | None, view: str, where: str) -> tuple[int, int]:
    """(numberMatched as the server sums it, the count of the view), as the caller; the
    filter names only columns the counts hold (else the server counts the view)."""
    with acting(conn, role, actor_id):
        (summed,) = conn.execute(
            f"SELECT coalesce(sum(n), 0) FROM restricted.{COUNT_TABLES[view][0]} WHERE {where}"
        ).fetchone()
        (counted,) = conn.execute(
            f"SELECT count(*) FROM restricted.{view} WHERE {where}"
        ).fetchone()
    return summed, counted


def test_each_actors_stored_cells_are_its_exact_cells(history):
    conn, _ = history
    for actor_id in ("polisen", ACTOR_A, ACTOR_B, "utbildning"):
        got = set(_as_actor(conn, actor_id))
        assert got == _expected(conn, actor_id) and got, actor_id


def test_new_cells_appear_with_their_status_and_never_for_another_actor(history):
    conn, ids = history
    week = publish_data.WEEKS[-1]
    new_id = _deliver(conn, ACTOR_A, "a-ny.csv", week, 41)

    def status_of_new(actor_id: str) -> list[tuple]:
        with acting(conn, "actor", actor_id):
            return conn.execute(
                "SELECT delivery_status, count(*) FROM restricted.my_observations"
                " WHERE delivery_id = %s GROUP BY 1",
                (new_id,),
            ).fetchall()

    assert status_of_new(ACTOR_A) == [("pending", 3)]
    assert status_of_new(ACTOR_B) == []
    approved = f"delivery_id = {new_id} AND delivery_status = 'approved'"
    assert _matched(conn, "actor", ACTOR_A, "my_observations", approved) == (0, 0)

    change_status(conn, new_id, "approve", by_whom="test-granskare")
    assert _matched(conn, "actor", ACTOR_A, "my_observations", approved) == (3, 3)
    assert _matched(conn, "actor", ACTOR_B, "my_observations", f"delivery_id = {new_id}") == (
        0,
        0,
    )
    assert status_of_new(ACTOR_A) == [("approved", 3)]
    change_status(conn, new_id, "withdraw", by_whom=ACTOR_A, actor_id=ACTOR_A)
    assert status_of_new(ACTOR_A) == [("withdrawn", 3)]
    assert _matched(conn, "actor", ACTOR_A, "my_observations", approved) == (0, 0)
    withdrawn = f"delivery_id = {new_id} AND delivery_status = 'withdrawn'"
    assert _matched(conn, "actor", ACTOR_A, "my_observations", withdrawn) == (3, 3)
    assert set(_as_actor(conn, ACTOR_A)) == _expected(conn, ACTOR_A)
    assert ids[ACTOR_B] not in {r[0] for r in _as_actor(conn, ACTOR_A, "SELECT delivery_id")}


def test_an_actor_delivering_under_row_level_security_gets_its_cells(history):
    """The server's path: the actor's own transaction, cells through a temporary table, the
    triggers writing as the owner."""
    conn, _ = history
    with acting(conn, "actor", ACTOR_B):
        new_id = _deliver(conn, ACTOR_B, "b-http.csv", publish_data.WEEKS[2], 7)
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM restricted.my_observations WHERE delivery_id = %s",
            (new_id,),
        ).fetchall()
        expected = set(conn.execute(f"{EXPECTED} WHERE o.delivery_id = %s", (new_id,)).fetchall())
    assert len(rows) == 3 and set(rows) == expected


def test_a_delivery_row_before_its_cells_and_cells_without_triggers(history):
    """The benchmark writes the row first, and its COPY skips triggers
    (session_replication_role = replica): the cells come from a full refresh's check."""
    conn, _ = history
    week = publish_data.WEEKS[5]

    def new_delivery(name: str) -> int:
        (delivery_id,) = conn.execute(
            "INSERT INTO lagesbild.delivery (actor_id, file_name, content_sha256, shape,"
            " status, row_count, first_week, last_week) VALUES (%s, %s, %s, 'aggregated',"
            " 'pending', 2, %s, %s) RETURNING id",
            (ACTOR_A, name, publish_data._sha(name), week, week),
        ).fetchone()
        return delivery_id

    def cells(delivery_id: int) -> None:
        conn.execute(
            "INSERT INTO lagesbild.observation (delivery_id, area_code, week_start,"
            " indicator_id, numerator) VALUES (%s, '1101', %s, 'klotter', 4),"
            " (%s, '1102', %s, 'klotter', 9)",
            (delivery_id, week, delivery_id, week),
        )

    first = new_delivery("row-first.csv")
    cells(first)
    conn.execute("SET session_replication_role = replica")
    skipped = new_delivery("no-triggers.csv")
    cells(skipped)
    conn.execute("SET session_replication_role = DEFAULT")
    conn.commit()
    ids = {r[0] for r in _as_actor(conn, ACTOR_A, "SELECT delivery_id")}
    assert first in ids and skipped not in ids
    publication.refresh(conn)
    assert set(_as_actor(conn, ACTOR_A)) == _expected(conn, ACTOR_A)
    assert _matched(conn, "actor", ACTOR_A, "my_observations", f"delivery_id = {skipped}") == (
        2,
        2,
    )


def test_a_new_population_gives_the_rates_new_values_at_the_full_refresh(history):
    """A rate per 1,000 depends on the area layer's population (an area import changes it
    and rebuilds everything)."""
    conn, _ = history
    rate = "indicator = 'unga_misstankta_boende' AND area_code = '1101'"

    def rates() -> list[tuple]:
        with acting(conn, "actor", "polisen"):
            return conn.execute(
                f"SELECT value, numerator FROM restricted.my_observations WHERE {rate}"
            ).fetchall()

    (old,) = conn.execute("SELECT population FROM lagesbild.area WHERE code = '1101'").fetchone()
    # rounded to 2 decimals by PostgreSQL (half away from zero)
    assert rates() and all(v == pytest.approx(1000 * n / old, abs=0.005) for v, n in rates())
    conn.execute("UPDATE lagesbild.area SET population = population * 2 WHERE code = '1101'")
    publication.refresh(conn)
    assert all(v == pytest.approx(1000 * n / (2 * old), abs=0.005) for v, n in rates())
    assert any(n > 0 for _, n in rates())
    assert set(_as_actor(conn, "polisen")) == _expected(conn, "polisen")
    for where in FILTERS:
        summed, counted = _matched(conn, "actor", "polisen", "my_observations", where)
        assert summed == counted, where


@pytest.mark.parametrize("where", FILTERS)
def test_an_actors_number_matched_is_the_count_of_its_cells(history, where):
    conn, ids = history
    _deliver(conn, ACTOR_A, "a-pending.csv", publish_data.WEEKS[1], 6)  # pending beside
    for actor_id in ("polisen", ACTOR_A):
        summed, counted = _matched(conn, "actor", actor_id, "my_observations", where)
        assert summed == counted, (actor_id, where)
    # and the counts are the actor's own: another's filter finds nothing
    other = f"({where}) AND delivery_id = {ids[ACTOR_B]}"
    assert _matched(conn, "actor", ACTOR_A, "my_observations", other) == (0, 0)


@pytest.mark.parametrize("where", EXACT_FILTERS)
def test_the_analysts_number_matched_is_the_count_of_the_exact_cells(history, where):
    conn, _ = history
    summed, counted = _matched(conn, "analyst", None, "exact_observations", where)
    assert summed == counted, where
    # after a review's partial refresh too (a week of one indicator and kind rebuilt)
    new_id = _deliver(conn, ACTOR_B, "b-ny.csv", publish_data.WEEKS[3], 12)
    change_status(conn, new_id, "approve", by_whom="test-granskare")
    summed, counted = _matched(conn, "analyst", None, "exact_observations", where)
    assert summed == counted, where


def test_the_public_readers_role_cannot_read_the_stored_cells(history):
    conn, _ = history
    for table in ("own_cells", "own_cell_counts", "my_observation_counts", "exact_cell_counts",
                  "exact_observation_counts"):  # fmt: skip
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            conn.transaction(force_rollback=True),
        ):
            conn.execute("SET LOCAL ROLE lagesbild_reader")
            conn.execute(f"SELECT 1 FROM restricted.{table} LIMIT 1")


def test_an_actor_without_its_identity_reads_no_stored_cell(history):
    conn, _ = history
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE lagesbild_actor")
        for table in ("own_cells", "own_cell_counts", "my_observation_counts"):
            assert conn.execute(f"SELECT count(*) FROM restricted.{table}").fetchone()[0] == 0
