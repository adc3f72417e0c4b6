"""The server's database logins attacked directly, beyond tests/access/test_database_roles.py.

Whoever holds the public login's password (``lagesbild_reader``) or the jobs login's
(``lagesbild_jobs``) tries every function that runs with its owner's rights, every restricted
table and view, and every way to become another role; the server's own login
(``lagesbild_server``) tries to become the owner, and to leave the role of its transaction.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from lagesbild_geo.access import session
from lagesbild_geo.access.identity import Identity
from lagesbild_geo.access.logins import LOGINS, ensure_login
from tests.access_helpers import ACTOR_A, ACTOR_B
from tests.publish_data import load

#: The schemas of the service's own objects.
SCHEMAS = ("lagesbild", "publish", "restricted", "jobs")
#: Who may call each SECURITY DEFINER function (0020 and later; 90_access.sql and its kin):
#: the group roles a request runs as, and the server's login for the two checks it makes
#: before it knows the caller. Never the public login, never the jobs login.
DEFINER_CALLERS = {
    "lagesbild.authenticate_key(text,bytea)": {"lagesbild_server"},
    "lagesbild.actor_exists(text)": {"lagesbild_server"},
    "lagesbild.log_access(text,text,text,jsonb)": {
        "lagesbild_actor", "lagesbild_reviewer", "lagesbild_analyst", "lagesbild_admin",
        "lagesbild_publisher",
    },
    "lagesbild.flag_double_reports(bigint)": {"lagesbild_actor"},
    "lagesbild.delivery_in_writing()": {"lagesbild_actor"},
    # the own cells (db/functions/26_own_cells.sql): the triggers' functions, no one's to
    # call; the check of a full refresh, the publisher's
    "restricted._own_cells_of_new_deliveries()": set(),
    "restricted._own_cells_of_new_cells()": set(),
    "restricted.sync_own_cells(boolean)": {"lagesbild_publisher"},
}  # fmt: skip


@pytest.fixture
def logins(pg_conn, pg_dsn, tmp_path):
    """The test history, and a DSN per login role."""
    load(pg_conn, k=5)
    dsns = {}
    for login, (role, file_name, _setting) in LOGINS.items():
        password = ensure_login(pg_conn, role, tmp_path / file_name)
        dsn = pg_dsn.replace("user=lagesbild", f"user={role}")
        dsns[login] = " ".join(
            p if not p.startswith("password=") else f"password={password}" for p in dsn.split()
        )
    pg_conn.commit()
    return pg_conn, dsns


def _refused(conn: psycopg.Connection, statement, params=None) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement, params)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def _definers(conn) -> list[tuple[str, list[str] | None]]:
    return conn.execute(
        "SELECT n.nspname || '.' || p.proname || '('"
        " || replace(oidvectortypes(p.proargtypes), ', ', ',') || ')', p.proconfig FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE p.prosecdef AND n.nspname = ANY(%s) ORDER BY 1",
        (list(SCHEMAS),),
    ).fetchall()


def test_every_security_definer_function_is_known_and_pins_its_search_path(logins):
    """A new function running with the owner's rights must be added here, with who may call
    it; each sets its search_path (else a caller's schema could shadow what it calls)."""
    conn, _ = logins
    definers = _definers(conn)
    assert {name for name, _ in definers} == set(DEFINER_CALLERS)
    for name, config in definers:
        assert config and any(c.startswith("search_path=") for c in config), name
        assert "public" not in next(c for c in config if c.startswith("search_path=")), name
    roles = sorted(set().union(*DEFINER_CALLERS.values()) | {"lagesbild_reader", "lagesbild_jobs"})
    for name, allowed in DEFINER_CALLERS.items():
        for role in roles:
            (may,) = conn.execute(
                "SELECT has_function_privilege(%s, %s::regprocedure, 'EXECUTE')", (role, name)
            ).fetchone()
            # a group role's member inherits the right; lagesbild_server only by SET ROLE
            assert may == (role in allowed), (name, role)


def _calls(name: str) -> str:
    """A call of ``name`` with harmless arguments of its types."""
    arguments = {
        "lagesbild.authenticate_key(text,bytea)": "('000000000000', '\\x00'::bytea)",
        "lagesbild.actor_exists(text)": f"('{ACTOR_B}')",
        "lagesbild.log_access(text,text,text,jsonb)": "('x', 'y', 'z', '{}'::jsonb)",
        "lagesbild.flag_double_reports(bigint)": "(1)",
        "lagesbild.delivery_in_writing()": "()",
        "restricted._own_cells_of_new_deliveries()": "()",
        "restricted._own_cells_of_new_cells()": "()",
        "restricted.sync_own_cells(boolean)": "(true)",
    }[name]
    return f"SELECT {name.split('(')[0]}{arguments}"


@pytest.mark.parametrize("login", ["reader", "jobs"])
def test_the_public_and_jobs_logins_call_no_function_with_the_owners_rights(logins, login):
    conn, dsns = logins
    names = [name for name, _ in _definers(conn)]
    with psycopg.connect(dsns[login], autocommit=True) as attacker:
        for name in names:
            assert _refused(attacker, _calls(name)), (login, name)


RESTRICTED = (
    "SELECT count(*) FROM lagesbild.observation",
    "SELECT count(*) FROM lagesbild.delivery",
    "SELECT count(*) FROM lagesbild.delivery_log",
    "SELECT count(*) FROM lagesbild.double_report",
    "SELECT count(*) FROM lagesbild.actor",
    "SELECT count(*) FROM lagesbild.api_key",
    "SELECT count(*) FROM lagesbild.access_log",
    "SELECT * FROM lagesbild.protection_secret",
    "SELECT count(*) FROM restricted.my_observations",
    "SELECT count(*) FROM restricted.my_deliveries",
    "SELECT count(*) FROM restricted.exact_observations",
    "SELECT count(*) FROM restricted.own_cells",
    "SELECT count(*) FROM restricted.own_cell_counts",
    "SELECT count(*) FROM restricted.my_observation_counts",
    "SELECT count(*) FROM restricted.exact_cells",
    "SELECT count(*) FROM restricted.exact_cell_counts",
    "SELECT count(*) FROM restricted.exact_observation_counts",
)


def test_the_jobs_login_reads_no_restricted_data(logins):
    """It writes jobs and saved runs: nothing exact, nothing of the actors."""
    conn, dsns = logins
    restricted_views = [
        f"SELECT count(*) FROM restricted.{name}"
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'restricted' AND c.relkind IN ('r', 'v', 'm')"
        )
    ]
    with psycopg.connect(dsns["jobs"], autocommit=True) as jobs:
        for statement in (*RESTRICTED, *restricted_views):
            assert _refused(jobs, statement), statement
        for group in ("lagesbild_actor", "lagesbild_analyst", "lagesbild_admin",
                      "lagesbild_publisher", "lagesbild_server", "lagesbild"):  # fmt: skip
            assert _refused(jobs, f"SET ROLE {group}"), group
            assert _refused(jobs, "SELECT set_config('role', %s, false)", (group,)), group


@pytest.mark.parametrize("login", ["reader", "jobs", "server"])
def test_no_login_becomes_the_owner_or_another_session(logins, login):
    _, dsns = logins
    with psycopg.connect(dsns[login], autocommit=True) as attacker:
        for statement in (
            "SET ROLE lagesbild",
            "SET SESSION AUTHORIZATION lagesbild",
            "SELECT set_config('role', 'lagesbild', false)",
            "SELECT set_config('session_authorization', 'lagesbild', false)",
            "SET ROLE pg_read_all_data",
            "SET ROLE pg_write_server_files",
            "SELECT pg_read_file('postgresql.conf')",
            "COPY (SELECT 1) TO PROGRAM 'true'",
            "CREATE SCHEMA attacker",
            "CREATE TABLE publish.attacker (i int)",
            "CREATE FUNCTION publish.attacker() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        ):
            assert _refused(attacker, statement), (login, statement)


def test_the_reader_setting_an_actor_in_its_session_reads_nothing(logins):
    """The row-level security's settings are anyone's to set; the reader still reaches no
    restricted table, whatever it claims to be."""
    _, dsns = logins
    with psycopg.connect(dsns["reader"]) as reader:
        for name, value in (("lagesbild.actor_id", ACTOR_A), ("lagesbild.role", "analyst")):
            reader.execute("SELECT set_config(%s, %s, false)", (name, value))
        for statement in RESTRICTED:
            assert _refused(reader, statement), statement
        for group in ("lagesbild_actor", "lagesbild_analyst"):
            assert _refused(reader, "SELECT set_config('role', %s, true)", (group,)), group


def test_reset_role_inside_a_callers_transaction_leaves_a_role_that_reads_nothing(logins):
    """After ``SET LOCAL ROLE``, ``RESET ROLE`` (or ``SET LOCAL ROLE NONE``) returns to the
    login itself, which is NOINHERIT: none of its groups' rights, so nothing more is read
    than as the caller's role (here less: nothing)."""
    _, dsns = logins
    a = Identity("key:a", frozenset({"actor"}), ACTOR_A)
    with psycopg.connect(dsns["server"]) as server:
        for escape in ("RESET ROLE", "SET LOCAL ROLE NONE", "SET ROLE NONE"):
            with server.transaction(force_rollback=True):
                session.enter(server, a, "actor")
                assert server.execute("SELECT count(*) FROM lagesbild.delivery").fetchone()[0]
                server.execute(escape)
                (current,) = server.execute("SELECT current_user").fetchone()
                assert current == "lagesbild_server", escape
                for statement in RESTRICTED:
                    assert _refused(server, statement), (escape, statement)
        # the transaction's role and settings end with it: the next one starts as nobody
        with server.transaction():
            session.enter(server, a, "actor")
        (current, actor) = server.execute(
            "SELECT current_user, current_setting('lagesbild.actor_id', true)"
        ).fetchone()
        assert current == "lagesbild_server" and not actor


def test_an_actor_transaction_cannot_reach_b_through_views_or_functions(logins):
    """Security-invoker views and the definer functions an actor may call answer only for
    A: B's deliveries are not there, and flagging B's delivery is refused."""
    conn, dsns = logins
    (b_delivery,) = conn.execute(
        "SELECT min(id) FROM lagesbild.delivery WHERE actor_id = %s", (ACTOR_B,)
    ).fetchone()
    a = Identity("key:a", frozenset({"actor"}), ACTOR_A)
    with psycopg.connect(dsns["server"]) as server:
        with server.transaction(force_rollback=True):
            session.enter(server, a, "actor")
            for view in ("my_observations", "my_deliveries", "my_observation_counts",
                         "own_cells", "own_cell_counts"):  # fmt: skip
                rows = server.execute(
                    sql.SQL("SELECT DISTINCT actor_id FROM restricted.{}").format(
                        sql.Identifier(view)
                    )
                ).fetchall()
                assert rows == [(ACTOR_A,)], view
            for view in ("exact_observations", "exact_cells", "exact_cell_counts",
                         "exact_observation_counts"):  # fmt: skip
                assert _refused(server, f"SELECT count(*) FROM restricted.{view}"), view
            # the own cells are written by the triggers only, not by the actor
            assert _refused(
                server,
                "INSERT INTO restricted.own_cells (actor_id, id, delivery_id, area_code,"
                " week_start, indicator, numerator) VALUES (%s, 'x', 1, 'x', '2026-01-05',"
                " 'ran', 1)",
                (ACTOR_A,),
            )
            assert _refused(server, "SELECT restricted.sync_own_cells(false)")
        with server.transaction(force_rollback=True):
            session.enter(server, a, "actor")
            assert _refused(server, "SELECT lagesbild.flag_double_reports(%s)", (b_delivery,))
