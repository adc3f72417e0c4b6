"""``lagesbild``: the command line for the municipality's GIS person and the reviewer.

Every command says what it does in Swedish-municipality terms in ``--help``; errors say what
was wrong and what to do, and exit non-zero without a traceback.

This module is the root group only: it reads the settings (the one place the command line
does) and registers the command groups, one module each in this package; the helpers they
share live in :mod:`lagesbild_geo.cli.common`.
"""

from __future__ import annotations

import click

from lagesbild_geo.cli.access import access_log_cmd
from lagesbild_geo.cli.actors import actors_group, indicators_cmd
from lagesbild_geo.cli.analysis import analyse_cmd
from lagesbild_geo.cli.areas import areas_group
from lagesbild_geo.cli.audit import audit_cmd
from lagesbild_geo.cli.config import config_cmd
from lagesbild_geo.cli.db import db_group
from lagesbild_geo.cli.deliveries import (
    deliveries_group,
    delivery_group,
    ingest_cmd,
    review_group,
)
from lagesbild_geo.cli.demo import demo_cmd, up_cmd
from lagesbild_geo.cli.jobs import jobs_group
from lagesbild_geo.cli.keys import keys_group
from lagesbild_geo.cli.serve import publish_group, serve_cmd
from lagesbild_geo.cli.styles import styles_group
from lagesbild_geo.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lagesbild-geo")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Lägesbild: a shared, de-identified safety situation picture per area and week.

    Actors (police, rescue service, security and housing companies, schools, social
    services) deliver counts or events; a reviewer approves each delivery; the approved
    picture is published as OGC API layers for QGIS and the city web map.

    Settings come from environment variables with the prefix LAGESBILD_ (for example
    LAGESBILD_DATABASE_URL to use an existing PostGIS instead of the built-in one);
    'lagesbild config' shows the ones in force.
    """
    ctx.obj = Settings()


for command in (
    db_group,
    areas_group,
    actors_group,
    keys_group,
    indicators_cmd,
    ingest_cmd,
    deliveries_group,
    review_group,
    delivery_group,
    demo_cmd,
    up_cmd,
    publish_group,
    serve_cmd,
    analyse_cmd,
    jobs_group,
    audit_cmd,
    config_cmd,
    access_log_cmd,
    styles_group,
):
    main.add_command(command)
