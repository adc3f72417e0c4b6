"""Every change this service makes inside pygeoapi, in one file, for the version it was written for.

pygeoapi is used as a library (its Flask app, providers, job manager), and a few of its module
attributes and private caches are replaced or reached into where it is wrong or slow for this
service. Each of those places is here, with what it replaces and why; the replacement
functions themselves live where their logic belongs (:mod:`.geojson`, :mod:`.parsing`).

They were written against pygeoapi :data:`WRITTEN_FOR`; another version may have moved or
renamed what they replace, so :func:`install` logs a warning at start-up when the installed
version differs (:func:`check_version`). Read this file first when upgrading pygeoapi.
"""

from __future__ import annotations

import gc
import logging
import types
import uuid

import pygeoapi

from lagesbild_geo.server import geojson, parsing

LOGGER = logging.getLogger(__name__)

#: The pygeoapi release series these patches were written and measured against.
WRITTEN_FOR = "0.24."

#: Resource keys of processes in pygeoapi-config.yml start with this; the id is the rest.
#: pygeoapi keys processes and collections in one ``resources`` mapping, so a process
#: ``hotspots`` and a collection ``hotspots`` (the saved result layer) cannot both be keys;
#: :class:`processes.common.JobManager` and :func:`_dataset_templates` undo the prefix.
PROCESS_KEY_PREFIX = "process-"

#: pygeoapi's loggers that log an exception they answer (api.get_exception, the job manager's
#: handler): see :class:`_ClientErrorsAtInfo`.
_ANSWERING_LOGGERS = (
    "pygeoapi.api",
    "pygeoapi.api.itemtypes",
    "pygeoapi.api.processes",
    "pygeoapi.process.manager.base",
)

_installed = False

#: OGC API Features Part 3's filter classes (see :func:`install`).
FILTER_CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
)


def check_version() -> bool:
    """True when the installed pygeoapi is the series the patches were written for; a warning
    in the log otherwise (the service still starts: most upgrades keep these names)."""
    version = pygeoapi.__version__
    if version.startswith(WRITTEN_FOR):
        return True
    LOGGER.warning(
        "pygeoapi %s is installed; lagesbild_geo/server/patches.py was written for %s*: check "
        "every patch there before trusting this server",
        version,
        WRITTEN_FOR,
    )
    return False


def install() -> None:
    """Install every patch, once per process (a server worker, from ``create_app``)."""
    global _installed
    if _installed:
        return
    check_version()
    import pygeoapi.api
    import pygeoapi.api.itemtypes
    import pygeoapi.api.processes
    import pygeoapi.crs
    import pygeoapi.process.manager.base
    import pygeoapi.provider.sql
    import pygeoapi.util

    # The job manager names a job with uuid.uuid1(): the time and the host's MAC, so one job id
    # gives away its neighbours'. A k-anonymity job is reached only through its URL (the
    # municipality's table; processes.common.JobManager never lists it), so ids are random
    # (version 4) instead.
    pygeoapi.process.manager.base.uuid = RANDOM_JOB_IDS
    # pygeoapi.util.to_json as imported by the item endpoints (items, one item, queryables):
    # orjson, with the area geometries spliced in as PostGIS serialised them once, instead
    # of the standard library encoding every coordinate again (about two thirds of a
    # request's time, bench/serve.py).
    pygeoapi.api.itemtypes.to_json = geojson.to_json
    # pygeoapi.util.to_json everywhere else (landing page, collections, OpenAPI, processes,
    # job results, the templates' filter): it wrote < and > as HTML entities, so the JSON
    # descriptions said "&lt;indikator&gt;"; JSON escapes (\u003c) instead.
    pygeoapi.util.to_json = geojson.to_json_text
    pygeoapi.api.to_json = geojson.to_json_text
    pygeoapi.api.processes.to_json = geojson.to_json_text
    # dateutil's parse as pygeoapi.api's validate_datetime calls it: the standard library
    # for a complete RFC 3339 date-time (~0.2 ms less per end of an interval).
    pygeoapi.api.dateparse = parsing.fast_dateparse
    # pygeoapi.crs.get_crs (a URI to a pyproj.CRS), asked 3-5 times per request for the same
    # two or three URIs: each URI parsed once per thread.
    pygeoapi.crs.get_crs = parsing.cached_get_crs
    # The storage CRS's SRID and the bbox's transform into it, asked on every request with a
    # bbox: pyproj's to_epsg searched its database for CRS84 (3 × 7 ms of CPU a request).
    pygeoapi.provider.sql.get_srid = parsing.cached_get_srid
    pygeoapi.api.itemtypes.transform_bbox = parsing.cached_transform_bbox
    # pygeofilter's CQL2 text parser as the item endpoints import it: a map client sends the
    # same filter with every page and pan; each text parsed once (~0.5 ms).
    pygeoapi.api.itemtypes.parse_cql2_text = parsing.parse_cql2_text
    # API.get_dataset_templates, which the process pages call with the process id: it looks
    # the id up in ``resources``, where processes are keyed ``process-<id>``
    # (PROCESS_KEY_PREFIX). For ``early-warning`` that raised KeyError (a 500, found by
    # schemathesis), and ``hotspots`` silently took the result collection's entry.
    pygeoapi.api.API.get_dataset_templates = _dataset_templates
    # The conformance classes of OGC API Features Part 3 filtering that pygeoapi 0.24 serves
    # (``filter``, ``filter-lang``, ``filter-crs`` on /items; CQL2 text and JSON through
    # pygeofilter) but does not declare: QGIS 3.32+ sends a layer's filter to the server as
    # CQL2 only when /conformance names both (qgis/QGIS#52775), and otherwise downloads every
    # feature to filter it itself (docs/publishing.md, observations for analysts).
    for conformance in FILTER_CONFORMANCE:
        if conformance not in pygeoapi.api.itemtypes.CONFORMANCE_CLASSES_FEATURES:
            pygeoapi.api.itemtypes.CONFORMANCE_CLASSES_FEATURES.append(conformance)
    # pygeoapi logs every exception it answers at ERROR with a traceback, a caller's wrong
    # filter as much as a crash; a 4xx is logged at INFO without one (lagesbild_geo.errors).
    for name in _ANSWERING_LOGGERS:
        logging.getLogger(name).addFilter(_CLIENT_ERRORS_AT_INFO)
    _installed = True


#: ``uuid`` as pygeoapi's job manager sees it: ``uuid1`` gives random (version 4) ids.
RANDOM_JOB_IDS = types.SimpleNamespace(uuid1=uuid.uuid4, uuid4=uuid.uuid4, UUID=uuid.UUID)


def _dataset_templates(self, dataset: str) -> dict:
    """``API.get_dataset_templates`` that finds a process under its ``process-`` key."""
    resources = self.config["resources"]
    key = PROCESS_KEY_PREFIX + dataset
    entry = resources.get(key) if key in resources else resources.get(dataset, {})
    return entry.get("templates") or self.tpl_config["server"]["templates"]


class _ClientErrorsAtInfo(logging.Filter):
    """A record of pygeoapi's whose exception carries a 4xx (pygeoapi's provider and processor
    errors, ours through :mod:`.errors`) is the caller's mistake: INFO, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        status = getattr(exc, "http_status_code", None)
        if status is None or int(status) >= 500:
            return True
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.exc_info, record.exc_text = None, None
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


_CLIENT_ERRORS_AT_INFO = _ClientErrorsAtInfo()


def engine_of(provider):
    """The SQLAlchemy engine of a pygeoapi SQL provider.

    pygeoapi 0.24 keeps it in the private ``_engine`` (built by its cached ``get_engine``);
    the provider's reader engine and the area cache need its URL and dialect.
    """
    return provider._engine


def forget_pygeoapi_engines() -> None:
    """Empty pygeoapi's per-process caches of engines and table models, and close what they
    held.

    ``prepare`` runs in the gunicorn master. Generating the OpenAPI document instantiates every
    provider (and the job manager), and pygeoapi caches their engines with ``functools.cache``
    per process (``provider.sql.get_engine``, ``get_table_model`` of the provider and of the
    PostgreSQL job manager), pooled connections included. Forked workers inherited that cache
    and so shared one PostgreSQL socket between processes: under concurrent requests this
    gave ``psycopg2.DatabaseError: error with status PGRES_TUPLES_OK and no message from the
    libpq``, hung requests and 500s (found by tests/server/test_robustness.py's schemathesis
    run). With the caches empty, each worker builds its own engine on its first request.
    Call it after the project's own caches are emptied (``provider.forget_engines``): the
    garbage collection at the end closes the master's pooled connections before the fork.
    """
    from pygeoapi.process.manager import postgresql as manager_sql
    from pygeoapi.provider import sql as provider_sql

    provider_sql.get_engine.cache_clear()
    provider_sql.get_table_model.cache_clear()
    manager_sql.get_table_model.cache_clear()
    gc.collect()
