"""``lagesbild access-log``: the access log on the server (docs/access.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from lagesbild_geo.access import log as access_log
from lagesbild_geo.cli.common import connect, handle_errors


@click.command("access-log")
@click.option("--since", type=click.DateTime(), help="From this date or time (UTC).")
@click.option("--until", type=click.DateTime(), help="Before this date or time (UTC).")
@click.option("--principal", help="Only this caller (key:<id>, oidc:<subject>, cli:<name>).")
@click.option("--action", help="Only this action (delivery.create, key.revoke, layer.read, …).")
@click.option("--actor", "actor_id", help="Only what was done for this actor.")
@click.option("--limit", type=click.IntRange(1, access_log.MAX_ROWS), default=100)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@handle_errors
def access_log_cmd(ctx, since, until, principal, action, actor_id, limit, as_json) -> None:
    """Who delivered, approved, rejected, withdrew, read restricted layers, created or
    revoked keys, and when: newest first."""
    equal = {
        name: value
        for name, value in (("principal", principal), ("action", action), ("actor_id", actor_id))
        if value
    }
    with connect(ctx) as conn:
        entries = access_log.read(
            conn, since=_utc(since), until=_utc(until), equal=equal, limit=limit
        )
    if as_json:
        click.echo(json.dumps(entries, default=str, ensure_ascii=False, indent=1))
        return
    for e in entries:
        what = f"{e['object_type']} {e['object_id']}" if e["object_id"] else e["object_type"] or ""
        click.echo(
            f"{e['at']:%Y-%m-%d %H:%M:%S}  {e['principal']:24} {e['role'] or '':9} "
            f"{e['action']:18} {what}"
        )


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)
