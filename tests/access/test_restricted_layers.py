"""The restricted layers: an actor's own exact cells and deliveries, the analyst's exact picture.

In the database first (migration 0025's security-invoker views, read as the group roles the
server takes with ``SET LOCAL ROLE``), then over HTTP on a real server: what each caller gets,
and what an attacker's filters, sorts, property selections and ids cannot reach.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pandas as pd
import psycopg
import pytest

from lagesbild_geo.access import session
from lagesbild_geo.access.identity import Identity
from lagesbild_geo.store import deliveries as store
from tests import publish_data

#: Two actors of tests/publish_data.py with approved event deliveries of one indicator.
ACTOR_A, ACTOR_B = "vaktbolaget", "bostadsbolaget"
#: References of the one delivery of A that has them (``_with_references``).
A_REFS = ["VB-2026-0001", "VB-2026-0002", "VB-2026-0003"]


@contextmanager
def acting(conn: psycopg.Connection, role: str, actor_id: str | None = None):
    """A transaction of ``conn`` as the server runs a request: the group role, the caller."""
    identity = Identity(f"test:{role}:{actor_id}", frozenset({role}), actor_id, "api-key")
    with conn.transaction(force_rollback=True):
        session.enter(conn, identity, role)
        yield conn


def _with_references(conn) -> int:
    """A pending delivery of A whose events carry references (the link to A's records)."""
    rows = pd.DataFrame(
        [
            {
                "area_code": publish_data.SMALL_CELL[0],
                "week_start": publish_data.WEEKS[-1],
                "indicator": "skadegorelse",
                "numerator": 3,
                "event_hours": [1, 30, 167],
                "source_refs": A_REFS,
            }
        ]
    )
    delivery_id, _ = store.save_delivery(
        conn,
        store.NewDelivery(
            actor_id=ACTOR_A,
            file_name="refs.csv",
            content_sha256="a" * 64,
            shape="events",
            row_count=3,
            observations=rows,
        ),
    )
    return delivery_id


@pytest.fixture
def history(pg_conn):
    """tests/publish_data.py's history and A's delivery with references; the owner's
    connection and the delivery ids."""
    ids = publish_data.load(pg_conn)
    ids["refs"] = _with_references(pg_conn)
    return pg_conn, ids


def _owner_cells(conn, actor_id: str) -> dict[str, tuple]:
    """The actor's exact cells, read as the owner (no row-level security)."""
    rows = conn.execute(
        "SELECT o.delivery_id || ':' || o.area_code || ':' || to_char(o.week_start,"
        " 'IYYY-\"W\"IW') || ':' || o.indicator_id, o.numerator, o.denominator"
        " FROM lagesbild.observation o JOIN lagesbild.delivery d ON d.id = o.delivery_id"
        " WHERE d.actor_id = %s",
        (actor_id,),
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


# -- the views, in the database ---------------------------------------------------------------


def test_an_actor_reads_its_own_exact_cells_and_no_one_elses(history):
    conn, ids = history
    expected = _owner_cells(conn, ACTOR_A)
    with acting(conn, "actor", ACTOR_A):
        rows = conn.execute(
            "SELECT id, numerator, denominator, actor_id FROM restricted.my_observations"
        ).fetchall()
        # the policies, not the view, do it: the filter of someone else finds nothing
        others = conn.execute(
            "SELECT count(*) FROM restricted.my_observations WHERE actor_id = %s"
            " OR delivery_id = %s",
            (ACTOR_B, ids[ACTOR_B]),
        ).fetchone()[0]
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    assert {r[3] for r in rows} == {ACTOR_A}
    assert others == 0


def test_an_actor_sees_its_references_and_breakdown_of_a_cell(history):
    conn, ids = history
    with acting(conn, "actor", ACTOR_A):
        row = conn.execute(
            "SELECT source_refs, value, delivery_status, by_weekday_mon, by_weekday_tue,"
            " by_weekday_sun, by_hour_01, by_hour_06, by_hour_23, area_name, geom IS NOT NULL"
            " FROM restricted.my_observations WHERE delivery_id = %s",
            (ids["refs"],),
        ).fetchone()
    refs, value, status, mon, tue, sun, h01, h06, h23, area_name, has_geom = row
    assert json.loads(refs) == A_REFS
    assert (value, status) == (3, "pending")
    # hours of the week 1 (Mon 01), 30 (Tue 06), 167 (Sun 23)
    assert (mon, tue, sun, h01, h06, h23) == (1, 1, 1, 1, 1, 1)
    assert area_name and has_geom


def test_an_actor_lists_its_own_deliveries_with_their_status_and_content(history):
    conn, ids = history
    with acting(conn, "actor", "polisen"):
        rows = conn.execute(
            "SELECT id, status, cells, total, actor_id FROM restricted.my_deliveries"
        ).fetchall()
    by_id = {r[0]: r for r in rows}
    assert set(by_id) == {ids[n] for n in ("police", "pending", "rejected", "withdrawn")}
    assert by_id[ids["rejected"]][1] == "rejected"
    assert {r[4] for r in rows} == {"polisen"}
    cells, total = conn.execute(
        "SELECT count(*), sum(numerator) FROM lagesbild.observation WHERE delivery_id = %s",
        (ids["police"],),
    ).fetchone()
    assert by_id[ids["police"]][2:4] == (cells, total)


def test_the_analyst_reads_the_exact_sums_of_the_approved_deliveries(history):
    conn, _ = history
    expected = dict(
        conn.execute(
            "SELECT o.area_code || ':' || to_char(o.week_start, 'IYYY-\"W\"IW') || ':'"
            " || o.indicator_id || ':' || o.actor_kind, sum(o.numerator)"
            " FROM lagesbild.approved_observation o GROUP BY 1"
        ).fetchall()
    )
    with acting(conn, "analyst"):
        rows = dict(conn.execute("SELECT id, numerator FROM restricted.exact_observations"))
        empty = conn.execute("SELECT * FROM restricted.exact_observations LIMIT 0")
        columns = [d.name for d in empty.description]
    assert rows == expected
    assert publish_data.NEVER_PUBLISHED_MIN not in rows.values()  # pending/rejected: not in
    assert "source_refs" not in columns and "actor_id" not in columns


@pytest.mark.parametrize(
    ("role", "view"),
    [
        ("actor", "exact_observations"),
        ("analyst", "my_observations"),
        ("reviewer", "exact_observations"),
        ("admin", "my_deliveries"),
    ],
)
def test_a_role_cannot_read_another_roles_layer(history, role, view):
    conn, _ = history
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        acting(conn, role, ACTOR_A if role == "actor" else None),
    ):
        conn.execute(f"SELECT 1 FROM restricted.{view} LIMIT 1")


def test_the_public_readers_role_cannot_read_the_restricted_layers(history):
    conn, _ = history
    for view in ("my_observations", "my_deliveries", "exact_observations"):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            conn.transaction(force_rollback=True),
        ):
            conn.execute("SET LOCAL ROLE lagesbild_reader")
            conn.execute(f"SELECT 1 FROM restricted.{view} LIMIT 1")


def test_an_actor_without_its_identity_in_the_transaction_sees_nothing(history):
    conn, _ = history
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE lagesbild_actor")
        assert conn.execute("SELECT count(*) FROM restricted.my_observations").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM restricted.my_deliveries").fetchone()[0] == 0
