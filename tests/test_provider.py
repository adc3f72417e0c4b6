"""The provider's shortcuts give what pygeoapi's own route gives."""

from __future__ import annotations

from datetime import datetime

import pytest
from dateutil.parser import parse

from lagesbild_geo.provider import _fast_dateparse


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
    fast, slow = _fast_dateparse(text, default=default), parse(text, default=default)
    assert fast == slow
    assert (fast.tzinfo is None) == (slow.tzinfo is None)
    if fast.tzinfo is not None:
        assert fast.utcoffset() == slow.utcoffset()
