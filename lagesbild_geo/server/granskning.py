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

import json
from functools import cache

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.errors import (
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
)
from lagesbild_geo.server import resources

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


def handle(environ, identity: Identity) -> resources.Response:
    """Answer a request to ``/granskning`` or below (the middleware routes them here, after
    authenticating: ``identity`` is the caller, the public when no key was sent)."""
    return resources.page(environ, lambda env: _answer(env, identity), SECURITY_HEADERS)


def _answer(environ, identity: Identity) -> resources.Response:
    path = environ.get("PATH_INFO") or "/"
    name = path.removeprefix(PREFIX)
    if name not in ("", "/identity") and name.removeprefix("/") not in ("", *FILES):
        raise NotFoundError(
            f"{path} is not part of the review page; it is at {PREFIX}/ "
            f"(granskningssidan finns på {PREFIX}/)."
        )
    resources.only_get(environ, "; decisions go to /deliveries")
    if name == "":
        return resources.to_trailing_slash(environ, "granskning")
    if name == "/identity":
        return _identity(identity)
    file = name.removeprefix("/") or "index.html"
    return resources.conditional(environ, resources.package_file("granskning", file), FILES[file])


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
def _actor_kinds() -> dict[str, dict[str, str]]:
    """The catalogue's actor kinds in both languages: the API gives only the kind's id."""
    return {
        kind_id: {"sv": kind.name_sv, "en": kind.name_en}
        for kind_id, kind in load_catalogue().actor_kinds.items()
    }
