"""``lagesbild``: the command line for the municipality's GIS person and the reviewer.

Every command says what it does in Swedish-municipality terms in ``--help``; errors say what
was wrong and what to do, and exit non-zero without a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.db import connection as db
from lagesbild_geo.errors import DeliveryRefusedError, LagesbildError
from lagesbild_geo.settings import Settings
from lagesbild_geo.store import reads as queries
from lagesbild_geo.store.catalogue import sync_catalogue, upsert_actor
from lagesbild_geo.store.review import change_status
from lagesbild_geo.weeks import iso_week


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_root().obj


def handle_errors(func):
    """Turn our own errors into a clear message and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DeliveryRefusedError as exc:
            click.secho(str(exc), fg="red", err=True)
            sys.exit(exc.exit_code)
        except LagesbildError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def _connect(ctx: click.Context):
    return db.connect(db.database_url(_settings(ctx)))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lagesbild-geo")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Lägesbild: a shared, de-identified safety situation picture per area and week.

    Actors (police, rescue service, security and housing companies, schools, social
    services) deliver counts or events; a reviewer approves each delivery; the approved
    picture is published as OGC API layers for QGIS and the city web map.

    Settings come from environment variables with the prefix LAGESBILD_ (for example
    LAGESBILD_DATABASE_URL to use an existing PostGIS instead of the built-in one).
    """
    ctx.obj = Settings()


# -- database ----------------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Start, stop and upgrade the database (a local PostGIS the project runs itself)."""


@db_group.command("up")
@click.pass_context
@handle_errors
def db_up(ctx: click.Context) -> None:
    """Create (first time) and start the local PostGIS, then apply the schema."""
    settings = _settings(ctx)
    if settings.database_url:
        click.echo("LAGESBILD_DATABASE_URL is set: using that database, nothing to start.")
    else:
        cluster = db.cluster_for(settings)
        cluster.up()
        click.echo(f"PostGIS is running on 127.0.0.1:{cluster.port} (data in {cluster.pgdata})")
    _migrate_and_load_catalogue(ctx)


@db_group.command("down")
@click.pass_context
@handle_errors
def db_down(ctx: click.Context) -> None:
    """Stop the local PostGIS (the data stays in the data folder)."""
    db.cluster_for(_settings(ctx)).down()
    click.echo("PostGIS stopped.")


@db_group.command("status")
@click.pass_context
@handle_errors
def db_status(ctx: click.Context) -> None:
    """Show whether the database is running and which schema version it has."""
    settings = _settings(ctx)
    info: dict[str, object] = {}
    if not settings.database_url:
        info.update(db.cluster_for(settings).status())
    try:
        with _connect(ctx) as conn:
            info["reachable"] = True
            info["migrations"] = [
                r[0]
                for r in conn.execute("SELECT version FROM lagesbild_migration ORDER BY version")
            ]
    except LagesbildError as exc:
        info["reachable"] = False
        info["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - a missing table means "not migrated yet"
        info["reachable"] = True
        info["migrations"] = f"none ({exc.__class__.__name__})"
    for key, value in info.items():
        click.echo(f"{key:12} {value}")
    if not info.get("reachable"):
        sys.exit(5)


@db_group.command("migrate")
@click.pass_context
@handle_errors
def db_migrate(ctx: click.Context) -> None:
    """Apply schema changes that are not yet applied (safe to run again)."""
    _migrate_and_load_catalogue(ctx)


def _migrate_and_load_catalogue(ctx: click.Context) -> None:
    with _connect(ctx) as conn:
        applied = db.migrate(conn)
        n = sync_catalogue(conn, load_catalogue())
    click.echo(
        f"Schema up to date ({', '.join(applied) if applied else 'nothing new to apply'}); "
        f"{n} indicators in the catalogue."
    )


# -- areas -------------------------------------------------------------------------------------


@main.group("areas")
def areas_group() -> None:
    """Import the municipality's area layer (NYKO level 3, or DeSO)."""


@areas_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--code-field", default="code", show_default=True, help="Field with the area code.")
@click.option("--name-field", help="Field with the area name (default: the code).")
@click.option("--population-field", help="Field with the number of inhabitants.")
@click.option("--level-field", help="Field with the NYKO level; only level 3 is kept.")
@click.option("--layer", help="Layer name, for a GeoPackage with several layers.")
@click.option(
    "--source-crs",
    help="CRS of the file when it has none, e.g. EPSG:3011. Everything is stored in EPSG:3006.",
)
@click.option(
    "--level-prefixes",
    default="1,2",
    show_default=True,
    help="How many leading characters of a level-3 code make its level-1 and level-2 codes.",
)
@click.option("--no-repair", is_flag=True, help="Refuse invalid geometries instead of repairing.")
@click.pass_context
@handle_errors
def areas_import(
    ctx,
    file,
    code_field,
    name_field,
    population_field,
    level_field,
    layer,
    source_crs,
    level_prefixes,
    no_repair,
) -> None:
    """Import FILE (GeoPackage, Shapefile or GeoJSON) as the area layer.

    Any CRS is reprojected to SWEREF 99 TM (EPSG:3006). Invalid geometries are repaired with a
    warning (or refused with --no-repair); duplicate codes are refused; gaps and overlaps
    between neighbouring areas are measured and reported.
    """
    from lagesbild_geo.ingest.areas import parent_levels, read_area_file
    from lagesbild_geo.ingest.pipeline import import_areas

    prefixes = tuple(int(p) for p in level_prefixes.split(","))
    layer_ = read_area_file(
        file,
        code_field=code_field,
        name_field=name_field,
        population_field=population_field,
        level_field=level_field,
        source_crs=source_crs,
        layer=layer,
        level_prefixes=prefixes,
        repair=not no_repair,
    )
    parents = parent_levels(layer_.frame, prefixes)
    for warning in layer_.report.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    with _connect(ctx) as conn:
        n = import_areas(
            conn,
            [parents, layer_.frame],
            source=str(file),
            report=layer_.report.to_dict(),
            k=_settings(ctx).k,
        )
    click.echo(layer_.report.summary())
    click.echo(f"Imported {n} level-3 areas from {file}.")


@areas_group.command("list")
@click.pass_context
@handle_errors
def areas_list(ctx) -> None:
    """List the stored areas (code, level, name, population)."""
    with _connect(ctx) as conn:
        rows = conn.execute(
            "SELECT code, level, name, population FROM lagesbild.area ORDER BY level, code"
        ).fetchall()
    for code, level, name, pop in rows:
        click.echo(f"{code:12} {level}  {name:30} {pop if pop is not None else ''}")


# -- actors and indicators ---------------------------------------------------------------------


@main.group("actors")
def actors_group() -> None:
    """Register the organisations that deliver data."""


@actors_group.command("add")
@click.argument("actor_id")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(
        ["police", "rescue", "security", "housing", "education", "social", "municipality"]
    ),
    help="What kind of actor it is; decides which indicators it may deliver.",
)
@click.option("--name", required=True, help="The organisation's name, as people read it.")
@click.pass_context
@handle_errors
def actors_add(ctx, actor_id, kind, name) -> None:
    """Add or update the actor ACTOR_ID (lower-case, e.g. polisen-syd)."""
    with _connect(ctx) as conn:
        upsert_actor(conn, actor_id, kind, name)
    click.echo(f"Actor {actor_id} ({kind}) saved.")


@actors_group.command("list")
@click.pass_context
@handle_errors
def actors_list(ctx) -> None:
    """List the registered actors."""
    with _connect(ctx) as conn:
        for actor_id, kind, name in conn.execute(
            "SELECT id, kind, name FROM lagesbild.actor ORDER BY id"
        ):
            click.echo(f"{actor_id:24} {kind:13} {name}")


@main.command("indicators")
@handle_errors
def indicators_cmd() -> None:
    """List the indicator catalogue: the ids actors write in their files."""
    cat = load_catalogue()
    click.echo(f"Indicator catalogue version {cat.version}")
    for ind in cat.indicators.values():
        click.echo(f"{ind.id:28} {ind.unit:14} {ind.owner_kind:13} {ind.name_sv}")


# -- deliveries and review ---------------------------------------------------------------------


@main.command("ingest")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--actor", "actor_id", required=True, help="The delivering actor's id.")
@click.option("--crs", help="CRS of x/y columns when the file has no crs column (default 3006).")
@click.option("--replaces", type=int, help="Id of the delivery this file corrects.")
@click.option(
    "--allow-unplaced",
    is_flag=True,
    help="Leave out events outside every area (they are counted in the report) instead of "
    "refusing the delivery.",
)
@click.pass_context
@handle_errors
def ingest_cmd(ctx, file, actor_id, crs, replaces, allow_unplaced) -> None:
    """Deliver FILE (Excel .xlsx or CSV) for an actor; it waits for review.

    The file holds either counts per area and period (area code, ISO week or date, indicator,
    value) or single events (category, date, time, position). Nothing is stored if anything is
    wrong: every problem is listed with its row and column.
    """
    from lagesbild_geo.ingest.pipeline import ingest_file

    with _connect(ctx) as conn:
        result = ingest_file(
            conn,
            file,
            actor_id=actor_id,
            crs=crs,
            replaces=replaces,
            allow_unplaced=allow_unplaced,
            progress=lambda m: click.echo(f"  … {m}", err=True),
        )
    click.echo(result.summary())


@main.group("deliveries")
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
    with _connect(ctx) as conn:
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


@main.group("review")
def review_group() -> None:
    """Approve or reject a pending delivery (the municipality's reviewer)."""


@review_group.command("approve")
@click.argument("delivery_id", type=int)
@click.option("--by", "by_whom", required=True, help="Your name or user id, recorded.")
@click.pass_context
@handle_errors
def review_approve(ctx, delivery_id, by_whom) -> None:
    """Approve DELIVERY_ID: its data becomes part of the published picture."""
    with _connect(ctx) as conn:
        change_status(conn, delivery_id, "approve", by_whom=by_whom, k=_settings(ctx).k)
    click.echo(f"Delivery {delivery_id} approved by {by_whom}.")


@review_group.command("reject")
@click.argument("delivery_id", type=int)
@click.option("--by", "by_whom", required=True, help="Your name or user id, recorded.")
@click.option("--reason", required=True, help="Why, so the actor can correct it.")
@click.pass_context
@handle_errors
def review_reject(ctx, delivery_id, by_whom, reason) -> None:
    """Reject DELIVERY_ID with a reason; it is never published."""
    with _connect(ctx) as conn:
        change_status(
            conn, delivery_id, "reject", by_whom=by_whom, reason=reason, k=_settings(ctx).k
        )
    click.echo(f"Delivery {delivery_id} rejected by {by_whom}: {reason}")


@main.group("delivery")
def delivery_group() -> None:
    """What an actor can do with its own deliveries."""


@delivery_group.command("withdraw")
@click.argument("delivery_id", type=int)
@click.option("--actor", "actor_id", required=True, help="The owning actor's id.")
@click.pass_context
@handle_errors
def delivery_withdraw(ctx, delivery_id, actor_id) -> None:
    """Withdraw DELIVERY_ID: it disappears from every view (the owner's right)."""
    with _connect(ctx) as conn:
        change_status(
            conn,
            delivery_id,
            "withdraw",
            by_whom=actor_id,
            actor_id=actor_id,
            k=_settings(ctx).k,
        )
    click.echo(f"Delivery {delivery_id} withdrawn by {actor_id}.")


# -- demo and the main job ---------------------------------------------------------------------


@main.command("demo")
@click.option("--seed", default=7, show_default=True, help="Seed of the generated history.")
@click.pass_context
@handle_errors
def demo_cmd(ctx, seed) -> None:
    """Load the demo municipality (Lägesby) and two years of deliveries from all actors.

    Patterns are planted on purpose (see the README); the newest deliveries are left pending
    review, one is rejected, one is corrected and one double report is flagged.
    """

    with _connect(ctx) as conn:
        summary = _run_demo(conn, seed, _settings(ctx).k)
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


@main.command("up")
@click.option("--no-serve", is_flag=True, help="Stop after loading; do not start the server.")
@click.pass_context
@handle_errors
def up_cmd(ctx, no_serve) -> None:
    """The main job: database up and migrated, demo loaded and analysed (first time), server
    running."""
    ctx.invoke(db_up)
    with _connect(ctx) as conn:
        (n,) = conn.execute("SELECT count(*) FROM lagesbild.delivery").fetchone()
        if n == 0:
            summary = _run_demo(conn, 7, _settings(ctx).k)
            click.echo(
                f"Demo loaded: {summary.deliveries} deliveries, {summary.pending} pending review."
            )
    if n == 0:  # the hotspots and trends layers (the web map's) start from the demo's analysis
        ctx.invoke(analyse_cmd)
    else:
        click.echo(f"The database already holds {n} deliveries; the demo is not reloaded.")
    if not no_serve:
        from lagesbild_geo.server.app import serve

        serve(_settings(ctx))


# -- publication and server --------------------------------------------------------------------


@main.group("publish")
def publish_group() -> None:
    """The public layers (approved data only, small numbers suppressed)."""


@publish_group.command("refresh")
@click.pass_context
@handle_errors
def publish_refresh(ctx) -> None:
    """Rebuild the public layers from approved deliveries (with k from LAGESBILD_K).

    Reviews do this by themselves; run it after changing LAGESBILD_K or the catalogue.
    """
    from lagesbild_geo.publish import publication as publish

    settings = _settings(ctx)
    with _connect(ctx) as conn:
        version = publish.refresh(conn, settings.k)
        state = publish.read_state(conn)
    week = iso_week(state.reference_week) if state.reference_week else "no approved data yet"
    click.echo(f"Published version {version} (k = {state.k}, reference week {week}).")


@main.command("serve")
@click.pass_context
@handle_errors
def serve_cmd(ctx) -> None:
    """Serve the public layers as OGC API Features (pygeoapi) on LAGESBILD_HOST:LAGESBILD_PORT.

    Writes the final pygeoapi configuration and the OpenAPI document into the data folder,
    then runs until Ctrl-C.
    """
    from lagesbild_geo.server.app import serve

    serve(_settings(ctx))


# -- analysis (hot spots and trends layers) ------------------------------------------------------


@main.command("analyse")
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
    suppressed cells. Run it after new approvals, e.g. from cron every night.
    """
    from datetime import timedelta

    from lagesbild_geo.analysis import run as analysis
    from lagesbild_geo.errors import InputError

    url = db.database_url(_settings(ctx))
    with _connect(ctx) as conn:
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
