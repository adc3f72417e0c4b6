"""The reviewer's page at ``/granskning``: static files, and who the page is logged in as.

The page is plain HTML, one script and one style sheet (``granskning/``), served by the
service itself so that it works on a closed municipal network and under a strict
``Content-Security-Policy``. It holds no data: the script reads and decides deliveries through
the JSON API at ``/deliveries`` (``server/deliveries_api.py``) with the reviewer's API key in
``X-API-Key``, where the API (and PostgreSQL's row-level security) decide what the key may
see. The key is kept in the tab's ``sessionStorage``, never in a cookie: nothing is sent by
the browser on its own, so no other site can make the reviewer's browser approve anything
(no CSRF), and the middleware needs no second kind of credential.

One path answers with data of the caller: ``GET /granskning/identity`` says whether the key
sent is a reviewer's (403 otherwise, 401 without a key). ``GET /deliveries`` answers an actor
with its own deliveries and an analyst with all of them, so the list alone cannot tell the
page that a key is the wrong one; this can, before any delivery is fetched.

The static files are public: the page itself reveals nothing.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.errors import (
    AuthenticationError,
    ForbiddenError,
    LagesbildError,
    MethodNotAllowedError,
    NotFoundError,
)
from lagesbild_geo.server.errors import wsgi_error

PREFIX = "/granskning"
#: File under ``granskning/`` -> its Content-Type; the page's own files, nothing else.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "granskning.js": "text/javascript; charset=utf-8",
    "granskning.css": "text/css; charset=utf-8",
}
#: Every answer of this module carries these. ``default-src 'self'``: scripts, styles,
#: images and fetches only from the service (no inline script or style either);
#: ``form-action 'none'``: should the script not run, the login form cannot be submitted
#: (the key would otherwise travel in a URL); no framing (clickjacking of the decision
#: buttons); the key-bearing page's address is not sent anywhere.
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
        "object-src 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
]
#: The files change with a deployment: revalidate each time (cheap with the ETag).
STATIC_CACHE = "no-cache"


def handle(environ, identity: Identity) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Answer a request to ``/granskning`` or below (the middleware routes them here, after
    authenticating: ``identity`` is the caller, the public when no key was sent)."""
    path = environ.get("PATH_INFO") or "/"
    method = environ.get("REQUEST_METHOD", "GET")
    try:
        status, headers, body = _answer(path, method, environ, identity)
    except LagesbildError as exc:
        status, headers, body = wsgi_error(exc)
        headers = [*headers, ("Cache-Control", "no-store")]
    if method == "HEAD":
        body = [b""]
    return status, headers + SECURITY_HEADERS, body


def _answer(path: str, method: str, environ, identity: Identity):
    name = path.removeprefix(PREFIX)
    if name not in ("", "/identity") and name.removeprefix("/") not in ("", *FILES):
        raise NotFoundError(
            f"{path} is not part of the review page; it is at {PREFIX}/ "
            f"(granskningssidan finns på {PREFIX}/)."
        )
    if method not in ("GET", "HEAD"):
        raise MethodNotAllowedError(
            f"{path} answers GET only; decisions go to /deliveries.", "GET, HEAD"
        )
    if name == "":
        # The page's links are relative (so that it works behind a proxy's path prefix too):
        # they need the trailing slash.
        redirect = [("Location", "granskning/"), ("Content-Length", "0")]
        return "308 Permanent Redirect", redirect, [b""]
    if name == "/identity":
        return _identity(identity)
    file = name.removeprefix("/") or "index.html"
    content, etag = _file(file)
    headers = [("ETag", etag), ("Cache-Control", STATIC_CACHE)]
    if etag in {t.strip() for t in environ.get("HTTP_IF_NONE_MATCH", "").split(",")}:
        return "304 Not Modified", headers, [b""]
    return (
        "200 OK",
        [("Content-Type", FILES[file]), ("Content-Length", str(len(content))), *headers],
        [content],
    )


def _identity(identity: Identity):
    """Who the page is logged in as: a reviewer, or a clear no before any data is read."""
    if identity.is_public:
        raise AuthenticationError(
            "Logga in med en granskares API-nyckel / log in with a reviewer's API key."
        )
    if not identity.has("reviewer"):
        raise ForbiddenError("Nyckeln tillhör inte en granskare / the key is not a reviewer's.")
    body = json.dumps(
        {
            "principal": identity.principal,
            "name": identity.name or identity.principal,
            "roles": sorted(identity.roles),
            "actor_kinds": _actor_kinds(),
        },
        ensure_ascii=False,
    ).encode()
    return (
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
        [body],
    )


@cache
def _file(name: str) -> tuple[bytes, str]:
    """The file's bytes and a strong ETag of them (read once per worker)."""
    content = resources.files("lagesbild_geo.server").joinpath("granskning", name).read_bytes()
    return content, f'"{hashlib.blake2b(content, digest_size=8).hexdigest()}"'


@cache
def _actor_kinds() -> dict[str, dict[str, str]]:
    """The catalogue's actor kinds in both languages: the API gives only the kind's id."""
    return {
        kind_id: {"sv": kind.name_sv, "en": kind.name_en}
        for kind_id, kind in load_catalogue().actor_kinds.items()
    }
