"""``lagesbild serve`` as a real subprocess for the HTTP tests: started, awaited, stopped.

One place for what three test modules need, so that a slow CI machine is handled once: the
first answer may take seconds while gunicorn boots and generates the OpenAPI document.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
STARTUP_S = 120
STOP_S = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def other_logins(database_url: str, public_url: str) -> dict[str, str]:
    """The server's two other logins (``lagesbild_server``, ``lagesbild_jobs``) on the
    database of ``database_url``, given the reader's password of ``public_url`` (roles are
    cluster-wide: one password per test module, as for the reader)."""
    import psycopg
    from psycopg import sql

    from lagesbild_geo.access.logins import LOGINS

    parts = psycopg.conninfo.conninfo_to_dict(public_url)
    password = str(parts.get("password") or "")
    urls = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for login in ("server", "jobs"):
            role = LOGINS[login][0]
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            urls[login] = psycopg.conninfo.make_conninfo(public_url, user=role)
    return urls


def answer_open_analysis_requests(database_url: str) -> None:
    """Mark the follower's open requests answered: the reviews a test history was loaded with
    asked for analyses, and a server starting on it would recompute ``hotspots`` and
    ``trends`` under the test's feet (the result layers a test saved, the row counts it
    compares). A test of the follower asks anew after the server is up
    (tests/analysis/test_follow.py)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE publish.analysis_queue SET started_at = coalesce(started_at, now()),"
            " finished_at = now() WHERE finished_at IS NULL"
        )


@contextmanager
def running_server(
    *, database_url: str, public_url: str, data_dir: Path, k: int = 5, **extra_env: str
) -> Iterator[dict]:
    """Run ``lagesbild serve`` (2 workers) on a free port until the block ends.

    Yields ``url``, ``proc``, ``data_dir`` and ``log`` (the server's output). Fails the test
    with that output when the server does not answer within ``STARTUP_S``; asserts on leaving
    that SIGTERM stops gunicorn within ``STOP_S``.
    """
    port = free_port()
    logins = other_logins(database_url, public_url)
    answer_open_analysis_requests(database_url)
    env = {
        **os.environ,
        "LAGESBILD_DATABASE_URL": database_url,
        "LAGESBILD_PUBLIC_DATABASE_URL": public_url,
        "LAGESBILD_SERVER_DATABASE_URL": logins["server"],
        "LAGESBILD_JOBS_DATABASE_URL": logins["jobs"],
        "LAGESBILD_DATA_DIR": str(data_dir),
        "LAGESBILD_PORT": str(port),
        "LAGESBILD_K": str(k),
        "LAGESBILD_WORKERS": "2",
        **extra_env,
    }
    env.pop("LAGESBILD_SERVER_URL", None)
    log_path = data_dir / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "lagesbild"), "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            if requests.get(url + "/", timeout=10).status_code == 200:
                break
        except requests.RequestException:  # refused while booting, or slow to answer
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail("server did not start:\n" + log_path.read_text())
        time.sleep(0.3)
    try:
        yield {"url": url, "proc": proc, "data_dir": data_dir, "log": log_path}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_S)
            stopped = True
        except subprocess.TimeoutExpired:
            proc.kill()
            stopped = False
        log.close()
    assert stopped, f"gunicorn did not stop within {STOP_S} s of SIGTERM"


@contextmanager
def serving_test_history(
    pg_server, name: str, data_dir: Path, *, k: int = 5, password: str, **extra_env: str
) -> Iterator[dict]:
    """A database ``name`` with the history of ``tests/publish_data.py`` published with ``k``,
    and ``lagesbild serve`` on it, the reader logging in with ``password``; yields the
    server's dict with the owner's database URL as ``db`` (``extra_env``: more settings)."""
    import psycopg

    from lagesbild_geo.publish import publication as publish
    from tests.conftest import PG_PASSWORD, PG_USER, migrated_database
    from tests.publish_data import load

    with migrated_database(pg_server, name) as url:
        with psycopg.connect(url) as conn:
            load(conn, k=k)
            conn.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{password}'")
        public = url.replace(f"{PG_USER}:{PG_PASSWORD}", f"{publish.READER_ROLE}:{password}")
        with running_server(
            database_url=url, public_url=public, data_dir=data_dir, k=k, **extra_env
        ) as srv:
            yield {**srv, "db": url}


@contextmanager
def demo_copy(demo_db_url: str, name: str, *, password: str) -> Iterator[str]:
    """A copy ``name`` of the demo database (the reader logging in with ``password``); yields
    its owner URL and drops it afterwards."""
    import psycopg

    from lagesbild_geo.publish import publication as publish

    admin = demo_db_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE lagesbild_demo")
        conn.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{password}'")
    try:
        yield demo_db_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def analyse(database_url: str, indicators: tuple[str, ...] | list[str]) -> str:
    """``lagesbild analyse`` for ``indicators``, as the nightly job runs it; its output."""
    args = [str(Path(sys.executable).parent / "lagesbild"), "analyse"]
    for indicator in indicators:
        args += ["--indicator", indicator]
    env = {**os.environ, "LAGESBILD_DATABASE_URL": database_url}
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def public_url(database_url: str, password: str) -> str:
    """The reader's URL of the database ``database_url`` is the owner's URL of."""
    from lagesbild_geo.publish import publication as publish
    from tests.conftest import PG_PASSWORD, PG_USER

    return database_url.replace(f"{PG_USER}:{PG_PASSWORD}", f"{publish.READER_ROLE}:{password}")


@contextmanager
def serving_analysed_demo(
    demo_db_url: str, name: str, data_dir: Path, *, indicators: tuple[str, ...], password: str
) -> Iterator[dict]:
    """A copy ``name`` of the demo database with the nightly analysis run for
    ``indicators``, served by ``lagesbild serve``; yields the server's dict with the copy's
    owner URL as ``db``."""
    with demo_copy(demo_db_url, name, password=password) as url:
        analyse(url, indicators)
        with running_server(
            database_url=url, public_url=public_url(url, password), data_dir=data_dir
        ) as srv:
            yield {**srv, "db": url}
