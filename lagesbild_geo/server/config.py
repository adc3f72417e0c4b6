"""The configuration a server's workers start from, written by the master at start-up.

:func:`prepare` (run by ``serve`` in the gunicorn master, before it forks) makes sure the
publication was built with the configured k (``publish.refresh``), then writes into
``LAGESBILD_DATA_DIR``:

* the final pygeoapi configuration: the deployer's ``pygeoapi-config.yml``
  (``Settings.pygeoapi_config``) with the extents computed from the data; connection values
  stay ``${VAR}`` references, so no password is written to disk; the HTML pages get Leaflet
  and Bootstrap from the service itself (:mod:`.webassets`);
* the OpenAPI document generated from it (what ``pygeoapi openapi generate`` does), served
  at ``/openapi``;
* the queryable columns of every published table, for the middleware's parameter check;
* every collection's GeoJSON feature schema with the columns' types
  (:mod:`.feature_schemas`), served at ``/feature-schemas/{collection}`` and linked from the
  collection (``describedBy``).

**Hand-off variables.** pygeoapi reads its configuration in each worker, at import time, and
resolves its ``${VAR}`` references from the environment; the workers are forked from the
master. So :func:`prepare` hands the generated files over as environment variables, set in its
own process and inherited by the workers: ``LAGESBILD_PUBLIC_DB_HOST`` / ``_PORT`` / ``_NAME``
/ ``_USER`` / ``_PASSWORD`` (the reader role's connection, from :func:`db_environment`),
``LAGESBILD_SERVER_DB_USER`` / ``_PASSWORD`` and ``LAGESBILD_JOBS_DB_USER`` / ``_PASSWORD``
(the other two logins on the same database, :mod:`lagesbild_geo.access.logins`),
``LAGESBILD_QUERYABLES``, ``LAGESBILD_SCHEMAS``, ``LAGESBILD_RESTRICTED_COLLECTIONS``,
``LAGESBILD_JOBS_DIR``, ``PYGEOAPI_CONFIG`` and ``PYGEOAPI_OPENAPI``, plus
``LAGESBILD_SERVER_URL`` / ``_HOST`` / ``_PORT`` with the effective values of those settings.
They are written by :func:`prepare`, not set by a deployer (a deployer's settings are
:class:`lagesbild_geo.settings.Settings`), and our code reads them in one function only:
:func:`read_handoff`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path

import psycopg
import yaml

from lagesbild_geo.access import logins
from lagesbild_geo.db.connection import connect, database_url
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.server import (
    feature_schemas,
    layers,
    openapi_extra,
    patches,
    provider,
    restricted_provider,
)
from lagesbild_geo.server.webassets import local_translations, local_web_assets
from lagesbild_geo.settings import Settings
from lagesbild_geo.styles.files import style_links

CONFIG_NAME = "pygeoapi-config.yml"
OPENAPI_NAME = "pygeoapi-openapi.yml"
QUERYABLES_NAME = "queryables.json"
SCHEMAS_NAME = "feature-schemas.json"


def build_config(
    template: dict,
    extents: publish.Extents,
    indicators: list[layers.IndicatorName] | tuple = (),
) -> dict:
    """The template with the per-indicator layers of ``indicators`` (:mod:`.layers`), spatial
    and temporal extents from the data (CRS84), and every collection linked to its feature
    schema (:mod:`.feature_schemas`: what GDAL types fields from) and to the style files of its
    kind (``rel="stylesheet"``, :func:`lagesbild_geo.styles.files.style_links`: a
    per-indicator layer by its prefix).

    The schema and style links use the server's URL as the template writes it
    (``${VAR:-default}``, which pygeoapi resolves when it reads the file, like ``server.url``
    itself).
    """
    config = json.loads(json.dumps(template, default=str))  # deep copy, anchors expanded
    config["resources"] = layers.with_layers(config["resources"], list(indicators))
    server_url = str(config["server"]["url"])
    for name, resource in config["resources"].items():
        if resource.get("type") != "collection":
            continue
        resource["links"] = [
            *(link for link in resource.get("links") or () if link.get("rel") not in (
                "describedBy", "describedby", "stylesheet")),
            *feature_schemas.links(server_url, name),
            *style_links(server_url, name),
        ]  # fmt: skip
        resource["extents"]["spatial"]["bbox"] = list(extents.bbox)
        if "temporal" in resource["extents"]:
            resource["extents"]["temporal"] = {
                "begin": _utc(extents.first_week),
                "end": _utc(extents.last_week_end, end_of_day=True),
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            }
    return config


def _utc(day, end_of_day: bool = False):
    if day is None:
        return None
    return datetime.combine(day, dtime.max if end_of_day else dtime.min).replace(
        microsecond=0, tzinfo=UTC
    )


def db_environment(url: str) -> dict[str, str]:
    """The ``LAGESBILD_PUBLIC_DB_*`` variables the configuration's ``${VAR}`` read."""
    parts = psycopg.conninfo.conninfo_to_dict(url)
    return {
        "LAGESBILD_PUBLIC_DB_HOST": str(parts.get("host") or "127.0.0.1"),
        "LAGESBILD_PUBLIC_DB_PORT": str(parts.get("port") or 5432),
        "LAGESBILD_PUBLIC_DB_NAME": str(parts.get("dbname") or ""),
        "LAGESBILD_PUBLIC_DB_USER": str(parts.get("user") or ""),
        "LAGESBILD_PUBLIC_DB_PASSWORD": str(parts.get("password") or ""),
    }


def _login_environment(prefix: str, url: str) -> dict[str, str]:
    """``LAGESBILD_<prefix>_DB_USER`` / ``_PASSWORD``: another login on the same database."""
    parts = psycopg.conninfo.conninfo_to_dict(url)
    return {
        f"LAGESBILD_{prefix}_DB_USER": str(parts.get("user") or ""),
        f"LAGESBILD_{prefix}_DB_PASSWORD": str(parts.get("password") or ""),
    }


def prepare(settings: Settings) -> dict[str, str]:
    """Refresh if needed, write config + OpenAPI into the data folder; return the environment.

    The returned variables (also set in ``os.environ``) are the hand-off that pygeoapi and
    :func:`read_handoff` read in the workers (see the module docstring).
    """
    with connect(database_url(settings)) as conn:
        state = publish.read_state(conn)
        wanted_d = settings.ckm_d or max(1, settings.k - 2)
        wanted_v = settings.ckm_v or min(1.0, wanted_d * wanted_d / 2)
        if (state.k, state.ckm_d, state.ckm_v) != (settings.k, wanted_d, wanted_v) or (
            state.version == 0
        ):
            publish.refresh(conn, settings.k, d=wanted_d, v=wanted_v)
            publish.vacuum(conn)
        public_url = logins.login_url(settings, "reader", conn)
        server_url = logins.login_url(settings, "server", conn)
        jobs_url = logins.login_url(settings, "jobs", conn)
        extents = publish.read_extents(conn)
        columns = _queryables(conn, "publish")
        view_columns = _queryables(conn, "restricted")
        template = yaml.safe_load(settings.pygeoapi_config.read_text(encoding="utf-8"))
        config = build_config(template, extents, read_indicators(conn))
        restricted = restricted_provider.restricted_collections(config)
        schemas = feature_schemas.build(conn, config, restricted)

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    # Analysis processes (processes/common.py): pygeoapi's job manager writes job results here.
    jobs_dir = data_dir / "jobs"
    jobs_dir.mkdir(mode=0o700, exist_ok=True)
    config_path = data_dir / CONFIG_NAME
    openapi_path = data_dir / OPENAPI_NAME
    # map previews offline too
    config["server"]["templates"] = local_web_assets(data_dir, settings.js_dir)
    config["server"]["locale_dir"] = local_translations(data_dir)  # the pages' Swedish labels
    config_path.write_text(
        "# Written by `lagesbild serve` from pygeoapi-config.yml; do not edit.\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    # the restricted layers' parameters are checked like the public ones (by collection name)
    columns.update({name: view_columns.get(view, []) for name, view in restricted.items()})
    columns.update(_layer_queryables(config, columns))
    (data_dir / QUERYABLES_NAME).write_text(json.dumps(columns), encoding="utf-8")
    (data_dir / SCHEMAS_NAME).write_text(json.dumps(schemas, ensure_ascii=False), encoding="utf-8")

    env = {
        **db_environment(public_url),
        **_login_environment("SERVER", server_url),
        **_login_environment("JOBS", jobs_url),
        "LAGESBILD_SERVER_URL": settings.effective_server_url(),
        "LAGESBILD_HOST": settings.host,
        "LAGESBILD_PORT": str(settings.port),
        "PYGEOAPI_CONFIG": str(config_path),
        "PYGEOAPI_OPENAPI": str(openapi_path),
        "LAGESBILD_QUERYABLES": str(data_dir / QUERYABLES_NAME),
        feature_schemas.ENV: str(data_dir / SCHEMAS_NAME),  # /feature-schemas (server/schemas.py)
        "LAGESBILD_RESTRICTED_COLLECTIONS": ",".join(sorted(restricted)),
        "LAGESBILD_JOBS_DIR": str(jobs_dir),  # analysis jobs (pygeoapi-config.yml, manager)
    }
    os.environ.update(env)

    from pygeoapi.openapi import generate_openapi_document

    # pygeoapi's document, with the service's own resources (deliveries, decisions) and the
    # two ways to authenticate added
    document = yaml.safe_load(generate_openapi_document(config_path, "yaml"))
    document = openapi_extra.add_paths(openapi_extra.add_security(document, set(restricted)))
    openapi_path.write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    provider.forget_engines()
    patches.forget_pygeoapi_engines()
    return env


def read_indicators(conn: psycopg.Connection) -> list[layers.IndicatorName]:
    """The catalogue as published (``publish.indicators``, rebuilt by every refresh), by id:
    the indicators that get a layer of each kind."""
    rows = conn.execute(
        "SELECT id, name_sv, name_en, unit FROM publish.indicators ORDER BY id"
    ).fetchall()
    return [layers.IndicatorName(*row) for row in rows]


def _layer_queryables(config: dict, columns: dict[str, list[str]]) -> dict[str, list[str]]:
    """A per-indicator collection's columns are its table's (the check is by collection)."""
    out = {}
    for name, resource in config["resources"].items():
        provider = (resource.get("providers") or [{}])[0]
        if provider.get("fixed") and provider.get("table") in columns:
            out[name] = columns[provider["table"]]
    return out


def _queryables(conn: psycopg.Connection, schema: str) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position)"
        " FROM information_schema.columns WHERE table_schema = %s"
        " GROUP BY table_name",
        (schema,),
    ).fetchall()
    return {table: columns for table, columns in rows}


@dataclass(frozen=True)
class Handoff:
    """What a worker takes over from :func:`prepare`: the reader's connection, the queryables."""

    conninfo: str
    queryables: dict[str, list[str]]
    #: The authenticated paths' login (``lagesbild_server``) on the same database.
    server_conninfo: str = ""
    #: Collections of exact data (never cached, never a public validator).
    restricted: frozenset[str] = frozenset()
    #: The file of every collection's feature schema (:mod:`.feature_schemas`).
    schemas: str = ""


def read_handoff() -> Handoff:
    """Read the hand-off variables :func:`prepare` set (the one place that reads them)."""
    env = os.environ
    conninfo = psycopg.conninfo.make_conninfo(
        host=env["LAGESBILD_PUBLIC_DB_HOST"],
        port=env["LAGESBILD_PUBLIC_DB_PORT"],
        dbname=env["LAGESBILD_PUBLIC_DB_NAME"],
        user=env["LAGESBILD_PUBLIC_DB_USER"],
        password=env["LAGESBILD_PUBLIC_DB_PASSWORD"],
        application_name="lagesbild-serve",
    )
    server_conninfo = psycopg.conninfo.make_conninfo(
        conninfo,
        user=env["LAGESBILD_SERVER_DB_USER"],
        password=env["LAGESBILD_SERVER_DB_PASSWORD"],
        application_name="lagesbild-serve-restricted",
    )
    queryables = json.loads(Path(env["LAGESBILD_QUERYABLES"]).read_text(encoding="utf-8"))
    restricted = frozenset(filter(None, env["LAGESBILD_RESTRICTED_COLLECTIONS"].split(",")))
    schemas = env.get(feature_schemas.ENV, "")
    return Handoff(conninfo, queryables, server_conninfo, restricted, schemas)
