"""``/styles/<file>`` answered by the route itself (lagesbild_geo/server/style_files.py).

Through the real server (gunicorn decoding the path, the middleware routing it) in
tests/styles/test_qgis.py; here the route's own answers, fast.
"""

from __future__ import annotations

import pytest

from lagesbild_geo.access.identity import PUBLIC
from lagesbild_geo.server import style_files
from lagesbild_geo.styles import files


def _get(path, **env):
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", **env}
    status, headers, body = style_files.handle(environ, PUBLIC)
    return status, dict(headers), b"".join(body)


@pytest.mark.parametrize("name", ["hotspots.sld", "hotspots.qml", "situation-wide/ran.sld",
                                  "areas.qml"])  # fmt: skip
def test_a_style_file_with_its_media_type_and_etag(name):
    status, headers, body = _get(f"/styles/{name}")
    assert status == "200 OK"
    assert body == files.generate()[name]
    assert headers["Content-Type"] == (
        "application/vnd.ogc.sld+xml;version=1.0" if name.endswith(".sld")
        else "application/vnd.qgis.qml"
    )  # fmt: skip
    assert headers["Content-Length"] == str(len(body))
    assert headers["Cache-Control"] == "no-cache" and headers["X-Content-Type-Options"] == "nosniff"
    status, again, body = _get(f"/styles/{name}", HTTP_IF_NONE_MATCH=headers["ETag"])
    assert status.startswith("304") and body == b"" and again["ETag"] == headers["ETag"]
    status, _, body = _get(f"/styles/{name}", HTTP_IF_NONE_MATCH='"other"')
    assert status == "200 OK" and body


@pytest.mark.parametrize(
    "path",
    [
        "/styles", "/styles/", "/styles/nope.sld", "/styles/hotspots", "/styles/hotspots.SLD",
        "/styles/../settings.py", "/styles/situation-wide/../hotspots.sld",
        "/styles/%2e%2e/settings.py", "/styles//etc/passwd", "/styles/./hotspots.sld",
        "/styles/situation-wide/", "/styles/hotspots.sld/", "/styles/hotspots.sld%00",
    ],
)  # fmt: skip
def test_anything_else_is_a_404(path):
    status, headers, body = _get(path)
    assert status.startswith("404"), path
    assert headers["Content-Type"] == "application/json" and b"/styles/hotspots.sld" in body


def test_get_and_head_only():
    status, headers, _ = _get("/styles/trends.sld", REQUEST_METHOD="POST")
    assert status.startswith("405") and headers["Allow"] == "GET, HEAD"
    status, headers, body = _get("/styles/trends.sld", REQUEST_METHOD="HEAD")
    assert status == "200 OK" and body == b"" and int(headers["Content-Length"]) > 0
