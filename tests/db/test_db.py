"""The schema: migrations apply once, constraints keep the stored counts honest."""

import re

import psycopg
import pytest

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.db.connection import function_files, migrate, migration_files
from lagesbild_geo.store.catalogue import sync_catalogue

#: The project's own schemas; every function in them is defined in db/functions/.
SCHEMAS = ("lagesbild", "publish", "restricted")


def test_migrations_are_recorded_and_rerun_is_a_no_op(pg_conn):
    versions = [v for v, _ in migration_files()]
    recorded = [r[0] for r in pg_conn.execute("SELECT version FROM lagesbild_migration ORDER BY 1")]
    assert recorded == versions
    assert migrate(pg_conn) == []


def test_postgis_is_there(pg_conn):
    version = pg_conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    assert version.split(".")[0] == "3"


def test_week_start_must_be_a_monday(pg_conn):
    with pytest.raises(psycopg.errors.CheckViolation):
        pg_conn.execute(
            "INSERT INTO lagesbild.observation (delivery_id, area_code, week_start, indicator_id,"
            " numerator) VALUES (1, 'x', DATE '2026-02-11', 'y', 1)"
        )


def test_migrating_keeps_each_cells_references_and_its_unique_cells(pg_server, monkeypatch):
    """A database made before 0009-0011 keeps its data: the references of a cell, once an
    array, come back in order from the text that replaced it (empty places kept)."""
    from pytest_postgresql.janitor import DatabaseJanitor

    from lagesbild_geo.db import connection as db
    from tests.conftest import PG_PASSWORD, PG_PORT, PG_USER

    every = migration_files()
    janitor = DatabaseJanitor(
        user=PG_USER, host="127.0.0.1", port=PG_PORT, dbname="lagesbild_before_0009",
        password=PG_PASSWORD,
    )  # fmt: skip
    janitor.init()
    try:
        url = f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{PG_PORT}/lagesbild_before_0009"
        with psycopg.connect(url) as conn:
            # as the release before 0009 made it: its migrations, and no function files yet
            monkeypatch.setattr(db, "migration_files", lambda: [m for m in every if m[0] < "0009"])
            monkeypatch.setattr(db, "function_files", lambda: [])
            migrate(conn)
            conn.execute(
                "INSERT INTO lagesbild.observation (delivery_id, area_code, week_start,"
                " indicator_id, numerator, event_hours, source_refs) VALUES"
                " (1, '1101', '2026-02-09', 'ran', 3, '{1,30,167}', '{K-1,\"\",K-3}'),"
                " (1, '1102', '2026-02-09', 'ran', 1, '{2}', NULL)"
            )
            monkeypatch.undo()  # today's release: every migration, then the function files
            applied = migrate(conn)
            assert applied == [v for v, _ in every if v >= "0009"]
            rows = conn.execute(
                "SELECT area_code, lagesbild.source_ref_list(source_refs)"
                " FROM lagesbild.observation ORDER BY 1"
            ).fetchall()
            assert rows == [("1101", ["K-1", "", "K-3"]), ("1102", None)]
            indexes = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'observation'"
            ).fetchall()
            assert indexes == [("observation_cell_brin",)]
    finally:
        janitor.drop()


def _functions(conn) -> dict[str, tuple[str, str]]:
    """Signature -> (definition, privileges) of every function in the project's schemas."""
    rows = conn.execute(
        "SELECT n.nspname || '.' || p.proname"
        "       || '(' || pg_get_function_identity_arguments(p.oid) || ')',"
        "       CASE WHEN p.prokind = 'a' THEN a.aggtransfn::regproc::text"
        "            ELSE pg_get_functiondef(p.oid) END,"
        "       coalesce(p.proacl::text, '')"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid"
        " WHERE n.nspname = ANY(%s)",
        (list(SCHEMAS),),
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_migrating_again_leaves_every_function_as_it_was(pg_conn):
    """The function files are applied on every migrate: doing so again changes nothing."""
    before = _functions(pg_conn)
    assert migrate(pg_conn) == []
    assert migrate(pg_conn) == []
    assert _functions(pg_conn) == before


def test_the_functions_of_a_migrated_database_are_those_of_the_function_files(pg_conn):
    """db/functions/ is the one place a function is read: a database migrated to head has each
    function defined there, and nothing else (no helper left behind by a rename)."""
    defined = set()
    for _name, sql in function_files():
        found = re.findall(r"CREATE OR REPLACE (?:FUNCTION|AGGREGATE) (\w+\.\w+)\(", sql)
        assert found or "GRANT" in sql, _name  # a function file, or the grants of a stage
        defined.update(found)
    in_database = {signature.split("(")[0] for signature in _functions(pg_conn)}
    assert in_database == defined
    assert "publish._refresh_observation_rows" not in in_database


def test_the_files_replace_what_the_migrations_made(pg_conn):
    """The protection replaced suppression: no rule of suppression is left in the database,
    and the situation is computed from the published cells, not from the restricted ones."""
    functions = _functions(pg_conn)
    names = {signature.split("(")[0] for signature in functions}
    assert not names & {"publish.is_small", "publish.is_small_cell", "publish.protect_bins",
                        "publish.refresh"}  # fmt: skip
    situation = functions["publish._refresh_situation()"][0]
    assert "publish.observations" in situation and "lagesbild." not in situation.replace(
        "lagesbild.indicator", ""
    )


def test_an_indicator_must_name_a_kind_the_catalogue_loaded(pg_conn):
    """Actor kinds are data from the catalogue: a new kind needs no migration, an unknown
    owner is refused by the database itself."""
    sync_catalogue(pg_conn, load_catalogue())
    insert = (
        "INSERT INTO lagesbild.indicator (id, name_sv, name_en, unit, owner_kind, measure,"
        " catalogue_version) VALUES (%s, 'x', 'x', 'count', %s, 'indirect', 't')"
    )
    with pytest.raises(psycopg.errors.ForeignKeyViolation), pg_conn.transaction():
        pg_conn.execute(insert, ("unknown_owner", "library"))
    pg_conn.execute(
        "INSERT INTO lagesbild.actor_kind (id, name_sv, name_en) VALUES ('library', 'B', 'L')"
    )
    pg_conn.execute(insert, ("library_loans", "library"))
    pg_conn.execute(insert, ("shared_category", "any"))
    owners = dict(
        pg_conn.execute(
            "SELECT id, owner_actor_kind FROM lagesbild.indicator"
            " WHERE id IN ('library_loans', 'shared_category')"
        ).fetchall()
    )
    assert owners == {"library_loans": "library", "shared_category": None}
