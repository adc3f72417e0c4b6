"""The access log the huvudman can show (``lagesbild.access_log``, migration 0020).

Written only by ``lagesbild.log_access`` inside the transaction of what it records (a
delivery stored, a decision, a key created, a restricted layer read: if the action rolls
back, so does its line), with the caller taken from the transaction's settings; read by the
admin (``GET /admin/access-log``) and on the server (``lagesbild access-log``).
"""

from __future__ import annotations

import json
from datetime import datetime

import psycopg

#: Columns a reader may filter on by equality.
FILTERS = ("principal", "role", "actor_id", "action", "object_type", "object_id")
COLUMNS = ("id", "at", "principal", "role", "actor_id", "action", "object_type", "object_id",
           "detail")  # fmt: skip
MAX_ROWS = 1000


def read(
    conn: psycopg.Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    equal: dict[str, str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict]:
    """Entries, newest first, at or after ``since`` and before ``until``, with the columns of
    ``equal`` (names from :data:`FILTERS`) equal to its values."""
    where: list[str] = ["true"]
    params: list[object] = []
    if since is not None:
        where.append("at >= %s")
        params.append(since)
    if until is not None:
        where.append("at < %s")
        params.append(until)
    for name, value in (equal or {}).items():
        if name not in FILTERS:
            raise ValueError(f"not a filter of the access log: {name}")
        where.append(f"{name} = %s")  # a fixed column name, checked above
        params.append(value)
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM lagesbild.access_log WHERE {' AND '.join(where)}"
        " ORDER BY id DESC LIMIT %s OFFSET %s",
        [*params, min(limit, MAX_ROWS), offset],
    ).fetchall()
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def write(
    conn: psycopg.Connection,
    action: str,
    object_type: str | None,
    object_id: str | int | None,
    detail: dict | None = None,
) -> None:
    """One entry, in ``conn``'s transaction: who (from the transaction's settings, see
    :mod:`lagesbild_geo.access.session`), what, which object; the time is the database's."""
    conn.execute(
        "SELECT lagesbild.log_access(%s, %s, %s, %s::jsonb)",
        (
            action,
            object_type,
            None if object_id is None else str(object_id),
            json.dumps(detail or {}, default=str),
        ),
    )


def as_cli(conn: psycopg.Connection, by: str) -> None:
    """Make ``cli:<by>`` the principal of the transaction's entries (a command on the server,
    which connects as the owner: the log says who ran it, ``--by`` or the login name)."""
    conn.execute("SELECT set_config('lagesbild.principal', %s, true)", (f"cli:{by}",))
