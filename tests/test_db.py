"""The schema: migrations apply once, constraints keep the stored counts honest."""

import psycopg
import pytest

from lagesbild_geo.db import migrate, migration_files


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
