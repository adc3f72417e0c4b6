"""The embedded PostGIS cluster: initialised and started by the project itself.

A municipal GIS person should not need a DBA or a system service to try Lägesbild, so
``lagesbild db up`` runs ``initdb`` and ``pg_ctl`` from Debian's PostgreSQL packages in a data
folder of the project (``LAGESBILD_DATA_DIR``, default ``var/``). ``initdb`` refuses to run as
root, so when we are root the server runs as the ``postgres`` system user, which owns the data
folder. The server listens on 127.0.0.1 only and uses password (SCRAM) authentication with a
password generated on first start and kept in ``<data_dir>/db-password`` (mode 0600).

When ``LAGESBILD_DATABASE_URL`` is set, none of this is used. The folder of the server
programs comes from the settings (``LAGESBILD_PG_BINDIR``) through :class:`Cluster`; this module
reads no environment itself.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lagesbild_geo.errors import LagesbildError

SERVER_USER_WHEN_ROOT = "postgres"


class ClusterError(LagesbildError):
    """The embedded cluster could not be initialised, started or stopped."""


@dataclass(frozen=True)
class Cluster:
    """An embedded PostgreSQL cluster in ``data_dir``, listening on 127.0.0.1:``port``."""

    data_dir: Path
    port: int
    user: str = "lagesbild"
    database: str = "lagesbild"
    #: Folder of initdb, pg_ctl and pg_isready (``Settings.pg_bindir``); None: Debian's newest
    #: ``/usr/lib/postgresql/*/bin``, then PATH.
    bindir: Path | None = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def password_file(self) -> Path:
        return self.data_dir / "db-password"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgresql.log"

    def password(self) -> str:
        return self.password_file.read_text().strip()

    def url(self, database: str | None = None) -> str:
        return (
            f"postgresql://{self.user}:{self.password()}@127.0.0.1:{self.port}/"
            f"{database or self.database}"
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialised():
            return False
        result = self._pg_ctl("status", check=False)
        return result.returncode == 0

    def up(self) -> None:
        """Initialise (first time), start (if stopped) and create the database with PostGIS."""
        if not self.initialised():
            self._initdb()
        if not self.running():
            self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_file))
        self._wait_ready()
        self._ensure_database()

    def down(self) -> None:
        if self.running():
            self._pg_ctl("stop", "-m", "fast", "-w")

    def status(self) -> dict[str, object]:
        return {
            "data_dir": str(self.pgdata),
            "initialised": self.initialised(),
            "running": self.running(),
            "port": self.port,
            "database": self.database,
        }

    # -- internals ---------------------------------------------------------------------------

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.password_file.chmod(0o600)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        pwfile = self.data_dir / ".initdb-pw"
        pwfile.write_text(self.password() + "\n")
        owner = _server_user()
        if owner:
            _make_traversable(self.data_dir)
            uid, gid = owner.pw_uid, owner.pw_gid
            os.chown(self.pgdata, uid, gid)
            os.chown(pwfile, uid, gid)
            self.log_file.touch()
            os.chown(self.log_file, uid, gid)
        try:
            self._run(
                [
                    _bin("initdb", self.bindir),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    self.user,
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = self.pgdata / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(
                "\n# Lägesbild embedded cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.pgdata}'\n"
                "max_connections = 100\n"
                "shared_buffers = 256MB\n"
                "work_mem = 16MB\n"
                "fsync = on\n"
            )

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            result = subprocess.run(
                [_bin("pg_isready", self.bindir), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                text=True,
            )
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"PostgreSQL did not accept connections on port {self.port} within "
                    f"{timeout:.0f} s; see {self.log_file}"
                )
            time.sleep(0.2)

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                from psycopg import sql

                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run([_bin("pg_ctl", self.bindir), "-D", str(self.pgdata), *args], check=check)

    def _run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        owner = _server_user()
        if owner:
            cmd = ["runuser", "-u", owner.pw_name, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise ClusterError(
                f"{Path(cmd[cmd.index('--') + 1] if '--' in cmd else cmd[0]).name} failed "
                f"(exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
            )
        return result


def _server_user() -> pwd.struct_passwd | None:
    """The user the server runs as: ourselves, or ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER_WHEN_ROOT)
    except KeyError as exc:
        raise ClusterError(
            "Running as root, but there is no 'postgres' user to run PostgreSQL as; "
            "install Debian's postgresql package or run as a normal user."
        ) from exc


def _make_traversable(path: Path) -> None:
    """Let the server user reach ``path``: every parent needs the execute bit for others."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _bin(name: str, bindir: Path | None = None) -> str:
    """Find a PostgreSQL server binary: in ``bindir`` (LAGESBILD_PG_BINDIR), Debian's newest,
    or PATH."""
    dirs = [str(bindir)] if bindir else []
    dirs += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for d in dirs:
        candidate = Path(d) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ClusterError(
        f"PostgreSQL's {name} was not found; install postgresql-15 and postgresql-15-postgis-3 "
        "(./run.sh does) or set LAGESBILD_DATABASE_URL to an existing PostGIS."
    )


def _version_key(path: str) -> float:
    try:
        return float(Path(path).parent.name)
    except ValueError:
        return 0.0
