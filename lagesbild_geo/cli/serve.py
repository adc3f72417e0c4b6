"""``lagesbild publish refresh`` and ``lagesbild serve``: the public layers, and the server
that publishes them."""

from __future__ import annotations

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
        state = publish.read_state(conn)
    week = iso_week(state.reference_week) if state.reference_week else "no approved data yet"
    click.echo(
        f"Published version {version} (k = {state.k}, cell key method D = {state.ckm_d},"
        f" V = {state.ckm_v}, newest week {week})."
    )


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
