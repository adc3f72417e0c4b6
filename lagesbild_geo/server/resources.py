"""What the service's own JSON resources share (``/deliveries``, ``/admin``): reading a JSON
body, answering a document or an error, and the role a path needs.

Each resource module has ``handle(environ, identity) -> (status, headers, body)`` (the
middleware routes to it, :data:`lagesbild_geo.server.middleware.ROUTES`) and answers every
project error with its status from the error table: never a traceback, never a 500 for the
caller's input.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
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
    MethodNotAllowedError,
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


def answer(environ, identity: Identity | None, route: Callable[..., Response]) -> Response:
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
    return wsgi_error(MethodNotAllowedError(f"Method not allowed here; use {allowed}.", allowed))


def not_found(path: str) -> NotFoundError:
    return NotFoundError(f"No resource at {path}.")


# -- the service's own pages and files (/granskning, /karta, /qgis) -----------------------------


def page(environ, route: Callable[..., Response], security: list[tuple[str, str]]) -> Response:
    """``route(environ)`` of a page, with ``security`` headers on every answer, errors as
    their JSON response (never stored: ``no-store``) and no body for ``HEAD``."""
    status, headers, body = answer(environ, None, lambda env, _: route(env))
    if not status.startswith(("2", "3")):
        headers = [*headers, ("Cache-Control", "no-store")]
    if environ.get("REQUEST_METHOD", "GET") == "HEAD":
        body = [b""]
    return status, headers + security, body


def only_get(environ, why: str = "") -> None:
    """405 for anything but GET and HEAD (``why``: where the other methods go)."""
    if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
        path = environ.get("PATH_INFO") or "/"
        raise MethodNotAllowedError(f"{path} answers GET only{why}.", "GET, HEAD")


def to_trailing_slash(environ, folder: str) -> Response:
    """308 to ``folder/`` (relative, so that a proxy's path prefix is kept), with the query:
    a page's relative links need the trailing slash."""
    query = environ.get("QUERY_STRING", "")
    location = f"{folder}/" + (f"?{query}" if query else "")
    return "308 Permanent Redirect", [("Location", location), ("Content-Length", "0")], [b""]


def etag(content: bytes) -> str:
    """A strong validator of ``content``."""
    return f'"{hashlib.blake2b(content, digest_size=8).hexdigest()}"'


def conditional(
    environ,
    content: bytes,
    content_type: str,
    *,
    cache_control: str = "no-cache",
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """200 with ``content`` and its ETag, or 304 when the client's ``If-None-Match`` names
    it. ``no-cache``: the client revalidates each time, cheap with the ETag."""
    tag = etag(content)
    validators = [("ETag", tag), ("Cache-Control", cache_control)]
    # If-None-Match compares weakly (RFC 9110 13.1.2): a proxy may have weakened the tag
    named = {t.strip().removeprefix("W/") for t in environ.get("HTTP_IF_NONE_MATCH", "").split(",")}
    if tag in named or "*" in named:
        return "304 Not Modified", validators, [b""]
    return (
        "200 OK",
        [("Content-Type", content_type), ("Content-Length", str(len(content))), *validators,
         *(headers or [])],
        [content],
    )  # fmt: skip


@functools.cache
def package_file(folder: str, name: str) -> bytes:
    """A file of the package folder ``lagesbild_geo/server/<folder>/`` (read once per worker;
    callers check ``name`` against their own list first)."""
    return importlib.resources.files("lagesbild_geo.server").joinpath(folder, name).read_bytes()
