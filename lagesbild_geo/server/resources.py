"""What the service's own JSON resources share (``/deliveries``, ``/admin``): reading a JSON
body, answering a document or an error, and the role a path needs.

Each resource module has ``handle(environ, identity) -> (status, headers, body)`` (the
middleware routes to it, :data:`lagesbild_geo.server.middleware.ROUTES`) and answers every
project error with its status from the error table: never a traceback, never a 500 for the
caller's input.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.errors import (
    AuthenticationError,
    ForbiddenError,
    InputError,
    LagesbildError,
    NotFoundError,
)
from lagesbild_geo.server import checks
from lagesbild_geo.server.errors import wsgi_error

LOGGER = logging.getLogger(__name__)

Response = tuple[str, list[tuple[str, str]], list[bytes]]


def document(status: int, doc, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON document as the response (UTF-8, dates as ISO text)."""
    body = json.dumps(doc, ensure_ascii=False, default=_jsonable).encode()
    return (
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))]
        + (headers or []),
        [body],
    )


def _jsonable(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def answer(environ, identity: Identity, route: Callable[..., Response]) -> Response:
    """``route(environ, identity)``, with every project error as its response."""
    try:
        return route(environ, identity)
    except LagesbildError as exc:
        return wsgi_error(exc)
    except Exception:  # the last resort: logged with its traceback, answered without it
        LOGGER.exception("Unexpected error answering %s", environ.get("PATH_INFO"))
        return wsgi_error(LagesbildError("The request failed; the error is logged."))


def require(identity: Identity, role: str) -> None:
    """401 for the public (credentials needed), 403 for a caller without ``role``."""
    if identity.is_public:
        raise AuthenticationError(f"This resource needs credentials with the role {role}.")
    if not identity.has(role):
        raise ForbiddenError(f"This resource needs the role {role}.")


def json_body(environ, what: str) -> dict:
    """The request's JSON object (at most ``checks.MAX_BODY_BYTES``; 413 above)."""
    if not (environ.get("CONTENT_TYPE") or "").startswith("application/json"):
        raise InputError(f"Send the {what} as JSON (Content-Type: application/json).")
    doc = checks.parse_json_body(checks.read_body(environ), what)
    if not isinstance(doc, dict):
        raise InputError(f"The {what} must be a JSON object.")
    return doc


def method_not_allowed(allowed: str) -> Response:
    status, headers, body = wsgi_error(
        InputError(f"Method not allowed here; use {allowed}.")  # the body says which
    )
    return "405 Method Not Allowed", [*headers, ("Allow", allowed)], body


def not_found(path: str) -> NotFoundError:
    return NotFoundError(f"No resource at {path}.")
