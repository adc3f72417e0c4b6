"""Deliveries from file to published picture: ``lagesbild ingest``, ``deliveries list``,
``review approve|reject`` (the municipality's reviewer) and ``delivery withdraw`` (the owner).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from lagesbild_geo.access import log as access_log
from lagesbild_geo.cli.common import connect, handle_errors, settings_of
from lagesbild_geo.publish.review import change_status
from lagesbild_geo.store import reads as queries
from lagesbild_geo.weeks import iso_week


@click.command("ingest")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--actor", "actor_id", required=True, help="The delivering actor's id.")
@click.option("--crs", help="CRS of x/y columns when the file has no crs column (default 3006).")
@click.option(
    "--sheet",
    help="The workbook sheet to read (default: the one visible sheet with data; a hidden "
    "sheet is read only when named).",
)
@click.option("--replaces", type=int, help="Id of the delivery this file corrects.")
@click.option(
    "--allow-unplaced",
    is_flag=True,
    help="Leave out events outside every area (they are counted in the report) instead of "
    "refusing the delivery.",
)
@click.pass_context
@handle_errors
def ingest_cmd(ctx, file, actor_id, crs, sheet, replaces, allow_unplaced) -> None:
    """Deliver FILE (Excel .xlsx or CSV) for an actor; it waits for review.

    The file holds either counts per area and period (area code, ISO week or date, indicator,
    value) or single events (category, date, time, position). Nothing is stored if anything is
    wrong: every problem is listed with its row and column.
    """
    from lagesbild_geo.ingest.pipeline import ingest_file

    with connect(ctx) as conn:
        access_log.as_cli(conn, getpass.getuser())
        result = ingest_file(
            conn,
            file,
            actor_id=actor_id,
            crs=crs,
            sheet=sheet,
            replaces=replaces,
            allow_unplaced=allow_unplaced,
            limits=settings_of(ctx).delivery_limits(),
            progress=lambda m: click.echo(f"  … {m}", err=True),
        )
        if not result.already_delivered:
            access_log.write(conn, "delivery.create", "delivery", result.delivery_id,
                             {"actor_id": actor_id, "file": Path(file).name})  # fmt: skip
    click.echo(result.summary())


@click.group("deliveries")
def deliveries_group() -> None:
    """See what has been delivered and what waits for review."""


@deliveries_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "rejected", "withdrawn", "replaced"]),
    help="Only deliveries with this status.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@handle_errors
def deliveries_list(ctx, status, as_json) -> None:
    """List deliveries with their status, weeks and double-report flags."""
    with connect(ctx) as conn:
        rows = queries.list_deliveries(conn, status)
    if as_json:
        click.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"{'id':>5}  {'actor':22} {'status':9} {'shape':10} {'rows':>8}  weeks"
        "                    flags"
    )
    for r in rows:
        weeks = f"{iso_week(r['first_week'])}..{iso_week(r['last_week'])}"
        flag = f"{r['double_reports']} double" if r["double_reports"] else ""
        click.echo(
            f"{r['id']:>5}  {r['actor_id']:22} {r['status']:9} {r['shape']:10} "
            f"{r['row_count']:>8}  {weeks:24} {flag}"
        )


# -- review and withdrawal: one status change each ---------------------------------------------

_DONE = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}
_delivery_id = click.argument("delivery_id", type=int)
_by = click.option("--by", "by_whom", required=True, help="Your name or user id, recorded.")


def _change_status(
    ctx: click.Context,
    delivery_id: int,
    action: str,
    *,
    by_whom: str,
    reason: str | None = None,
    actor_id: str | None = None,
) -> None:
    """Apply ``action`` to the delivery (the publication follows with k from the settings) and
    say who did it; ``store.review.set_status`` refuses what the status does not allow.
    """
    with connect(ctx) as conn:
        access_log.as_cli(conn, by_whom)
        change_status(
            conn,
            delivery_id,
            action,
            by_whom=by_whom,
            reason=reason,
            actor_id=actor_id,
            k=settings_of(ctx).k,
        )
        access_log.write(conn, f"delivery.{action}", "delivery", delivery_id,
                         {"reason": reason} if reason else {})  # fmt: skip
    said = f": {reason}" if reason else "."
    click.echo(f"Delivery {delivery_id} {_DONE[action]} by {by_whom}{said}")


@click.group("review")
def review_group() -> None:
    """Approve or reject a pending delivery (the municipality's reviewer)."""


@review_group.command("approve")
@_delivery_id
@_by
@click.pass_context
@handle_errors
def review_approve(ctx, delivery_id, by_whom) -> None:
    """Approve DELIVERY_ID: its data becomes part of the published picture."""
    _change_status(ctx, delivery_id, "approve", by_whom=by_whom)


@review_group.command("reject")
@_delivery_id
@_by
@click.option("--reason", required=True, help="Why, so the actor can correct it.")
@click.pass_context
@handle_errors
def review_reject(ctx, delivery_id, by_whom, reason) -> None:
    """Reject DELIVERY_ID with a reason; it is never published."""
    _change_status(ctx, delivery_id, "reject", by_whom=by_whom, reason=reason)


@click.group("delivery")
def delivery_group() -> None:
    """What an actor can do with its own deliveries."""


@delivery_group.command("withdraw")
@_delivery_id
@click.option("--actor", "actor_id", required=True, help="The owning actor's id.")
@click.pass_context
@handle_errors
def delivery_withdraw(ctx, delivery_id, actor_id) -> None:
    """Withdraw DELIVERY_ID: it disappears from every view (the owner's right)."""
    _change_status(ctx, delivery_id, "withdraw", by_whom=actor_id, actor_id=actor_id)
