"""The server's three database logins, least privilege (migration 0020, docs/access.md).

======================  ==================  ==================================================
login                   setting             may
======================  ==================  ==================================================
``lagesbild_reader``    ``PUBLIC_…``        SELECT in schema ``publish`` (the public path)
``lagesbild_server``    ``SERVER_…``        nothing of its own; ``SET LOCAL ROLE`` to the
                                            caller's group role per transaction
``lagesbild_jobs``      ``JOBS_…``          the job table and saved analysis runs
======================  ==================  ==================================================

On the embedded cluster each gets a generated password, kept beside the cluster's own
``db-password`` (mode 0600) and set again on every start, so a lost or edited file heals. On
an existing PostGIS the deployer creates the login roles and names them in
``LAGESBILD_PUBLIC_DATABASE_URL``, ``LAGESBILD_SERVER_DATABASE_URL`` and
``LAGESBILD_JOBS_DATABASE_URL``; without them the owner's URL is used, with a loud warning.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import psycopg
from psycopg import sql

from lagesbild_geo.db.connection import cluster_for, database_url
from lagesbild_geo.settings import Settings

LOGGER = logging.getLogger(__name__)

#: login -> (role, password file on the embedded cluster, the setting naming its URL)
LOGINS: dict[str, tuple[str, str, str]] = {
    "reader": ("lagesbild_reader", "db-reader-password", "public_database_url"),
    "server": ("lagesbild_server", "db-server-password", "server_database_url"),
    "jobs": ("lagesbild_jobs", "db-jobs-password", "jobs_database_url"),
}


def ensure_login(conn: psycopg.Connection, role: str, password_file: Path) -> str:
    """Give ``role`` a login and a generated password (kept in ``password_file``); return it.

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
                sql.Identifier(role), sql.Literal(password)
            )
        )
    return password


def login_url(settings: Settings, login: str, owner_conn: psycopg.Connection | None = None) -> str:
    """The URL ``login`` (``reader``, ``server`` or ``jobs``) connects with."""
    role, file_name, setting = LOGINS[login]
    if settings.database_url:
        url = getattr(settings, setting)
        if url:
            return url
        LOGGER.warning(
            "LAGESBILD_%s is not set: the server's %s connection uses LAGESBILD_DATABASE_URL, "
            "i.e. the owner's rights to the restricted data. Create a login role granted %s "
            "(docs/access.md) and set LAGESBILD_%s.",
            setting.upper(),
            login,
            role,
            setting.upper(),
        )
        return settings.database_url
    cluster = cluster_for(settings)
    password_file = settings.data_dir / file_name
    if owner_conn is None:
        with psycopg.connect(database_url(settings)) as conn:
            password = ensure_login(conn, role, password_file)
    else:
        password = ensure_login(owner_conn, role, password_file)
    return f"postgresql://{role}:{password}@127.0.0.1:{cluster.port}/{cluster.database}"
