"""``/admin``: the administrator's resources over HTTP (role ``admin``; docs/access.md).

================================  ======  ====================================================
path                              method  what
================================  ======  ====================================================
``/admin/actors``                 GET     the delivering organisations
``/admin/actors``                 POST    add or rename one: ``{"id", "kind", "name"}``
``/admin/keys``                   GET     API keys (never a secret or its hash)
``/admin/keys``                   POST    a new key: ``{"role", "owner", "actor_id"?,
                                          "expires_at"?}``; the key is in this answer only
``/admin/keys/{id}/revoke``       POST    revoke a key, at once
``/admin/access-log``             GET     the access log, newest first: ``since``, ``until``,
                                          ``principal``, ``role``, ``actor_id``, ``action``,
                                          ``object_type``, ``object_id``, ``limit`` (≤ 1000),
                                          ``offset``
``/admin/areas``                  GET     the versions of the area layer (an import is
                                          ``lagesbild areas import`` on the server: a GIS
                                          layer with options and a report is a command-line
                                          job)
================================  ======  ====================================================

Everything runs as ``lagesbild_admin`` (``restricted_db.connection``); keys and actors
created or changed, and every read of the log, are themselves logged.
"""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, date, datetime, time

from lagesbild_geo.access import keys
from lagesbild_geo.access import log as access_log
from lagesbild_geo.access.identity import ROLES, Identity
from lagesbild_geo.errors import InputError
from lagesbild_geo.server import restricted_db
from lagesbild_geo.server.resources import (
    Response,
    answer,
    document,
    json_body,
    method_not_allowed,
    not_found,
    require,
)
from lagesbild_geo.store import areas as store_areas
from lagesbild_geo.store.catalogue import upsert_actor

PREFIX = "/admin"
_REVOKE = re.compile(r"^/keys/(?P<id>[0-9a-f]{12})/revoke$")


def handle(environ, identity: Identity) -> Response:
    return answer(environ, identity, _route)


def _route(environ, identity: Identity) -> Response:
    require(identity, "admin")
    path = (environ.get("PATH_INFO") or "").removeprefix(PREFIX).rstrip("/") or "/"
    method = environ.get("REQUEST_METHOD", "GET")
    get = method in ("GET", "HEAD")
    if path == "/":
        if not get:
            return method_not_allowed("GET")
        return document(200, _index())
    if path == "/actors":
        if get:
            return _actors(identity)
        return (
            _add_actor(environ, identity) if method == "POST" else method_not_allowed("GET, POST")
        )
    if path == "/keys":
        if get:
            return _keys(identity)
        return _add_key(environ, identity) if method == "POST" else method_not_allowed("GET, POST")
    if match := _REVOKE.match(path):
        return _revoke(identity, match["id"]) if method == "POST" else method_not_allowed("POST")
    if path == "/access-log":
        return _log(environ, identity) if get else method_not_allowed("GET")
    if path == "/areas":
        return _areas(identity) if get else method_not_allowed("GET")
    raise not_found(PREFIX + path)


def _index() -> dict:
    names = ("actors", "keys", "access-log", "areas")
    return {"links": [{"rel": "item", "href": f"{PREFIX}/{n}", "title": n} for n in names]}


def _actors(identity: Identity) -> Response:
    with restricted_db.connection(identity, "admin") as conn:
        rows = conn.execute(
            "SELECT a.id, a.kind, a.name, (SELECT count(*) FROM lagesbild.delivery d"
            " WHERE d.actor_id = a.id) FROM lagesbild.actor a ORDER BY a.id"
        ).fetchall()
    names = ("id", "kind", "name", "deliveries")
    return document(200, {"actors": [dict(zip(names, r, strict=True)) for r in rows]})


def _add_actor(environ, identity: Identity) -> Response:
    doc = json_body(environ, "actor")
    actor_id, kind, name = (_text(doc, field) for field in ("id", "kind", "name"))
    with restricted_db.connection(identity, "admin") as conn:
        upsert_actor(conn, actor_id, kind, name)
        access_log.write(conn, "actor.save", "actor", actor_id, {"kind": kind})
    return document(201, {"id": actor_id, "kind": kind, "name": name},
                    [("Location", f"{PREFIX}/actors")])  # fmt: skip


def _keys(identity: Identity) -> Response:
    with restricted_db.connection(identity, "admin") as conn:
        return document(200, {"keys": keys.list_keys(conn)})


def _add_key(environ, identity: Identity) -> Response:
    doc = json_body(environ, "key")
    role = _text(doc, "role")
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}.")
    actor_id = doc.get("actor_id")
    if actor_id is not None and not isinstance(actor_id, str):
        raise InputError("actor_id must be the actor's id as text.")
    expires_at = _instant(doc.get("expires_at"), "expires_at")
    with restricted_db.connection(identity, "admin") as conn:
        key_id, plain = keys.create(
            conn,
            role=role,
            owner=_text(doc, "owner"),
            actor_id=actor_id,
            expires_at=expires_at,
            created_by=identity.name or identity.principal,
        )
        access_log.write(conn, "key.create", "api_key", key_id, {"role": role,
                          "actor_id": actor_id})  # fmt: skip
    return document(
        201,
        {
            "id": key_id,
            "key": plain,
            "role": role,
            "actor_id": actor_id,
            "expires_at": expires_at,
            "note": "The key is shown only now; only its hash is stored. Send it as X-API-Key.",
        },
        [("Location", f"{PREFIX}/keys")],
    )


def _revoke(identity: Identity, key_id: str) -> Response:
    with restricted_db.connection(identity, "admin") as conn:
        keys.revoke(conn, key_id, identity.name or identity.principal)
        access_log.write(conn, "key.revoke", "api_key", key_id)
    return document(200, {"id": key_id, "revoked": True})


def _log(environ, identity: Identity) -> Response:
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    allowed = {"since", "until", "limit", "offset", *access_log.FILTERS}
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise InputError(
            f"Unknown parameter(s) {', '.join(unknown)}; use {', '.join(sorted(allowed))}."
        )
    with restricted_db.connection(identity, "admin") as conn:
        entries = access_log.read(
            conn,
            since=_instant(query.get("since"), "since"),
            until=_instant(query.get("until"), "until"),
            equal={k: v for k, v in query.items() if k in access_log.FILTERS},
            limit=_integer(query.get("limit", "100"), "limit", 1, access_log.MAX_ROWS),
            offset=_integer(query.get("offset", "0"), "offset", 0, 10**9),
        )
        access_log.write(conn, "access_log.read", "access_log", None, {"rows": len(entries)})
    return document(200, {"entries": entries})


def _areas(identity: Identity) -> Response:
    with restricted_db.connection(identity, "admin") as conn:
        return document(200, {"versions": store_areas.layer_versions(conn)})


def _text(doc: dict, field: str) -> str:
    value = doc.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{field} is required, as non-empty text.")
    return value.strip()


def _integer(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise InputError(f"{name} must be a whole number from {low} to {high}.")
    return int(text)


def _instant(value, name: str) -> datetime | None:
    """An RFC 3339 date-time or a date (its start, in UTC)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be an RFC 3339 date or date-time as text.")
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{name} must be an RFC 3339 date or date-time.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
