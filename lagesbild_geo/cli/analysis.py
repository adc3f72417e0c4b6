"""``lagesbild analyse``: the hotspots and trends layers, now (and ``--follow``: after every
review)."""

from __future__ import annotations

import contextlib
import sys

import click

from lagesbild_geo.analysis import follow
from lagesbild_geo.cli.common import connect, handle_errors, settings_of
from lagesbild_geo.db import connection


@click.command("analyse")
@click.option(
    "--indicator",
    "only",
    multiple=True,
    help="Only this indicator (repeat for several). Default: every weekly indicator with "
    "published data.",
)
@click.option(
    "--hotspot-weeks",
    default=follow.HOTSPOT_WEEKS,
    show_default=True,
    type=click.IntRange(1, 520),
    help="Hot spots over this many weeks, ending at the indicator's newest published week.",
)
@click.option(
    "--trend-weeks",
    default=follow.TREND_WEEKS,
    show_default=True,
    type=click.IntRange(8, 520),
    help="Trend window in weeks, ending at the indicator's newest published week.",
)
@click.option(
    "--follow",
    "keep_following",
    is_flag=True,
    help="Then keep running: recompute the layers of the indicators each review changes, "
    "right after it (what `lagesbild serve` starts by itself). Stop with Ctrl-C.",
)
@click.pass_context
@handle_errors
def analyse_cmd(ctx, only, hotspot_weeks, trend_weeks, keep_following) -> None:
    """Recompute the 'hotspots' and 'trends' layers from the published data.

    For every indicator: Gi* hot spots (queen neighbours, 999 permutations) over the last
    --hotspot-weeks weeks and Mann-Kendall trends (classes at a false discovery rate of 5 %)
    over the last --trend-weeks weeks, saved as the indicator's current result. Like the
    processes, it reads only the published, protected cells. The server recomputes after
    every review by itself; this is for a first run, other windows, or --follow by hand.
    """
    from lagesbild_geo.analysis import run as analysis
    from lagesbild_geo.errors import InputError
    from lagesbild_geo.publish import results

    url = connection.database_url(settings_of(ctx))
    windows = {"hotspot_weeks": hotspot_weeks, "trend_weeks": trend_weeks}
    with connect(ctx) as conn:
        todo = [i for i, _ in analysis.indicators_with_data(conn) if not only or i in only]
        missing = sorted(set(only) - set(todo))
        if missing:
            raise InputError(f"No published weekly data for: {', '.join(missing)}")
        # the open requests of these indicators are answered by this run (commits at the end of
        # the block)
        claim = results.claim_analysis(conn, todo if only else None)
    with click.progressbar(length=len(todo), label="Analysing", file=sys.stderr) as bar:
        done = follow.recompute(url, url, todo, progress=lambda _: bar.update(1), **windows)
    with connect(ctx) as conn:
        results.finish_analysis(conn, claim.ids, done.run_ids)
    click.echo(f"Analysed {len(todo)} indicators (saved to the hotspots and trends layers):")
    for line in done.lines:
        click.echo(f"  {line}")
    for line in done.skipped:
        click.secho(f"  skipped {line}", fg="yellow")
    if keep_following:
        click.echo("Following the reviews (Ctrl-C stops) ...")
        with contextlib.suppress(KeyboardInterrupt):
            follow.follow(url, url, report=follow.print_report, **windows)
