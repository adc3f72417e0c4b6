"""Serve the public layers: pygeoapi (Flask) under gunicorn, behind Lägesbild's WSGI middleware.

``serve(settings)`` is the whole start-up, with no manual step:

1. connect as the owner, make sure the publication was built with the configured k
   (``publish.refresh``), give the read-only role its password (embedded cluster);
2. write the final pygeoapi configuration into ``LAGESBILD_DATA_DIR`` (the repository's
   ``pygeoapi-config.yml`` with the extents computed from the data; connection values stay
   ``${VAR}`` references, so no password is written to disk) and generate the OpenAPI
   document from it (what ``pygeoapi openapi generate`` does), served at ``/openapi``; the
   HTML pages get Leaflet and Bootstrap from the service itself (:mod:`.webassets`);
3. run gunicorn with ``settings.workers`` sync workers, stopping cleanly on SIGINT/SIGTERM.

The middleware (:class:`PublishMiddleware`) does what pygeoapi does not:

* **Caching.** The data changes when a delivery is approved, not per request. GET responses
  carry ``ETag`` (publication version + URL + the inputs of format and language negotiation)
  and ``Last-Modified`` (when the publication changed); ``If-None-Match`` /
  ``If-Modified-Since`` are answered with 304 before pygeoapi does any work. Process and job
  paths are left alone (their results do not follow the publication's version).
* **Database down.** A request that needs the database (a collection, a job, running a
  process) while PostgreSQL is unreachable gets a 503 with a JSON message and
  ``Retry-After``, never a 500 or a 400; nothing needs restarting when it is back (the
  middleware reconnects; the provider's pool retries a closed connection once, pygeoapi's
  pools pre-ping).
* **Wrong parameters.** pygeoapi silently ignores an unknown query parameter on ``/items``
  (e.g. a misspelt property filter, which then returns everything); OGC API Features
  (/req/core/query-param-unknown) wants a 400, and so do we. Bad bbox, malformed CQL2, unknown
  ``sortby``/``properties`` are already 400 in pygeoapi; unknown CQL2 properties and type
  errors are made 400 in :mod:`lagesbild_geo.server.provider`.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import io
import json
import logging
import os
import re
import threading
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path
from urllib.parse import parse_qsl

import psycopg
import yaml

from lagesbild_geo.db.connection import connect, database_url
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.server.geojson import PUBLISHED_VERSION
from lagesbild_geo.server.webassets import local_web_assets
from lagesbild_geo.settings import Settings

LOGGER = logging.getLogger(__name__)

CONFIG_NAME = "pygeoapi-config.yml"
OPENAPI_NAME = "pygeoapi-openapi.yml"
QUERYABLES_NAME = "queryables.json"
RETRY_AFTER_S = 5
#: Query parameters pygeoapi itself understands on /items (api/itemtypes.py).
ITEMS_PARAMETERS = frozenset(
    [
        "bbox",
        "bbox-crs",
        "crs",
        "f",
        "lang",
        "limit",
        "offset",
        "resulttype",
        "datetime",
        "sortby",
        "properties",
        "skipGeometry",
        "q",
        "filter",
        "filter-lang",
        "filter-crs",
    ]  # fmt: skip
)
ITEMS_PATH = re.compile(r"^/collections/(?P<collection>[^/]+)/items/?$")
#: Running a process reads the publication and records the job (pygeoapi's job manager).
EXECUTION_PATH = re.compile(r"^/processes/[^/]+/execution/?$")
#: Paths whose responses do not follow the publication's version.
UNCACHED_PREFIXES = ("/processes", "/jobs", "/admin")
CACHE_CONTROL = "public, no-cache"  # always revalidate: cheap with ETag, never stale
#: The city web map fetches from another origin. pygeoapi's own CORS needs flask-cors; two
#: headers here do the same for these read-only layers and expose the cache validators.
CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "ETag, Last-Modified, Content-Crs, Retry-After"),
]
CORS_PREFLIGHT = [
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    (
        "Access-Control-Allow-Headers",
        "Accept, Accept-Language, If-None-Match, If-Modified-Since, Content-Type",
    ),
    ("Access-Control-Max-Age", "86400"),
]


# -- configuration -------------------------------------------------------------------------------


def build_config(template: dict, extents: publish.Extents) -> dict:
    """The template with spatial and temporal extents from the data (CRS84)."""
    config = json.loads(json.dumps(template, default=str))  # deep copy, anchors expanded
    for resource in config["resources"].values():
        if resource.get("type") != "collection":
            continue
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


def prepare(settings: Settings) -> dict[str, str]:
    """Refresh if needed, write config + OpenAPI into the data folder; return the environment.

    The returned variables (also set in ``os.environ``) are what pygeoapi and the middleware
    read in the workers.
    """
    with connect(database_url(settings)) as conn:
        state = publish.read_state(conn)
        if state.k != settings.k or state.version == 0:
            publish.refresh(conn, settings.k)
        public_url = publish.public_database_url(settings, conn)
        extents = publish.read_extents(conn)
        queryables = _queryables(conn)

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    # Analysis processes (processes/common.py): pygeoapi's job manager writes job results here.
    jobs_dir = data_dir / "jobs"
    jobs_dir.mkdir(mode=0o700, exist_ok=True)
    config_path = data_dir / CONFIG_NAME
    openapi_path = data_dir / OPENAPI_NAME
    template = yaml.safe_load(settings.pygeoapi_config.read_text(encoding="utf-8"))
    config = build_config(template, extents)
    config["server"]["templates"] = local_web_assets(data_dir)  # map previews offline too
    config_path.write_text(
        "# Written by `lagesbild serve` from pygeoapi-config.yml; do not edit.\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    (data_dir / QUERYABLES_NAME).write_text(json.dumps(queryables), encoding="utf-8")

    env = {
        **db_environment(public_url),
        "LAGESBILD_SERVER_URL": settings.effective_server_url(),
        "LAGESBILD_HOST": settings.host,
        "LAGESBILD_PORT": str(settings.port),
        "PYGEOAPI_CONFIG": str(config_path),
        "PYGEOAPI_OPENAPI": str(openapi_path),
        "LAGESBILD_QUERYABLES": str(data_dir / QUERYABLES_NAME),
        "LAGESBILD_JOBS_DIR": str(jobs_dir),  # analysis jobs (pygeoapi-config.yml, manager)
    }
    os.environ.update(env)

    from pygeoapi.openapi import generate_openapi_document

    openapi_path.write_text(generate_openapi_document(config_path, "yaml"), encoding="utf-8")
    _forget_database_engines()
    return env


def _forget_database_engines() -> None:
    """Drop the SQLAlchemy engines pygeoapi cached while generating the OpenAPI document.

    ``prepare`` runs in the gunicorn master. Generating the document instantiates every
    provider (and the job manager), and pygeoapi caches their engines with ``functools.cache``
    per process, pooled connections included. Forked workers inherited that cache and so
    shared one PostgreSQL socket between processes: under concurrent requests this gave
    ``psycopg2.DatabaseError: error with status PGRES_TUPLES_OK and no message from the
    libpq``, hung requests and 500s (found by tests/test_robustness.py's schemathesis run).
    With the caches empty, each worker builds its own engine on its first request.
    """
    import gc

    from pygeoapi.process.manager import postgresql as manager_sql
    from pygeoapi.provider import sql as provider_sql

    from lagesbild_geo.server import provider

    provider_sql.get_engine.cache_clear()
    provider.forget_engines()
    provider_sql.get_table_model.cache_clear()
    manager_sql.get_table_model.cache_clear()
    gc.collect()  # close the master's pooled connections now, before the fork


def _queryables(conn: psycopg.Connection) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position)"
        " FROM information_schema.columns WHERE table_schema = 'publish'"
        " GROUP BY table_name"
    ).fetchall()
    return {table: columns for table, columns in rows}


# -- middleware ----------------------------------------------------------------------------------


class StateReader:
    """The publication's version and time, read per request over one connection per process.

    A failed read closes the connection; the next request reconnects, so the service recovers
    by itself after a PostgreSQL restart.
    """

    def __init__(self, conninfo: str, timeout_s: int = 2):
        self.conninfo = conninfo
        self.timeout_s = timeout_s
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def read(self) -> publish.State | None:
        """The state, or None when the database cannot be reached."""
        with self._lock:
            for attempt in range(2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(
                            self.conninfo, autocommit=True, connect_timeout=self.timeout_s
                        )
                    return publish.read_state(self._conn)
                except psycopg.Error as exc:
                    LOGGER.warning("Cannot read the publication state: %s", exc)
                    self._close()
                    if attempt or isinstance(exc, psycopg.errors.UndefinedTable):
                        return None
            return None

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None


def _json_error(status: str, code: str, message: str, extra: list | None = None):
    body = json.dumps({"code": code, "type": code, "description": message}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return status, headers + (extra or []), [body]


class PublishMiddleware:
    """WSGI middleware around pygeoapi: conditional requests, 503 and parameter checks."""

    def __init__(self, app, state: StateReader, queryables: dict[str, list[str]]):
        self.app = app
        self.state = state
        self.queryables = queryables

    def __call__(self, environ, start_response):
        status, headers, body = self.handle(environ)
        start_response(status, headers)
        return body

    def handle(self, environ):
        status, headers, body = self._handle(environ)
        return status, headers + CORS_HEADERS, body

    def _handle(self, environ):
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        query = environ.get("QUERY_STRING", "")
        if method == "OPTIONS" and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            return "204 No Content", CORS_PREFLIGHT, [b""]

        problem = self._check_parameters(path, query)
        if method == "POST" and ITEMS_PATH.match(path) and not problem:
            problem = _check_items_post(environ)
        if problem:
            return _json_error("400 Bad Request", "InvalidParameterValue", problem)

        executes = method == "POST" and EXECUTION_PATH.match(path) is not None
        needs_db = executes or path.startswith(("/collections", "/jobs"))
        cacheable = method in ("GET", "HEAD") and not path.startswith(UNCACHED_PREFIXES)
        state = self.state.read() if (needs_db or cacheable) else None
        if needs_db and state is None:
            return self._unavailable()

        validators: list[tuple[str, str]] = []
        if cacheable and state is not None:
            etag = self._etag(state, environ)
            modified = state.updated_at.astimezone(UTC).replace(microsecond=0)
            validators = [
                ("ETag", etag),
                ("Last-Modified", email.utils.format_datetime(modified, usegmt=True)),
                ("Cache-Control", CACHE_CONTROL),
                ("Vary", "Accept, Accept-Language"),
            ]
            if _not_modified(environ, etag, modified):
                return "304 Not Modified", validators, [b""]

        token = PUBLISHED_VERSION.set(state.version if state is not None else None)
        try:
            status, headers, body = self._call_app(environ)
        finally:
            PUBLISHED_VERSION.reset(token)
        # The database went away during the request: pygeoapi answers 500 (a collection) or
        # 400 (a process whose job could not be recorded); either is a 503 for the client.
        # (Only those: an ordinary 400 for a wrong parameter costs no extra query.)
        lost = status.startswith("500") or (executes and status.startswith("400"))
        if lost and needs_db and self.state.read() is None:
            return self._unavailable()
        if status.startswith("200") and validators:
            names = {v[0].lower() for v in validators}
            headers = [h for h in headers if h[0].lower() not in names] + validators
        return status, headers, body

    def _call_app(self, environ):
        captured: dict = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, list(headers)

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return captured["status"], captured["headers"], [body]

    def _unavailable(self):
        return _json_error(
            "503 Service Unavailable",
            "ServiceUnavailable",
            "Databasen går inte att nå just nu / the database is not reachable right now; "
            f"retry in {RETRY_AFTER_S} seconds.",
            [("Retry-After", str(RETRY_AFTER_S))],
        )

    def _check_parameters(self, path: str, query: str) -> str | None:
        match = ITEMS_PATH.match(path)
        if not match:
            return None
        columns = self.queryables.get(match["collection"])
        if columns is None:
            return None  # pygeoapi answers 404 for an unknown collection
        names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
        unknown = sorted(names - ITEMS_PARAMETERS - set(columns))
        if unknown:
            allowed = ", ".join(c for c in columns if c != "geom")
            return (
                f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(unknown)}. Filter by property with one of: {allowed}; "
                f"or use: {', '.join(sorted(ITEMS_PARAMETERS))}."
            )
        return None

    @staticmethod
    def _etag(state: publish.State, environ) -> str:
        """Strong validator: the version and everything that selects the representation."""
        key = "\n".join(
            [
                environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""),
                environ.get("HTTP_ACCEPT", ""),
                environ.get("HTTP_ACCEPT_LANGUAGE", ""),
                environ.get("HTTP_HOST", ""),
            ]
        )
        digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        return f'"v{state.version}-{digest}"'


def _check_items_post(environ) -> str | None:
    """A POST to /items (a CQL2-JSON query) that pygeoapi would answer with a 500.

    Found by the schemathesis run: without a Content-Type pygeoapi's Flask view returns
    None, and a body that is not UTF-8 fails while pygeoapi logs it. The body is read here
    and handed on unchanged.
    """
    if not environ.get("CONTENT_TYPE"):
        return (
            "A POST to /items is a CQL2-JSON query: send the filter as the body with "
            "Content-Type: application/json, or use GET with filter=."
        )
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "Content-Length is not a number."
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "The CQL2-JSON body is not UTF-8 text."
    return None


def _not_modified(environ, etag: str, modified: datetime) -> bool:
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags
    ims = environ.get("HTTP_IF_MODIFIED_SINCE")
    if ims:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified <= since
    return False


def create_app():
    """The WSGI application of a worker: pygeoapi's Flask app inside the middleware.

    Reads what :func:`prepare` put in the environment (pygeoapi reads its configuration at
    import time, so the import happens here, in the worker).
    """
    from pygeoapi.flask_app import APP

    from lagesbild_geo.server.geojson import install_fast_json
    from lagesbild_geo.server.provider import install_fast_parsing
    from processes.common import install_process_template_lookup

    install_process_template_lookup()
    install_fast_json()
    install_fast_parsing()
    env = os.environ
    conninfo = psycopg.conninfo.make_conninfo(
        host=env["LAGESBILD_PUBLIC_DB_HOST"],
        port=env["LAGESBILD_PUBLIC_DB_PORT"],
        dbname=env["LAGESBILD_PUBLIC_DB_NAME"],
        user=env["LAGESBILD_PUBLIC_DB_USER"],
        password=env["LAGESBILD_PUBLIC_DB_PASSWORD"],
        application_name="lagesbild-serve",
    )
    queryables = json.loads(Path(env["LAGESBILD_QUERYABLES"]).read_text(encoding="utf-8"))
    return PublishMiddleware(APP, StateReader(conninfo), queryables)


# -- gunicorn ------------------------------------------------------------------------------------


def serve(settings: Settings) -> None:
    """Prepare (config, OpenAPI), then run gunicorn until SIGINT/SIGTERM."""
    from gunicorn.app.base import BaseApplication

    prepare(settings)
    url = settings.effective_server_url() + "/"

    class Server(BaseApplication):
        def load_config(self):
            options = {
                "bind": f"{settings.host}:{settings.port}",
                "workers": settings.workers,
                "worker_class": "sync",
                "timeout": 60,
                "graceful_timeout": 10,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": "lagesbild-serve",
                "when_ready": lambda _server: print(
                    f"Lägesbild serverar på {url} (OGC API Features; QGIS: lägg till {url} "
                    "som WFS / OGC API Features). Stoppa med Ctrl-C.",
                    flush=True,
                ),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app()

    Server().run()
