"""Shared fixtures: one real PostGIS for the whole session, a fresh database per test.

The server is the project's own embedded cluster (``lagesbild_geo.cluster``), started once in a
temporary folder; pytest-postgresql then clones a template database (PostGIS + every migration)
for each test that asks for ``pg_conn`` or ``pg_dsn``, and drops it afterwards. Tests that do
not ask for a database never start one.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from lagesbild_geo.cluster import Cluster
from lagesbild_geo.db import migrate

REPO = Path(__file__).resolve().parents[1]
SHARED_AREAS = REPO.parent / "shared" / "areas"
TEST_DATA = REPO / "tests" / "data"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PG_PORT = _free_port()
PG_PASSWORD = secrets.token_urlsafe(16)
PG_USER = "lagesbild"


def load_schema(host, port, user, dbname, password, **_):
    """Template loader: PostGIS and every migration, exactly as ``lagesbild db migrate``."""
    with psycopg.connect(host=host, port=port, user=user, dbname=dbname, password=password) as c:
        migrate(c)


@pytest.fixture(scope="session")
def embedded_cluster():
    """The project's embedded PostGIS cluster, in a throw-away folder, for the session."""
    data_dir = Path(tempfile.mkdtemp(prefix="lagesbild-test-pg-"))
    data_dir.chmod(0o755)
    (data_dir / "db-password").write_text(PG_PASSWORD + "\n")
    (data_dir / "db-password").chmod(0o600)
    cluster = Cluster(data_dir=data_dir, port=PG_PORT, user=PG_USER, database="postgres")
    cluster.up()
    yield cluster
    cluster.down()


_template_server = factories.postgresql_noproc(
    host="127.0.0.1",
    port=PG_PORT,
    user=PG_USER,
    password=PG_PASSWORD,
    dbname="lagesbild_test",
    load=[load_schema],
)


@pytest.fixture(scope="session")
def pg_server(embedded_cluster, _template_server):
    """The running server with the migrated template database ready to clone."""
    return _template_server


pg_conn = factories.postgresql("pg_server")


@pytest.fixture
def pg_dsn(pg_conn) -> str:
    """A libpq connection string for this test's fresh, migrated database."""
    return (
        f"host=127.0.0.1 port={PG_PORT} user={PG_USER} password={PG_PASSWORD} "
        f"dbname={pg_conn.info.dbname}"
    )


@pytest.fixture
def pg_url(pg_conn) -> str:
    """The same database as ``pg_dsn``, as a URL (what LAGESBILD_DATABASE_URL holds)."""
    return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{PG_PORT}/{pg_conn.info.dbname}"


@pytest.fixture
def shared_areas() -> Path:
    """The real DeSO layers beside the repo (``../shared/areas``); never copied into it."""
    if not SHARED_AREAS.is_dir():
        pytest.fail(f"{SHARED_AREAS} is missing: the tests need ../shared beside the repo")
    return SHARED_AREAS


os.environ.setdefault("LAGESBILD_K", "5")
