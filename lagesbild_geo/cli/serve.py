"""``lagesbild publish refresh|utility`` and ``lagesbild serve``: the public layers, what they
leave to read, and the server that publishes them."""

from __future__ import annotations

import json

import click

from lagesbild_geo.cli.common import connect, handle_errors, settings_of
from lagesbild_geo.weeks import iso_week


@click.group("publish")
def publish_group() -> None:
    """The public layers (approved data only, protected by the cell key method)."""


@publish_group.command("refresh")
@click.pass_context
@handle_errors
def publish_refresh(ctx) -> None:
    """Rebuild the public layers from approved deliveries (with k from LAGESBILD_K).

    Reviews do this by themselves; run it after changing LAGESBILD_K or the catalogue.
    """
    from lagesbild_geo.publish import publication as publish

    settings = settings_of(ctx)
    with connect(ctx) as conn:
        version = publish.refresh(conn, settings.k, d=settings.ckm_d, v=settings.ckm_v)
        publish.vacuum(conn)
        state = publish.read_state(conn)
    week = iso_week(state.reference_week) if state.reference_week else "no approved data yet"
    click.echo(
        f"Published version {version} (k = {state.k}, cell key method D = {state.ckm_d},"
        f" V = {state.ckm_v}, newest week {week})."
    )


@publish_group.command("utility")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_context
@handle_errors
def publish_utility(ctx, as_json: bool) -> None:
    """How much the protection leaves to read: per kind of public figure, the share published
    and the mean and largest deviation from the exact figure (reads the restricted data, as
    the owner; docs/disclosure.md)."""
    from lagesbild_geo.publish import publication, utility

    with connect(ctx) as conn:
        rows = utility.measure(conn)
        state = publication.read_state(conn)
    if as_json:
        doc = {"version": state.version, "k": state.k, "d": state.ckm_d, "v": state.ckm_v}
        click.echo(json.dumps({**doc, "rows": [r.as_dict() for r in rows]}, indent=2))
        return
    click.echo(
        f"Publication version {state.version} (k = {state.k}, D = {state.ckm_d}, "
        f"V = {state.ckm_v}):\n"
    )
    click.echo(utility.table(rows))


@click.command("serve")
@click.pass_context
@handle_errors
def serve_cmd(ctx) -> None:
    """Serve the public layers as OGC API Features (pygeoapi) on LAGESBILD_HOST:LAGESBILD_PORT.

    Writes the final pygeoapi configuration and the OpenAPI document into the data folder,
    then runs until Ctrl-C.
    """
    from lagesbild_geo.server.app import serve

    serve(settings_of(ctx))
