"""Bad requests over real HTTP: each a 4xx with a message naming the parameter, never a 500,
never the database's text; the documented limits (414, 413) and long filters by POST.

One ``lagesbild serve`` on the deterministic history of ``tests/publish_data.py`` for the
module. Every request here answered 500 or with PostgreSQL's error text before issue 11 (the
checks themselves are unit-tested in tests/server/test_checks.py).
"""

from __future__ import annotations

import json

import psycopg
import pytest
import requests

from lagesbild_geo.server.app import LIMIT_REQUEST_LINE
from lagesbild_geo.server.checks import MAX_BODY_BYTES, MAX_OFFSET
from tests.server.test_checks import BAD_EXECUTION_BODIES
from tests.servers import serving_test_history

pytestmark = pytest.mark.server

K = 5
COLLECTIONS = ("areas", "indicators", "observations", "situation", "hotspots", "trends")
PROCESSES = ("hotspots", "emerging-hotspots", "trends", "early-warning")
#: What a database's or a driver's error text looks like; none may reach a client.
DATABASE_TEXT = ("psycopg", "SQL", "ERROR:", "LINE 1", "database refused", "Traceback")


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    with serving_test_history(
        pg_server, "lagesbild_http_limits", tmp_path_factory.mktemp("limits"), k=K,
        password="reader-limits-pw",
    ) as srv:  # fmt: skip
        yield srv


@pytest.fixture(scope="module")
def db(server):
    with psycopg.connect(server["db"], autocommit=True) as conn:
        yield conn


def _refused(response: requests.Response, status: int, named: str) -> str:
    """Assert a clean refusal: the status, an OGC exception body naming ``named``, no
    database text; return the description."""
    assert response.status_code == status, (response.status_code, response.text[:400])
    assert response.headers["Content-Type"].startswith("application/json")
    description = response.json()["description"]
    assert named in description, description
    for text in DATABASE_TEXT:
        assert text not in description, description
    return description


ITEMS_BAD = [
    ("bbox=nan,nan,nan,nan", "bbox"),
    ("bbox=inf,0,1,1", "bbox"),
    ("bbox=1,2,3,4,5", "bbox"),
    ("bbox=0,0,0,1,1,1", "bbox"),
    ("bbox=0,-100,1,100", "bbox"),
    ("filter=upper(indicator)%20%3D%20'RAN'", "functions are not supported"),
    ("filter=pg_sleep(5)%20%3D%201", "functions are not supported"),
    ("filter=value%20%2F%200%20%3E%201", "arithmetic"),
    ("filter=S_INTERSECTS(geom,POINT(1e400%201))", "geometry"),
    ("filter=S_INTERSECTS(geom,POLYGON((0%200,1%201,0%200)))", "geometry"),
    ("filter=S_INTERSECTS(geom,BBOX(0,0,1,1))", "BBOX"),
    ("filter=value%20%3D%20'abc'", "property value"),
    ("filter=week_start%20%3D%20'2026-13-01'", "property week_start"),
    ("filter=indicator%20%3D%20'%00'", "filter"),
    ("offset=1e30", f"offset must be an integer 0..{MAX_OFFSET}"),
    ("offset=-1", "offset"),
    ("offset=99999999999999999999", "offset"),
    ("limit=-1", "limit"),
    ("limit=1e9", "limit"),
    ("limit=1_0", "limit"),
    ("limit=1&limit=2", "limit"),
    ("datetime=garbage", "datetime"),
    ("datetime=2026-13-45", "datetime"),
    ("datetime=2026-02-10/2026-02-01", "datetime"),
    ("sortby=nope", "sortby"),
    ("sortby=indicator,-indicator", "sortby"),
    ("properties=nope", "properties"),
    ("filter-lang=sql", "filter-lang"),
    ("crs=foo", "CRS"),
    ("resulttype=foo", "resulttype"),
    ("skipGeometry=foo", "skipGeometry"),
    ("q=anna", "q"),
    ("indicator=%00", "indicator"),
    ("value=abc", "value"),
    ("value=1e400", "value"),
    ("week_start=garbage", "week_start"),
    ("suppressed=maybe", "suppressed"),
    ("indicator=%ff", "UTF-8"),
]


@pytest.mark.parametrize(("query", "named"), ITEMS_BAD)
def test_a_bad_items_parameter_is_a_400_naming_it(server, query, named):
    url = f"{server['url']}/collections/observations/items?{query}"
    description = _refused(requests.get(url, timeout=30), 400, named)
    for value in ("abc", "anna", "garbage", "maybe", "RAN"):
        assert value not in description  # never the value refused


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize("item", ["%00", "a%00b", "%1b%5b2J"])
def test_an_item_id_with_control_characters_is_a_400_on_every_collection(server, collection, item):
    url = f"{server['url']}/collections/{collection}/items/{item}"
    _refused(requests.get(url, timeout=30), 400, "control characters")
    _refused(requests.get(url, params={"f": "jsonld"}, timeout=30), 400, "control characters")


def test_a_job_id_with_nul_is_a_400(server):
    _refused(requests.get(server["url"] + "/jobs/%00", timeout=30), 400, "control characters")


@pytest.mark.parametrize("process", PROCESSES)
@pytest.mark.parametrize(("body", "named"), BAD_EXECUTION_BODIES)
def test_an_execution_body_of_the_wrong_json_type_is_a_400(server, process, body, named):
    response = requests.post(
        f"{server['url']}/processes/{process}/execution",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    _refused(response, 400, named)


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_an_empty_json_ld_page_is_valid_json_ld(server, collection):
    response = requests.get(
        f"{server['url']}/collections/{collection}/items",
        params={"f": "jsonld", "offset": MAX_OFFSET},
        timeout=30,
    )
    assert response.status_code == 200, response.text[:300]
    document = json.loads(response.text)  # pygeoapi's template wrote '"@id": "...",\n}'
    assert document["@id"].endswith(f"/collections/{collection}")
    assert document["features"] == [] and document["@context"]


def test_a_json_ld_page_holds_its_features_with_their_properties(server):
    response = requests.get(
        f"{server['url']}/collections/observations/items",
        params={"f": "jsonld", "limit": 2, "indicator": "ran"},
        timeout=30,
    )
    document = json.loads(response.text)
    assert len(document["features"]) == 2
    assert all(f["indicator"] == "ran" and f["@id"] for f in document["features"])


# -- limits ------------------------------------------------------------------------------


def test_a_request_line_over_the_limit_is_a_414(server):
    base = f"{server['url']}/collections/observations/items?filter="
    # the request line is "GET <path> HTTP/1.1"; the path from "/collections" on
    path_length = len(base) - len(server["url"])
    fits = "indicator%20%3D%20'" + "a" * (LIMIT_REQUEST_LINE - path_length - 40) + "'"
    assert requests.get(base + fits, timeout=30).status_code == 200
    long = "indicator%20%3D%20'" + "a" * LIMIT_REQUEST_LINE + "'"
    response = requests.get(base + long, timeout=30)
    assert response.status_code == 414, response.text[:300]


def test_a_filter_of_2000_area_codes_goes_by_post_as_cql2_json(server, db):
    codes = [code for (code,) in db.execute("SELECT code FROM publish.areas ORDER BY code")]
    asked = codes + [f"9{i:08d}" for i in range(2000 - len(codes))]  # 2,000 in all
    body = {"op": "in", "args": [{"property": "area_code"}, asked]}
    assert len(json.dumps(body)) > LIMIT_REQUEST_LINE  # too long for a GET
    response = requests.post(
        f"{server['url']}/collections/observations/items",
        params={"limit": 1},
        json=body,
        timeout=60,
    )
    assert response.status_code == 200, response.text[:400]
    (expected,) = db.execute(
        "SELECT count(*) FROM publish.observations WHERE area_code = ANY(%s)", (asked,)
    ).fetchone()
    assert response.json()["numberMatched"] == expected > 0


def test_a_body_over_the_limit_is_a_413(server):
    codes = [f"0181C{i:04d}" for i in range(MAX_BODY_BYTES // 10)]
    body = json.dumps({"op": "in", "args": [{"property": "area_code"}, codes]})
    assert len(body) > MAX_BODY_BYTES
    for path in ("/collections/observations/items", "/processes/hotspots/execution"):
        response = requests.post(
            server["url"] + path,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        _refused(response, 413, "64 KiB")
