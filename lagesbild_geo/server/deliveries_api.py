"""``/deliveries`` and ``/review``: an actor delivers over HTTP, the municipality reviews.

The same pipeline and the same decisions as the command line (``cli/deliveries.py``):
``ingest.pipeline.ingest_file`` for a posted file, ``publish.review.change_status`` for a
withdrawal, an approval or a rejection. What differs is who does it: every database access
runs as the caller (``restricted_db.connection``: ``SET LOCAL ROLE`` and the caller in the
transaction's settings), so the row-level security of migration 0020 decides what exists. An
actor's id never comes from the request: it is the credential's. Another actor's delivery is
invisible to an actor's transaction, so asking for it -- reading, withdrawing, correcting --
answers the same 404 as an id that was never used. A decision is taken as
``lagesbild_reviewer``, and the publication's rebuild it causes as ``lagesbild_publisher``, in
the decision's transaction. Each request that reads or changes a delivery writes the access log
in the same transaction.

Every error is the error table's (``lagesbild_geo.errors``) as JSON; a refused delivery adds
its ``problems`` (file, row, column, reason -- never a cell's value). The REST shape is in
docs/access.md and the OpenAPI document (``server/openapi_extra.py``).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from lagesbild_geo.access import log as access_log
from lagesbild_geo.access.identity import DB_ROLES, Identity
from lagesbild_geo.errors import (
    AuthenticationError,
    DeliveryRefusedError,
    ForbiddenError,
    InputError,
    LagesbildError,
    MethodNotAllowedError,
    NotFoundError,
    error_response,
    log_error,
)
from lagesbild_geo.server import restricted_db, uploads
from lagesbild_geo.server.delivery_documents import MAX_ID, deliveries
from lagesbild_geo.server.resources import document
from lagesbild_geo.settings import Settings

LOGGER = logging.getLogger(__name__)

Response = tuple[str, list[tuple[str, str]], list[bytes]]

STATUSES = ("pending", "approved", "rejected", "withdrawn", "replaced")
#: A decision on one delivery: the role that takes it, and the access log's action.
ACTIONS = {
    "withdraw": ("actor", "delivery.withdraw"),
    "approve": ("reviewer", "delivery.approve"),
    "reject": ("reviewer", "delivery.reject"),
}
#: The municipality's roles that read every delivery, in the order one is chosen.
READERS = ("reviewer", "analyst", "admin")
#: Largest JSON body of a decision (a rejection's reason).
MAX_DECISION_BYTES = 16 * 1024
MAX_REASON = 2000
_PATH = re.compile(r"^/(?:deliveries(?:/(?P<id>[^/]+)(?:/(?P<action>[^/]+))?)?|review/pending)/?$")


@functools.cache
def _settings() -> Settings:
    """The settings of this process, read once (at the first request, not at import)."""
    return Settings()


def handle(environ, identity: Identity, settings: Settings | None = None) -> Response:
    """Answer a request below ``/deliveries`` or ``/review`` for ``identity``."""
    try:
        return _route(environ, identity, settings or _settings())
    except DeliveryRefusedError as exc:
        log_error(LOGGER, exc)
        return _error(exc, problems=exc.problems)
    except LagesbildError as exc:
        log_error(LOGGER, exc)
        return _error(exc)
    except Exception:  # the last resort: logged with its traceback, never sent
        LOGGER.exception("Unexpected error answering %s", environ.get("PATH_INFO"))
        body = {
            "code": "NoApplicableCode",
            "type": "NoApplicableCode",
            "description": "Internt fel / internal error; it was logged.",
        }
        return _json(500, body)


def _route(environ, identity: Identity, settings: Settings) -> Response:
    path = environ.get("PATH_INFO") or "/"
    method = environ.get("REQUEST_METHOD", "GET").upper()
    match = _PATH.match(path)
    if match is None:
        raise NotFoundError(f"No resource {path!r}; see /openapi for /deliveries")
    raw_id, action = match["id"], match["action"]
    allowed = ("GET", "POST") if raw_id is None and path.startswith("/deliveries") else ("GET",)
    if action is not None:
        if action not in ACTIONS:
            raise NotFoundError(f"No action {action!r}; use withdraw, approve or reject")
        allowed = ("POST",)
    if method == "HEAD" and "GET" in allowed:
        method = "GET"
    if method not in allowed:
        return _method_not_allowed(method, allowed)
    if identity.is_public:
        raise AuthenticationError(
            "Deliveries need a credential: an API key (X-API-Key) or a bearer token"
        )
    query = _query(environ)
    if path.startswith("/review"):
        return _list(identity, {**query, "status": "pending"}, reviewer_only=True)
    if raw_id is None:
        if method == "POST":
            return _create(environ, identity, settings)
        return _list(identity, query)
    delivery_id = _delivery_id(raw_id)
    if action is None:
        return _read(identity, delivery_id)
    return _decide(environ, identity, delivery_id, action, settings)


# -- reading -----------------------------------------------------------------------------------


def _reading_role(identity: Identity) -> str:
    """The role a caller reads deliveries in: the municipality's first, then the actor's."""
    for role in (*READERS, "actor"):
        if identity.has(role) and (role != "actor" or identity.actor_id):
            return role
    raise ForbiddenError("Your credential carries no role that reads deliveries")


def _list(identity: Identity, query: dict[str, str], reviewer_only: bool = False) -> Response:
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise InputError(f"Parameter status must be one of {', '.join(STATUSES)}")
    if reviewer_only and not identity.has("reviewer"):
        raise ForbiddenError("Only a reviewer sees what waits for review")
    role = "reviewer" if reviewer_only else _reading_role(identity)
    with restricted_db.connection(identity, role) as conn:
        docs = deliveries(conn, role, status=status, details=False)
        access_log.write(conn, "delivery.read", "delivery", None, {"list": True, "status": status})
    return _json(200, {"deliveries": docs})


def _read(identity: Identity, delivery_id: int) -> Response:
    role = _reading_role(identity)
    with restricted_db.connection(identity, role) as conn:
        doc = _one(conn, role, delivery_id)
        access_log.write(conn, "delivery.read", "delivery", delivery_id, {})
    return _json(200, doc)


def _one(conn, role: str, delivery_id: int) -> dict[str, Any]:
    found = deliveries(conn, role, delivery_id=delivery_id)
    if not found:
        raise _missing(delivery_id)
    return found[0]


def _missing(delivery_id: int) -> NotFoundError:
    """The one answer for an id that does not exist and for one the caller may not see."""
    return NotFoundError(f"Delivery {delivery_id} does not exist")


# -- delivering --------------------------------------------------------------------------------


def _create(environ, identity: Identity, settings: Settings) -> Response:
    from lagesbild_geo.ingest.pipeline import ingest_file  # numpy, pandas: loaded on first use

    if not identity.has("actor") or not identity.actor_id:
        raise ForbiddenError("Only an actor delivers; your credential is not an actor's")
    limit = settings.max_delivery_bytes
    uploads.declared_length(environ, limit)  # a 413 before anything is read or connected
    with tempfile.TemporaryDirectory(prefix="lagesbild-delivery-") as folder:
        upload = uploads.receive(environ, limit, Path(folder))
        options = _delivery_options(upload.options)
        with restricted_db.connection(identity, "actor") as conn:
            result = ingest_file(
                conn,
                upload.path,
                actor_id=identity.actor_id,  # the credential's, never the request's
                crs=options["crs"],
                sheet=options["sheet"],
                replaces=options["replaces"],
                allow_unplaced=options["allow_unplaced"],
                limits=settings.delivery_limits(),
            )
            doc = _one(conn, "actor", result.delivery_id)
            access_log.write(
                conn,
                "delivery.create",
                "delivery",
                result.delivery_id,
                {
                    "already_delivered": result.already_delivered,
                    "replaces": options["replaces"],
                    "rows": result.rows,
                },
            )
    doc["already_delivered"] = result.already_delivered
    if result.already_delivered:
        return _json(200, doc)
    doc["double_reports_flagged"] = result.double_reports
    doc["unplaced_rows"] = len(result.unplaced_rows)
    doc["overlaps"] = result.overlaps
    return _json(201, doc, [("Location", f"/deliveries/{result.delivery_id}")])


def _delivery_options(options: dict[str, str]) -> dict[str, Any]:
    given = options.get("replaces") or None
    replaces = None if given is None else _delivery_id(given, "Parameter replaces")
    flag = (options.get("allow_unplaced") or "false").strip().lower()
    if flag not in ("true", "false", "1", "0", "yes", "no"):
        raise InputError("Parameter allow_unplaced must be true or false")
    return {
        "replaces": replaces,
        "sheet": options.get("sheet") or None,
        "crs": options.get("crs") or None,
        "allow_unplaced": flag in ("true", "1", "yes"),
    }


# -- deciding ----------------------------------------------------------------------------------


def _decide(environ, identity: Identity, delivery_id: int, action: str, settings) -> Response:
    from lagesbild_geo.publish.review import change_status

    role, log_action = ACTIONS[action]
    if not identity.has(role) or (role == "actor" and not identity.actor_id):
        who = "the delivering actor" if role == "actor" else "a reviewer"
        raise ForbiddenError(f"Only {who} may {action} a delivery")
    reason = _reason(environ) if action == "reject" else None
    by_whom = identity.name or identity.principal

    def as_publisher(conn) -> None:
        conn.execute("SET LOCAL ROLE lagesbild_publisher")

    with restricted_db.connection(identity, role) as conn:
        if not deliveries(conn, role, delivery_id=delivery_id, details=False):
            raise _missing(delivery_id)  # before any rule that could tell it exists
        status = change_status(
            conn,
            delivery_id,
            action,
            by_whom=by_whom,
            reason=reason,
            actor_id=identity.actor_id if role == "actor" else None,
            k=settings.k,
            before_refresh=as_publisher,
        )
        conn.execute(f"SET LOCAL ROLE {DB_ROLES[role]}")  # back from the rebuild, if any
        doc = _one(conn, role, delivery_id)
        access_log.write(
            conn, log_action, "delivery", delivery_id, {"status": status, "reason": reason}
        )
    return _json(200, doc)


def _reason(environ) -> str:
    """The rejection's ``{"reason": "..."}``: required, text, at most :data:`MAX_REASON`."""
    length = uploads.declared_length(environ, MAX_DECISION_BYTES)
    raw = environ["wsgi.input"].read(MAX_DECISION_BYTES + 1 if length is None else length)
    if len(raw) > MAX_DECISION_BYTES:
        raise uploads.too_large(MAX_DECISION_BYTES)
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError('The body must be JSON: {"reason": "..."}') from exc
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        raise InputError('A rejection needs a reason the actor can act on: {"reason": "..."}')
    if len(reason) > MAX_REASON:
        raise InputError(f"The reason is longer than {MAX_REASON} characters")
    return reason.strip()


# -- HTTP --------------------------------------------------------------------------------------


def _delivery_id(text: str, what: str = "The delivery id") -> int:
    """A delivery id of the path or a parameter: a whole number (400 otherwise); one beyond
    bigint names no delivery (404, like any id that does not exist)."""
    if not text.isascii() or not text.isdigit():
        raise InputError(f"{what} must be a whole number")
    value = int(text)
    if value > MAX_ID:
        raise _missing(value)
    return value


def _query(environ) -> dict[str, str]:
    return dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))


def _method_not_allowed(method: str, allowed: tuple[str, ...]) -> Response:
    return _error(
        MethodNotAllowedError(
            f"{method} is not allowed here; use {' or '.join(allowed)}", ", ".join(allowed)
        )
    )


def _error(exc: LagesbildError, problems=None) -> Response:
    response = error_response(exc)
    body: dict[str, Any] = {
        "code": response.code,
        "type": response.code,
        "description": response.description,
    }
    if problems is not None:
        body["problems"] = [
            {"file": p.file, "row": p.row, "column": p.column, "reason": p.reason} for p in problems
        ]
    return _json(response.status, body, list(response.headers))


_json = document
