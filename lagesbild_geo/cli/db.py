"""``lagesbild db``: the local PostGIS the project runs itself, and its schema."""

from __future__ import annotations

import sys

import click

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.cli.common import connect, handle_errors, settings_of
from lagesbild_geo.db import connection
from lagesbild_geo.errors import LagesbildError
from lagesbild_geo.store.catalogue import sync_catalogue


@click.group("db")
def db_group() -> None:
    """Start, stop and upgrade the database (a local PostGIS the project runs itself)."""


@db_group.command("up")
@click.pass_context
@handle_errors
def db_up(ctx: click.Context) -> None:
    """Create (first time) and start the local PostGIS, then apply the schema."""
    settings = settings_of(ctx)
    if settings.database_url:
        click.echo("LAGESBILD_DATABASE_URL is set: using that database, nothing to start.")
    else:
        cluster = connection.cluster_for(settings)
        cluster.up()
        click.echo(f"PostGIS is running on 127.0.0.1:{cluster.port} (data in {cluster.pgdata})")
    _migrate_and_load_catalogue(ctx)


@db_group.command("down")
@click.pass_context
@handle_errors
def db_down(ctx: click.Context) -> None:
    """Stop the local PostGIS (the data stays in the data folder)."""
    connection.cluster_for(settings_of(ctx)).down()
    click.echo("PostGIS stopped.")


@db_group.command("status")
@click.pass_context
@handle_errors
def db_status(ctx: click.Context) -> None:
    """Show whether the database is running and which schema version it has."""
    settings = settings_of(ctx)
    info: dict[str, object] = {}
    if not settings.database_url:
        info.update(connection.cluster_for(settings).status())
    try:
        with connect(ctx) as conn:
            info["reachable"] = True
            info["migrations"] = [
                r[0]
                for r in conn.execute("SELECT version FROM lagesbild_migration ORDER BY version")
            ]
    except LagesbildError as exc:
        info["reachable"] = False
        info["error"] = str(exc)
    except Exception as exc:
        info["reachable"] = True
        info["migrations"] = f"none ({exc.__class__.__name__})"
    for key, value in info.items():
        click.echo(f"{key:12} {value}")
    if not info.get("reachable"):
        sys.exit(5)


@db_group.command("migrate")
@click.pass_context
@handle_errors
def db_migrate(ctx: click.Context) -> None:
    """Apply schema changes that are not yet applied (safe to run again)."""
    _migrate_and_load_catalogue(ctx)


def _migrate_and_load_catalogue(ctx: click.Context) -> None:
    with connect(ctx) as conn:
        applied = connection.migrate(conn)
        n = sync_catalogue(conn, load_catalogue())
    click.echo(
        f"Schema up to date ({', '.join(applied) if applied else 'nothing new to apply'}); "
        f"{n} indicators in the catalogue."
    )
