"""``lagesbild areas``: the municipality's area layer (NYKO level 3, or DeSO)."""

from __future__ import annotations

from pathlib import Path

import click

from lagesbild_geo.cli.common import connect, handle_errors, settings_of


@click.group("areas")
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
    from lagesbild_geo.publish import publication

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
    with connect(ctx) as conn, conn.transaction():
        n = import_areas(
            conn, [parents, layer_.frame], source=str(file), report=layer_.report.to_dict()
        )
        publication.refresh(conn, settings_of(ctx).k)  # the public layers, in one transaction
    click.echo(layer_.report.summary())
    click.echo(f"Imported {n} level-3 areas from {file}.")


@areas_group.command("list")
@click.pass_context
@handle_errors
def areas_list(ctx) -> None:
    """List the stored areas (code, level, name, population)."""
    with connect(ctx) as conn:
        rows = conn.execute(
            "SELECT code, level, name, population FROM lagesbild.area ORDER BY level, code"
        ).fetchall()
    for code, level, name, pop in rows:
        click.echo(f"{code:12} {level}  {name:30} {pop if pop is not None else ''}")
