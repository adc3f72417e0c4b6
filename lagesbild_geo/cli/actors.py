"""``lagesbild actors`` and ``lagesbild indicators``: who delivers, and what they may deliver."""

from __future__ import annotations

import click

from lagesbild_geo.catalogue import actor_kinds, load_catalogue
from lagesbild_geo.cli.common import connect, handle_errors
from lagesbild_geo.store.catalogue import upsert_actor


@click.group("actors")
def actors_group() -> None:
    """Register the organisations that deliver data."""


@actors_group.command("add")
@click.argument("actor_id")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(actor_kinds()),
    help="What kind of actor it is; decides which indicators it may deliver.",
)
@click.option("--name", required=True, help="The organisation's name, as people read it.")
@click.pass_context
@handle_errors
def actors_add(ctx, actor_id, kind, name) -> None:
    """Add or update the actor ACTOR_ID (lower-case, e.g. polisen-syd)."""
    with connect(ctx) as conn:
        upsert_actor(conn, actor_id, kind, name)
    click.echo(f"Actor {actor_id} ({kind}) saved.")


@actors_group.command("list")
@click.pass_context
@handle_errors
def actors_list(ctx) -> None:
    """List the registered actors."""
    with connect(ctx) as conn:
        for actor_id, kind, name in conn.execute(
            "SELECT id, kind, name FROM lagesbild.actor ORDER BY id"
        ):
            click.echo(f"{actor_id:24} {kind:13} {name}")


@click.command("indicators")
@handle_errors
def indicators_cmd() -> None:
    """List the indicator catalogue: the ids actors write in their files."""
    cat = load_catalogue()
    click.echo(f"Indicator catalogue version {cat.version}")
    for ind in cat.indicators.values():
        click.echo(f"{ind.id:28} {ind.unit:14} {ind.owner_kind:13} {ind.name_sv}")
