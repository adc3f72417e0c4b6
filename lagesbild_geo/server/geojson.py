"""Fast GeoJSON for the published layers: area geometries serialised once, JSON by orjson.

Every published feature's geometry is the geometry of its level-3 area (``publish.refresh``
and the analysis runs copy ``publish.areas.geom``), so a page of 100 observations holds at
most 100 of 1,287 shapes, repeated week after week. pygeoapi's own route reads each row's WKB,
builds a shapely geometry, turns it into nested lists of floats and has the standard library
encode them again: about two thirds of a request's time in ``bench/serve.py``. Here the
areas' GeoJSON is made once by PostGIS (``ST_AsGeoJSON``, 9 decimals: 0.1 mm), per process and
publication version, and spliced into the response as it is.

:class:`GeoJSONGeometry` is an ordinary ``dict`` (every pygeoapi formatter, the HTML pages and
a CRS transform read it as one) that also carries its serialised bytes; :func:`to_json`
(installed over pygeoapi's for the item endpoints by :mod:`lagesbild_geo.server.patches`)
writes those bytes instead of encoding the dict again.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from contextvars import ContextVar

import orjson
from pygeoapi.util import json_serial
from sqlalchemy import text

#: Decimal places of the served coordinates (CRS84 degrees): 1e-9° is about 0.1 mm.
COORDINATE_DECIMALS = 9


class GeoJSONGeometry(dict):
    """A GeoJSON geometry ``dict`` that remembers its own JSON text. Shared: do not mutate.

    ``transformed``: this geometry in other CRSs (the transform's key -> geometry), made once
    per area and publication version by the provider (``crs=EPSG:3006``: 40 ms of worker CPU
    for a page of 1,000 features when every page transformed every shape again,
    bench/serve.py)."""

    __slots__ = ("raw", "transformed")

    def __init__(self, raw: bytes):
        super().__init__(orjson.loads(raw))
        self.raw = raw
        self.transformed: dict[Hashable, GeoJSONGeometry] = {}

    def transformed_once(self, key: Hashable, func) -> GeoJSONGeometry:
        """This shape transformed by ``func`` (shapely geometry -> geometry; ``key`` names
        the transform), made the first time it is asked for and kept (an area's shape is
        shared by every row of that area, and reloaded with the publication's version)."""
        done = self.transformed.get(key)
        if done is None:
            from pygeoapi.crs import crs_transform_feature

            one = {"geometry": self}
            crs_transform_feature(one, func)
            done = self.transformed[key] = GeoJSONGeometry(
                orjson.dumps(one["geometry"], option=orjson.OPT_SERIALIZE_NUMPY)
            )
        return done


#: The publication version the server's middleware read for the current request (it reads it
#: anyway, for the ETag), so that the cache need not ask the database again.
PUBLISHED_VERSION: ContextVar[int | None] = ContextVar("published_version", default=None)


class AreaGeometries:
    """Area code → :class:`GeoJSONGeometry` from ``publish.areas``, reloaded when the
    publication's version changes (an approval, a new area layer)."""

    def __init__(self) -> None:
        self._loaded: dict[Hashable, tuple[int, dict[str, GeoJSONGeometry]]] = {}

    def get(self, conn, key: Hashable) -> dict[str, GeoJSONGeometry]:
        """The geometries as of now; ``conn`` is a SQLAlchemy connection, ``key`` names the
        database (the provider passes its engine, one per database and role)."""
        version = PUBLISHED_VERSION.get()
        if version is None:
            version = conn.execute(text("SELECT version FROM publish.state")).scalar()
        cached = self._loaded.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        rows = conn.execute(
            text("SELECT code, ST_AsGeoJSON(geom, :digits) FROM publish.areas"),
            {"digits": COORDINATE_DECIMALS},
        )
        shapes = {code: GeoJSONGeometry(geojson.encode()) for code, geojson in rows}
        self._loaded[key] = (version, shapes)
        return shapes


AREA_GEOMETRIES = AreaGeometries()


def _default(value):
    """orjson's fallback: cached geometries as their text, other subclasses of the JSON types
    (passed through by ``OPT_PASSTHROUGH_SUBCLASS``) as the type, the rest as pygeoapi does."""
    if isinstance(value, GeoJSONGeometry):
        return orjson.Fragment(value.raw)
    for base in (dict, list, str, int):
        if isinstance(value, base):
            return base(value)
    return json_serial(value)


#: ``<`` and ``>`` as JSON escapes. pygeoapi's ``util.to_json`` writes them as HTML entities
#: (``&lt;``), which is no longer the text: a collection's description "(<indikator>_week)"
#: reached every JSON client as "(&lt;indikator&gt;_week)". The escapes keep what pygeoapi
#: wanted (no ``</script>`` when a page embeds the JSON) and parse back to the characters.
_HTML_SAFE = {"<": "\\u003c", ">": "\\u003e"}
_HTML_SAFE_BYTES = {k.encode(): v.encode() for k, v in _HTML_SAFE.items()}


def to_json(dict_: dict, pretty: bool = False) -> str | bytes:
    """pygeoapi's ``util.to_json`` (compact unless pretty; ``<``/``>`` escaped, as JSON
    escapes: :data:`_HTML_SAFE`), with orjson and the area geometries written as they were
    serialised.

    The compact output is UTF-8 bytes, which is what the response sends: pygeoapi and Flask
    take bytes as they are, and decoding 170 kB here to have Flask encode it again cost
    ~0.6 ms per page of 100 observations.
    """
    if pretty:
        return to_json_text(dict_, pretty=True)
    raw = orjson.dumps(
        dict_,
        default=_default,
        option=orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_NON_STR_KEYS,
    )
    for char, escape in _HTML_SAFE_BYTES.items():
        if char in raw:  # ASCII, never part of a multi-byte UTF-8 character
            raw = raw.replace(char, escape)
    return raw


def to_json_text(dict_: dict, pretty: bool = False) -> str:
    """pygeoapi's ``util.to_json`` as text (the standard library, as pygeoapi encodes), with
    ``<``/``>`` as JSON escapes instead of HTML entities: installed over pygeoapi's for every
    other endpoint (landing page, collections, OpenAPI, processes, jobs) and its templates'
    ``to_json`` filter by :mod:`lagesbild_geo.server.patches`. In JSON ``<`` and ``>`` occur
    only inside strings, so replacing them leaves the document valid."""
    dump = json.dumps(
        dict_, default=json_serial, indent=4 if pretty else None, separators=(",", ":")
    )
    for char, escape in _HTML_SAFE.items():
        dump = dump.replace(char, escape)
    return dump
