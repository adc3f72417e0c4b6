"""``lagesbild styles write [DIR]``: the SLD and QML files of the public layers, from code.

The files are generated from :mod:`lagesbild_geo.styles` and the indicator catalogue; the
repository keeps them in ``sld/`` (run this there after changing a class or the catalogue:
a test fails while the committed files differ). The service serves the same files at
``/styles/<file>`` without reading this folder.
"""

from __future__ import annotations

from pathlib import Path

import click

from lagesbild_geo.cli.common import handle_errors
from lagesbild_geo.styles import files


@click.group("styles")
def styles_group() -> None:
    """Pre-styled maps of the public layers (SLD 1.0 for any GIS, QML for QGIS)."""


@styles_group.command("write")
@click.argument("directory", required=False, default="sld",
                type=click.Path(file_okay=False, path_type=Path))  # fmt: skip
@handle_errors
def write_cmd(directory: Path) -> None:
    """Write every style file into DIRECTORY (default: ./sld), one SLD and one QML per
    layer kind and one pair per indicator of the wide situation layer; style files there
    that are no longer generated are removed."""
    written, removed = files.write(directory)
    click.echo(f"Wrote {len(written)} style files to {directory}/.")
    for path in removed:
        click.echo(f"Removed {path} (no longer generated).")
