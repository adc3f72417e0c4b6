"""Connections and schema migrations.

Migrations are numbered SQL files in ``lagesbild_geo/db/migrations`` (``0001_core.sql``, ...),
applied in order, recorded in ``lagesbild_migration``; re-running applies nothing new. The
functions (the suppression rules, the publication refresh, ...) are repeatable files in
``lagesbild_geo/db/functions`` (``CREATE OR REPLACE``), applied in name order after the
migrations on every run, so that each file is its function's current definition. Everything
happens in one transaction; an advisory lock keeps two concurrent ``migrate`` runs from racing.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import psycopg
from psycopg.abc import Params, QueryNoTemplate
from psycopg.rows import TupleRow

from lagesbild_geo.db.cluster import Cluster
from lagesbild_geo.errors import DatabaseUnavailableError
from lagesbild_geo.settings import Settings

MIGRATION_LOCK_ID = 741_2026


def cluster_for(settings: Settings) -> Cluster:
    return Cluster(
        data_dir=settings.data_dir,
        port=settings.pg_port,
        user=settings.pg_user,
        database=settings.pg_database,
        bindir=settings.pg_bindir,
    )


def database_url(settings: Settings) -> str:
    """The URL to connect to: ``LAGESBILD_DATABASE_URL`` or the embedded cluster's."""
    if settings.database_url:
        return settings.database_url
    cluster = cluster_for(settings)
    if not cluster.password_file.exists():
        raise DatabaseUnavailableError(
            "No database: run 'lagesbild db up' first, or set LAGESBILD_DATABASE_URL."
        )
    return cluster.url()


def connect(url: str, **kwargs) -> psycopg.Connection:
    try:
        return psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(f"Cannot reach PostgreSQL: {exc}".strip()) from exc


#: SQLSTATEs of a session that is gone: class 08 (connection exception) and the server ending
#: it (57P01 pg_terminate_backend or a fast shutdown, 57P02 a crash of another backend, 57P03
#: the server starting or stopping). libpq's own errors (the socket closed) have none.
_LOST = ("57P01", "57P02", "57P03")


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection to PostgreSQL is gone (not a query's own error).

    >>> connection_lost(psycopg.OperationalError("server closed the connection unexpectedly"))
    True
    >>> connection_lost(psycopg.errors.QueryCanceled())
    False
    """
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        return state is None or state.startswith("08") or state in _LOST
    return False


def unavailable(exc: psycopg.Error) -> DatabaseUnavailableError:
    """The error a lost connection is reported as: what happened, and that nothing changed."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return DatabaseUnavailableError(
        f"Cannot reach PostgreSQL: the connection was lost ({detail}); nothing was stored "
        "by this command, run it again when the database is back."
    )


def one(conn: psycopg.Connection, query: QueryNoTemplate, params: Params | None = None) -> TupleRow:
    """The row of a query that always returns exactly one (an aggregate such as ``count(*)``,
    ``publish.state``, a function call, ``INSERT ... RETURNING``).

    ``fetchone()`` is typed ``Optional`` because a query in general may return nothing; here
    no row means the database is not what the code expects, said plainly instead of as
    "cannot unpack NoneType".
    """
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise RuntimeError(f"Expected one row, got none from: {query!r}")
    return row


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration in the package, in order."""
    return _sql_files("migrations", lambda name: name[:4].isdigit())


def _sql_files(folder_name: str, wanted: Callable[[str], bool]) -> list[tuple[str, str]]:
    """(name without .sql, text) of the package's SQL files in ``folder_name``, by name."""
    folder = resources.files("lagesbild_geo.db") / folder_name
    files = sorted(
        (p for p in folder.iterdir() if p.name.endswith(".sql") and wanted(p.name)),
        key=lambda p: p.name,
    )
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in files]


def function_files() -> list[tuple[str, str]]:
    """(name, sql) for every repeatable function file in the package, in name order."""
    return _sql_files("functions", lambda name: True)


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet applied, then every function file; return the versions
    applied now. A function file replaces what a migration or an earlier release defined."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS public.lagesbild_migration ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in conn.execute("SELECT version FROM public.lagesbild_migration")}
        for version, sql in migration_files():
            if version in done:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO public.lagesbild_migration (version) VALUES (%s)", (version,))
            applied_now.append(version)
        for _name, sql in function_files():
            conn.execute(sql)
    return applied_now
