"""The authenticated paths' database connections: as ``lagesbild_server``, always as the caller.

Every read or write of restricted data in the server goes through :func:`connection`: a
connection from this process's pool, in a transaction that begins with
:func:`lagesbild_geo.access.session.enter` (``SET LOCAL ROLE`` to the caller's group role, the
caller's identity in ``set_config(..., true)``), so the row-level security of migration 0020
decides which rows exist. The login role itself has no privileges: a code path that forgot to
enter a role reads nothing.

The pool is small and per process, shared by the worker's threads (``server/app.py``:
``THREADS``): a connection is taken from the list under a lock and used by one request (or
one process job's thread) until it is given back. A connection PostgreSQL closed (a
restart) is dropped and the request answered with the error table's 503; the next one
reconnects.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import psycopg

from lagesbild_geo.access import session
from lagesbild_geo.access.identity import Identity
from lagesbild_geo.db.connection import connection_lost
from lagesbild_geo.errors import DatabaseUnavailableError

#: Idle connections kept per process.
POOL_SIZE = 4
CONNECT_TIMEOUT_S = 5

_lock = threading.Lock()
_idle: list[psycopg.Connection] = []
_conninfo: str | None = None


def configure(conninfo: str) -> None:
    """Where the pool connects (the worker's hand-off, ``lagesbild_server``); empties it."""
    global _conninfo
    with _lock:
        _conninfo = conninfo
        while _idle:
            with contextlib.suppress(psycopg.Error):
                _idle.pop().close()


def _take() -> psycopg.Connection:
    with _lock:
        while _idle:
            conn = _idle.pop()
            if not conn.closed:
                return conn
        conninfo = _conninfo
    if conninfo is None:
        raise RuntimeError("restricted_db.configure() was not called in this process")
    try:
        return psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError() from exc


def _give_back(conn: psycopg.Connection) -> None:
    if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        with contextlib.suppress(psycopg.Error):
            conn.close()
        return
    with _lock:
        if len(_idle) < POOL_SIZE:
            _idle.append(conn)
            return
    conn.close()


@contextlib.contextmanager
def _pooled() -> Iterator[psycopg.Connection]:
    conn = _take()
    try:
        yield conn
    except psycopg.OperationalError as exc:
        conn.close()
        if connection_lost(exc):
            raise DatabaseUnavailableError() from exc
        raise
    finally:
        _give_back(conn)


@contextlib.contextmanager
def plain() -> Iterator[psycopg.Connection]:
    """A connection as the login role itself, no caller's role: only for what that role may
    do alone (``lagesbild.authenticate_key``, ``lagesbild.actor_exists``), in autocommit: each
    check is one statement and its own transaction (the key check, a savepoint inside a
    transaction here before, sent five statements on every request with a key)."""
    with _pooled() as conn:
        conn.autocommit = True
        try:
            yield conn
        finally:
            # a connection that broke is dropped when given back, whatever this says
            with contextlib.suppress(psycopg.Error):
                conn.autocommit = False


@contextlib.contextmanager
def connection(identity: Identity, role: str) -> Iterator[psycopg.Connection]:
    """A connection in a transaction as ``identity`` acting in ``role`` (committed when the
    block ends normally, rolled back when it raises)."""
    with _pooled() as conn, conn.transaction():
        session.enter(conn, identity, role)
        yield conn
