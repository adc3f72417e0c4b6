"""``/styles/<file>``: the SLD and QML files the collections link (``rel="stylesheet"``).

The bytes are :func:`lagesbild_geo.styles.files.generate`'s, made once per worker from the
code and the catalogue: the same bytes as the repository's committed ``sld/`` (a test holds
the two equal), and no file-system path is built from the request. A name is answered only
when it is one of the generated files, compared as the whole string, so ``..``, its
percent-encoded forms (the WSGI server decodes ``%2e%2e`` to ``..`` before this sees it) and
absolute paths are a 404 like any other unknown name. The files are public (they describe
classes, not data) and change with a deployment: a strong ``ETag`` of the bytes, revalidated
every time (``Cache-Control: no-cache``), ``304`` for a matching ``If-None-Match``.
"""

from __future__ import annotations

import hashlib
from functools import cache

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.errors import LagesbildError, MethodNotAllowedError, NotFoundError
from lagesbild_geo.server.errors import wsgi_error
from lagesbild_geo.styles import files

PREFIX = files.PREFIX
STATIC_CACHE = "no-cache"


def handle(environ, identity: Identity):
    """Answer a request to ``/styles`` or below (routed by the middleware; public: the caller
    is not consulted)."""
    path = environ.get("PATH_INFO") or "/"
    method = environ.get("REQUEST_METHOD", "GET")
    try:
        status, headers, body = _answer(path, method, environ)
    except LagesbildError as exc:
        status, headers, body = wsgi_error(exc)
        headers = [*headers, ("Cache-Control", "no-store")]
    if method == "HEAD":
        body = [b""]
    return status, [*headers, ("X-Content-Type-Options", "nosniff")], body


def _answer(path: str, method: str, environ):
    name = path.removeprefix(PREFIX + "/") if path.startswith(PREFIX + "/") else ""
    found = _files().get(name)
    if found is None:
        raise NotFoundError(
            f"{path} is not a style file. The styles are e.g. {PREFIX}/hotspots.sld and "
            f"{PREFIX}/hotspots.qml; each collection links its own (rel=stylesheet). "
            f"(Ingen sådan stilfil; varje lager länkar sina stilar.)"
        )
    if method not in ("GET", "HEAD"):
        raise MethodNotAllowedError(f"{path} answers GET only.", "GET, HEAD")
    content, etag, media_type = found
    headers = [("ETag", etag), ("Cache-Control", STATIC_CACHE)]
    if etag in {t.strip().removeprefix("W/") for t in
                environ.get("HTTP_IF_NONE_MATCH", "").split(",")}:  # fmt: skip
        return "304 Not Modified", headers, [b""]
    filename = name.rpartition("/")[2]
    return (
        "200 OK",
        [
            ("Content-Type", media_type),
            ("Content-Length", str(len(content))),
            # a browser saves the file under its own name rather than showing XML
            ("Content-Disposition", f'inline; filename="{filename}"'),
            *headers,
        ],
        [content],
    )


@cache
def _files() -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, strong ETag, media type), made once per worker."""
    return {
        name: (
            content,
            f'"{hashlib.blake2b(content, digest_size=8).hexdigest()}"',
            files.media_type(name),
        )  # fmt: skip
        for name, content in files.generate().items()
    }
