"""gzip of a response when the client accepts it: the middleware's last step.

The trend layer as the README's web map asks for it is 896 kB of GeoJSON, 42 kB gzipped;
QGIS, GDAL, browsers and ``requests`` all send ``Accept-Encoding: gzip``. pygeoapi's own
``server.gzip`` answers ``f=gzip`` with an archive instead, so it stays off and the middleware
compresses here, after everything else has set the headers:

* only a 200 or 201 of a GET or POST with a body of text (JSON, GeoJSON, HTML, XML, CSS,
  JavaScript; :data:`COMPRESSIBLE`) of at least :data:`MIN_BYTES`, never a HEAD (its
  ``Content-Length`` is the identity body's), a 304 or a body already encoded;
* ``Vary: Accept-Encoding`` on every such response, compressed or not, so that a shared cache
  keeps both;
* a compressed response's ``ETag`` gets :data:`ETAG_SUFFIX` (a strong validator names one
  sequence of bytes): ``"v12-ab…"`` identity, ``"v12-ab…-gz"`` gzip. A conditional request
  with the gzip one is a 304 when the client would get that encoding again
  (:func:`identity_validators`), whoever answers it (the middleware, pygeoapi's static
  files, the service's own pages).

Pure functions on WSGI triples (no pygeoapi, no Flask).
"""

from __future__ import annotations

import zlib

#: Smallest body compressed: below one TCP segment (~1,400 bytes) gzip saves no round trip
#: and costs its 18-byte frame and a zlib stream per response.
MIN_BYTES = 1400
#: zlib level. Measured on this project's machine (best of 5-20 runs, 2026-12-02) with the
#: Stockholm county DeSO geometries at 9 decimals: a trend-like layer of 829 kB (1,600
#: features, 16 indicators per area) gave 55 kB in 1.9 ms at level 1, 53 kB in 2.1 ms at 3,
#: 43 kB in 5.3 ms at 6 (gzip's default); a page of 100 observations (65 kB) 12.8 kB in
#: 0.23 ms at 1, 11.3 kB in 0.76 ms at 6. The server is CPU-bound (~9 ms of worker CPU per
#: request, bench/serve.py), so level 1: 93 % fewer bytes for a third of level 6's cost.
LEVEL = 1
#: Media types (before any ``;``) worth compressing.
COMPRESSIBLE = frozenset(
    [
        "application/json",
        "application/geo+json",
        "application/schema+json",
        "application/ld+json",
        "application/problem+json",
        "application/vnd.oai.openapi+json",
        "application/xml",
        "application/javascript",
        "image/svg+xml",
    ]
)
ETAG_SUFFIX = "-gz"


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (``gzip`` or ``*`` with a q above 0, and gzip
    not refused by ``gzip;q=0``)."""
    if not header:
        return False
    weights: dict[str, float] = {}
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[coding.strip().lower()] = q
    if "gzip" in weights:
        return weights["gzip"] > 0
    return weights.get("*", 0) > 0


def wants_gzip(environ) -> bool:
    """Whether this request would get a gzip body (when the response qualifies)."""
    method = environ.get("REQUEST_METHOD", "GET")
    return method in ("GET", "POST") and accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"))


def identity_validators(environ) -> bool:
    """Turn the gzip validators of ``If-None-Match`` into the identity ones, in ``environ``;
    True when there was one (the 304 then gets its gzip form back: :func:`compress`).

    Whoever answers the conditional request (the middleware's own check, pygeoapi's static
    files, the service's pages) knows only the identity body's validator. A gzip validator
    names the same content in this encoding, so it is matched as the identity one when the
    client accepts gzip now; otherwise (or for a HEAD) it matches nothing and the client gets
    the body.
    """
    header = environ.get("HTTP_IF_NONE_MATCH")
    if not header or ETAG_SUFFIX + '"' not in header or not wants_gzip(environ):
        return False
    tags = [t.strip() for t in header.split(",")]
    suffix = ETAG_SUFFIX + '"'
    environ["HTTP_IF_NONE_MATCH"] = ", ".join(
        t[: -len(suffix)] + '"' if t.endswith(suffix) else t for t in tags
    )
    return True


def gzip_etag(etag: str) -> str:
    """``"x"`` -> ``"x-gz"`` (and ``W/"x"`` -> ``W/"x-gz"``)."""
    if etag.endswith('"'):
        return etag[:-1] + ETAG_SUFFIX + '"'
    return etag + ETAG_SUFFIX


def compress(environ, status: str, headers: list, body: list[bytes], validated: bool = False):
    """The response gzipped when the request and the response allow it (see the module), with
    ``Vary``, ``Content-Length`` and ``ETag`` to match; otherwise as it is, plus ``Vary``.
    ``validated``: the request's gzip validator was matched (:func:`identity_validators`), so
    a 304 answers with it."""
    if validated and status.startswith("304"):
        return status, [(n, gzip_etag(v) if n.lower() == "etag" else v) for n, v in headers], body
    media = ""
    for name, value in headers:
        if name.lower() == "content-type":
            media = value.split(";", 1)[0].strip().lower()
        elif name.lower() == "content-encoding":
            return status, headers, body
    if not (media.startswith("text/") or media in COMPRESSIBLE):
        return status, headers, body
    headers = _with_vary(headers)
    if not status.startswith(("200", "201")) or not wants_gzip(environ):
        return status, headers, body
    raw = b"".join(body)
    if len(raw) < MIN_BYTES:
        return status, headers, [raw]
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    packed = packer.compress(raw) + packer.flush()
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower == "content-length":
            continue
        out.append((name, gzip_etag(value)) if lower == "etag" else (name, value))
    out += [("Content-Encoding", "gzip"), ("Content-Length", str(len(packed)))]
    return status, out, [packed]


def _with_vary(headers: list) -> list:
    for i, (name, value) in enumerate(headers):
        if name.lower() == "vary":
            if "accept-encoding" in value.lower() or value.strip() == "*":
                return headers
            return [*headers[:i], (name, f"{value}, Accept-Encoding"), *headers[i + 1 :]]
    return [*headers, ("Vary", "Accept-Encoding")]
