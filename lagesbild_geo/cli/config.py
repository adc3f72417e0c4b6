"""``lagesbild config``: the settings in force, as the command line and the server see them.

A deployer who wonders why the server talks to the wrong database, or which k it publishes
with, needs the effective values (defaults filled in, the environment applied), not the
variables they think they set. Passwords in database URLs and the analysis token are masked
(:meth:`lagesbild_geo.settings.Settings.masked`), so the output can be pasted into a ticket.
"""

from __future__ import annotations

import json

import click

from lagesbild_geo.cli.common import handle_errors, settings_of


@click.command("config")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@handle_errors
def config_cmd(ctx, as_json) -> None:
    """Show every LAGESBILD_* setting in force (defaults included), secrets masked."""
    values = settings_of(ctx).masked()
    if as_json:
        click.echo(json.dumps(values, ensure_ascii=False, indent=1))
        return
    width = max(len(name) for name in values)
    for name, value in values.items():
        click.echo(f"{name:{width}}  {value if value else '(not set)'}")
