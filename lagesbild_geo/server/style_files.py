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

from functools import cache

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.errors import NotFoundError
from lagesbild_geo.server import resources
from lagesbild_geo.styles import files

PREFIX = files.PREFIX
SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff")]


def handle(environ, identity: Identity) -> resources.Response:
    """Answer a request to ``/styles`` or below (routed by the middleware; public: the caller
    is not consulted)."""
    return resources.page(environ, _answer, SECURITY_HEADERS)


def _answer(environ) -> resources.Response:
    path = environ.get("PATH_INFO") or "/"
    name = path.removeprefix(PREFIX + "/") if path.startswith(PREFIX + "/") else ""
    content = _files().get(name)
    if content is None:
        raise NotFoundError(
            f"{path} is not a style file. The styles are e.g. {PREFIX}/hotspots.sld and "
            f"{PREFIX}/hotspots.qml; each collection links its own (rel=stylesheet). "
            f"(Ingen sådan stilfil; varje lager länkar sina stilar.)"
        )
    resources.only_get(environ)
    # a browser saves the file under its own name rather than showing XML
    disposition = f'inline; filename="{name.rpartition("/")[2]}"'
    return resources.conditional(
        environ, content, files.media_type(name), headers=[("Content-Disposition", disposition)]
    )


@cache
def _files() -> dict[str, bytes]:
    """name -> bytes, made once per worker."""
    return files.generate()
