"""Connections and schema migrations.

Migrations are numbered SQL files in ``lagesbild_geo/db/migrations`` (``0001_core.sql``, ...), applied in
order, each in its own transaction, recorded in ``lagesbild_migration``. Re-running applies
nothing new; an advisory lock keeps two concurrent ``migrate`` runs from racing.
"""

from __future__ import annotations

from importlib import resources

import psycopg

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


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration in the package, in order."""
    folder = resources.files("lagesbild_geo.db") / "migrations"
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".sql") and p.name[:4].isdigit())
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in files]


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the migrations not yet applied; return their versions."""
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
    return applied_now
