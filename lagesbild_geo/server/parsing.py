"""Faster parsers for pygeoapi's request handling: the same results, parsed once.

pygeoapi parses the same few texts on every request: the ``datetime`` interval, two or three
CRS URIs (3-5 times each), the CQL2 filter a map client sends with every page, and for every
``bbox`` the SRID of the storage CRS and a transform into it. The functions here give the
same answers with less work; :mod:`lagesbild_geo.server.patches` installs them over
pygeoapi's own in the server's workers.
"""

from __future__ import annotations

import functools
import re
import threading
from datetime import datetime

import pyproj
from dateutil.parser import parse as _dateutil_parse
from pygeoapi.crs import get_crs as _pygeoapi_get_crs
from pygeoapi.crs import get_srid as _pygeoapi_get_srid
from pygeofilter.parsers.cql2_text import parse as _pygeofilter_parse_cql2_text

#: A complete RFC 3339 date-time (what clients send in ``datetime``), read by the standard
#: library; anything else (a date alone, a partial date) is left to dateutil.
_RFC3339_DATE_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d{1,6})?([Zz]|[+-]\d\d:\d\d)"
)


def fast_dateparse(text, *args, **kwargs):
    """dateutil's ``parse`` for pygeoapi's ``validate_datetime``, with the standard library's
    ``datetime.fromisoformat`` for a complete RFC 3339 date-time: the same instant, ~0.2 ms
    less per end of the interval (dateutil's general parser). dateutil fills the parts a
    text lacks from ``default``; a complete date-time lacks none, so the result is equal."""
    if isinstance(text, str) and _RFC3339_DATE_TIME.fullmatch(text):
        return datetime.fromisoformat(text.upper())
    return _dateutil_parse(text, *args, **kwargs)


_CRS_BY_URI = threading.local()  # pyproj CRS objects are not shared between threads


def cached_get_crs(crs):
    """pygeoapi's ``get_crs`` (a CRS URI to a ``pyproj.CRS``), each URI parsed once per thread:
    pygeoapi asks it 3-5 times per request for the same two or three URIs (~0.05 ms each)."""
    if not isinstance(crs, str):
        return _pygeoapi_get_crs(crs)
    known = getattr(_CRS_BY_URI, "known", None)
    if known is None:
        known = _CRS_BY_URI.known = {}
    found = known.get(crs)
    if found is None:
        found = known[crs] = _pygeoapi_get_crs(crs)
    return found


@functools.lru_cache(maxsize=256)
def parse_cql2_text(text: str):
    """pygeofilter's CQL2 text parser, each text parsed once (per process, the last 256): a
    layer in QGIS or the city web map sends its filter with every request (each page, each
    pan); parsing it took ~0.5 ms. The tree is shared: pygeoapi deep-copies it before it
    changes anything (``modify_pygeofilter``). A text that fails to parse is not kept."""
    return _pygeofilter_parse_cql2_text(text)


@functools.lru_cache(maxsize=64)
def _srid_of_uri(crs: str):
    return _pygeoapi_get_srid(crs)


@functools.lru_cache(maxsize=64)
def _srid_of_text(srs: str):
    return _pygeoapi_get_srid(pyproj.CRS.from_user_input(srs))


def cached_get_srid(crs):
    """pygeoapi's ``get_srid`` (a CRS to its EPSG code), each URI answered once per process.

    For CRS84, the storage CRS, pyproj's ``to_epsg`` finds no EPSG code after searching its
    whole database, and pygeoapi then asks again through a PROJ string: 7 ms each, 14 ms of
    worker CPU for every request with a ``bbox`` (bench/serve.py's varied workload, cProfile
    in a worker). The answer (4326) depends on the URI alone; a ``pyproj.CRS`` (a provider's
    ``storage_crs``, made by pygeoapi from its URI) is answered by the text it was made from
    (``CRS.srs``)."""
    if isinstance(crs, str):
        return _srid_of_uri(crs)
    if isinstance(crs, pyproj.CRS) and crs.srs:  # the providers' storage_crs: from its URI
        return _srid_of_text(crs.srs)
    return _pygeoapi_get_srid(crs)


@functools.lru_cache(maxsize=64)
def _bbox_transform(from_crs: str, to_crs: str, always_xy: bool):
    """The transform function of pygeoapi's ``transform_bbox`` and whether the target is Web
    Mercator (whose latitudes it clips), per pair of URIs. Shared by the threads, as the
    provider's coordinate transforms are (pyproj's transformers are thread-safe since 3.1)."""
    source, target = _pygeoapi_get_crs(from_crs), _pygeoapi_get_crs(to_crs)
    transform = pyproj.Transformer.from_crs(source, target, always_xy).transform
    return transform, _srid_of_uri(to_crs) == 3857


def cached_transform_bbox(bbox: list, from_crs, to_crs, always_xy=False) -> list:
    """pygeoapi's ``transform_bbox`` (the item endpoint's ``bbox`` from ``bbox-crs``, or CRS84,
    into the storage CRS) with the transformer and the target's EPSG code made once per pair
    of URIs: pygeoapi built a ``Transformer`` and asked ``to_epsg`` (7 ms for CRS84, see
    :func:`cached_get_srid`) on every request with a ``bbox``. Same coordinates."""
    from pygeoapi.crs import transform_bbox

    if not (isinstance(from_crs, str) and isinstance(to_crs, str)):
        return transform_bbox(bbox, from_crs, to_crs, always_xy)
    transform, mercator = _bbox_transform(from_crs, to_crs, bool(always_xy))
    if mercator:
        bbox = [bbox[0], max(-85.0511, bbox[1]), bbox[2], min(85.0511, bbox[3])]
    n_dims = len(bbox) // 2
    return list(transform(*bbox[:n_dims]) + transform(*bbox[n_dims:]))
