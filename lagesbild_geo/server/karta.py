"""The embeddable trend map at ``/karta``: one indicator's trend per area, for the city web map.

The page (``karta/``: HTML, one script, one style sheet) is served by the service itself with
Leaflet from the service's own copy (``/static/vendor/leaflet/``, Debian's libjs-leaflet,
:mod:`lagesbild_geo.server.webassets`), so it draws on a network that blocks CDNs and sends
the visitor's browser nowhere else. It holds no data: the script reads
``/collections/trends-X/items`` (indicator X's public trend layer, one feature per area,
GeoJSON in CRS84: :mod:`lagesbild_geo.server.layers`) and
``/karta/config.json`` (this module: the catalogue's indicator names, the background tiles,
the collection's path), so what it shows is exactly what every other client gets.

Unlike ``/granskning`` (a page with decision buttons, never framed), this page is made to be
framed: its ``Content-Security-Policy`` names ``frame-ancestors`` from
``LAGESBILD_MAP_FRAME_ANCESTORS`` (default ``*``: any site may embed the public map) and it
sends no ``X-Frame-Options``. Background tiles are off unless ``LAGESBILD_MAP_TILES_URL``
names a tile service (the area outlines are the map; no visitor's address goes to a tile
server the municipality has no agreement with); the tile server's origin is then the only one
the policy lets images come from besides the service, and ``?bakgrund=ingen`` turns them off
for one embedding.

Query parameters of the page itself (read by the script): ``indikator`` (the indicator shown
first, an id of the catalogue) and ``bakgrund=ingen``.
"""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import urlsplit

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.catalogue import load_catalogue
from lagesbild_geo.errors import NotFoundError
from lagesbild_geo.server import resources
from lagesbild_geo.settings import Settings

PREFIX = "/karta"
#: File under ``karta/`` -> its Content-Type; the page's own files, nothing else.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "karta.js": "text/javascript; charset=utf-8",
    "karta.css": "text/css; charset=utf-8",
}
CONFIG = "config.json"
#: The public layers the page draws, one per indicator (``{indicator}``: the one chosen).
TREND_COLLECTION = "trends-{indicator}"


@cache
def _settings() -> Settings:
    """The settings of this process, read once (at the first request, not at import)."""
    return Settings()


def handle(environ, identity: Identity, settings: Settings | None = None) -> resources.Response:
    """Answer a request to ``/karta`` or below (routed here by the middleware). The page is
    public: ``identity`` is not consulted (a key sent along sees the same public layer)."""
    settings = settings or _settings()
    return resources.page(environ, lambda env: _answer(env, settings), security_headers(settings))


def security_headers(settings: Settings) -> list[tuple[str, str]]:
    """The page's policy: scripts, styles and fetches from the service only; images also from
    the tile server when one is configured (``data:`` for Leaflet's own icons); framing by
    ``LAGESBILD_MAP_FRAME_ANCESTORS``. ``style-src`` has no ``'unsafe-inline'``: Leaflet
    positions its panes through the CSSOM (``element.style``), which a policy does not govern."""
    images = " ".join(["'self'", "data:", *filter(None, [tile_origin(settings.map_tiles_url)])])
    policy = (
        f"default-src 'self'; img-src {images}; base-uri 'none'; form-action 'none'; "
        f"object-src 'none'; frame-ancestors {settings.map_frame_ancestors}"
    )
    return [
        ("Content-Security-Policy", policy),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def tile_origin(template: str) -> str | None:
    """The CSP source of a tile URL template: its scheme and host, ``{s}`` subdomains as ``*``.

    >>> tile_origin("https://{s}.tile.example.se/{z}/{x}/{y}.png")
    'https://*.tile.example.se'
    >>> tile_origin("") is None
    True
    """
    if not template:
        return None
    parts = urlsplit(template.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"


def _answer(environ, settings: Settings) -> resources.Response:
    path = environ.get("PATH_INFO") or "/"
    name = path.removeprefix(PREFIX)
    if name not in ("", "/") and name.removeprefix("/") not in (*FILES, CONFIG):
        raise NotFoundError(
            f"{path} is not part of the trend map; it is at {PREFIX}/ "
            f"(trendkartan finns på {PREFIX}/)."
        )
    resources.only_get(environ)
    if name == "":
        return resources.to_trailing_slash(environ, "karta")  # the query goes along
    file = name.removeprefix("/") or "index.html"
    if file == CONFIG:
        content = json.dumps(config(settings), ensure_ascii=False).encode()
        return resources.conditional(environ, content, "application/json")
    return resources.conditional(environ, resources.package_file("karta", file), FILES[file])


def config(settings: Settings) -> dict:
    """What the script needs besides the layer: the catalogue's indicators in both languages
    (in the catalogue's order), the background tiles (``null``: none) and where the layer is."""
    catalogue = load_catalogue()
    return {
        "collection": f"../collections/{TREND_COLLECTION}/items",
        "indicators": [
            {"id": i.id, "name_sv": i.name_sv, "name_en": i.name_en}
            for i in catalogue.indicators.values()
        ],
        "tiles": (
            {"url": settings.map_tiles_url, "attribution": settings.map_tiles_attribution}
            if settings.map_tiles_url
            else None
        ),
    }
