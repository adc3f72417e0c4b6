"""The audiences for the HTTP tests: API keys for every role, and a server that has them.

``serving_with_audiences`` runs ``lagesbild serve`` on the history of ``tests/publish_data.py``
(actors ``polisen`` = actor A, ``vaktbolaget`` = actor B, among others) with one key per
role, an expired and a revoked key, all made the way ``lagesbild keys create`` stores them
(only the hash of the secret).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from tests.servers import serving_test_history

#: Actor A and actor B of the tests (tests/publish_data.py delivers for both).
ACTOR_A = "polisen"
ACTOR_B = "vaktbolaget"


def make_key(
    conn: psycopg.Connection,
    role: str,
    actor_id: str | None = None,
    owner: str = "test",
    expires_at: datetime | None = None,
    revoked: bool = False,
) -> str:
    """A new API key (``lgb_<id>_<secret>``), stored as ``lagesbild.api_key`` stores keys."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO lagesbild.api_key (id, secret_sha256, owner, role, actor_id, created_by,"
        " expires_at, revoked_at, revoked_by)"
        " VALUES (%s, %s, %s, %s, %s, 'tests', %s, CASE WHEN %s THEN now() END,"
        " CASE WHEN %s THEN 'tests' END)",
        (
            key_id,
            hashlib.sha256(secret.encode()).digest(),
            owner,
            role,
            actor_id,
            expires_at,
            revoked,
            revoked,
        ),
    )
    return f"lgb_{key_id}_{secret}"


def audience_keys(conn: psycopg.Connection) -> dict[str, str]:
    """One key per audience of the matrix tests (committed on ``conn``)."""
    past = datetime.now(UTC) - timedelta(days=1)
    keys = {
        "actor_a": make_key(conn, "actor", ACTOR_A, owner="Polisen, test"),
        "actor_b": make_key(conn, "actor", ACTOR_B, owner="Vaktbolaget, test"),
        "reviewer": make_key(conn, "reviewer", owner="Granskare, test"),
        "analyst": make_key(conn, "analyst", owner="Analytiker, test"),
        "admin": make_key(conn, "admin", owner="Admin, test"),
        "expired": make_key(conn, "analyst", owner="Utgången", expires_at=past),
        "revoked": make_key(conn, "analyst", owner="Återkallad", revoked=True),
    }
    conn.commit()
    return keys


@contextmanager
def serving_with_audiences(
    pg_server, name: str, data_dir: Path, *, password: str, k: int = 5, **extra_env: str
) -> Iterator[dict]:
    """The test history served with every audience's key: yields the server's dict with
    ``keys`` (audience -> key) and ``actors`` (``actor_a``/``actor_b`` -> actor id);
    ``extra_env``: more settings of the server (``LAGESBILD_OIDC_ISSUER=...``)."""
    with serving_test_history(
        pg_server, name, data_dir, k=k, password=password, **extra_env
    ) as srv:
        with psycopg.connect(srv["db"]) as conn:
            keys = audience_keys(conn)
        yield {**srv, "keys": keys, "actors": {"actor_a": ACTOR_A, "actor_b": ACTOR_B}}
