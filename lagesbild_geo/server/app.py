"""Serve the public layers: pygeoapi (Flask) under gunicorn, behind Lägesbild's WSGI middleware.

``serve(settings)`` is the whole start-up, with no manual step:

1. :func:`lagesbild_geo.server.config.prepare`: refresh the publication if k changed, write
   the final pygeoapi configuration and the OpenAPI document into ``LAGESBILD_DATA_DIR``;
2. start the follower (:func:`lagesbild_geo.analysis.follow.spawn`), which recomputes the
   ``hotspots`` and ``trends`` layers after every review that changes their inputs, and stops
   with the server; then run gunicorn with ``settings.workers`` worker processes of
   :data:`THREADS` threads each (``gthread``: connections kept alive), stopping cleanly on
   SIGINT/SIGTERM;
3. in each worker, :func:`create_app`: pygeoapi's Flask app with the patches of
   :mod:`.patches`, inside :class:`~lagesbild_geo.server.middleware.PublishMiddleware`.

The deployer's settings are read once, by ``lagesbild serve`` (``serve(settings)``); the
workers take over what ``prepare`` wrote (:func:`lagesbild_geo.server.config.read_handoff`),
and the analysis processes, which pygeoapi builds itself, read their one setting in their own
constructor (``processes/common.py``).
"""

from __future__ import annotations

import subprocess

import psycopg

from lagesbild_geo.access.authenticate import Authenticator
from lagesbild_geo.analysis import follow
from lagesbild_geo.server import patches, restricted_db
from lagesbild_geo.server.config import prepare, read_handoff
from lagesbild_geo.server.middleware import PublishMiddleware, StateReader
from lagesbild_geo.settings import Settings

#: Longest request line (method, path and query string) gunicorn reads, in bytes: a longer one
#: is answered by gunicorn itself with 414 URI Too Long (its default, set here so that
#: docs/publishing.md and tests/server/test_http_limits.py have one number). A longer filter
#: goes by POST as CQL2 JSON (``server/checks.py``: ``MAX_BODY_BYTES``).
LIMIT_REQUEST_LINE = 4094
#: Longest header line, in bytes (gunicorn's default): a longer one is a 400 from gunicorn.
LIMIT_REQUEST_FIELD_SIZE = 8190
#: Threads per worker process. gunicorn's ``sync`` worker answers ``Connection: close`` to
#: every request, so QGIS, GDAL and a web map opened a new TCP connection for each page;
#: ``gthread`` keeps connections alive and answers a few requests of a process at once (a
#: request waiting for PostgreSQL no longer holds the whole process). What the threads share
#: is safe for it: the provider's SQLAlchemy pools (5 + 10 connections), the restricted
#: pool (a lock around its list), the state reader (a lock around its one connection),
#: pyproj's transformers (thread-safe since pyproj 3.1), the CRS cache (per thread), the
#: parsed filters (``lru_cache``), and the caller's identity and the publication's version,
#: context variables set per request.
THREADS = 4
#: Seconds an idle kept-alive connection stays open (gunicorn's default is 2: a map pan or
#: the next page usually comes within a few seconds).
KEEPALIVE_S = 5


def create_app():
    """The WSGI application of a worker: pygeoapi's Flask app inside the middleware.

    Reads what :func:`prepare` put in the environment (pygeoapi reads its configuration at
    import time, so the import happens here, in the worker).
    """
    from pygeoapi.flask_app import APP

    patches.install()
    handoff = read_handoff()
    restricted_db.configure(handoff.server_conninfo)
    # the settings of authentication (the OpenID Connect issuer) are the deployer's, read
    # here as the processes read theirs (the workers inherit the master's environment)
    authenticator = Authenticator(Settings(), restricted_db.plain)
    return PublishMiddleware(
        APP,
        StateReader(handoff.conninfo),
        handoff.queryables,
        authenticator,
        restricted=handoff.restricted,  # exact layers: no public validator, never a 304
    )


# -- gunicorn ------------------------------------------------------------------------------------


def serve(settings: Settings) -> None:
    """Prepare (config, OpenAPI), then run gunicorn until SIGINT/SIGTERM."""
    from gunicorn.app.base import BaseApplication

    env = prepare(settings)
    url = settings.effective_server_url() + "/"
    # The result layers follow the picture: a process beside gunicorn recomputes hotspots and
    # trends after every review that changes their inputs (lagesbild_geo/analysis/follow.py),
    # reading as the reader and saving as lagesbild_jobs.
    read = read_handoff().conninfo
    save = psycopg.conninfo.make_conninfo(
        read,
        user=env["LAGESBILD_JOBS_DB_USER"],
        password=env["LAGESBILD_JOBS_DB_PASSWORD"],
        application_name="lagesbild-follow",
    )
    follower = follow.spawn(read, save)

    class Server(BaseApplication):
        def load_config(self):
            options = {
                "bind": f"{settings.host}:{settings.port}",
                "workers": settings.workers,
                "worker_class": "gthread",
                "threads": THREADS,
                "keepalive": KEEPALIVE_S,
                "timeout": 60,
                "graceful_timeout": 10,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": "lagesbild-serve",
                "limit_request_line": LIMIT_REQUEST_LINE,
                "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
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

    try:
        Server().run()
    finally:
        follower.terminate()
        try:
            follower.wait(timeout=10)
        except subprocess.TimeoutExpired:
            follower.kill()
