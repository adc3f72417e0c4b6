"""The request checks (server/checks.py) and the filter checks (server/filters.py), without a
server: each rule, the spellings that try to get around it, and hypothesis over random input.

The same requests over real HTTP are tests/server/test_http_limits.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from lagesbild_geo.errors import InputError, PayloadTooLargeError
from lagesbild_geo.server import checks, filters

COLUMNS = ["id", "area_code", "week_start", "indicator", "value", "suppressed", "geom"]
FIELDS = {
    "id": {"type": "string"},
    "area_code": {"type": "string"},
    "week_start": {"type": "string", "format": "date"},
    "indicator": {"type": "string"},
    "value": {"type": "number"},
    "numerator": {"type": "integer"},
    "suppressed": {"type": "boolean"},
}


def _items(query: str) -> None:
    checks.check_items_query(checks.query_pairs(query), COLUMNS, "geom")


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("limit=-1", "limit"),
        ("limit=0", "limit"),
        ("limit=1e9", "limit"),
        ("limit=1_0", "limit"),  # Python's int() reads 10
        ("limit=%EF%BC%91%EF%BC%90", "limit"),  # full-width 10: int() reads it too
        ("limit=%201", "limit"),
        ("limit=1&limit=1000", "limit"),
        ("offset=1e30", "offset"),
        ("offset=-1", "offset"),
        ("offset=99999999999999999999", "offset"),
        ("offset=2147483648", "offset"),
        ("bbox=nan,nan,nan,nan", "bbox"),
        ("bbox=inf,0,1,1", "bbox"),
        ("bbox=1,2,3,4,5", "bbox"),
        ("bbox=0,0,0,1,1,1", "bbox"),
        ("bbox=0,-100,1,100", "bbox"),
        ("bbox=-181,0,1,1", "bbox"),
        ("bbox=0,1,1,0", "bbox"),
        ("bbox=0x1,0,1,1", "bbox"),
        ("bbox=1e999,0,1,1", "bbox"),
        ("datetime=garbage", "datetime"),
        ("datetime=2026-13-45", "datetime"),
        ("datetime=2026-02-30", "datetime"),
        ("datetime=20260209", "datetime"),  # fromisoformat alone reads it
        ("datetime=2026-02-09T10", "datetime"),
        ("datetime=2026-02-10/2026-02-01", "datetime"),
        ("datetime=a/b/c", "datetime"),
        ("datetime=..", "datetime"),
        ("datetime=", "datetime"),
        ("sortby=nope", "sortby"),
        ("sortby=indicator,indicator", "sortby"),
        ("sortby=%2Bindicator,-indicator", "sortby"),
        ("sortby=geom", "sortby"),
        ("sortby=", "sortby"),
        ("properties=nope", "properties"),
        ("properties=value,value", "properties"),
        ("properties=", "properties"),
        ("resulttype=foo", "resulttype"),
        ("skipGeometry=yes", "skipGeometry"),
        ("filter-lang=sql", "filter-lang"),
        ("q=anna", "q"),
        ("filter=%20", "filter"),
        ("indicator=%00", "indicator"),
        ("indicator=a%1Fb", "indicator"),
        ("filter=indicator%3D'%00'", "filter"),
        ("filter=indicator%3D'%7F'", "filter"),
    ],
)
def test_a_wrong_parameter_is_a_400_naming_it(query, named):
    with pytest.raises(InputError) as caught:
        _items(query)
    assert named in str(caught.value)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "limit=1",
        "limit=100000",  # above the maximum: pygeoapi gives the maximum (OGC API Features)
        "offset=0&limit=10",
        "bbox=17.9,59.2,18.2,59.4",
        "bbox=18.2,59.2,17.9,59.4",  # crossing the antimeridian is allowed
        "bbox=6580000,150000,6600000,170000&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3006",
        "datetime=2026-02-09",
        "datetime=2026-02-09T12:00:00Z",
        "datetime=2026-02-09T12:00:00.5%2B01:00",
        "datetime=2026-02-09/2026-02-15",
        "datetime=../2026-02-15",
        "datetime=2026-02-09/..",
        "datetime=2026-02-09/",
        "datetime=../..",
        "sortby=-week_start,area_code",
        "sortby=%2Bindicator",
        "sortby=+indicator",  # an unencoded plus arrives as a space
        "properties=indicator,value",
        "resulttype=hits",
        "skipGeometry=TRUE",
        "filter-lang=cql2-json&filter=%7B%7D",
        "filter=indicator%20%3D%20'ran'%0AAND%09value%20%3E%201",  # line breaks between words
        "indicator=ran&f=json&lang=sv",
    ],
)
def test_a_right_query_passes(query):
    _items(query)


def test_the_query_must_be_utf8():
    with pytest.raises(InputError, match="UTF-8"):
        checks.query_pairs("indicator=%ff")


@pytest.mark.parametrize("path", ["/collections/areas/items/%00", "/jobs/a\x00b", "/x/\x1b"])
def test_control_characters_in_the_path_are_a_400(path):
    with pytest.raises(InputError, match="control characters"):
        checks.check_path(path.replace("%00", "\x00"))


# -- bodies ------------------------------------------------------------------------------


#: Execution bodies that are not an execute request, and what the refusal names (sent over
#: HTTP to every process by tests/server/test_http_limits.py).
BAD_EXECUTION_BODIES = [
    (b"[null]", "JSON object"),
    (b'"x"', "JSON object"),
    (b"false", "JSON object"),
    (b"1", "JSON object"),
    (b"null", "JSON object"),
    (b"[]", "JSON object"),
    (b'{"inputs": "x"}', "inputs"),
    (b'{"inputs": []}', "inputs"),
    (b'{"inputs": 5}', "inputs"),
    (b'{"outputs": "x"}', "outputs"),
    (b'{"response": 5}', "response"),
    (b'{"response": "RAW"}', "response"),
    (b'{"inputz": {}}', "unknown members"),
    (b'{"subscriber": {"successUri": "http://10.0.0.1/"}}', "subscriber"),
    (b'{"inputs": {"indicator": "\\u0000"}}', "indicator"),
    (b'{"inputs": {"indicators": ["ran", "a\\u001fb"]}}', "indicators.1"),
    (b'{"inputs": {"a\\u0000": 1}}', "inputs"),
    (b"not json", "not valid JSON"),
    (b"\xff\xfe{}", "UTF-8"),
    (b"[" * 10_000 + b"]" * 10_000, "nested"),
    (b'{"inputs": ' * 100 + b"{}" + b"}" * 100, "nested"),
]


@pytest.mark.parametrize(("body", "named"), BAD_EXECUTION_BODIES)
def test_a_wrong_execution_body_is_a_400_naming_the_member(body, named):
    with pytest.raises(InputError) as caught:
        checks.check_execute_body(body)
    assert named in str(caught.value)


def test_brackets_inside_strings_do_not_count_as_nesting():
    checks.check_execute_body(json.dumps({"inputs": {"indicator": "[" * 500}}).encode())


def _environ(body: bytes, length: str | None = None, chunked: bool = False) -> dict:
    environ = {"wsgi.input": io.BytesIO(body)}
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    return environ


def test_a_body_is_read_once_and_put_back():
    environ = _environ(b'{"inputs": {}}', "14")
    assert checks.read_body(environ) == b'{"inputs": {}}'
    assert environ["wsgi.input"].read() == b'{"inputs": {}}' and environ["CONTENT_LENGTH"] == "14"


@pytest.mark.parametrize(
    "environ",
    [
        _environ(b"", str(checks.MAX_BODY_BYTES + 1)),
        _environ(b"x" * (checks.MAX_BODY_BYTES + 10), chunked=True),
    ],
)
def test_a_body_over_the_limit_is_a_413(environ):
    with pytest.raises(PayloadTooLargeError) as caught:
        checks.read_body(environ)
    assert caught.value.http_status == 413 and "64 KiB" in str(caught.value)


def test_a_content_length_that_is_no_number_is_a_400():
    with pytest.raises(InputError, match="Content-Length"):
        checks.read_body(_environ(b"", "-5"))


# -- filters -----------------------------------------------------------------------------


def _filter(text: str) -> None:
    filters.check_filter(parse_cql2_text(text), FIELDS, "geom")


@pytest.mark.parametrize(
    ("cql", "reason"),
    [
        ("upper(indicator) = 'RAN'", "functions"),
        ("pg_sleep(5) = 1", "functions"),
        ("ACCENTI(indicator) = accenti('ran')", "functions"),
        ("value + 1 > 2", "arithmetic"),
        ("value / 0 > 1", "arithmetic"),
        ("value = 'abc'", "property value"),
        ("value IN ('a', 'b')", "property value"),
        ("value BETWEEN 'a' AND 'b'", "property value"),
        ("value > indicator", "another type"),
        ("indicator > 5", "property indicator"),
        ("id = 1", "property id"),
        ("suppressed = 'maybe'", "property suppressed"),
        ("week_start = '2026-13-01'", "property week_start"),
        ("value LIKE 'a%'", "like"),
        ("value = 1e400", "not finite"),
        ("indicator = 'a\x00'", "control"),
        ("S_INTERSECTS(geom, POINT(1e400 1))", "not finite"),
        ("S_INTERSECTS(geom, POLYGON((0 0, 1 1, 0 0)))", "geometry"),
        ("S_INTERSECTS(geom, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", "not valid"),
        ("S_INTERSECTS(geom, BBOX(0,0,1,1))", "BBOX"),
        ("S_INTERSECTS(indicator, POINT(1 1))", "spatial"),
        ("geom = 'x'", "geometry"),
        ("nope = 3", "unknown property"),
    ],
)
def test_a_filter_the_database_would_refuse_is_a_400_without_its_value(cql, reason):
    with pytest.raises(InputError) as caught:
        _filter(cql)
    message = str(caught.value)
    assert reason in message
    for value in ("abc", "RAN", "maybe", "2026-13-01", "1e400"):
        assert value not in message


@pytest.mark.parametrize(
    "body",
    [
        {"op": "t_after", "args": [{"property": "week_start"}, {"date": "2026-01-01"}]},
        {"op": "a_contains", "args": [{"property": "indicator"}, ["a"]]},
        {
            "op": "=",
            "args": [{"function": {"name": "pg_sleep", "arguments": [5]}}, 1],
        },
        {"op": "=", "args": [{"property": "numerator"}, 99999999999999999999]},  # beyond bigint
    ],
)
def test_operators_pygeoapi_cannot_build_are_a_400(body):
    node = parse_cql2_json(json.dumps(body))
    with pytest.raises(InputError):
        filters.check_filter(node, FIELDS, "geom")


@pytest.mark.parametrize(
    "cql",
    [
        "indicator = 'ran' AND value > 1",
        "NOT (value BETWEEN 1 AND 2.5) OR value IS NULL",
        "area_code IN ('1101', '1102')",
        "indicator LIKE 'bra%'",
        "CASEI(indicator) = casei('RAN')",
        "week_start > DATE('2026-01-01')",
        "week_start > TIMESTAMP('2026-01-01T00:00:00Z')",
        "week_start = '2026-01-05'",
        "suppressed = TRUE",
        "numerator = 3 AND value = numerator",
        "S_INTERSECTS(geom, POINT(18.07 59.33))",
        "S_WITHIN(geom, POLYGON((17 59, 19 59, 19 60, 17 60, 17 59)))",
    ],
)
def test_a_right_filter_passes(cql):
    _filter(cql)


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("value", "abc", "value"),
        ("value", "1e400", "value"),
        ("value", "nan", "value"),
        ("value", "1_0", "value"),
        ("numerator", "1.5", "numerator"),
        ("numerator", "99999999999999999999", "numerator"),
        ("suppressed", "maybe", "suppressed"),
        ("week_start", "garbage", "week_start"),
        ("week_start", "2026-02-30", "week_start"),
        ("indicator", "a\x00", "indicator"),
    ],
)
def test_a_property_value_of_another_type_is_a_400_naming_the_property(name, value, field):
    with pytest.raises(InputError) as caught:
        filters.check_property_value(name, value, FIELDS[field])
    assert name in str(caught.value) and value not in str(caught.value)


# -- hypothesis ---------------------------------------------------------------------------

_PARAMETER = st.sampled_from(
    ["limit", "offset", "bbox", "datetime", "sortby", "properties", "resulttype", "skipGeometry",
     "filter-lang", "filter", "indicator", "value", "f"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_PARAMETER, st.text()), max_size=4))
def test_any_query_is_passed_or_refused_cleanly(pairs):
    """Random values of every parameter: a pass or an InputError, nothing else escapes."""
    from urllib.parse import urlencode

    try:
        _items(urlencode(pairs))
    except InputError as exc:
        assert str(exc)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(_JSON | st.dictionaries(st.sampled_from(checks.EXECUTE_KEYS), _JSON, max_size=3))
def test_any_json_body_is_an_execute_request_or_a_400(document):
    body = json.dumps(document).encode()
    try:
        checks.check_execute_body(body)
    except InputError:
        return
    assert isinstance(document, dict) and isinstance(document.get("inputs", {}), dict | None)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_as_a_body_are_refused_cleanly(body):
    with contextlib.suppress(InputError):
        checks.check_execute_body(body)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["value", "numerator"]))
def test_any_number_in_a_filter_is_checked_before_the_database(number, name):
    node = parse_cql2_json(json.dumps({"op": "=", "args": [{"property": name}, number]}))
    if math.isfinite(number):
        filters.check_filter(node, FIELDS, "geom")
    else:
        with pytest.raises(InputError):
            filters.check_filter(node, FIELDS, "geom")
