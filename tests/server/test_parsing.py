"""The faster parsers (lagesbild_geo.server.parsing) give what pygeoapi's own give."""

from __future__ import annotations

from datetime import datetime

import pytest
from dateutil.parser import parse
from lark.exceptions import UnexpectedToken

from lagesbild_geo.server.parsing import fast_dateparse


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-06T00:00:00Z",
        "2025-03-30T23:59:59Z",
        "2025-03-30t23:59:59z",
        "2025-03-30T23:59:59.25+01:00",
        "2025-03-30 23:59:59-05:30",
        # not complete date-times: dateutil fills the missing parts from the default
        "2025-01-06",
        "2025-01-06T10:00Z",
        "2025-01",
        "2025-01-06T10:00:00",
    ],
)
@pytest.mark.parametrize("default", [datetime.min, datetime.max, datetime(1970, 1, 1)])
def test_datetime_parameters_read_as_dateutil_reads_them(text, default):
    """pygeoapi checks ``datetime`` against the collection's extent with dateutil, the end of
    an interval with ``default=datetime.max``; the fast path must give the same instant."""
    fast, slow = fast_dateparse(text, default=default), parse(text, default=default)
    assert fast == slow
    assert (fast.tzinfo is None) == (slow.tzinfo is None)
    if fast.tzinfo is not None:
        assert fast.utcoffset() == slow.utcoffset()


def test_crs_uris_read_once_give_what_pygeoapi_gives():
    from pygeoapi.crs import get_crs

    from lagesbild_geo.server.parsing import cached_get_crs

    uris = [
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "http://www.opengis.net/def/crs/EPSG/0/3006",
        "urn:ogc:def:crs:EPSG::3006",
    ]
    for uri in uris:
        assert cached_get_crs(uri) == get_crs(uri)
        assert cached_get_crs(uri) is cached_get_crs(uri)
    with pytest.raises(Exception, match="could not be identified"):
        cached_get_crs("EPSG-3006")


def test_a_parsed_filter_is_shared_and_never_changed_by_pygeoapi():
    """The CQL2 tree is parsed once per text; pygeoapi's transform to the storage CRS works
    on a copy, so the second request with the same text gets the client's coordinates."""
    from pygeoapi.crs import modify_pygeofilter

    from lagesbild_geo.server.parsing import parse_cql2_text

    text = "S_INTERSECTS(geom, POINT(6580000 674000)) AND indicator = 'ran'"
    tree = parse_cql2_text(text)
    before = repr(tree)
    assert parse_cql2_text(text) is tree
    moved = modify_pygeofilter(
        tree,
        filter_crs_uri="http://www.opengis.net/def/crs/EPSG/0/3006",
        storage_crs_uri="http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        geometry_column_name="geom",
    )
    assert repr(moved) != before and repr(tree) == before
    with pytest.raises(UnexpectedToken):
        parse_cql2_text("indicator = ")
