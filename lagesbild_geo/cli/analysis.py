"""``lagesbild analyse``: the nightly job behind the hotspots and trends layers."""

from __future__ import annotations

import sys

import click

from lagesbild_geo.cli.common import connect, handle_errors, settings_of
from lagesbild_geo.db import connection
from lagesbild_geo.weeks import iso_week


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
    default=4,
    show_default=True,
    type=click.IntRange(1, 520),
    help="Hot spots over this many weeks, ending at the indicator's newest published week.",
)
@click.option(
    "--trend-weeks",
    default=52,
    show_default=True,
    type=click.IntRange(8, 520),
    help="Trend window in weeks, ending at the indicator's newest published week.",
)
@click.pass_context
@handle_errors
def analyse_cmd(ctx, only, hotspot_weeks, trend_weeks) -> None:
    """Recompute the 'hotspots' and 'trends' layers from the published data (nightly job).

    For every indicator: Gi* hot spots (queen neighbours, 999 permutations) over the last
    --hotspot-weeks weeks and Mann-Kendall trends over the last --trend-weeks weeks, saved
    as the indicator's current result. Like the processes, it reads only the published,
    protected cells. Run it after new approvals, e.g. from cron every night.
    """
    from datetime import timedelta

    from lagesbild_geo.analysis import run as analysis
    from lagesbild_geo.errors import InputError

    url = connection.database_url(settings_of(ctx))
    with connect(ctx) as conn:
        todo = [(i, w) for i, w in analysis.indicators_with_data(conn) if not only or i in only]
    missing = sorted(set(only) - {i for i, _ in todo})
    if missing:
        raise InputError(f"No published weekly data for: {', '.join(missing)}")
    lines, skipped = [], []
    with click.progressbar(todo, label="Analysing", file=sys.stderr) as bar:
        for indicator, last in bar:
            end = iso_week(last)
            parts = []
            for process, weeks in (("hotspots", hotspot_weeks), ("trends", trend_weeks)):
                inputs = {
                    "indicator": indicator,
                    "period_start": iso_week(last - timedelta(weeks=weeks - 1)),
                    "period_end": end,
                    "publish": True,
                }
                try:
                    result = analysis.run(url, process, inputs)
                except InputError as exc:
                    skipped.append(f"{indicator} ({process}): {exc}")
                    continue
                props = [f["properties"] for f in result["features"]]
                if process == "hotspots":
                    hot = sum(p["bin"] >= 2 for p in props)
                    cold = sum(p["bin"] <= -2 for p in props)
                    parts.append(f"{hot} hot / {cold} cold spots (95 %)")
                else:
                    up = sum(p["trend"] == "increasing" for p in props)
                    down = sum(p["trend"] == "decreasing" for p in props)
                    parts.append(f"{up} increasing / {down} decreasing")
            if parts:
                lines.append(f"  {indicator:26} up to {end}: {'; '.join(parts)}")
    click.echo(f"Analysed {len(todo)} indicators (saved to the hotspots and trends layers):")
    for line in lines:
        click.echo(line)
    for line in skipped:
        click.secho(f"  skipped {line}", fg="yellow")
