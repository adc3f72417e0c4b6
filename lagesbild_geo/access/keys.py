"""API keys: random credentials of which only a hash is kept.

A key reads ``lgb_<id>_<secret>``: ``id`` is 12 lower-case hex characters (the key's public
name in ``lagesbild keys list`` and the access log), ``secret`` the 43-character URL-safe
base64 of 32 random bytes. ``lagesbild.api_key`` (migration 0020) stores the SHA-256 of the
secret's text; with 256 random bits a plain hash is as strong as a slow one, and checking it
costs one indexed lookup (``lagesbild.authenticate_key``, a SECURITY DEFINER function, so the
server's login role never reads the table).

Exactly one spelling of a key is accepted (:func:`parse`): whitespace, upper case, another
prefix, a wrong length or a non-canonical base64 tail are refused as malformed before any
lookup, so nothing but the key as issued can ever authenticate.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from lagesbild_geo.access.identity import ROLES, Identity
from lagesbild_geo.db.connection import one
from lagesbild_geo.errors import AuthenticationError, ConflictError, InputError, NotFoundError

PREFIX = "lgb_"
#: The whole key, one spelling only (``\Z``: not even a trailing newline).
_KEY = re.compile(r"lgb_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})\Z")
_KEY_ID = re.compile(r"[0-9a-f]{12}\Z")
SECRET_BYTES = 32
#: Tries at a fresh id before giving up; 48 random bits make a second try all but unheard of.
_ID_TRIES = 3
#: ``90d``, ``12h``, ``2w``: a lifetime from now.
_DURATION = re.compile(r"(?P<n>[1-9][0-9]{0,4})(?P<unit>[hdw])\Z")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
#: An expiry given as a date ends the key at the start of that day, the municipality's time.
LOCAL_TIME = ZoneInfo("Europe/Stockholm")

_INVALID = "The API key is not valid"


def parse(plain: str) -> tuple[str, bytes]:
    """The id and the SHA-256 of the secret of a key as issued; any other text is refused.

    The message never repeats what was sent (a key pasted into the wrong header is still a
    secret).

    >>> key_id, digest = parse("lgb_0123456789ab_" + "A" * 42 + "E")
    >>> key_id, len(digest)
    ('0123456789ab', 32)
    >>> try:
    ...     parse(" lgb_0123456789ab_" + "A" * 42 + "E")
    ... except AuthenticationError as exc:
    ...     print(str(exc)[:25])
    The API key is malformed:
    """
    match = _KEY.match(plain) if isinstance(plain, str) else None
    if match is None or not _canonical(match["secret"]):
        raise AuthenticationError(
            "The API key is malformed: a key reads lgb_<12 lower-case hex>_<43 characters>, "
            "exactly as it was issued"
        )
    return match["id"], _digest(match["secret"])


def _canonical(secret: str) -> bool:
    """Whether ``secret`` is the one base64 spelling of 32 bytes (its last character carries
    two unused bits; only the spelling with them zero is the key that was issued)."""
    try:
        raw = base64.urlsafe_b64decode(secret + "=")
    except (binascii.Error, ValueError):
        return False
    return len(raw) == SECRET_BYTES and _encode(raw) == secret


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def create(
    conn: psycopg.Connection,
    *,
    role: str,
    owner: str,
    actor_id: str | None = None,
    expires_at: datetime | None = None,
    created_by: str,
) -> tuple[str, str]:
    """A new key: ``(key_id, plain_key)``. The plain key exists only in the return value.

    An actor's key speaks for one registered actor; a municipality role's key for none.
    """
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; a key carries one of {', '.join(ROLES)}")
    if not owner.strip():
        raise InputError("A key needs an owner: the person or system that will hold it")
    if (role == "actor") != (actor_id is not None):
        raise InputError(
            "An actor key names its actor (--actor); a key of the municipality's roles "
            f"({', '.join(r for r in ROLES if r != 'actor')}) names none"
        )
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InputError(f"The expiry {expires_at.isoformat()} is already past")
    with conn.transaction():
        if actor_id is not None:
            _require_actor(conn, actor_id)
        for _ in range(_ID_TRIES):
            key_id = secrets.token_hex(6)
            secret = _encode(secrets.token_bytes(SECRET_BYTES))
            inserted = conn.execute(
                "INSERT INTO lagesbild.api_key"
                " (id, secret_sha256, owner, role, actor_id, expires_at, created_by)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
                (key_id, _digest(secret), owner.strip(), role, actor_id, expires_at, created_by),
            ).fetchone()
            if inserted:
                return key_id, f"{PREFIX}{key_id}_{secret}"
    raise ConflictError(f"No free key id after {_ID_TRIES} tries; run the command again")


def _require_actor(conn: psycopg.Connection, actor_id: str) -> None:
    known = [r[0] for r in conn.execute("SELECT id FROM lagesbild.actor ORDER BY id")]
    if actor_id not in known:
        raise NotFoundError(
            f"No actor {actor_id!r}; registered actors: {', '.join(known) or 'none'} "
            "('lagesbild actors add' registers one)"
        )


def list_keys(conn: psycopg.Connection) -> list[dict]:
    """Every key with its holder and state, newest first; never a secret or its hash."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT id, owner, role, actor_id, created_at, created_by, expires_at, revoked_at,"
            " revoked_by, last_used_at,"
            " CASE WHEN revoked_at IS NOT NULL THEN 'revoked'"
            "      WHEN expires_at IS NOT NULL AND expires_at <= now() THEN 'expired'"
            "      ELSE 'active' END AS status"
            " FROM lagesbild.api_key ORDER BY created_at DESC, id"
        )
        .fetchall()
    )


def revoke(conn: psycopg.Connection, key_id: str, by: str) -> dict:
    """Revoke a key at once (the next request with it is a 401); the row is kept for the log.

    Returns the revoked key as :func:`list_keys` shows it.
    """
    if not _KEY_ID.match(key_id):
        raise InputError(
            "Not a key id: 12 lower-case hex characters, as 'lagesbild keys list' shows "
            "(never the whole key)"
        )
    with conn.transaction():
        row = conn.execute(
            "SELECT revoked_at, revoked_by FROM lagesbild.api_key WHERE id = %s FOR UPDATE",
            (key_id,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"No API key {key_id}; 'lagesbild keys list' shows the keys")
        if row[0] is not None:
            raise ConflictError(f"API key {key_id} was already revoked at {row[0]} by {row[1]}")
        conn.execute(
            "UPDATE lagesbild.api_key SET revoked_at = now(), revoked_by = %s WHERE id = %s",
            (by, key_id),
        )
    return next(k for k in list_keys(conn) if k["id"] == key_id)


def verify(conn: psycopg.Connection, plain: str) -> Identity:
    """The caller a presented key stands for, or :class:`AuthenticationError`.

    ``conn`` may be the server's login role: it needs only EXECUTE on
    ``lagesbild.authenticate_key``. The check runs in a transaction of its own (a savepoint
    inside an open one; on a connection in autocommit, as the server's, the one statement),
    which also records the key's last use (at most once a minute).
    """
    key_id, digest = parse(plain)
    with contextlib.nullcontext() if conn.autocommit else conn.transaction():
        status, role, actor_id, owner = one(
            conn,
            "SELECT status, role, actor_id, owner FROM lagesbild.authenticate_key(%s, %s)",
            (key_id, digest),
        )
    if status != "ok":
        reason = {"revoked": "it has been revoked", "expired": "it has expired"}.get(
            status, "no such key"
        )
        raise AuthenticationError(f"{_INVALID}: {reason}")
    return Identity(
        principal=f"key:{key_id}",
        roles=frozenset({role}),
        actor_id=actor_id,
        via="api-key",
        name=owner,
    )


def expiry(text: str, now: datetime | None = None) -> datetime:
    """When a key given ``--expires TEXT`` stops working: a lifetime (``90d``, ``12h``,
    ``2w``) from ``now``, or a date (the start of that day in Swedish time) or an ISO time.

    >>> start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    >>> expiry("90d", start).isoformat()
    '2026-05-30T12:00:00+00:00'
    >>> expiry("2027-01-01").isoformat()
    '2027-01-01T00:00:00+01:00'
    """
    now = now or datetime.now(UTC)
    text = text.strip()
    if duration := _DURATION.match(text):
        return now + int(duration["n"]) * _UNITS[duration["unit"]]
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TIME)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--expires {text!r}: give a lifetime (90d, 12h, 2w) or a date (2027-01-01)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TIME)
