"""The schema: migrations apply once, constraints keep the stored counts honest."""

import psycopg
import pytest

from lagesbild_geo.db.connection import migrate, migration_files


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
            monkeypatch.setattr(db, "migration_files", lambda: [m for m in every if m[0] < "0009"])
            migrate(conn)
            conn.execute(
                "INSERT INTO lagesbild.observation (delivery_id, area_code, week_start,"
                " indicator_id, numerator, event_hours, source_refs) VALUES"
                " (1, '1101', '2026-02-09', 'ran', 3, '{1,30,167}', '{K-1,\"\",K-3}'),"
                " (1, '1102', '2026-02-09', 'ran', 1, '{2}', NULL)"
            )
            monkeypatch.setattr(db, "migration_files", lambda: every)
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
            assert indexes == [("observation_delivery_brin",)]
    finally:
        janitor.drop()
