"""``lagesbild demo`` and ``lagesbild up``: the demo municipality, and the main job that starts
everything from nothing."""

from __future__ import annotations

import sys

import click

from lagesbild_geo.cli.analysis import analyse_cmd
from lagesbild_geo.cli.common import connect, handle_errors, settings_of
from lagesbild_geo.cli.db import db_up
from lagesbild_geo.db.connection import one


@click.command("demo")
@click.option("--seed", default=7, show_default=True, help="Seed of the generated history.")
@click.pass_context
@handle_errors
def demo_cmd(ctx, seed) -> None:
    """Load the demo municipality (Lägesby) and two years of deliveries from all actors.

    Patterns are planted on purpose (see the README); the newest deliveries are left pending
    review, one is rejected, one is corrected and one double report is flagged.
    """

    with connect(ctx) as conn:
        summary = _run_demo(conn, seed, settings_of(ctx).k)
    click.echo(
        f"Demo loaded: {summary.deliveries} deliveries ({summary.approved} approved, "
        f"{summary.pending} pending, {summary.rejected} rejected, {summary.replaced} replaced "
        f"by a correction); {summary.double_reports} possible double report flagged."
    )
    click.echo("Planted patterns:")
    for p in summary.patterns:
        click.echo(f"  - {p.key}: {p.description}")


def _run_demo(conn, seed, k):
    from lagesbild_geo.demo.history import load_demo, planned_delivery_count

    with click.progressbar(
        length=planned_delivery_count(), label="Loading the demo deliveries", file=sys.stderr
    ) as bar:
        return load_demo(conn, seed=seed, k=k, progress=bar.update)


@click.command("up")
@click.option("--no-serve", is_flag=True, help="Stop after loading; do not start the server.")
@click.pass_context
@handle_errors
def up_cmd(ctx, no_serve) -> None:
    """The main job: database up and migrated, demo loaded and analysed (first time), server
    running."""
    ctx.invoke(db_up)
    with connect(ctx) as conn:
        (n,) = one(conn, "SELECT count(*) FROM lagesbild.delivery")
        if n == 0:
            summary = _run_demo(conn, 7, settings_of(ctx).k)
            click.echo(
                f"Demo loaded: {summary.deliveries} deliveries, {summary.pending} pending review."
            )
    if n == 0:  # the hotspots and trends layers (the web map's) start from the demo's analysis
        ctx.invoke(analyse_cmd)
    else:
        click.echo(f"The database already holds {n} deliveries; the demo is not reloaded.")
    if not no_serve:
        from lagesbild_geo.server.app import serve

        serve(settings_of(ctx))
