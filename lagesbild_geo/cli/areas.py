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
    help="How many leading characters of a level-3 code make its level-1 and level-2 codes, "
    "e.g. 1,2. Without it: 4,5 for DeSO codes (said in the output), level 3 only with "
    "--level-field, otherwise refused.",
)
@click.option("--no-repair", is_flag=True, help="Refuse invalid geometries instead of repairing.")
@click.option(
    "--clear-population",
    is_flag=True,
    help="Without --population-field: clear the stored population instead of keeping it.",
)
@click.option(
    "--clear-names",
    is_flag=True,
    help="Without --name-field: name the areas by their codes instead of keeping stored names.",
)
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
    clear_population,
    clear_names,
) -> None:
    """Import FILE (GeoPackage, Shapefile or GeoJSON) as the area layer.

    Any CRS is reprojected to SWEREF 99 TM (EPSG:3006). Invalid geometries are repaired with a
    warning (or refused with --no-repair); duplicate codes are refused; gaps and overlaps
    between neighbouring areas are measured and reported.

    When deliveries were made against the stored layer and FILE changes its codes or
    boundaries, FILE becomes a new version of the layer: stored deliveries keep their codes,
    and the publication carries their history to the new areas (docs/areas.md). Fields not
    given (names, population) keep their stored values for the codes that stay.
    """
    from lagesbild_geo.ingest.area_levels import GUESS, keep_stored_fields
    from lagesbild_geo.ingest.areas import parent_levels, read_area_file
    from lagesbild_geo.ingest.pipeline import import_areas
    from lagesbild_geo.publish import publication
    from lagesbild_geo.store.areas import layer_versions, stored_fields

    prefixes = _prefixes(level_prefixes) if level_prefixes else GUESS
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
    for warning in layer_.report.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    with connect(ctx) as conn, conn.transaction():
        frame, kept = keep_stored_fields(
            layer_.frame,
            stored_fields(conn),
            names=name_field is None and not clear_names,
            population=population_field is None and not clear_population,
        )
        layer_.report.notes += kept
        levels = [frame]
        if layer_.level_prefixes:
            levels.insert(0, parent_levels(frame, layer_.level_prefixes))
        n = import_areas(conn, levels, source=str(file), report=layer_.report.to_dict())
        publication.refresh(conn, settings_of(ctx).k)  # the public layers, in one transaction
        versions = layer_versions(conn)
    click.echo(layer_.report.summary())
    current = versions[-1]
    click.echo(
        f"Imported {n} level-3 areas from {file} as area layer version {current['version']}."
    )
    carried = [v for v in versions if v["crosswalked"]]
    for v in carried:
        click.echo(
            f"Version {v['version']}: {v['deliveries']} deliveries, {v['crosswalked']} areas "
            f"carried to version {current['version']} by the crosswalk (docs/areas.md)."
        )


@areas_group.command("list")
@click.pass_context
@handle_errors
def areas_list(ctx) -> None:
    """List the layer's versions, then the current areas (code, level, name, population)."""
    from lagesbild_geo.store.areas import layer_versions

    with connect(ctx) as conn:
        versions = layer_versions(conn)
        rows = conn.execute(
            "SELECT code, level, name, population FROM lagesbild.area ORDER BY level, code"
        ).fetchall()
    click.echo("Versioner / versions:")
    for v in versions:
        mark = "*" if v["current"] else " "
        click.echo(
            f"{mark} {v['version']:3}  {v['imported_at']:%Y-%m-%d %H:%M}  {v['areas']:5} areas"
            f"  {v['deliveries']:5} deliveries  {v['source']}"
        )
    click.echo("Områden / areas (current version):")
    for code, level, name, pop in rows:
        click.echo(f"{code:12} {level}  {name:30} {pop if pop is not None else ''}")


def _prefixes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise click.BadParameter(
            "give two code lengths separated by a comma, e.g. 1,2", param_hint="--level-prefixes"
        ) from None
