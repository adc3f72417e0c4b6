"""The roles hold in PostgreSQL itself: what each login and group role can and cannot reach.

An attacker who gets the public server's database password, or a code path that forgets to
check a role in Python, must still not read a restricted row: these tests connect directly.
"""

from __future__ import annotations

import psycopg
import pytest

from lagesbild_geo.access import session
from lagesbild_geo.access.identity import Identity
from lagesbild_geo.access.logins import LOGINS, ensure_login
from tests.access_helpers import ACTOR_A, ACTOR_B, make_key
from tests.publish_data import load


@pytest.fixture
def loaded(pg_conn, pg_dsn, tmp_path):
    """The test history, and a DSN per login role (passwords set on the cluster's roles)."""
    ids = load(pg_conn, k=5)
    dsns = {}
    for login, (role, file_name, _setting) in LOGINS.items():
        password = ensure_login(pg_conn, role, tmp_path / file_name)
        dsn = pg_dsn.replace("user=lagesbild", f"user={role}")
        dsns[login] = " ".join(
            p if not p.startswith("password=") else f"password={password}" for p in dsn.split()
        )
    pg_conn.commit()
    return pg_conn, ids, dsns


RESTRICTED_READS = (
    "SELECT count(*) FROM lagesbild.observation",
    "SELECT count(*) FROM lagesbild.approved_observation",
    "SELECT count(*) FROM lagesbild.delivery",
    "SELECT count(*) FROM lagesbild.double_report",
    "SELECT count(*) FROM lagesbild.api_key",
    "SELECT count(*) FROM lagesbild.access_log",
    "SELECT * FROM lagesbild.protection_secret",
    "SELECT count(*) FROM jobs.jobs",
)


def _refused(conn: psycopg.Connection, statement: str) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_the_public_login_reads_publish_and_nothing_else(loaded):
    _, _, dsns = loaded
    with psycopg.connect(dsns["reader"], autocommit=True) as reader:
        assert reader.execute("SELECT count(*) FROM publish.observations").fetchone()[0] > 0
        writes = (
            "DELETE FROM publish.hotspots",
            "DELETE FROM publish.trends",
            "INSERT INTO publish.analysis_runs (process, indicators, period, provenance)"
            " VALUES ('x', '{}', 'x', '{}')",
            "UPDATE publish.state SET version = version + 1",
            "CREATE TABLE publish.x (i int)",
        )
        for statement in (*RESTRICTED_READS, *writes):
            assert _refused(reader, statement), statement
        # it is no member of any group role: it cannot become one
        for group in ("lagesbild_actor", "lagesbild_analyst", "lagesbild_publisher"):
            assert _refused(reader, f"SET ROLE {group}"), group
        # nor call the key check or write the access log
        assert _refused(reader, "SELECT * FROM lagesbild.authenticate_key('0', '\\x00')")
        assert _refused(reader, "SELECT lagesbild.log_access('x', NULL, NULL)")


def test_the_server_login_alone_reads_nothing(loaded):
    """``lagesbild_server`` is NOINHERIT: without ``SET ROLE`` none of its groups' rights."""
    _, _, dsns = loaded
    with psycopg.connect(dsns["server"], autocommit=True) as server:
        for statement in (*RESTRICTED_READS, "SELECT count(*) FROM publish.observations"):
            assert _refused(server, statement), statement
        # the one thing it may do alone: check a key (and learn nothing of the table)
        row = server.execute(
            "SELECT status FROM lagesbild.authenticate_key('000000000000', %s)", (b"0" * 32,)
        ).fetchone()
        assert row == ("unknown",)


def test_an_actor_sees_only_its_own_rows_whatever_it_asks(loaded):
    conn, ids, dsns = loaded
    (own_deliveries,) = conn.execute(
        "SELECT count(*) FROM lagesbild.delivery WHERE actor_id = %s", (ACTOR_A,)
    ).fetchone()
    (own_cells,) = conn.execute(
        "SELECT count(*) FROM lagesbild.observation o JOIN lagesbild.delivery d"
        " ON d.id = o.delivery_id WHERE d.actor_id = %s",
        (ACTOR_A,),
    ).fetchone()
    a = Identity("key:a", frozenset({"actor"}), ACTOR_A)
    with psycopg.connect(dsns["server"]) as server:
        with server.transaction():
            session.enter(server, a, "actor")
            rows = server.execute("SELECT DISTINCT actor_id FROM lagesbild.delivery").fetchall()
            assert rows == [(ACTOR_A,)]
            assert server.execute("SELECT count(*) FROM lagesbild.delivery").fetchone() == (
                own_deliveries,
            )
            assert server.execute("SELECT count(*) FROM lagesbild.observation").fetchone() == (
                own_cells,
            )
            # B's delivery by id, by join, by a filter that names B: nothing
            b_id = ids[ACTOR_B]
            for query in (
                f"SELECT * FROM lagesbild.delivery WHERE id = {b_id}",
                f"SELECT * FROM lagesbild.observation WHERE delivery_id = {b_id}",
                f"SELECT * FROM lagesbild.delivery WHERE actor_id = '{ACTOR_B}'",
                f"SELECT * FROM lagesbild.delivery_log WHERE delivery_id = {b_id}",
            ):
                assert server.execute(query).fetchall() == [], query
            # changing its own identity in the transaction is not possible from a role
            assert server.execute("SELECT * FROM lagesbild.actor").fetchall()[0][0] == ACTOR_A
            # and it cannot write a delivery in B's name
        with pytest.raises(psycopg.errors.InsufficientPrivilege), server.transaction():
            session.enter(server, a, "actor")
            server.execute(
                "INSERT INTO lagesbild.delivery (actor_id, file_name, content_sha256, shape,"
                " row_count, first_week, last_week)"
                f" VALUES ('{ACTOR_B}', 'x.csv', repeat('a', 64), 'aggregated', 1,"
                " '2026-01-05', '2026-01-05')"
            )
        # nor read the secret, the keys, the log, or double reports (they name others)
        for statement in (
            "SELECT * FROM lagesbild.double_report",
            "SELECT * FROM lagesbild.protection_secret",
            "SELECT * FROM lagesbild.api_key",
            "SELECT * FROM lagesbild.access_log",
            "SELECT count(*) FROM jobs.jobs",
        ):
            with server.transaction():
                session.enter(server, a, "actor")
                assert _refused(server, statement), statement


def test_the_analyst_reads_the_whole_but_not_the_secret_or_keys(loaded):
    conn, _, dsns = loaded
    (all_cells,) = conn.execute("SELECT count(*) FROM lagesbild.observation").fetchone()
    analyst = Identity("key:n", frozenset({"analyst"}))
    with psycopg.connect(dsns["server"]) as server, server.transaction():
        session.enter(server, analyst, "analyst")
        assert server.execute("SELECT count(*) FROM lagesbild.observation").fetchone() == (
            all_cells,
        )
        for statement in (
            "SELECT * FROM lagesbild.protection_secret",
            "SELECT * FROM lagesbild.api_key",
            "UPDATE lagesbild.delivery SET status = 'approved'",
        ):
            assert _refused(server, statement), statement


def test_a_role_the_identity_does_not_hold_is_refused_before_sql():
    with pytest.raises(PermissionError):
        session.statements(Identity("key:a", frozenset({"actor"}), ACTOR_A), "analyst")


def test_only_admin_reads_keys_and_the_log(loaded):
    conn, _, dsns = loaded
    make_key(conn, "reviewer")
    conn.execute("SELECT lagesbild.log_access('test', 'x', '1')")
    conn.commit()
    with psycopg.connect(dsns["server"]) as server:
        for role in ("reviewer", "analyst", "admin"):
            who = Identity(f"key:{role}", frozenset({role}))
            with server.transaction():
                session.enter(server, who, role)
                refused = _refused(server, "SELECT count(*) FROM lagesbild.api_key")
                assert refused == (role != "admin"), role
        admin = Identity("key:adm", frozenset({"admin"}))
        with server.transaction():
            session.enter(server, admin, "admin")
            server.execute("SELECT lagesbild.log_access('probe', 'collection', 'x')")
            row = server.execute(
                "SELECT principal, role FROM lagesbild.access_log WHERE action = 'probe'"
            ).fetchone()
            assert row == ("key:adm", "admin")
            # the log is append-only for every server role
            assert _refused(server, "DELETE FROM lagesbild.access_log")
            assert _refused(server, "UPDATE lagesbild.access_log SET principal = 'x'")
