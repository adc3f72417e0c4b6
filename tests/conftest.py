"""Shared fixtures: one real PostGIS for the whole session, a fresh database per test.

The server is the project's own embedded cluster (``lagesbild_geo.db.cluster``), started once in a
temporary folder; pytest-postgresql then clones a template database (PostGIS + every migration)
for each test that asks for ``pg_conn`` or ``pg_dsn``, and drops it afterwards. Tests that do
not ask for a database never start one.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from lagesbild_geo.db.cluster import Cluster
from lagesbild_geo.db.connection import migrate
from lagesbild_geo.settings import Settings
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[1]
SHARED_AREAS = REPO.parent / "shared" / "areas"
TEST_DATA = REPO / "tests" / "data"


PG_PORT = free_port()
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
    cluster = Cluster(
        data_dir=data_dir,
        port=PG_PORT,
        user=PG_USER,
        database="postgres",
        bindir=Settings().pg_bindir,
    )
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


@contextmanager
def migrated_database(pg_server, name: str) -> Iterator[str]:
    """A database ``name`` cloned from the migrated template, dropped when the block ends."""
    from pytest_postgresql.janitor import DatabaseJanitor

    janitor = DatabaseJanitor(
        user=PG_USER,
        host="127.0.0.1",
        port=PG_PORT,
        dbname=name,
        template_dbname=pg_server.template_dbname,
        password=PG_PASSWORD,
    )
    janitor.init()
    try:
        yield f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{PG_PORT}/{name}"
    finally:
        janitor.drop()


#: The protection secret of the tests' demo database (see demo_db_url).
DEMO_TEST_SECRET = hashlib.sha512(b"lagesbild demo test secret").digest()


@pytest.fixture(scope="session")
def demo_db_url(pg_server) -> str:
    """A database with the whole demo history loaded once per session (about a minute).

    Read-only for the tests that use it: they must not change it.
    """
    from lagesbild_geo.demo.history import load_demo

    with migrated_database(pg_server, "lagesbild_demo") as url:
        with psycopg.connect(url) as conn:
            # a known protection secret, so that the demo's published noise (and what the
            # analyses find in it) is the same in every run; production makes a random one
            # (migration 0017). Tests bound figures by D, never by a drawn value.
            with conn.transaction():
                conn.execute(
                    "UPDATE lagesbild.protection_secret SET secret = %s", (DEMO_TEST_SECRET,)
                )
            load_demo(conn)
        yield url


@pytest.fixture
def ready_conn(pg_conn):
    """A fresh database with the catalogue, the demo area layer and the demo actors loaded."""
    from lagesbild_geo.catalogue import load_catalogue
    from lagesbild_geo.demo.history import ACTORS, read_demo_layer
    from lagesbild_geo.ingest.pipeline import import_areas
    from lagesbild_geo.publish import publication
    from lagesbild_geo.store.catalogue import sync_catalogue, upsert_actor

    sync_catalogue(pg_conn, load_catalogue())
    level3, parents = read_demo_layer()
    with pg_conn.transaction():
        import_areas(pg_conn, [parents, level3], source="test", report={})
        publication.refresh(pg_conn)
    for actor_id, (kind, name) in ACTORS.items():
        upsert_actor(pg_conn, actor_id, kind, name)
    return pg_conn


@pytest.fixture(scope="session")
def demo_layer():
    """The demo municipality's level-3 areas (GeoDataFrame, EPSG:3006)."""
    from lagesbild_geo.demo.history import read_demo_layer

    return read_demo_layer()[0]


def table_counts(conn) -> dict[str, int]:
    """Row counts of every table in the restricted schema: 'the database did not change'."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'lagesbild' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
    ]
    return {t: conn.execute(f'SELECT count(*) FROM lagesbild."{t}"').fetchone()[0] for t in tables}
