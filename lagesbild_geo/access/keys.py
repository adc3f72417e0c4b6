"""API keys: ``lgb_<id>_<secret>``; only SHA-256 of the secret part is stored."""

from __future__ import annotations

import hashlib
import re

import psycopg

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.errors import AuthenticationError

KEY_PATTERN = re.compile(r"lgb_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


def parse(plain: str) -> tuple[str, bytes]:
    """(key id, SHA-256 of the secret) of a key in its one spelling; 401 otherwise."""
    match = KEY_PATTERN.fullmatch(plain)
    if match is None:
        raise AuthenticationError("The API key is not valid (not a Lägesbild key).")
    return match[1], hashlib.sha256(match[2].encode()).digest()


def verify(conn: psycopg.Connection, plain: str) -> Identity:
    """The holder of a live key; 401 for an unknown, revoked or expired one."""
    key_id, digest = parse(plain)
    row = conn.execute(
        "SELECT status, role, actor_id, owner FROM lagesbild.authenticate_key(%s, %s)",
        (key_id, digest),
    ).fetchone()
    if row is None or row[0] != "ok":
        status = row[0] if row else "unknown"
        raise AuthenticationError(f"The API key is not valid ({status}).")
    return Identity(
        principal=f"key:{key_id}",
        roles=frozenset({row[1]}),
        actor_id=row[2],
        via="api-key",
        name=row[3],
    )
