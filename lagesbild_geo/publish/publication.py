"""Publish: the public layers in schema ``publish`` and the role that may read them.

The tables are rebuilt by the SQL function ``publish.refresh``
(``lagesbild_geo/db/functions/20_refresh.sql``, with the suppression rules beside it in
``10_suppression.sql``), called by ``store`` in the same transaction as every review that
changes the approved data and every area import, and by ``lagesbild publish refresh``. This
module holds the Python side: calling it, the least-privilege reader role that pygeoapi
connects as, and the extents the server advertises. Saved analysis runs are written by
``results``.

Why a separate reader role: the server faces the internet; if it is ever tricked into running
a query it was not meant to, the database itself must refuse to show anything restricted.
``lagesbild_reader`` can SELECT in schema ``publish`` and nothing else.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from lagesbild_geo.db.connection import cluster_for, database_url, one
from lagesbild_geo.settings import Settings

LOGGER = logging.getLogger(__name__)

READER_ROLE = "lagesbild_reader"
READER_PASSWORD_FILE = "db-reader-password"


@dataclass(frozen=True)
class State:
    """The publication's version and when it last changed (the ETag and Last-Modified)."""

    version: int
    updated_at: datetime
    reference_week: date | None
    k: int


@dataclass(frozen=True)
class Extents:
    """Spatial (CRS84) and temporal extent of the published data, for the collection metadata."""

    bbox: tuple[float, float, float, float]
    first_week: date | None
    last_week_end: date | None


def refresh(conn: psycopg.Connection, k: int | None = None) -> int:
    """Rebuild every public layer from approved data in one transaction; return the version."""
    with conn.transaction():
        (version,) = one(conn, "SELECT publish.refresh(%s)", (k,))
    return version


def read_state(conn: psycopg.Connection) -> State:
    row = one(conn, "SELECT version, updated_at, reference_week, k FROM publish.state")
    return State(*row)


def read_extents(conn: psycopg.Connection) -> Extents:
    """The bbox of the areas (CRS84) and the weeks with published observations.

    Falls back to Sweden's extent when no areas are loaded yet, so that the configuration is
    valid on an empty database too.
    """
    box = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
        " FROM (SELECT ST_Extent(geom) AS e FROM publish.areas) s"
    ).fetchone()
    weeks = one(conn, "SELECT min(week_start), max(week_end) FROM publish.observations")
    bbox = tuple(round(v, 6) for v in box) if box and box[0] is not None else SWEDEN_BBOX
    return Extents(bbox=bbox, first_week=weeks[0], last_week_end=weeks[1])


SWEDEN_BBOX = (10.03, 55.36, 24.17, 69.07)


def ensure_reader_login(conn: psycopg.Connection, password_file: Path) -> str:
    """Give ``lagesbild_reader`` a login and a generated password; return the password.

    Used for the embedded cluster only: the password is kept beside the cluster's own
    ``db-password`` (mode 0600) and set again on every start, so a lost or edited file heals.
    The password is composed as a literal by psycopg (utility statements take no parameters).
    """
    if password_file.exists():
        password = password_file.read_text().strip()
    else:
        password = secrets.token_urlsafe(24)
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    with conn.transaction():
        conn.execute(
            sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(READER_ROLE), sql.Literal(password)
            )
        )
    return password


def public_database_url(settings: Settings, owner_conn: psycopg.Connection | None = None) -> str:
    """The URL the public server connects with: a role that can only read schema ``publish``.

    Embedded cluster: ``lagesbild_reader`` with its generated password (``owner_conn`` is used
    to set it). Existing PostGIS: ``LAGESBILD_PUBLIC_DATABASE_URL``; without it we fall back
    to the main URL, which works but gives the public server the owner's rights, so we warn
    loudly.
    """
    if settings.database_url:
        public = settings.public_database_url
        if public:
            return public
        LOGGER.warning(
            "LAGESBILD_PUBLIC_DATABASE_URL is not set: the public server connects with "
            "LAGESBILD_DATABASE_URL, i.e. with rights to the restricted data. Create a login "
            "role granted %s and set LAGESBILD_PUBLIC_DATABASE_URL.",
            READER_ROLE,
        )
        return settings.database_url
    cluster = cluster_for(settings)
    password_file = settings.data_dir / READER_PASSWORD_FILE
    if owner_conn is None:
        with psycopg.connect(database_url(settings)) as conn:
            password = ensure_reader_login(conn, password_file)
    else:
        password = ensure_reader_login(owner_conn, password_file)
    return f"postgresql://{READER_ROLE}:{password}@127.0.0.1:{cluster.port}/{cluster.database}"
