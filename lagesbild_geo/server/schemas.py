"""``/feature-schemas/{collection}``: the GeoJSON feature schemas of
:mod:`lagesbild_geo.server.feature_schemas` (why and what GDAL reads of them is there).

The schemas are written by ``lagesbild serve``'s master (:func:`.config.prepare`) and read once
per worker from the file the hand-off names.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from lagesbild_geo.access.identity import Identity
from lagesbild_geo.errors import NotFoundError
from lagesbild_geo.server import resources
from lagesbild_geo.server.config import read_handoff
from lagesbild_geo.server.feature_schemas import MEDIA_TYPE, PREFIX


@functools.cache
def _schemas() -> dict:
    return json.loads(Path(read_handoff().schemas).read_text(encoding="utf-8"))


def handle(environ, identity: Identity) -> resources.Response:
    """``GET /feature-schemas/{collection}``: the schema ``prepare`` wrote (the middleware
    routes the prefix here). Column names and types only, no data: public for every
    collection, as the OpenAPI document is."""
    return resources.answer(environ, identity, _answer)


def _answer(environ, identity: Identity) -> resources.Response:
    name = (environ.get("PATH_INFO") or "").removeprefix(PREFIX).strip("/")
    schema = _schemas().get(name)
    if schema is None:
        raise NotFoundError(f"No collection named {name!r}: see /collections.")
    status, headers, body = resources.document(200, schema)
    headers = [(k, v) for k, v in headers if k != "Content-Type"]
    # the schemas change with a deployment only: revalidate (the body is small)
    return status, [("Content-Type", MEDIA_TYPE), ("Cache-Control", "no-cache"), *headers], body
