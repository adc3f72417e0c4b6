"""``lagesbild keys create|list|revoke``: the API keys actors and the municipality's staff use.

The plain key is printed once, by ``create``, and stored nowhere (only its hash): a lost key is
revoked and replaced, never recovered. Each creation and revocation is written to the access
log as ``cli:<by>``, so the huvudman can show who handed out which key.
"""

from __future__ import annotations

import getpass
import json

import click

from lagesbild_geo.access import keys
from lagesbild_geo.access import log as access_log
from lagesbild_geo.access.identity import ROLES
from lagesbild_geo.cli.common import connect, handle_errors

_BY_HELP = "Who does this, for the access log (default: your login name)."


@click.group("keys")
def keys_group() -> None:
    """Hand out and revoke API keys (the X-API-Key header) for actors and staff."""


@keys_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
@click.option("--actor", "actor_id", help="The actor an actor key delivers and reads for.")
@click.option("--owner", required=True, help="The person or system that will hold the key.")
@click.option(
    "--expires",
    help="When the key stops working: a lifetime (90d, 12h, 2w) or a date (2027-01-01). "
    "Default: never (revoke it when it is no longer needed).",
)
@click.option("--by", default=getpass.getuser, show_default="your login name", help=_BY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@handle_errors
def keys_create(ctx, role, actor_id, owner, expires, by, as_json) -> None:
    """Create a key for OWNER and print it once; only its hash is stored."""
    expires_at = keys.expiry(expires) if expires else None
    with connect(ctx) as conn, conn.transaction():
        access_log.as_cli(conn, by)
        key_id, plain = keys.create(
            conn,
            role=role,
            owner=owner,
            actor_id=actor_id,
            expires_at=expires_at,
            created_by=by,
        )
        detail = {"role": role, "actor_id": actor_id, "owner": owner}
        detail["expires_at"] = expires_at.isoformat() if expires_at else None
        access_log.write(conn, "key.create", "api_key", key_id, detail)
    if as_json:
        click.echo(json.dumps({"id": key_id, "key": plain, **detail}, ensure_ascii=False))
        return
    click.echo(f"Key {key_id} for {owner} ({role}{f', actor {actor_id}' if actor_id else ''}):")
    click.echo(plain)
    click.secho(
        "Copy it now: it is shown only this once and is not stored (only its hash is). "
        "The holder sends it in the X-API-Key header.",
        fg="yellow",
        err=True,
    )


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@handle_errors
def keys_list(ctx, as_json) -> None:
    """List every key: holder, role, actor, dates and state (never the key itself)."""
    with connect(ctx) as conn:
        rows = keys.list_keys(conn)
    if as_json:
        click.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"{'id':12}  {'status':7}  {'role':8}  {'actor':16}  {'created':10}  {'expires':10}  "
        f"{'revoked':10}  {'last used':16}  owner"
    )
    for k in rows:
        click.echo(
            f"{k['id']:12}  {k['status']:7}  {k['role']:8}  {k['actor_id'] or '-':16}  "
            f"{_day(k['created_at']):10}  {_day(k['expires_at']):10}  "
            f"{_day(k['revoked_at']):10}  {_minute(k['last_used_at']):16}  {k['owner']}"
        )


def _day(moment) -> str:
    return moment.date().isoformat() if moment else "-"


def _minute(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


@keys_group.command("revoke")
@click.argument("key_id")
@click.option("--by", required=True, help="Who revokes it, for the access log.")
@click.pass_context
@handle_errors
def keys_revoke(ctx, key_id, by) -> None:
    """Revoke the key KEY_ID (its id from 'lagesbild keys list'); it stops working at once."""
    with connect(ctx) as conn, conn.transaction():
        access_log.as_cli(conn, by)
        revoked = keys.revoke(conn, key_id, by)
        access_log.write(
            conn,
            "key.revoke",
            "api_key",
            key_id,
            {"owner": revoked["owner"], "role": revoked["role"]},
        )
    click.echo(f"Key {key_id} of {revoked['owner']} revoked.")
