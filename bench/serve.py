"""Benchmark: ``lagesbild serve`` against tipg on the requests map clients send, 16 clients.

Usage::

    .venv/bin/python bench/serve.py [--requests 1600] [--clients 16] [--workers 2] [--repeat 3]
        [--only varied,single,audiences] [--seed 20261202] [--database NAME] [--rebuild]

The data: the 1,287 DeSO areas of Stockholms län (``../shared/areas/deso2018_stockholms_lan.gpkg``)
× 20 count indicators × 104 ISO weeks = 2,676,960 cells, generated with a fixed seed (``SEED``).
Route: the areas go in with ``lagesbild areas import`` (the real import); the weekly counts are
written with ``COPY`` straight into the restricted table ``lagesbild.observation`` under four
synthetic deliveries (police, rescue service, security and housing company) that are inserted
as already *approved* (no files go through ingest, which would take an hour for 2.7 M rows);
then ``publish.refresh`` builds ``publish.observations`` exactly as a review does (suppression
of 1..k-1 included), and the ``hotspots`` and ``trends`` layers of every indicator are computed
as ``lagesbild analyse`` does (the follower's windows; ~80 s, done once when they are missing).
The database ``lagesbild_bench_serve`` (``--database``) is kept between runs (a marker table
says with which seed and size it was built; ``--rebuild`` drops it).

**The headline: the varied workload** (``varied_requests``, seeded by ``--seed``, default
``VARIED_SEED``): ``--requests`` of them per round, a new list every round (seed, seed + 1,
...: the server keeps the public pages it answered, ``server/responses.py``, so a repeated
list would measure that alone), the same list for both servers in a round, and a warm-up list
of ``--warmup`` of its own (seed + ``WARMUP_SEED_OFFSET``). QGIS, GDAL and web maps do not
repeat one URL: every pan, page and filter is a new request. Each request is drawn (Python's
``random.Random(seed)``) as one of :data:`KINDS`, with their shares:

- 35 % an analyst's page of 100 ``observations`` (a script, GDAL, QGIS 3.32+): a CQL2 filter
  on one of the 20 indicators (half ``indicator='x' AND value >= t``, the rest the indicator
  alone, ``indicator IN ('x','y') AND value >= t`` or ``value < t``; t of 1, 2, 3, 5, 8, 10), a
  ``datetime`` window of 1, 4 or 12 whole ISO weeks anywhere in the 104 (30/40/30 %), offset
  0, 100 or 200 (60/25/15 %);
- 12 % QGIS 3.32+ panning ``observations`` with a filter: one indicator, one week, a ``bbox``
  in CRS84, a page of 1,000; 5 % the same on a SWEREF 99 TM map (``bbox-crs=EPSG:3006``,
  ``crs=EPSG:3006``);
- 10 % QGIS 3.22 panning the wide ``situation`` layer; 10 % ``hotspots`` and 10 % ``trends``
  of one indicator (``indicator=``) in a view: ``bbox`` in CRS84, ``limit=1000``. When the
  server has the per-indicator layers of issue 14 (``situation-<id>``, ``hotspots-<id>``,
  ``trends-<id>``, from ``/collections``), half of these pans go to them, as QGIS opens them;
- 18 % the trend map (``/karta``, karta.js): both pages of one indicator's trend layer,
  ``trends/items?f=json&indicator=<id>&limit=1000`` and ``&offset=1000`` (two requests; 40
  distinct URLs in all, asked by every visitor).

A view is 16:10, 2.5, 8, 30 or 90 km wide (35/35/20/10 %), centred near a random area's
point on its surface, so pans land where the areas (and people) are. Every request sends
``Accept: application/geo+json`` and ``Accept-Encoding: gzip``, as browsers, QGIS and GDAL
do. tipg 1.6 gets each request's equivalent (``_tipg_items``): the table ``publish.<layer>``,
``datetime`` on ``week_start`` (the same whole weeks), ``sortby`` the id (ours is in id order
without one, so pages match), the wide table's columns of the indicator for
``situation-<id>``, ``indicator=`` for the per-indicator layers. tipg has neither ``crs`` nor
``bbox-crs``: for the EPSG:3006 pans it gets the view's envelope in CRS84 and answers in CRS84
(a translation that selects slightly more, in the ratio but not compared, :data:`APPROXIMATE`).
Before timing, the first 4 requests of every kind are asked of both servers and must give the
same features (``same_varied_answers``). Goal (issue 14): p95 < 150 ms at 16 clients and at
least 3 × tipg's throughput on the same requests.

**The single URL** (``--only single``; as before issue 14): one page of 100 ``observations``
with a CQL2 filter and a ``datetime`` range, sorted by id, no gzip, the same query for both.
Since ``server/responses.py`` ours answers it from the worker's kept page after the first time:
it measures that path (and tipg's whole read), no longer the work of a page::

    /collections/observations/items?filter=indicator='skadegorelse' AND value >= 5
        &datetime=2025-01-06T00:00:00Z/2025-03-30T23:59:59Z&limit=100&sortby=id&f=json

(tipg: the same against collection ``publish.observations``, with ``datetime-column=week_start``
and ``f=geojson``). tipg runs under uvicorn[standard] (uvloop, httptools), its own
recommendation, with its own gzip (starlette-cramjam, level 6).

Where the time goes: with 16 requests always in flight, mean latency = 16 / throughput
(Little's law), so p95 < 150 ms needs roughly 150-200 requests/s of the varied workload, i.e.
under ~10 ms of CPU per request for the database, the server and the load generator together
on 2 cores. The script prints CPU ms per request of each (the server's processes, the
PostgreSQL backends serving the benchmark database, the load generator) and, for the varied
workload, p50/p95 and answer size by kind of request. Measured on 2026-12-02 with cProfile in
a worker and EXPLAIN (ANALYZE, BUFFERS): the varied requests took 17.8 ms of server and 19.8
ms of PostgreSQL CPU each. What changed, each measured where it is written: pyproj's
``to_epsg`` for CRS84 on every bbox, 3 × 7 ms (``server/parsing.py``); a bbox through the
table's own 2.7 M geometries instead of the 1,287 areas (``provider.py``); pages of IN-lists
walking the primary key (migration 0030); each area transformed anew for every EPSG:3006 page
(``provider._transform``); repeated public pages (``server/responses.py``).

Both servers read the same tables as the read-only role ``lagesbild_reader``, each with the
same number of worker processes (``--workers``): ours is gunicorn (as ``lagesbild serve`` runs
it), tipg is uvicorn.

**The audiences of issue 13** (``--only audiences``; docs/access.md):

- the single URL against ``lagesbild serve`` of main before issue 13 (``BEFORE``, checked
  out into a temporary ``git worktree`` and run with the same venv, ``PYTHONPATH`` first, on
  the same database, which it reads as ``lagesbild_reader`` as it always did): the audience
  layer must not slow the public path down;
- the same request (filter, datetime, limit, sortby) as the actor ``ACTOR`` on its own exact
  cells, ``my-observations``, once with an API key (stored as ``lagesbild keys create`` does)
  and once with a bearer token: the script makes an RSA key pair, serves the discovery
  document and the JWKS on localhost (``IdentityProvider``) and starts the server with
  ``LAGESBILD_OIDC_*`` pointing there, as a municipality's Keycloak would be configured;
- the same request as an analyst (API key) on the exact joined picture, ``exact-observations``.
  Goal for both audiences: p95 under 200 ms at 16 clients.

Before timing, every single-URL answer is checked to hold the 100 ids and values the database
gives for its source. Then a warm-up per workload and ``--repeat`` rounds in which every
workload runs ``--requests`` requests from ``--clients`` threads (one ``http.client``
connection each, see ``load``), interleaved; per run requests/s over the wall time, p50/p95
of each request's latency, and the CPU time per request of the server's processes, of the
PostgreSQL backends serving the benchmark database and of the load generator; the run of
median throughput is the result (this machine varies ±15 % from run to run). The last lines
are the README's table (one row per workload, with the ratio to tipg on the same requests)
and the goals. The database is ``LAGESBILD_DATABASE_URL`` or the embedded cluster
(``lagesbild db up``); the servers listen on ``--port`` (this tree), ``--port + 1`` (tipg)
and ``--port + 2`` (``BEFORE``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# This checkout's lagesbild_geo, also when the venv's editable install is another checkout's
# (a ``git worktree`` sharing the venv): the script and ``lagesbild serve`` of "this tree".
sys.path.insert(0, str(REPO))


def _main_checkout() -> Path:
    """The main working tree (the repository itself, or the one a ``git worktree`` belongs to):
    the shared area files lie beside it."""
    found = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--path-format=absolute", "--git-common-dir"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return Path(found).parent if found else REPO


AREAS = _main_checkout().parent / "shared" / "areas" / "deso2018_stockholms_lan.gpkg"
BIN = Path(sys.executable).parent
DB_NAME = "lagesbild_bench_serve"
READER_PASSWORD = "bench-reader-pw"  # a throw-away role password in a throw-away database
#: the server's other logins (roles are cluster-wide; ``lagesbild db up`` sets them again)
LOGIN_PASSWORD = "bench-login-pw"
#: main before issue 13 (the audiences): the public path must be as fast as there
BEFORE = "f767b94"
#: the actor whose own layer is read: it delivers the public request's indicator, so its
#: request is the public one on its own exact cells
ACTOR = "bench_vaktbolaget"
K = 5
SEED = 20261122
FIRST_WEEK = date(2024, 11, 4)  # Monday of 2024-W45
N_WEEKS = 104
#: (actor id, actor kind, indicators it delivers, mean weekly count in an area of 1,700 people)
DELIVERIES = [
    ("bench_polisen", "police", {
        "anlagd_brand": 0.6, "ran": 0.4, "fordonsstold": 1.2, "vald_hot_tjansteman": 0.3,
        "storm_utan_anmalan": 2.5}),
    ("bench_raddningstjansten", "rescue", {
        "hot_mot_brandpersonal": 0.1, "brand_offentlig_inomhus": 0.3,
        "brand_offentlig_utomhus": 0.5, "smabrand_ej_anmald": 0.8}),
    ("bench_vaktbolaget", "security", {
        "ordningsstorning": 3.0, "tillbud_offentlig_miljo": 1.0, "skadegorelse": 5.5,
        "narkotika": 1.5, "nedskrapning": 4.0, "klotter": 3.5, "trasig_belysning": 1.0,
        "folksamling": 2.0, "otrygg_plats": 1.5, "inbrott": 0.7}),
    ("bench_bostadsbolaget", "housing", {"storningsanmalan": 4.0}),
]  # fmt: skip
QUERY_FILTER = "indicator='skadegorelse' AND value >= 5"
#: Monday of 2025-W02 .. Sunday of 2025-W13, as RFC 3339 date-times (tipg wants the time)
QUERY_DATETIME = "2025-01-06T00:00:00Z/2025-03-30T23:59:59Z"
PAGE = 100
#: run-to-run variation of this machine (±15 %, less between interleaved runs): a change
#: smaller than this against the slowest run is noise
NOISE = 0.9


# -- data ----------------------------------------------------------------------------------------


def set_database(name: str) -> None:
    """``--database``: another benchmark database (a copy to try a migration on)."""
    global DB_NAME
    DB_NAME = name


def owner_url() -> str:
    from lagesbild_geo.db.connection import database_url
    from lagesbild_geo.settings import Settings

    return database_url(Settings())


def bench_database(rebuild: bool) -> tuple[str, str]:
    """(owner URL, reader URL) of the benchmark database, built when missing or stale."""
    import psycopg
    from psycopg import sql

    from lagesbild_geo.db.connection import migrate
    from lagesbild_geo.publish import publication

    server = owner_url()
    url = psycopg.conninfo.make_conninfo(server, dbname=DB_NAME)
    marker = f"seed={SEED} areas={AREAS.name} weeks={N_WEEKS} k={K} cells=indicator,week,area"
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
        exists = exists.fetchone() is not None
    if exists and not rebuild:
        try:
            with psycopg.connect(url) as conn:
                (found,) = conn.execute("SELECT marker FROM public.bench_marker").fetchone()
            if found == marker:
                print(f"Using the existing database {DB_NAME} ({marker}).", flush=True)
                with psycopg.connect(url) as conn:
                    if migrate(conn):  # a database built before a newer migration
                        publication.vacuum(conn)  # e.g. 0028's own cells, just written
                    refresh_if_emptied(conn)
                analyse_if_missing(url)
                return url, reader_url(url)
        except psycopg.Error:
            pass
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
    build(url)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE public.bench_marker (marker text NOT NULL)")
        conn.execute("INSERT INTO public.bench_marker VALUES (%s)", (marker,))
    return url, reader_url(url)


def refresh_if_emptied(conn) -> None:
    """Rebuild the publication when a migration asked for it (``publish.state.version = 0``,
    e.g. 0026's exact cells), with this checkout's code: ``lagesbild serve`` would do it on
    start, but the server of ``BEFORE`` must never refresh with its older code."""
    from lagesbild_geo.publish import publication

    if publication.read_state(conn).version != 0:
        return
    t0 = time.perf_counter()
    conn.execute("SET work_mem = '256MB'")
    version = publication.refresh(conn, K)
    publication.vacuum(conn)
    print(f"  publish.refresh after a migration: version {version} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip


def analyse_if_missing(url: str) -> None:
    """The hotspots and trends layers of every indicator, as ``lagesbild analyse`` computes
    them (the follower's windows), when the database has none: the varied workload reads
    them (76 s on this machine for 20 indicators)."""
    import psycopg

    from lagesbild_geo.analysis import follow

    with psycopg.connect(url) as conn:
        (missing,) = conn.execute(
            "SELECT NOT EXISTS (SELECT FROM publish.trends)"
            " OR NOT EXISTS (SELECT FROM publish.hotspots)"
        ).fetchone()
    if missing:
        done = follow.recompute(url, url)
        print(f"  hotspots and trends of {len(done.lines)} indicators "
              f"({done.seconds:.0f} s)", flush=True)  # fmt: skip


def login_urls(url: str) -> dict[str, str]:
    """The URLs of the authenticated paths' logins, ``lagesbild_server`` and ``lagesbild_jobs``
    (given a password here, as ``tests/servers.py`` does)."""
    import psycopg
    from psycopg import sql

    from lagesbild_geo.access.logins import LOGINS

    urls = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for login in ("server", "jobs"):
            role = LOGINS[login][0]
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(LOGIN_PASSWORD)
                )
            )
            urls[login] = psycopg.conninfo.make_conninfo(url, user=role, password=LOGIN_PASSWORD)
    return urls


def reader_url(url: str) -> str:
    import psycopg

    from lagesbild_geo.publish.publication import READER_ROLE

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")
    return psycopg.conninfo.make_conninfo(url, user=READER_ROLE, password=READER_PASSWORD)


def build(url: str) -> None:
    """Migrate, import the areas, COPY the seeded counts as approved data, publish."""
    import numpy as np
    import psycopg

    from lagesbild_geo.catalogue import load_catalogue
    from lagesbild_geo.db.connection import migrate
    from lagesbild_geo.publish import publication
    from lagesbild_geo.store.catalogue import sync_catalogue, upsert_actor

    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        migrate(conn)
        sync_catalogue(conn, load_catalogue())
        conn.commit()
    env = {**os.environ, "LAGESBILD_DATABASE_URL": url, "LAGESBILD_K": str(K)}
    subprocess.run(
        [str(BIN / "lagesbild"), "areas", "import", str(AREAS), "--code-field", "deso_code",
         "--name-field", "name", "--population-field", "pop_2023", "--level-prefixes", "4,5"],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"  areas imported ({time.perf_counter() - t0:.0f} s)", flush=True)

    rng = np.random.default_rng(SEED)
    weeks = [FIRST_WEEK + timedelta(weeks=i) for i in range(N_WEEKS)]
    week_texts = [w.isoformat() for w in weeks]
    season = 1 + 0.25 * np.sin(np.arange(N_WEEKS) * 2 * np.pi / 52)
    with psycopg.connect(url) as conn:
        codes, pops = zip(
            *conn.execute(
                "SELECT code, coalesce(population, 0) FROM lagesbild.area WHERE level = 3"
                " ORDER BY code"
            ).fetchall(),
            strict=True,
        )
        scale = np.maximum(np.array(pops, dtype=float), 300) / 1700
        n_cells = 0
        for actor_id, kind, indicators in DELIVERIES:
            upsert_actor(conn, actor_id, kind, f"{actor_id} (benchmark)")
            rows = len(codes) * N_WEEKS * len(indicators)
            (delivery_id,) = conn.execute(
                "INSERT INTO lagesbild.delivery (actor_id, file_name, content_sha256, shape,"
                " status, row_count, first_week, last_week, reviewed_by, reviewed_at)"
                " VALUES (%s, %s, %s, 'aggregated', 'approved', %s, %s, %s, 'bench', now())"
                " RETURNING id",
                (actor_id, f"{actor_id}.csv", f"{len(actor_id):064x}", rows, weeks[0],
                 weeks[-1]),
            ).fetchone()  # fmt: skip
            # The cells are valid by construction (codes, weeks and indicators from the
            # database); skipping the per-row foreign-key triggers makes the COPY ~3x faster.
            conn.execute("SET session_replication_role = replica")
            with conn.cursor().copy(
                "COPY lagesbild.observation (delivery_id, area_code, week_start, indicator_id,"
                " numerator) FROM STDIN"
            ) as copy:
                for indicator, mean in indicators.items():
                    counts = rng.poisson(mean * np.outer(scale, season))  # area × week
                    # in the order the ingest stores a delivery's cells (indicator, week,
                    # area: store.deliveries._observation_table), which the BRIN index of
                    # the actors' reads relies on (migration 0026)
                    lines = [
                        f"{delivery_id}\t{code}\t{week}\t{indicator}\t{n}\n"
                        for week, column in zip(week_texts, counts.T.tolist(), strict=True)
                        for code, n in zip(codes, column, strict=True)
                    ]
                    copy.write("".join(lines).encode())
            conn.execute("SET session_replication_role = DEFAULT")
            n_cells += rows
        conn.commit()
        print(f"  {n_cells:,} approved cells copied ({time.perf_counter() - t0:.0f} s)", flush=True)
        conn.execute("SET work_mem = '256MB'")
        version = publication.refresh(conn, K)
        conn.commit()
        (n_pub,) = conn.execute("SELECT count(*) FROM publish.observations").fetchone()
        publication.vacuum(conn)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE lagesbild.observation, lagesbild.delivery")
    analyse_if_missing(url)
    print(
        f"  publish.refresh: version {version}, {n_pub:,} features in publish.observations "
        f"({time.perf_counter() - t0:.0f} s in all)",
        flush=True,
    )


# -- servers -------------------------------------------------------------------------------------


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"server did not start ({url}):\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


def start_ours(
    owner: str,
    reader: str,
    port: int,
    workers: int,
    out: Path,
    *,
    name: str = "serve",
    code: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """``lagesbild serve`` exactly as a user runs it (gunicorn, ``workers`` sync workers).

    ``code``: the checkout whose ``lagesbild_geo`` runs (default this one), put first on
    ``PYTHONPATH``, ahead of the venv's editable install, which may be another checkout's.
    """
    env = {
        **os.environ,
        "LAGESBILD_DATABASE_URL": _as_url(owner),
        "LAGESBILD_PUBLIC_DATABASE_URL": _as_url(reader),
        "LAGESBILD_DATA_DIR": str(out / name),
        "LAGESBILD_PORT": str(port),
        "LAGESBILD_WORKERS": str(workers),
        "LAGESBILD_K": str(K),
        **(extra_env or {}),
    }
    env.pop("LAGESBILD_SERVER_URL", None)
    env["PYTHONPATH"] = str(code or REPO)
    log = out / f"{name}.log"
    proc = subprocess.Popen(
        [str(BIN / "lagesbild"), "serve"], env=env, stdout=log.open("w"),
        stderr=subprocess.STDOUT, cwd=code or REPO, start_new_session=True,
    )  # fmt: skip
    _wait(f"http://127.0.0.1:{port}/", proc, log)
    return proc


def checkout_before(where: Path) -> Path:
    """``BEFORE`` checked out into a temporary ``git worktree`` (removed by
    :func:`remove_checkout`); the tree's ``lagesbild_geo`` is what its server runs."""
    tree = where / f"lagesbild-{BEFORE}"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(tree), BEFORE],
        check=True,
    )  # fmt: skip
    return tree


def remove_checkout(tree: Path) -> None:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False
    )


#: the tables tipg serves: those the varied requests read
TIPG_TABLES = ("observations", "situation", "hotspots", "trends")


def start_tipg(reader: str, port: int, workers: int, out: Path) -> subprocess.Popen:
    """tipg (uvicorn, ``workers`` processes) on schema ``publish``, the :data:`TIPG_TABLES`."""
    env = {
        **os.environ,
        "DATABASE_URL": _as_url(reader),
        "TIPG_DB_SCHEMAS": '["publish"]',
        "TIPG_DB_TABLES": json.dumps([f"publish.{t}" for t in TIPG_TABLES]),
        "TIPG_TABLE_CONFIG__publish_observations__DATETIMECOL": "week_start",
        "TIPG_TABLE_CONFIG__publish_observations__PK": "id",
        "TIPG_TABLE_CONFIG__publish_situation__PK": "area_code",
        "TIPG_TABLE_CONFIG__publish_hotspots__PK": "id",
        "TIPG_TABLE_CONFIG__publish_trends__PK": "id",
        "TIPG_DB_MAX_CONN_SIZE": "10",
    }
    log = out / "tipg.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=out,
        start_new_session=True,
    )  # fmt: skip
    _wait(f"http://127.0.0.1:{port}/collections/publish.observations", proc, log)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _as_url(conninfo: str) -> str:
    import psycopg

    p = psycopg.conninfo.conninfo_to_dict(conninfo)
    return f"postgresql://{p['user']}:{p['password']}@{p['host']}:{p['port']}/{p['dbname']}"


# -- credentials ---------------------------------------------------------------------------------


def make_key(url: str, role: str, actor_id: str | None = None) -> str:
    """A new API key (``lgb_<id>_<secret>``), stored as ``lagesbild keys create`` stores keys
    (the SQL of ``tests/access_helpers.make_key``: only the secret's hash)."""
    import hashlib
    import secrets

    import psycopg

    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO lagesbild.api_key (id, secret_sha256, owner, role, actor_id, created_by)"
            " VALUES (%s, %s, %s, %s, %s, 'bench')",
            (key_id, hashlib.sha256(secret.encode()).digest(), f"bench {role}", role, actor_id),
        )
    return f"lgb_{key_id}_{secret}"


class IdentityProvider:
    """A minimal OpenID provider on localhost: discovery and JWKS over HTTP (a thread of this
    process, asked once per worker: the server keeps the keys), and an RSA key pair made here
    that signs the actor's token as the municipality's provider would."""

    AUDIENCE = "lagesbild-bench"
    ROLE_MAP = "lagesbild-aktor=actor"

    def __init__(self):
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        documents: dict[str, bytes] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = documents.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        base = f"http://127.0.0.1:{self.server.server_port}"
        self.issuer = f"{base}/realms/bench"
        jwks = "/realms/bench/protocol/openid-connect/certs"
        documents["/realms/bench/.well-known/openid-configuration"] = json.dumps(
            {"issuer": self.issuer, "jwks_uri": base + jwks}
        ).encode()
        documents[jwks] = json.dumps(
            {"keys": [{**jwk, "kid": "bench-1", "alg": "RS256", "use": "sig"}]}
        ).encode()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def settings(self) -> dict[str, str]:
        """The server's ``LAGESBILD_OIDC_*`` for this provider (docs/access-oidc.md)."""
        return {
            "LAGESBILD_OIDC_ISSUER": self.issuer,
            "LAGESBILD_OIDC_AUDIENCE": self.AUDIENCE,
            "LAGESBILD_OIDC_ROLE_MAP": self.ROLE_MAP,
            "LAGESBILD_OIDC_ROLE_CLAIM": "roles",
            "LAGESBILD_OIDC_ACTOR_CLAIM": "lagesbild_actor",
        }

    def actor_token(self, actor_id: str, valid_s: int = 7200) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": self.AUDIENCE, "sub": f"bench-{actor_id}",
            "preferred_username": f"{actor_id}.bench", "iat": now, "exp": now + valid_s,
            "roles": ["lagesbild-aktor"], "lagesbild_actor": actor_id,
        }  # fmt: skip
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "bench-1"})

    def close(self) -> None:
        self.server.shutdown()


# -- the single URL and the audiences' requests ------------------------------------------------


def request_urls(ours: str, tipg: str) -> dict[str, tuple[str, dict]]:
    common = {"filter": QUERY_FILTER, "datetime": QUERY_DATETIME, "limit": PAGE, "f": "json"}
    return {
        "lagesbild": (
            f"{ours}/collections/observations/items",
            {**common, "sortby": "id", "filter-lang": "cql2-text"},
        ),
        "tipg": (
            f"{tipg}/collections/publish.observations/items",
            {**common, "sortby": "id", "filter-lang": "cql2-text", "f": "geojson",
             "datetime-column": "week_start"},  # tipg's f=json is a bare list
        ),
    }  # fmt: skip


@dataclass
class Workload:
    """One request, as whom, against which server, and the page it must answer."""

    name: str
    label: str
    #: the single URL and its query (``None`` for the varied workload: ``targets``)
    url: str | None
    params: dict
    server: subprocess.Popen
    #: the view or table the expected page is read from (as the owner, by SQL), and the
    #: condition added to the request's filter there (the caller's rows)
    source: str = "publish.observations"
    rows_of: str = "true"
    headers: dict = field(default_factory=dict)
    #: the server's address and the requests sent (one, repeated, for a single URL)
    base: str = ""
    targets: list[Target] = field(default_factory=list)
    warmup: list[Target] = field(default_factory=list)
    #: the requests of each round, when they differ (the varied workload)
    rounds: list[list[Target]] = field(default_factory=list)

    def round(self, i: int) -> list[Target]:
        return self.rounds[i] if self.rounds else self.targets

    def __post_init__(self):
        if self.url is not None:
            from urllib.parse import urlsplit

            parts = urlsplit(self.url)
            self.base = f"{parts.scheme}://{parts.netloc}"
            self.targets = single_targets(self.url, self.params, self.headers)


def restricted_request(ours: str, collection: str) -> tuple[str, dict]:
    """The public request's parameters (filter, datetime, limit, sortby) on ``collection``."""
    _, params = request_urls(ours, "")["lagesbild"]
    return f"{ours}/collections/{collection}/items", params


def same_answer(workloads: list[Workload], owner: str) -> dict[str, int]:
    """Every server returns the expected 100 ids and values of its source (read from the
    database); return numberMatched per source."""
    import psycopg
    import requests

    where = "indicator = 'skadegorelse' AND value >= 5 AND week_start BETWEEN %s AND %s"
    window = (date(2025, 1, 6), date(2025, 3, 30))
    matched = {}
    with psycopg.connect(owner) as conn:
        for w in workloads:
            response = requests.get(w.url, params=w.params, headers=w.headers, timeout=60)
            if response.status_code != 200:
                sys.exit(f"{w.name}: {response.status_code} {response.text[:300]}")
            got = [(f["id"], f["properties"]["value"]) for f in response.json()["features"]]
            condition = f"{where} AND {w.rows_of}"
            expected = conn.execute(
                f"SELECT id, value FROM {w.source} WHERE {condition} ORDER BY id LIMIT %s",
                (*window, PAGE),
            ).fetchall()
            if got != [(i, v) for i, v in expected]:
                sys.exit(f"{w.name} does not return the expected page: {got[:3]}... vs "
                         f"{expected[:3]}")  # fmt: skip
            if len(got) != PAGE:
                sys.exit(f"{w.name} returned {len(got)} features, not {PAGE}")
            if w.source not in matched:
                (matched[w.source],) = conn.execute(
                    f"SELECT count(*) FROM {w.source} WHERE {condition}", window
                ).fetchone()
    return matched


def _cpu_seconds(pids) -> float:
    """User + system CPU time of the processes (Linux /proc), those that still run."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _processes(server: subprocess.Popen) -> tuple[list[str], list[str]]:
    """(the server's processes, the PostgreSQL backends serving the benchmark database)."""

    def pgrep(*args):
        found = subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout
        return found.split()

    return [str(server.pid), *pgrep("-P", str(server.pid))], pgrep("-f", f"postgres: .* {DB_NAME} ")


# -- the varied workload -------------------------------------------------------------------------

#: The headline workload's seed (its own: the data's SEED stays what the database was built with)
VARIED_SEED = 20261202
#: the warm-up's requests: a list of their own (seed + this), asked before any round
WARMUP_SEED_OFFSET = 1000
#: gzip on, as browsers, QGIS and GDAL ask
GZIP = {"Accept-Encoding": "gzip"}
#: what QGIS, GDAL and the trend map send as Accept for items (no ``f``: QGIS and GDAL do not add
#: one; the trend map does, ``f=json``)
GEOJSON = {"Accept": "application/geo+json", **GZIP}
#: the views of a pan: (width in km, share); from a few blocks to half the county
VIEWS_KM = ((2.5, 0.35), (8.0, 0.35), (30.0, 0.2), (90.0, 0.1))
#: the windows of an analyst's page (weeks, share) and its offsets (share): the first page most
WINDOWS = ((1, 0.3), (4, 0.4), (12, 0.3))
OFFSETS = ((0, 0.6), (100, 0.25), (200, 0.15))
THRESHOLDS = (1, 2, 3, 5, 8, 10)
QGIS_PAGE = 1000  # the server's largest page, which QGIS and the trend map ask for
#: Share of the situation, hotspots and trends pans that go to the per-indicator layers
#: (``trends-<id>``, issue 14) when the server has them (QGIS opens those), the rest to the
#: wide or stacked layer (``indicator=``, as a web map or a script asks)
PER_INDICATOR = 0.5
#: Kinds whose tipg form is a translation that selects other features: tipg has neither
#: ``bbox-crs`` nor ``crs``, so it gets the view's envelope in CRS84 (what QGIS sends a server
#: without Part 2) and answers in CRS84; not compared, but in the ratio.
APPROXIMATE = frozenset({"observations: the same in EPSG:3006"})


@dataclass(frozen=True)
class Request:
    """One request of the varied workload: ours and tipg's equivalent (``None``: tipg cannot
    express it; excluded from the ratio), and the property that identifies a feature of the
    answer in both (for the check that they agree)."""

    kind: str
    ours: str
    tipg: str | None
    headers: dict = field(default_factory=lambda: dict(GEOJSON), hash=False, compare=False)
    key: str = "id"


def _pick(rng, weighted):
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _query(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(params, safe=",:/'")


def _window(rng) -> str:
    """1, 4 or 12 whole ISO weeks (:data:`WINDOWS`): see :func:`_window_weeks`."""
    return _window_weeks(rng, _pick(rng, WINDOWS))


class Views:
    """Map views (bboxes) centred on a random area's centre, in CRS84 and EPSG:3006 (north,
    east axis order, as the EPSG registry and OGC API Features Part 2 have it)."""

    def __init__(self, centres: list[tuple[float, float]]):
        import pyproj

        self.centres = centres
        self.to_3006 = pyproj.Transformer.from_crs("OGC:CRS84", "EPSG:3006", always_xy=True)
        self.to_84 = pyproj.Transformer.from_crs("EPSG:3006", "OGC:CRS84", always_xy=True)

    def view(self, rng) -> tuple[float, float, float, float]:
        """(min east, min north, max east, max north) in EPSG:3006 metres, 16:10."""
        lon, lat = rng.choice(self.centres)
        e, n = self.to_3006.transform(lon, lat)
        e += rng.uniform(-500, 500)
        n += rng.uniform(-500, 500)
        half_w = _pick(rng, VIEWS_KM) * 500
        half_h = half_w * 10 / 16
        return e - half_w, n - half_h, e + half_w, n + half_h

    def crs84(self, view) -> str:
        """The view's envelope in CRS84 (what QGIS sends for a map in SWEREF 99 TM)."""
        xs, ys = self.to_84.transform([view[0], view[2], view[0], view[2]],
                                      [view[1], view[1], view[3], view[3]])  # fmt: skip
        return f"{min(xs):.6f},{min(ys):.6f},{max(xs):.6f},{max(ys):.6f}"

    @staticmethod
    def sweref(view) -> str:
        return f"{view[1]:.0f},{view[0]:.0f},{view[3]:.0f},{view[2]:.0f}"  # north, east


#: The kinds of request (name, share, who sends it); see :func:`varied_requests`.
KINDS = (
    ("observations: CQL2 + datetime page", 0.35, "an analyst's script, GDAL, QGIS 3.32+"),
    ("observations: CQL2 + week + bbox", 0.12, "QGIS 3.32+ with a filter, panning"),
    ("observations: the same in EPSG:3006", 0.05, "QGIS 3.32+ on a SWEREF 99 TM map"),
    ("situation: bbox", 0.10, "QGIS 3.22 panning the wide layer"),
    ("hotspots: indicator + bbox", 0.10, "QGIS / a web map, one indicator's hot spots"),
    ("trends: indicator + bbox", 0.10, "QGIS / a web map, one indicator's trend"),
    ("trend map: indicator, all pages", 0.18, "/karta (lagesbild_geo/server/karta/karta.js)"),
)


def varied_requests(
    n: int, seed: int, centres: list[tuple[float, float]], layers: set[str]
) -> list[Request]:
    """``n`` requests as QGIS, GDAL, an analyst's script and the trend map send them, seeded.

    ``layers``: the collections the server has; the per-indicator layers (``trends-<id>``,
    ``hotspots-<id>``, ``situation-<id>``, issue 14) are asked for when it has them, as QGIS
    opens them (no ``indicator=``), else the stacked layers with ``indicator=``.
    """
    rng = random.Random(seed)
    views = Views(centres)
    indicators = sorted(i for _, _, found in DELIVERIES for i in found)
    out: list[Request] = []
    kinds = [k for k, _, _ in KINDS]
    shares = [s for _, s, _ in KINDS]
    while len(out) < n:
        kind = rng.choices(kinds, shares)[0]
        ind = rng.choice(indicators)
        if kind.startswith("observations: CQL2 + datetime"):
            shape = rng.random()
            t = rng.choice(THRESHOLDS)
            if shape < 0.5:
                cql = f"indicator='{ind}' AND value >= {t}"
            elif shape < 0.7:
                cql = f"indicator='{ind}'"
            elif shape < 0.85:
                other = rng.choice([i for i in indicators if i != ind])
                cql = f"indicator IN ('{ind}','{other}') AND value >= {t}"
            else:
                cql = f"indicator='{ind}' AND value < {t}"
            p = {"filter": cql, "filter-lang": "cql2-text", "datetime": _window(rng),
                 "limit": PAGE, "offset": _pick(rng, OFFSETS)}  # fmt: skip
            out.append(Request(kind, _items("observations", p),
                               _tipg_items("observations", {**p, "sortby": "id"})))  # fmt: skip
        elif kind.startswith("observations: CQL2 + week"):
            view = views.view(rng)
            p = {"filter": f"indicator='{ind}'", "filter-lang": "cql2-text",
                 "datetime": _window_weeks(rng, 1), "limit": QGIS_PAGE}  # fmt: skip
            box = views.crs84(view)
            out.append(Request(kind, _items("observations", {**p, "bbox": box}),
                               _tipg_items("observations", {**p, "bbox": box,
                                                            "sortby": "id"})))  # fmt: skip
        elif kind.startswith("observations: the same in EPSG:3006"):
            view = views.view(rng)
            p = {"filter": f"indicator='{ind}'", "filter-lang": "cql2-text",
                 "datetime": _window_weeks(rng, 1), "limit": QGIS_PAGE,
                 "bbox": views.sweref(view), "bbox-crs": "EPSG:3006",
                 "crs": "EPSG:3006"}  # fmt: skip
            tipg = _tipg_items(
                "observations",
                {
                    **{k: v for k, v in p.items() if "crs" not in k},
                    "bbox": views.crs84(view),
                    "sortby": "id",
                },
            )
            out.append(Request(kind, _items("observations", p), tipg))
        elif kind.startswith("situation"):
            view = views.view(rng)
            layer = f"situation-{ind}"
            p = {"bbox": views.crs84(view), "limit": QGIS_PAGE}
            if layer in layers and rng.random() < PER_INDICATOR:
                # tipg: the wide table's columns of the indicator (the layer's own fields)
                wide = [
                    "area_code",
                    "area_name",
                    "population",
                    "reference_week",
                    *(f"{ind}_{f}" for f in ("last4", "prev12_mean", "change_pct")),
                ]
                tipg = _tipg_items("situation", {**p, "properties": ",".join(wide),
                                                 "sortby": "area_code"})  # fmt: skip
                out.append(Request("situation-<id>: bbox", _items(layer, p), tipg,
                                   key="area_code"))  # fmt: skip
            else:
                out.append(Request(kind, _items("situation", p),
                                   _tipg_items("situation", {**p, "sortby": "area_code"}),
                                   key="area_code"))  # fmt: skip
        elif kind.startswith(("hotspots", "trends")):
            stacked = kind.split(":")[0]
            view = views.view(rng)
            p = {"bbox": views.crs84(view), "limit": QGIS_PAGE}
            tipg = _tipg_items(stacked, {**p, "indicator": ind, "sortby": "area_code"})
            layer = f"{stacked}-{ind}"
            if layer in layers and rng.random() < PER_INDICATOR:
                out.append(Request(f"{layer.split('-')[0]}-<id>: bbox", _items(layer, p), tipg,
                                   key="area_code"))  # fmt: skip
            else:
                out.append(Request(kind, _items(stacked, {"indicator": ind, **p}), tipg,
                                   key="area_code"))  # fmt: skip
        else:  # the trend map: every page of one indicator's trend layer, as karta.js asks
            for offset in (0, QGIS_PAGE):
                p = {"f": "json", "indicator": ind, "limit": QGIS_PAGE}
                if offset:
                    p["offset"] = offset
                tipg = _tipg_items("trends", {**p, "f": "geojson", "sortby": "id"})
                out.append(Request(kind, _items("trends", p), tipg, key="area_code"))
    return out[:n]


def _window_weeks(rng, n: int) -> str:
    """``n`` whole ISO weeks (Monday 00:00 .. Sunday 23:59:59) inside the data: the same weeks
    for ours (the span intersects) and tipg (``week_start`` inside)."""
    last = rng.randrange(n - 1, N_WEEKS)
    begin = FIRST_WEEK + timedelta(weeks=last - n + 1)
    end = FIRST_WEEK + timedelta(weeks=last, days=6)
    return f"{begin.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z"


def _items(collection: str, params: dict) -> str:
    return f"/collections/{collection}/items?{_query(params)}"


def _tipg_items(collection: str, params: dict) -> str:
    """tipg's equivalent: the table ``publish.<collection>``, ``datetime`` on ``week_start``
    (the table config), ``f=geojson`` (tipg's ``f=json`` is a bare list), ``sortby`` the key
    (tipg's order without one is the table's, and ours is the id's: same pages)."""
    return f"/collections/publish.{collection}/items?{_query(params)}"


@dataclass
class Target:
    """One request of a workload: path and query, headers, its kind (for the breakdown) and
    the number of features an identity body must hold (``None``: only the status is checked,
    e.g. a gzip body, which the load generator does not inflate)."""

    path: str
    headers: dict
    kind: str = ""
    features: int | None = None


def single_targets(url: str, params: dict, headers: dict) -> list[Target]:
    from urllib.parse import urlencode, urlsplit

    return [Target(f"{urlsplit(url).path}?{urlencode(params)}", headers, "single URL", PAGE)]


def load(base: str, targets: list[Target], n: int, clients: int, server: subprocess.Popen) -> dict:
    """``n`` requests (``targets`` in order, again from the start when ``n`` is longer) from
    ``clients`` threads; requests/s over the wall time, latencies, also by kind.

    The load generator shares the two cores with the servers and PostgreSQL, so it is kept
    light: ``http.client`` (one connection per thread, reopened when a server closes it) and
    a check of each answer's status (and, for an identity body, its feature count by bytes)
    instead of parsing and inflating the answers (:func:`same_answer` and
    :func:`same_varied_answers` compared full answers once before). Its CPU time per request
    is printed beside the figures.
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    latencies: list[float] = []
    by_kind: dict[str, list[tuple[float, int]]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def client():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                conn.close()
                return
            target = targets[i % len(targets)]
            started = time.perf_counter()
            conn.request("GET", target.path, headers=target.headers)
            response = conn.getresponse()
            body = response.read()
            took = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
            wrong = response.status != 200
            if target.features is not None:
                wrong = wrong or body.count(b'"Feature"') != target.features
            with lock:
                latencies.append(took)
                by_kind.setdefault(target.kind, []).append((took, len(body)))
                if wrong:
                    errors.append(f"{target.path}: {response.status} {body[:200]!r}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    serving, backends = _processes(server)
    server_cpu, db_cpu = _cpu_seconds(serving), _cpu_seconds(backends)
    cpu = time.process_time()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    server_cpu = _cpu_seconds(serving) - server_cpu
    db_cpu = _cpu_seconds(set(backends) | set(_processes(server)[1])) - db_cpu
    if errors:
        sys.exit(f"{len(errors)} failed requests against {base}: {errors[:3]}")
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    kinds = {}
    for kind, done in by_kind.items():
        took = sorted(t for t, _ in done)
        kinds[kind] = {
            "n": len(done),
            "p50": took[len(took) // 2] * 1000,
            "p95": took[min(len(took) - 1, int(len(took) * 0.95))] * 1000,
            "kb": statistics.mean(b for _, b in done) / 1000,
        }
    return {
        "rps": n / wall,
        "p50": q[49] * 1000,
        "p95": q[94] * 1000,
        "n": n,
        "wall": wall,
        "client_cpu_ms": cpu / n * 1000,
        "server_cpu_ms": server_cpu / n * 1000,
        "db_cpu_ms": db_cpu / n * 1000,
        "kinds": kinds,
    }


def same_varied_answers(ours: str, tipg: str, requests: list[Request], per_kind: int = 4) -> str:
    """The first ``per_kind`` requests of every kind answered by both servers with the same
    features (count and keys; inflated from gzip), except the kinds whose tipg form is a
    translation that selects differently (:data:`APPROXIMATE`). Returns a summary line."""
    import requests as http

    seen: dict[str, int] = {}
    features = 0
    for r in requests:
        if seen.get(r.kind, 0) >= per_kind:
            continue
        seen[r.kind] = seen.get(r.kind, 0) + 1
        answers = []
        for base, path in ((ours, r.ours), (tipg, r.tipg)):
            response = http.get(base + path, headers=r.headers, timeout=60)
            if response.status_code != 200:
                sys.exit(f"{base}{path}: {response.status_code} {response.text[:300]}")
            if response.headers.get("Content-Encoding") != "gzip" and len(response.content) > 2000:
                sys.exit(f"{base}{path}: not gzipped although the client accepts it")
            answers.append(sorted(_key(f, r.key) for f in response.json()["features"]))
        if r.kind in APPROXIMATE:
            continue
        if answers[0] != answers[1]:
            sys.exit(f"{r.kind}: ours and tipg differ on {r.ours} / {r.tipg}: "
                     f"{len(answers[0])} vs {len(answers[1])} features, {answers[0][:3]} vs "
                     f"{answers[1][:3]}")  # fmt: skip
        features += len(answers[0])
    checked = sum(v for k, v in seen.items() if k not in APPROXIMATE)
    return (f"{checked} requests of {len(seen) - len(APPROXIMATE & seen.keys())} kinds give the "
            f"same {features:,} features from both servers")  # fmt: skip


def _key(feature: dict, key: str):
    return feature["id"] if key == "id" else feature["properties"][key]


# -- main ----------------------------------------------------------------------------------------

GROUPS = ("varied", "single", "audiences")


def main() -> None:
    global DB_NAME
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1600)
    parser.add_argument("--warmup", type=int, default=160)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=5480)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per workload")
    parser.add_argument("--seed", type=int, default=VARIED_SEED, help="the varied requests'")
    parser.add_argument(
        "--only", default=",".join(GROUPS),
        help=f"comma-separated workloads to run, of {', '.join(GROUPS)} (default all)",
    )  # fmt: skip
    parser.add_argument("--database", default=DB_NAME, help="the benchmark database's name")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if only - set(GROUPS):
        parser.error(f"--only: unknown {', '.join(sorted(only - set(GROUPS)))}")
    set_database(args.database)

    started = time.perf_counter()
    out = REPO / "bench" / "out" / "serve"
    out.mkdir(parents=True, exist_ok=True)
    print(f"Database {DB_NAME}: 1,287 DeSO areas × {sum(len(d[2]) for d in DELIVERIES)} "
          f"indicators × {N_WEEKS} weeks (seed {SEED})", flush=True)  # fmt: skip
    owner, reader = bench_database(args.rebuild)
    print(
        "Route: areas with `lagesbild areas import`; weekly counts COPYed into the restricted "
        "lagesbild.observation under 4 synthetic deliveries inserted as approved; "
        "publish.observations built by publish.refresh (k = 5); hotspots and trends as "
        "`lagesbild analyse` computes them.",
        flush=True,
    )
    logins = login_urls(owner)
    provider = IdentityProvider()
    scratch = Path(tempfile.mkdtemp(prefix="lagesbild-bench-serve-"))
    servers: list[subprocess.Popen] = []
    tree = None
    runs: dict[str, list[dict]] = {}
    try:
        ports = {"ours": args.port, "tipg": args.port + 1, "before": args.port + 2}
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        ours = start_ours(
            owner, reader, ports["ours"], args.workers, out,
            extra_env={"LAGESBILD_SERVER_DATABASE_URL": _as_url(logins["server"]),
                       "LAGESBILD_JOBS_DATABASE_URL": _as_url(logins["jobs"]),
                       **provider.settings()},
        )  # fmt: skip
        servers.append(ours)
        servers.append(tipg := start_tipg(reader, ports["tipg"], args.workers, out))
        workloads: list[Workload] = []
        if "varied" in only:
            workloads += varied_workloads(args, owner, base, ours, tipg)
        if "single" in only or "audiences" in only:
            public = request_urls(base["ours"], base["tipg"])
            label = "single URL: `observations`, `lagesbild serve` (this tree)"
            workloads.append(Workload("lagesbild", label, *public["lagesbild"], ours))
        if "single" in only:
            workloads.append(Workload("tipg", "single URL: `publish.observations`, tipg 1.6 "
                                      "(uvicorn)", *public["tipg"], tipg))  # fmt: skip
        if "audiences" in only:
            tree = checkout_before(scratch)
            before = start_ours(
                owner, reader, ports["before"], args.workers, out, name=f"serve-{BEFORE}",
                code=tree,
            )  # fmt: skip
            servers.append(before)
            workloads += audience_workloads(owner, base, public, ours, before, provider)
        single = [w for w in workloads if w.url is not None]
        if single:
            matched = same_answer(single, owner)
            print(
                f"Every single-URL server returns the expected {PAGE} features (ids and "
                "values); " + ", ".join(f"{n:,} match in {s}" for s, n in matched.items()) + ".",
                flush=True,
            )
        for w in workloads:
            load(w.base, w.warmup or w.round(0), args.warmup, args.clients, w.server)
        # Round-robin: run i of every workload before run i + 1 of any, so that the
        # machine's drift (±15 % from run to run) and anything else starting on it fall on
        # all of them alike rather than on the one measured at that moment.
        runs = {w.name: [] for w in workloads}
        for i in range(args.repeat):
            for w in workloads:
                r = load(w.base, w.round(i), args.requests, args.clients, w.server)
                runs[w.name].append(r)
                print(
                    f"  {w.name:14s} {r['rps']:7.1f} req/s  p50 {r['p50']:6.1f} ms  "
                    f"p95 {r['p95']:6.1f} ms  ({r['n']} requests, {r['wall']:.1f} s; CPU per "
                    f"request: server {r['server_cpu_ms']:.1f} ms, PostgreSQL "
                    f"{r['db_cpu_ms']:.1f} ms, load generator {r['client_cpu_ms']:.1f} ms)",
                    flush=True,
                )
    finally:
        for server in servers:
            stop(server)
        if tree is not None:
            remove_checkout(tree)
        shutil.rmtree(scratch, ignore_errors=True)
        provider.close()
    report(args, workloads, runs)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


def varied_workloads(args, owner: str, base: dict, ours, tipg) -> list[Workload]:
    """The varied requests (:func:`varied_requests`) against ours and tipg, checked first."""
    import psycopg
    import requests as http

    with psycopg.connect(owner) as conn:
        centres = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p"
            " FROM publish.areas ORDER BY code) AS c"
        ).fetchall()
    layers = {c["id"] for c in http.get(f"{base['ours']}/collections?f=json",
                                          timeout=60).json()["collections"]}  # fmt: skip
    # A new list every round (seed, seed + 1, ...): the server keeps the pages it answered
    # (lagesbild_geo/server/responses.py), so a round repeating the last would measure that
    # alone. Ours and tipg get the same list in a round.
    rounds = [
        varied_requests(args.requests, args.seed + i, centres, layers) for i in range(args.repeat)
    ]
    timed = rounds[0]
    warm = varied_requests(args.warmup, args.seed + WARMUP_SEED_OFFSET, centres, layers)
    print(f"Varied requests (seeds {args.seed}..{args.seed + args.repeat - 1}, round 1): "
          + ", ".join(f"{sum(r.kind == k for r in timed)} {k}"
                      for k in dict.fromkeys(r.kind for r in timed)), flush=True)  # fmt: skip
    print(same_varied_answers(base["ours"], base["tipg"], timed) + ".", flush=True)
    return [
        Workload("varied", "varied: `lagesbild serve` (this tree)", None, {}, ours,
                 base=base["ours"],
                 rounds=[[Target(r.ours, r.headers, r.kind) for r in rs] for rs in rounds],
                 warmup=[Target(r.ours, r.headers, r.kind) for r in warm]),
        Workload("varied tipg", "varied: tipg 1.6 (uvicorn), the same requests", None, {},
                 tipg, base=base["tipg"],
                 rounds=[[Target(r.tipg, r.headers, r.kind) for r in rs] for rs in rounds],
                 warmup=[Target(r.tipg, r.headers, r.kind) for r in warm]),
    ]  # fmt: skip


def audience_workloads(owner, base, public, ours, before, provider) -> list[Workload]:
    """Issue 13's audiences: main before issue 13 and the restricted layers."""
    credentials = {
        "actor key": {"X-API-Key": make_key(owner, "actor", ACTOR)},
        "actor token": {"Authorization": f"Bearer {provider.actor_token(ACTOR)}"},
        "analyst key": {"X-API-Key": make_key(owner, "analyst")},
    }
    before_url = public["lagesbild"][0].replace(base["ours"], base["before"])
    my = restricted_request(base["ours"], "my-observations")
    exact = restricted_request(base["ours"], "exact-observations")
    mine = f"actor_id = '{ACTOR}'"
    return [
        Workload(BEFORE, f"single URL: `observations`, `lagesbild serve` at {BEFORE} "
                 "(main before issue 13)", before_url, public["lagesbild"][1], before),
        Workload("actor key", f"actor `my-observations` ({ACTOR}), API key", *my, ours,
                 "restricted.my_observations", mine, credentials["actor key"]),
        Workload("actor token", f"actor `my-observations` ({ACTOR}), bearer token", *my,
                 ours, "restricted.my_observations", mine, credentials["actor token"]),
        Workload("analyst key", "analyst `exact-observations`, API key", *exact, ours,
                 "restricted.exact_observations", "true", credentials["analyst key"]),
    ]  # fmt: skip


def report(args, workloads: list[Workload], runs: dict[str, list[dict]]) -> None:
    """The README's table (the run of median throughput, ranges over all runs), the goals,
    and the varied workload by kind of request."""
    results = {}
    for name, done in runs.items():
        if not done:
            return
        results[name] = sorted(done, key=lambda run: run["rps"])[len(done) // 2]
        results[name]["p95_range"] = (min(x["p95"] for x in done), max(x["p95"] for x in done))
        results[name]["rps_range"] = (min(x["rps"] for x in done), max(x["rps"] for x in done))
    against = {"varied": "varied tipg", "lagesbild": "tipg"}
    print(
        f"\n| workload ({args.workers} workers, {args.clients} clients, {args.requests} "
        f"requests, median of {args.repeat} runs) | req/s (range) | p50 ms | p95 ms (range) | "
        "CPU ms per request: server / PostgreSQL / load generator | × tipg |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    for w in workloads:
        r = results[w.name]
        rps = f"{r['rps']:.1f} ({r['rps_range'][0]:.0f}-{r['rps_range'][1]:.0f})"
        p95 = f"{r['p95']:.0f} ({r['p95_range'][0]:.0f}-{r['p95_range'][1]:.0f})"
        cpu = f"{r['server_cpu_ms']:.1f} / {r['db_cpu_ms']:.1f} / {r['client_cpu_ms']:.1f}"
        other = results.get(against.get(w.name, ""))
        ratio = f"**{r['rps'] / other['rps']:.2f}**" if other else "–"
        print(f"| {w.label} | {rps} | {r['p50']:.0f} | {p95} | {cpu} | {ratio} |")

    print()
    if "varied" in results and "varied tipg" in results:
        ours_r, tipg_r = results["varied"], results["varied tipg"]
        ratio = ours_r["rps"] / tipg_r["rps"]
        met = ratio >= 3 and ours_r["p95"] < 150
        print(f"varied: ratio (lagesbild req/s / tipg req/s) {ratio:.2f}, p95 "
              f"{ours_r['p95']:.0f} ms; goal ≥ 3.0 and p95 < 150 ms at {args.clients} "
              f"clients: {'met' if met else 'NOT met'}")  # fmt: skip
        print(
            "\n| varied, by kind of request (median run) | share | ours p50 / p95 ms | "
            "tipg p50 / p95 ms | kB per answer (gzip): ours / tipg |\n|---|---:|---:|---:|---:|"
        )
        for kind, k in ours_r["kinds"].items():
            t = tipg_r["kinds"].get(kind)
            theirs = f"{t['p50']:.0f} / {t['p95']:.0f}" if t else "–"
            kb = f"{k['kb']:.1f} / {t['kb']:.1f}" if t else f"{k['kb']:.1f} / –"
            print(f"| {kind} | {k['n'] / ours_r['n']:.0%} | {k['p50']:.0f} / {k['p95']:.0f} | "
                  f"{theirs} | {kb} |")  # fmt: skip
    if "lagesbild" in results and "tipg" in results:
        ours_r, tipg_r = results["lagesbild"], results["tipg"]
        print(f"single URL: ratio (lagesbild req/s / tipg req/s) "
              f"{ours_r['rps'] / tipg_r['rps']:.2f}, p95 {ours_r['p95']:.0f} ms")  # fmt: skip
    if BEFORE in results:
        ours_r, before_r = results["lagesbild"], results[BEFORE]
        # within noise: the median run of this tree is inside or above the spread of BEFORE's
        change = ours_r["rps"] / before_r["rps"]
        unchanged = ours_r["rps"] >= before_r["rps_range"][0] * NOISE and (
            ours_r["p95"] <= before_r["p95_range"][1] / NOISE
        )
        print(f"ratio (lagesbild req/s / {BEFORE} req/s) {change:.2f}, p95 "
              f"{ours_r['p95']:.0f} vs {before_r['p95']:.0f} ms; goal: not slower beyond noise "
              f"(req/s ≥ {NOISE:.2f} × {BEFORE}'s slowest run, p95 ≤ its highest / "
              f"{NOISE:.2f}): {'met' if unchanged else 'NOT met'}")  # fmt: skip
    for name in ("actor key", "actor token", "analyst key"):
        if name in results:
            p95 = results[name]["p95"]
            print(f"{name}: p95 {p95:.0f} ms; goal < 200 ms at {args.clients} clients: "
                  f"{'met' if p95 < 200 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
