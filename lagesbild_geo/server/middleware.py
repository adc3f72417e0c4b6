"""WSGI middleware around pygeoapi: what pygeoapi does not do for this service.

* **Caching.** The data changes when a delivery is approved, not per request. GET responses
  carry ``ETag`` (publication version + URL + the inputs of format and language negotiation)
  and ``Last-Modified`` (when the publication changed); ``If-None-Match`` /
  ``If-Modified-Since`` are answered with 304 before pygeoapi does any work. Process and job
  paths are left alone (their results do not follow the publication's version).
* **Database down.** A request that needs the database (a collection, a job, running a
  process) while PostgreSQL is unreachable gets the error table's 503
  (:class:`~lagesbild_geo.errors.DatabaseUnavailableError`: a JSON message and
  ``Retry-After``), never a 500 or a 400; nothing needs restarting when it is back (the
  middleware reconnects; the provider's pool retries a closed connection once, pygeoapi's
  pools pre-ping).
* **Wrong parameters.** pygeoapi silently ignores an unknown query parameter on ``/items``
  (e.g. a misspelt property filter, which then returns everything); OGC API Features
  (/req/core/query-param-unknown) wants a 400, and so do we. The form and range of every
  standard parameter, control characters in the path and the query, and the bodies of POSTs
  (size, JSON, an execute request's members) are checked before pygeoapi sees the request
  (:mod:`lagesbild_geo.server.checks`: pygeoapi answered several with a 500 or the
  database's error text); CQL2 filters and property values against the column types in
  :mod:`lagesbild_geo.server.filters`, called by the provider.
* **CORS.** The city web map fetches from another origin (:data:`CORS_HEADERS`).
* **HTTP details.** Short CRS names (``crs=EPSG:3006``) become the URIs pygeoapi knows
  (:func:`~lagesbild_geo.server.checks.with_crs_uris`); job results are JSON unless HTML is
  asked for; the response is gzipped last, when the client accepts it
  (:mod:`lagesbild_geo.server.compression`, an ``ETag`` per encoding).
* **Who is asking.** Every request is authenticated first
  (:class:`~lagesbild_geo.access.authenticate.Authenticator`): no credentials is the public,
  invalid ones a 401 on every path. The caller is put in
  :data:`lagesbild_geo.access.identity.CURRENT` for pygeoapi's providers and processes, and
  the service's own resources (:data:`ROUTES`: deliveries, the review page, the style
  files) are answered
  here. A response to an authenticated caller is never stored by a shared cache
  (``Cache-Control: private, no-store``) and gets no public validator.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import hashlib
import importlib
import logging
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from lagesbild_geo.access.identity import CURRENT, PUBLIC, Identity
from lagesbild_geo.analysis import jobs
from lagesbild_geo.errors import AuthenticationError, DatabaseUnavailableError, InputError
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.server import checks, compression
from lagesbild_geo.server.errors import wsgi_error
from lagesbild_geo.server.geojson import PUBLISHED_VERSION
from lagesbild_geo.server.responses import Responses

LOGGER = logging.getLogger(__name__)

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
#: The geometry column of every published table with one (pygeoapi-config.yml).
GEOMETRY_COLUMN = "geom"
ITEMS_PATH = re.compile(r"^/collections/(?P<collection>[^/]+)/items/?$")
#: Running a process reads the publication and records the job (pygeoapi's job manager).
EXECUTION_PATH = re.compile(r"^/processes/(?P<process>[^/]+)/execution/?$")
#: A job's results (pygeoapi answers them as HTML unless JSON is named: ``Accept: */*``).
JOB_RESULTS_PATH = re.compile(r"^/jobs/[^/]+/results/?$")
#: Paths whose responses do not follow the publication's version.
UNCACHED_PREFIXES = ("/processes", "/jobs", "/admin")
#: WSGI environ keys between ``_handle`` and ``handle``: the response came from
#: :class:`.Responses` (final already), or the key to keep it under
_ANSWERED_FROM_KEPT = "lagesbild.answered_from_kept"
_KEEP_AS = "lagesbild.keep_as"
CACHE_CONTROL = "public, no-cache"  # always revalidate: cheap with ETag, never stale
#: The city web map fetches from another origin. pygeoapi's own CORS needs flask-cors; two
#: headers here do the same for these read-only layers and expose the cache validators.
CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    (
        "Access-Control-Expose-Headers",
        "ETag, Last-Modified, Content-Crs, Retry-After, Location, Preference-Applied, "
        "WWW-Authenticate",
    ),
]
CORS_PREFLIGHT = [
    ("Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE, OPTIONS"),
    (
        "Access-Control-Allow-Headers",
        "Accept, Accept-Language, If-None-Match, If-Modified-Since, Content-Type, Prefer, "
        "Authorization, X-API-Key",
    ),
    ("Access-Control-Max-Age", "86400"),
]
#: Every response varies with the credentials as well as with negotiation (and the encoding:
#: :mod:`lagesbild_geo.server.compression`).
VARY = "Accept, Accept-Language, Accept-Encoding, X-API-Key, Authorization"
#: What an authenticated caller's response carries instead of the public cache headers.
PRIVATE_CACHE = [("Cache-Control", "private, no-store"), ("Vary", VARY)]
#: The service's own resources, answered before pygeoapi: path prefix -> module with
#: ``handle(environ, identity) -> (status, headers, body)``.
ROUTES = {
    "/deliveries": "lagesbild_geo.server.deliveries_api",
    "/review": "lagesbild_geo.server.deliveries_api",
    "/granskning": "lagesbild_geo.server.granskning",
    "/karta": "lagesbild_geo.server.karta",
    "/admin": "lagesbild_geo.server.admin_api",
    "/feature-schemas": "lagesbild_geo.server.schemas",
    "/styles": "lagesbild_geo.server.style_files",
    "/qgis": "lagesbild_geo.server.qgis_project",
}


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


class PublishMiddleware:
    """WSGI middleware around pygeoapi: conditional requests, 503 and parameter checks."""

    def __init__(
        self,
        app,
        state: StateReader,
        queryables: dict[str, list[str]],
        authenticator=None,
        restricted: frozenset[str] = frozenset(),
    ):
        self.app = app
        self.state = state
        self.queryables = queryables
        #: :class:`~lagesbild_geo.access.authenticate.Authenticator`; None: everyone is public
        self.authenticator = authenticator
        #: collections of exact data: never a cached answer or a public validator (a public
        #: ``If-None-Match: *`` must get the 401, not a 304)
        self.restricted = restricted
        #: the public item pages answered, by validator (:mod:`.responses`)
        self.responses = Responses()

    def __call__(self, environ, start_response):
        status, headers, body = self.handle(environ)
        start_response(status, headers)
        return body

    def handle(self, environ):
        validated = compression.identity_validators(environ)
        try:
            identity = self._identify(environ)
        except (AuthenticationError, DatabaseUnavailableError) as exc:
            status, headers, body = wsgi_error(exc)
            return status, headers + PRIVATE_CACHE + CORS_HEADERS, body
        token = CURRENT.set(identity)
        try:
            status, headers, body = self._handle(environ, identity)
        finally:
            CURRENT.reset(token)
        if environ.get(_ANSWERED_FROM_KEPT):
            return status, headers, body  # as it was sent the first time
        if not identity.is_public:
            private = {name.lower() for name, _ in PRIVATE_CACHE} | {"etag", "last-modified"}
            headers = [h for h in headers if h[0].lower() not in private] + PRIVATE_CACHE
        status, headers, body = compression.compress(
            environ, status, headers + CORS_HEADERS, body, validated
        )
        key = environ.get(_KEEP_AS)
        if key is not None:
            self.responses.put(key, status, headers, body)
        return status, headers, body

    def _identify(self, environ) -> Identity:
        if environ.get("REQUEST_METHOD") == "OPTIONS" or self.authenticator is None:
            return PUBLIC  # a CORS preflight carries no credentials
        return self.authenticator.identify(environ)

    def _handle(self, environ, identity: Identity):
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        query = environ.get("QUERY_STRING", "")
        if method == "OPTIONS" and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            return "204 No Content", CORS_PREFLIGHT, [b""]
        route = _route(path)
        if route is not None:
            return importlib.import_module(route).handle(environ, identity)

        try:
            # crs=EPSG:3006 and the other short names, as pygeoapi knows them: URIs
            environ["QUERY_STRING"] = query = checks.with_crs_uris(query)
            self._check_request(environ, method, path, query)
        except InputError as exc:
            return wsgi_error(exc)
        if method == "GET" and JOB_RESULTS_PATH.match(path):
            environ["QUERY_STRING"] = query = _job_results_as_json(environ, query)

        executes = method == "POST" and EXECUTION_PATH.match(path) is not None
        needs_db = executes or path.startswith(("/collections", "/jobs"))
        cacheable = (
            method in ("GET", "HEAD")
            and not path.startswith(UNCACHED_PREFIXES)
            and identity.is_public
            and _collection(path) not in self.restricted
        )
        state = self.state.read() if (needs_db or cacheable) else None
        if needs_db and state is None:
            return wsgi_error(DatabaseUnavailableError())

        validators: list[tuple[str, str]] = []
        if cacheable and state is not None:
            etag = self._etag(state, environ)
            modified = state.updated_at.astimezone(UTC).replace(microsecond=0)
            validators = [
                ("ETag", etag),
                ("Last-Modified", email.utils.format_datetime(modified, usegmt=True)),
                ("Cache-Control", CACHE_CONTROL),
                ("Vary", VARY),
            ]
            if _not_modified(environ, etag, modified):
                return "304 Not Modified", validators, [b""]
            if method == "GET" and ITEMS_PATH.match(path):
                # a public item page is what its strong ETag names (lagesbild_geo/server/
                # responses.py): sent again as it was when the same one was answered before
                key = (etag, compression.wants_gzip(environ))
                kept = self.responses.get(key)
                if kept is not None:
                    environ[_ANSWERED_FROM_KEPT] = True
                    return kept
                environ[_KEEP_AS] = key

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
            return wsgi_error(DatabaseUnavailableError())
        # What pygeoapi drops of a process's error (a 429's Retry-After) or adds to a run that
        # was no job (Location): lagesbild_geo/analysis/jobs.py.
        headers = jobs.response_headers(status, headers)
        # A 503 of the provider or a process (pygeoapi sets no headers): the table's Retry-After.
        if status.startswith("503") and not any(h[0].lower() == "retry-after" for h in headers):
            headers = headers + list(DatabaseUnavailableError.headers)
        # A 401 of a provider (a restricted layer asked for by the public): the challenge.
        if status.startswith("401") and not any(
            h[0].lower() == "www-authenticate" for h in headers
        ):
            headers = headers + list(AuthenticationError.headers)
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

    def _check_request(self, environ, method: str, path: str, query: str) -> None:
        """400 (413) for what pygeoapi would answer with a 500, a database's error text, or
        by silently ignoring it (:mod:`lagesbild_geo.server.checks`)."""
        if method != "OPTIONS":  # (pygeoapi's OPTIONS answers without reading the id)
            checks.check_path(path)
        pairs = checks.query_pairs(query)
        items = ITEMS_PATH.match(path)
        columns = self.queryables.get(items["collection"]) if items else None
        if columns is not None:  # (pygeoapi answers 404 for an unknown collection)
            _check_parameter_names(pairs, columns)
            checks.check_items_query(pairs, columns, GEOMETRY_COLUMN)
        if method == "POST" and items:
            _check_items_post(environ)
        elif method == "POST" and (execution := EXECUTION_PATH.match(path)):
            limit = checks.EXECUTION_BODY_BYTES.get(execution["process"], checks.MAX_BODY_BYTES)
            checks.check_execute_body(checks.read_body(environ, limit))

    @staticmethod
    def _etag(state: publish.State, environ) -> str:
        """Strong validator: the publication (its version *and* when it was made: a migration
        that rebuilds everything starts the version again from 0, and ``v3`` of the rebuilt
        publication is not ``v3`` of the old one), this deployment (:func:`_deployment`) and
        everything that selects the representation."""
        key = "\n".join(
            [
                state.updated_at.isoformat(),
                _deployment(),
                environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""),
                environ.get("HTTP_ACCEPT", ""),
                environ.get("HTTP_ACCEPT_LANGUAGE", ""),
                environ.get("HTTP_HOST", ""),
            ]
        )
        digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        return f'"v{state.version}-{digest}"'


@functools.cache
def _deployment() -> str:
    """What else decides a layer's answer than the data: the code's version and the
    configuration the server started with (its collections, their links and fields). A new
    release that adds a field must not answer 304 to a body cached before it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        code = version("lagesbild-geo")
    except PackageNotFoundError:  # run from a checkout without installing it
        code = ""
    path = os.environ.get("PYGEOAPI_CONFIG", "")
    config = Path(path).read_bytes() if path and Path(path).is_file() else b""
    return code + hashlib.blake2b(config, digest_size=8).hexdigest()


def _collection(path: str) -> str | None:
    """The collection a path is about (``/collections/<name>/...``), if any."""
    parts = path.split("/", 3)
    return parts[2] if len(parts) > 2 and parts[1] == "collections" else None


def _route(path: str) -> str | None:
    """The module of :data:`ROUTES` answering ``path`` (the prefix itself or below it)."""
    for prefix, module in ROUTES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return module
    return None


def _check_parameter_names(pairs: list[tuple[str, str]], columns: list[str]) -> None:
    """400 for a parameter that is neither pygeoapi's nor a property of the collection."""
    unknown = sorted({name for name, _ in pairs} - ITEMS_PARAMETERS - set(columns))
    if unknown:
        allowed = ", ".join(c for c in columns if c != GEOMETRY_COLUMN)
        raise InputError(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: "
            f"{', '.join(unknown)}. Filter by property with one of: {allowed}; "
            f"or use: {', '.join(sorted(ITEMS_PARAMETERS))}."
        )


def _check_items_post(environ) -> None:
    """A POST to /items (a CQL2-JSON query) that pygeoapi would answer with a 500.

    Found by the schemathesis run: without a Content-Type pygeoapi's Flask view returns
    None, and a body that is not UTF-8 fails while pygeoapi logs it. The body is read here
    (at most ``checks.MAX_BODY_BYTES``: 413 above) and handed on unchanged.
    """
    if not environ.get("CONTENT_TYPE"):
        raise InputError(
            "A POST to /items is a CQL2-JSON query: send the filter as the body with "
            "Content-Type: application/json, or use GET with filter=."
        )
    checks.parse_json_body(checks.read_body(environ), "CQL2-JSON body")


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


def _job_results_as_json(environ, query: str) -> str:
    """``query`` with ``f=json`` unless the client names a format or asks for HTML.

    pygeoapi 0.24's job results are HTML unless the format is JSON by name (``f=json`` or
    ``Accept: application/json``), so ``curl`` and ``requests`` (``Accept: */*``) got a web
    page, unlike every other resource. A browser's ``Accept`` names ``text/html`` and still
    gets the page.
    """
    if any(name == "f" for name, _ in checks.query_pairs(query)):
        return query
    for part in environ.get("HTTP_ACCEPT", "").split(","):
        media, _, params = part.strip().partition(";")
        refused = params.replace(" ", "").lower() in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        if media.strip().lower() in ("text/html", "application/xhtml+xml") and not refused:
            return query
    return f"{query}&f=json" if query else "f=json"
