"""Every endpoint x every audience, as an attacker would try it (issue 13, item 7).

One real server on the test history (``serving_with_audiences``) and :data:`MATRIX`: the exact
status of every endpoint for the public, actor A, actor B, the reviewer, the analyst, the
admin, an expired key, a revoked key and a forged bearer token. A change of rule changes a
cell, and this test fails until the table is changed with it.

Planted for the attacker to find: a pending delivery of actor B with a value, references and
a file name that are B's alone (:data:`B_SECRETS`), and the history's pending, rejected and
withdrawn deliveries of actor A (values 999, 1002, 1003: never public). Every answer's body is
searched for what its caller must not see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import time
import urllib.parse

import jwt
import pandas as pd
import psycopg
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lagesbild_geo.store import deliveries as store
from tests import publish_data
from tests.access import test_oidc as oidc_tests
from tests.access_helpers import ACTOR_A, ACTOR_B, serving_with_audiences

AUDIENCES = (
    "public", "actor_a", "actor_b", "reviewer", "analyst", "admin", "expired", "revoked", "forged"
)  # fmt: skip
#: A key pair the server does not trust: the forged bearer token's.
UNTRUSTED_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

#: B's own detail: a value, references and a file name nobody but B and the municipality see.
B_VALUE = 7373
B_REFS = ["VB-HEMLIG-0001", "VB-HEMLIG-0002"]
B_FILE = "vaktbolaget-hemlig-leverans.csv"
#: A's detail that is never published (tests/publish_data.py: pending, rejected, withdrawn).
A_VALUES = (999, 1002, 1003)
A_FILES = ("pending.csv", "rejected.csv", "withdrawn.csv")


def _plant_b_secret(db: str) -> int:
    """A pending delivery of B with references (its own link to its records)."""
    rows = pd.DataFrame(
        [
            {
                "area_code": publish_data.SMALL_CELL[0],
                "week_start": publish_data.WEEKS[-1],
                "indicator": "skadegorelse",
                "numerator": B_VALUE,
                "event_hours": [5] * B_VALUE,
                "source_refs": B_REFS,
            }
        ]
    )
    with psycopg.connect(db) as conn:
        delivery_id, _ = store.save_delivery(
            conn,
            store.NewDelivery(
                actor_id=ACTOR_B,
                file_name=B_FILE,
                content_sha256="b" * 64,
                shape="events",
                row_count=B_VALUE,
                observations=rows,
            ),
        )
        conn.commit()
    return delivery_id


def forged_token() -> str:
    now = int(time.time())
    claims = {"iss": "https://idp.example/realms/x", "aud": "lagesbild-api", "sub": "mallory",
              "iat": now, "exp": now + 300, "roles": ["lagesbild-analytiker"]}  # fmt: skip
    return jwt.encode(claims, UNTRUSTED_KEY, algorithm="RS256", headers={"kid": "rsa-1"})


def headers_of(srv: dict, audience: str) -> dict[str, str]:
    if audience == "public":
        return {}
    if audience == "forged":
        return {"Authorization": f"Bearer {forged_token()}"}
    if audience in srv.get("tokens", {}):
        return {"Authorization": f"Bearer {srv['tokens'][audience]}"}
    return {"X-API-Key": srv["keys"][audience]}


def _execute(srv, audience, process, inputs, asynchronous=False) -> requests.Response:
    headers = headers_of(srv, audience) | ({"Prefer": "respond-async"} if asynchronous else {})
    return requests.post(
        f"{srv['url']}/processes/{process}/execution",
        json={"inputs": inputs},
        headers=headers,
        timeout=120,
    )


def _wait_for(srv, audience, response) -> str:
    assert response.status_code == 201, response.text
    job_id = response.json()["jobID"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = requests.get(
            f"{srv['url']}/jobs/{job_id}?f=json", headers=headers_of(srv, audience), timeout=30
        ).json()
        if status["status"] in ("successful", "failed"):
            assert status["status"] == "successful", status
            return job_id
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


def prepare(srv: dict, with_jobs: bool = True) -> dict:
    """The ids the matrix's paths name: deliveries, items and jobs of each audience."""
    ids = {"b_secret": _plant_b_secret(srv["db"])}
    with psycopg.connect(srv["db"]) as conn:
        ids |= {
            f"a_{status}": conn.execute(
                "SELECT id FROM lagesbild.delivery WHERE actor_id = %s AND file_name = %s",
                (ACTOR_A, f"{status}.csv"),
            ).fetchone()[0]
            for status in ("pending", "rejected")
        }
        # my-observations' ids of a row of A and of B's planted row (the owner reads all)
        for name, actor, delivery in (("a_item", ACTOR_A, 0), ("b_item", ACTOR_B, ids["b_secret"])):
            ids[name] = conn.execute(
                "SELECT id FROM restricted.my_observations WHERE actor_id = %s"
                " AND (%s = 0 OR delivery_id = %s) ORDER BY id LIMIT 1",
                (actor, delivery, delivery),
            ).fetchone()[0]
    if not with_jobs:
        return ids
    hot = {"indicator": "skadegorelse", "permutations": 0}
    ids["b_job"] = _wait_for(srv, "actor_b", _execute(srv, "actor_b", "hotspots",
                             hot | {"source": "exact"}, asynchronous=True))  # fmt: skip
    a_hot = {"indicator": "anlagd_brand", "permutations": 0, "source": "exact"}
    ids["a_job"] = _wait_for(
        srv, "actor_a", _execute(srv, "actor_a", "hotspots", a_hot, asynchronous=True)
    )
    ids["analyst_job"] = _wait_for(srv, "analyst", _execute(srv, "analyst", "hotspots",
                                   hot | {"source": "exact"}, asynchronous=True))  # fmt: skip
    ids["anon_job"] = _wait_for(
        srv, "public", _execute(srv, "public", "hotspots", hot, asynchronous=True)
    )
    return ids


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("matrix-server")
    with serving_with_audiences(pg_server, "matrix_http", data_dir, password="matrix-pw") as srv:
        yield srv | {"ids": prepare(srv)}


# -- the endpoints -------------------------------------------------------------------------------

#: The stacked layers and one per-indicator layer of each kind (lagesbild_geo/server/layers.py;
#: every one of them is tried, more cheaply, by test_every_per_indicator_layer_is_public).
PER_INDICATOR = ("situation-skadegorelse", "hotspots-skadegorelse", "trends-skadegorelse")
PUBLIC_COLLECTIONS = (
    "areas", "indicators", "observations", "situation", "hotspots", "trends", *PER_INDICATOR,
)  # fmt: skip
RESTRICTED_COLLECTIONS = ("my-observations", "my-deliveries", "exact-observations")
BAD_CSV = b"not;a;delivery\n1;2;3\n"
HOT = {"indicator": "skadegorelse", "permutations": 0}


def endpoints() -> list[tuple[str, str, dict]]:
    """(method, path template, request options) of every endpoint the matrix tries."""
    found: list[tuple[str, str, dict]] = [
        ("GET", "/", {}),
        ("GET", "/conformance", {}),
        ("GET", "/openapi?f=json", {}),
        ("GET", "/collections", {}),
    ]
    for name in PUBLIC_COLLECTIONS + RESTRICTED_COLLECTIONS:
        found += [
            ("GET", f"/collections/{name}", {}),
            ("GET", f"/collections/{name}/queryables", {}),
            ("GET", f"/collections/{name}/items?limit=2", {}),
        ]
    found += [
        ("GET", "/collections/areas/items/1101", {}),
        ("GET", "/collections/indicators/items/anlagd_brand", {}),
        ("GET", "/collections/situation/items/1101", {}),
        *(("GET", f"/collections/{name}/items/1101", {}) for name in PER_INDICATOR),
        ("GET", "/collections/my-observations/items/{a_item}", {}),
        ("GET", "/collections/my-observations/items/{b_item}", {}),
        ("GET", "/collections/my-deliveries/items/{a_pending}", {}),
        ("GET", "/collections/my-deliveries/items/{b_secret}", {}),
        ("GET", "/processes", {}),
        ("GET", "/processes/hotspots", {}),
        ("POST", "/processes/hotspots/execution", {"json": {"inputs": HOT}}),
        ("POST", "/processes/hotspots/execution#exact",
         {"json": {"inputs": HOT | {"source": "exact"}}}),
        ("POST", "/processes/hotspots/execution#async",
         {"json": {"inputs": HOT}, "headers": {"Prefer": "respond-async"}}),
        ("POST", "/processes/hotspots/execution#async-exact",
         {"json": {"inputs": HOT | {"source": "exact"}}, "headers": {"Prefer": "respond-async"}}),
        ("POST", "/processes/hotspots/execution#publish",
         {"json": {"inputs": HOT | {"publish": True}}}),
        ("POST", "/processes/hotspots/execution#publish-exact",
         {"json": {"inputs": HOT | {"publish": True, "source": "exact"}}}),
        ("GET", "/jobs?f=json", {}),
    ]  # fmt: skip
    for job in ("a_job", "b_job", "analyst_job", "anon_job"):
        found += [
            ("GET", f"/jobs/{{{job}}}?f=json", {}),
            ("GET", f"/jobs/{{{job}}}/results?f=json", {}),
        ]
    found += [
        ("GET", "/deliveries", {}),
        ("POST", "/deliveries?filename=x.csv",
         {"data": BAD_CSV, "headers": {"Content-Type": "text/csv"}}),
        ("POST", "/deliveries?filename=x.csv&replaces={b_secret}",
         {"data": BAD_CSV, "headers": {"Content-Type": "text/csv"}}),
        ("GET", "/deliveries/{a_pending}", {}),
        ("GET", "/deliveries/{b_secret}", {}),
        ("GET", "/deliveries/987654", {}),
        ("POST", "/deliveries/{a_rejected}/withdraw", {}),
        ("POST", "/deliveries/{b_secret}/withdraw#not-b", {}),
        ("POST", "/deliveries/{a_rejected}/approve", {}),
        ("POST", "/deliveries/{a_rejected}/reject", {"json": {"reason": "fel"}}),
        ("GET", "/review/pending", {}),
        ("GET", "/granskning/", {}),
        ("GET", "/granskning/identity", {}),
        ("GET", "/admin/", {}),
        ("GET", "/admin/actors", {}),
        ("GET", "/admin/keys", {}),
        ("GET", "/admin/access-log", {}),
        ("GET", "/admin/areas", {}),
        ("POST", "/admin/actors",
         {"json": {"id": "matrisaktor", "kind": "police", "name": "Matris"}}),
        ("POST", "/admin/keys", {"json": {"role": "reviewer", "owner": "matris"}}),
        ("POST", "/admin/keys/0123456789ab/revoke", {}),
    ]  # fmt: skip
    # last: DELETE of A's job (A's own dismissal is the row's last cell)
    found += [("DELETE", "/jobs/{b_job}#not-b", {}), ("DELETE", "/jobs/{a_job}", {})]
    return found


def url_of(srv: dict, template: str) -> str:
    path = template.split("#", 1)[0].format(**srv["ids"])
    return srv["url"] + path


def call(srv, method, template, options, audience) -> requests.Response:
    headers = headers_of(srv, audience) | options.get("headers", {})
    extra = {k: v for k, v in options.items() if k != "headers"}
    return requests.request(
        method, url_of(srv, template), headers=headers, timeout=120, allow_redirects=False, **extra
    )


#: The exact status of every endpoint (rows as :func:`endpoints`) for every audience (columns as
#: :data:`AUDIENCES`); ``-`` is a cell not tried (B withdrawing or dismissing its own: the
#: object is B's and the other cells must find it as it was).
MATRIX = """
                                                      pub  A    B    rev  ana  adm  exp  rvk  fgd
GET    /                                              200  200  200  200  200  200  401  401  401
GET    /conformance                                   200  200  200  200  200  200  401  401  401
GET    /openapi?f=json                                200  200  200  200  200  200  401  401  401
GET    /collections                                   200  200  200  200  200  200  401  401  401
GET    /collections/areas                             200  200  200  200  200  200  401  401  401
GET    /collections/areas/queryables                  200  200  200  200  200  200  401  401  401
GET    /collections/areas/items?limit=2               200  200  200  200  200  200  401  401  401
GET    /collections/indicators                        200  200  200  200  200  200  401  401  401
GET    /collections/indicators/queryables             200  200  200  200  200  200  401  401  401
GET    /collections/indicators/items?limit=2          200  200  200  200  200  200  401  401  401
GET    /collections/observations                      200  200  200  200  200  200  401  401  401
GET    /collections/observations/queryables           200  200  200  200  200  200  401  401  401
GET    /collections/observations/items?limit=2        200  200  200  200  200  200  401  401  401
GET    /collections/situation                         200  200  200  200  200  200  401  401  401
GET    /collections/situation/queryables              200  200  200  200  200  200  401  401  401
GET    /collections/situation/items?limit=2           200  200  200  200  200  200  401  401  401
GET    /collections/hotspots                          200  200  200  200  200  200  401  401  401
GET    /collections/hotspots/queryables               200  200  200  200  200  200  401  401  401
GET    /collections/hotspots/items?limit=2            200  200  200  200  200  200  401  401  401
GET    /collections/trends                            200  200  200  200  200  200  401  401  401
GET    /collections/trends/queryables                 200  200  200  200  200  200  401  401  401
GET    /collections/trends/items?limit=2              200  200  200  200  200  200  401  401  401
GET    /collections/situation-skadegorelse            200  200  200  200  200  200  401  401  401
GET    /collections/situation-skadegorelse/queryables 200  200  200  200  200  200  401  401  401
GET    /collections/situation-skadegorelse/items?limit=2 200  200  200  200  200  200  401  401  401
GET    /collections/hotspots-skadegorelse             200  200  200  200  200  200  401  401  401
GET    /collections/hotspots-skadegorelse/queryables  200  200  200  200  200  200  401  401  401
GET    /collections/hotspots-skadegorelse/items?limit=2 200  200  200  200  200  200  401  401  401
GET    /collections/trends-skadegorelse               200  200  200  200  200  200  401  401  401
GET    /collections/trends-skadegorelse/queryables    200  200  200  200  200  200  401  401  401
GET    /collections/trends-skadegorelse/items?limit=2 200  200  200  200  200  200  401  401  401
GET    /collections/my-observations                   200  200  200  200  200  200  401  401  401
GET    /collections/my-observations/queryables        200  200  200  200  200  200  401  401  401
GET    /collections/my-observations/items?limit=2     401  200  200  403  403  403  401  401  401
GET    /collections/my-deliveries                     200  200  200  200  200  200  401  401  401
GET    /collections/my-deliveries/queryables          200  200  200  200  200  200  401  401  401
GET    /collections/my-deliveries/items?limit=2       401  200  200  403  403  403  401  401  401
GET    /collections/exact-observations                200  200  200  200  200  200  401  401  401
GET    /collections/exact-observations/queryables     200  200  200  200  200  200  401  401  401
GET    /collections/exact-observations/items?limit=2  401  403  403  403  200  403  401  401  401
GET    /collections/areas/items/1101                  200  200  200  200  200  200  401  401  401
GET    /collections/indicators/items/anlagd_brand     200  200  200  200  200  200  401  401  401
GET    /collections/situation/items/1101              200  200  200  200  200  200  401  401  401
GET    /collections/situation-skadegorelse/items/1101 200  200  200  200  200  200  401  401  401
GET    /collections/hotspots-skadegorelse/items/1101  200  200  200  200  200  200  401  401  401
GET    /collections/trends-skadegorelse/items/1101    200  200  200  200  200  200  401  401  401
GET    /collections/my-observations/items/{a_item}    401  200  404  403  403  403  401  401  401
GET    /collections/my-observations/items/{b_item}    401  404  200  403  403  403  401  401  401
GET    /collections/my-deliveries/items/{a_pending}   401  200  404  403  403  403  401  401  401
GET    /collections/my-deliveries/items/{b_secret}    401  404  200  403  403  403  401  401  401
GET    /processes                                     200  200  200  200  200  200  401  401  401
GET    /processes/hotspots                            200  200  200  200  200  200  401  401  401
POST   /processes/hotspots/execution                  200  200  200  200  200  200  401  401  401
POST   /processes/hotspots/execution#exact            401  400  200  403  200  403  401  401  401
POST   /processes/hotspots/execution#async            201  201  201  201  201  201  401  401  401
POST   /processes/hotspots/execution#async-exact      401  201  201  403  201  403  401  401  401
POST   /processes/hotspots/execution#publish          401  403  403  403  200  403  401  401  401
POST   /processes/hotspots/execution#publish-exact    400  400  400  400  400  400  401  401  401
GET    /jobs?f=json                                   200  200  200  200  200  200  401  401  401
GET    /jobs/{a_job}?f=json                           404  200  404  404  404  404  401  401  401
GET    /jobs/{a_job}/results?f=json                   404  200  404  404  404  404  401  401  401
GET    /jobs/{b_job}?f=json                           404  404  200  404  404  404  401  401  401
GET    /jobs/{b_job}/results?f=json                   404  404  200  404  404  404  401  401  401
GET    /jobs/{analyst_job}?f=json                     404  404  404  200  200  200  401  401  401
GET    /jobs/{analyst_job}/results?f=json             404  404  404  200  200  200  401  401  401
GET    /jobs/{anon_job}?f=json                        200  404  404  404  404  404  401  401  401
GET    /jobs/{anon_job}/results?f=json                200  404  404  404  404  404  401  401  401
GET    /deliveries                                    401  200  200  200  200  403  401  401  401
POST   /deliveries?filename=x.csv                     401  400  400  403  403  403  401  401  401
POST   /deliveries?filename=x.csv&replaces={b_secret} 401  400  400  403  403  403  401  401  401
GET    /deliveries/{a_pending}                        401  200  404  200  200  403  401  401  401
GET    /deliveries/{b_secret}                         401  404  200  200  200  403  401  401  401
GET    /deliveries/987654                             401  404  404  404  404  403  401  401  401
POST   /deliveries/{a_rejected}/withdraw              401  409  404  403  403  403  401  401  401
POST   /deliveries/{b_secret}/withdraw#not-b          401  404  -    403  403  403  401  401  401
POST   /deliveries/{a_rejected}/approve               401  403  403  409  403  403  401  401  401
POST   /deliveries/{a_rejected}/reject                401  403  403  409  403  403  401  401  401
GET    /review/pending                                401  403  403  200  403  403  401  401  401
GET    /granskning/                                   200  200  200  200  200  200  401  401  401
GET    /granskning/identity                           401  403  403  200  403  403  401  401  401
GET    /admin/                                        401  403  403  403  403  200  401  401  401
GET    /admin/actors                                  401  403  403  403  403  200  401  401  401
GET    /admin/keys                                    401  403  403  403  403  200  401  401  401
GET    /admin/access-log                              401  403  403  403  403  200  401  401  401
GET    /admin/areas                                   401  403  403  403  403  200  401  401  401
POST   /admin/actors                                  401  403  403  403  403  201  401  401  401
POST   /admin/keys                                    401  403  403  403  403  201  401  401  401
POST   /admin/keys/0123456789ab/revoke                401  403  403  403  403  404  401  401  401
DELETE /jobs/{b_job}#not-b                            404  404  -    404  404  404  401  401  401
DELETE /jobs/{a_job}                                  404  200  404  404  404  404  401  401  401
"""


def expected_table() -> dict[tuple[str, str], dict[str, str]]:
    table = {}
    for line in MATRIX.strip().splitlines()[1:]:
        method, template, *cells = line.split()
        assert len(cells) == len(AUDIENCES), line
        table[(method, template)] = dict(zip(AUDIENCES, cells, strict=True))
    return table


# -- what nobody else may see -----------------------------------------------------------------


def _number(value: int) -> re.Pattern:
    """``value`` as a figure of its own (not a part of 17.7373 or 79990)."""
    return re.compile(rf"(?<![\d.]){value}(?![\d.])")


#: What is actor B's alone (its references: not even the municipality's) ...
B_REFERENCES = [re.compile(re.escape(ref)) for ref in B_REFS]
#: ... B's detail the municipality's reviewer and analyst may see, nobody else but B ...
B_DETAIL = [re.compile(re.escape(B_FILE)), re.compile(r"vaktbolaget\.csv"), _number(B_VALUE)]
#: ... and A's detail that is never published.
A_DETAIL = [_number(v) for v in A_VALUES] + [re.compile(re.escape(f)) for f in A_FILES]
#: Documents of the configuration, where 999 is the hot spot test's default permutations.
STATIC = re.compile(r"/openapi|/processes/[a-z-]+(\?|$)")
MAY_SEE_B_DETAIL = {"actor_b", "reviewer", "analyst"}
MAY_SEE_A_DETAIL = {"actor_a", "reviewer", "analyst"}


def leaks(audience: str, text: str, asked: str) -> list[str]:
    """The restricted values in ``text`` that ``audience`` must not see (``asked``: the URL,
    whose echo in a response's links is no leak)."""
    text = text.replace(asked, "")
    for _, value in urllib.parse.parse_qsl(urllib.parse.urlsplit(asked).query):
        if len(value) > 2:
            text = text.replace(value, "")  # the query as echoed in a response's links
    if STATIC.search(asked):  # written from the configuration at start-up, not from data
        text = re.sub(r"(?<![\d.])999(?![\d.])", "", text)  # the permutations' default
    forbidden = [] if audience == "actor_b" else list(B_REFERENCES)
    if audience not in MAY_SEE_B_DETAIL:
        forbidden += B_DETAIL
    if audience not in MAY_SEE_A_DETAIL:
        forbidden += A_DETAIL
    return [p.pattern for p in forbidden if p.search(text)]


def run_matrix(srv: dict, audiences=AUDIENCES, skip=()) -> list[str]:
    """Every cell of :data:`MATRIX` for ``audiences``: the differences and the leaks found."""
    expected = expected_table()
    problems = []
    for method, template, options in endpoints():
        if any(part in template for part in skip):
            continue
        for audience in audiences:
            want = expected[(method, template)][srv.get("as", {}).get(audience, audience)]
            if want == "-":
                continue
            r = call(srv, method, template, options, audience)
            cell = f"{method} {template} [{audience}]"
            if str(r.status_code) != want:
                problems.append(f"{cell}: {r.status_code}, expected {want}: {r.text[:150]}")
            if r.status_code >= 500:
                problems.append(f"{cell}: a {r.status_code}")
            found = leaks(srv.get("as", {}).get(audience, audience), r.text, r.url)
            if found:
                problems.append(f"{cell}: shows {found}")
            if r.status_code == 401:
                assert "WWW-Authenticate" in r.headers, cell
    return problems


def test_every_endpoint_for_every_audience(server):
    problems = run_matrix(server)
    assert not problems, "\n".join(problems)
    cells = sum(c != "-" for row in expected_table().values() for c in row.values())
    print(f"{cells} cells")


def test_every_per_indicator_layer_is_public(server):
    """Every per-indicator layer (3 × the catalogue's indicators), cheaply: a page for the
    public, for an actor and for a forged token (401), without a leak; the matrix above tries
    one of each kind for every audience."""
    with psycopg.connect(server["db"]) as conn:
        indicators = [i for (i,) in conn.execute("SELECT id FROM lagesbild.indicator ORDER BY 1")]
    assert len(indicators) == 32
    problems = []
    for kind in ("situation", "hotspots", "trends"):
        for indicator in indicators:
            template = f"/collections/{kind}-{indicator}/items?limit=2"
            for audience, want in (("public", 200), ("actor_b", 200), ("forged", 401)):
                r = call(server, "GET", template, {}, audience)
                if r.status_code != want:
                    problems.append(f"{template} [{audience}]: {r.status_code}, expected {want}")
                found = leaks(audience, r.text, r.url)
                if found:
                    problems.append(f"{template} [{audience}]: shows {found}")
    assert not problems, "\n".join(problems)


# -- the same endpoints, spelt otherwise ----------------------------------------------------------

RESTRICTED_PATHS = (
    "/collections/my-observations/items",
    "/collections/my-observations/items/{b_item}",
    "/collections/my-deliveries/items",
    "/collections/my-deliveries/items/{b_secret}",
    "/collections/exact-observations/items",
)


@pytest.mark.parametrize("template", RESTRICTED_PATHS)
def test_a_public_conditional_request_on_a_restricted_layer_is_a_401(server, template):
    """Hole found: the middleware was never told which collections are restricted (app.py
    built it without them), so ``If-None-Match: *`` from the public got a 304 and a public
    ETag instead of the 401."""
    conditions = (
        {"If-None-Match": "*"},
        {"If-None-Match": 'W/"v1-0", *'},
        {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    )
    for method in ("GET", "HEAD"):
        for condition in conditions:
            r = requests.request(method, url_of(server, template), headers=condition, timeout=30)
            assert r.status_code == 401, (method, condition, r.status_code)
            assert "ETag" not in r.headers and "public" not in r.headers.get("Cache-Control", "")


@pytest.mark.parametrize("collection", ["my-deliveries", "areas", "indicators"])
def test_datetime_on_a_collection_without_time_is_a_400(server, collection):
    """Hole found: a 500 (pygeoapi's bare ProviderQueryError) instead of the error table's 400."""
    url = f"{server['url']}/collections/{collection}/items?datetime=2026-04-13/.."
    for audience in ("public", "actor_a", "analyst"):
        r = requests.get(url, headers=headers_of(server, audience), timeout=30)
        if collection == "my-deliveries" and audience != "actor_a":
            assert r.status_code in (401, 403)
        else:
            assert r.status_code == 400, (audience, r.status_code, r.text[:200])
            assert "no time field" in r.json()["description"]


@pytest.mark.parametrize(
    "template",
    [
        "//collections/my-observations/items",
        "/collections//my-observations/items",
        "///collections/exact-observations/items",
        "//collections/my-observations/items/{b_item}",
        "//collections/observations/items?indikator=ran",  # a misspelt filter, unchecked
    ],
)
def test_a_path_with_an_empty_segment_is_refused(server, template):
    """Hole found: pygeoapi answers ``//collections/x/items`` as ``/collections/x/items``,
    but the middleware's checks by path did not recognise it: no parameter check, and a
    public 304 for ``If-None-Match: *`` on a restricted layer."""
    url = url_of(server, template)
    for audience in ("public", "actor_a"):
        for condition in ({}, {"If-None-Match": "*"}):
            r = requests.get(url, headers=headers_of(server, audience) | condition, timeout=30)
            assert r.status_code == 400, (audience, condition, r.status_code)
            assert "single slashes" in r.json()["description"]


@pytest.mark.parametrize(
    ("template", "status"),
    [
        ("/Deliveries", 404),
        ("/DELIVERIES/{b_secret}", 404),
        ("/deliveries/%31%30", None),  # percent-encoded digits: the same as the id itself
        ("/collections/MY-OBSERVATIONS/items", 404),
        ("/collections/My-Deliveries/items", 404),
        ("/ADMIN/keys", 404),
        ("/Granskning/identity", 404),
        ("/REVIEW/pending", 404),
    ],
)
def test_case_variants_are_no_way_around_the_rules(server, template, status):
    for audience in ("public", "actor_a", "actor_b"):
        r = requests.get(url_of(server, template), headers=headers_of(server, audience))
        if status is not None:
            assert r.status_code == status, (audience, r.status_code)
        assert not leaks(audience, r.text, r.url), (template, audience)
    encoded = f"{server['url']}/deliveries/" + "".join(
        f"%{ord(c):02X}" for c in str(server["ids"]["b_secret"])
    )
    for audience, want in (("public", 401), ("actor_a", 404), ("actor_b", 200)):
        assert requests.get(encoded, headers=headers_of(server, audience)).status_code == want


def test_trailing_slashes_answer_as_without(server):
    for audience in AUDIENCES:
        for path in ("/deliveries", "/deliveries/{b_secret}", "/review/pending", "/admin/keys"):
            plain = call(server, "GET", path, {}, audience).status_code
            slashed = call(server, "GET", path + "/", {}, audience).status_code
            assert plain == slashed, (path, audience, plain, slashed)


def test_head_answers_as_get_without_a_body(server):
    expected = expected_table()
    for method, template, options in endpoints():
        if method != "GET" or "/jobs" in template:
            continue
        for audience in ("public", "actor_a", "actor_b", "expired"):
            r = call(server, "HEAD", template, options, audience)
            assert str(r.status_code) == expected[(method, template)][audience], (
                template, audience, r.status_code)  # fmt: skip


# -- credentials spelt otherwise -----------------------------------------------------------------


def _raw(server, headers: list[tuple[str, str]], path="/deliveries", source=None):
    """A request with exactly these header lines (two of one name, odd spellings)."""
    url = requests.utils.urlparse(server["url"])
    conn = http.client.HTTPConnection(
        url.hostname, url.port, timeout=60, source_address=(source, 0) if source else None
    )
    try:
        conn.putrequest("GET", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_two_keys_or_odd_spellings_are_never_the_first_key(server):
    a, b = server["keys"]["actor_a"], server["keys"]["actor_b"]
    for headers in (
        [("X-API-Key", a), ("X-API-Key", b)],
        [("X-API-Key", b), ("X-API-Key", a)],
        [("X-API-Key", a), ("X-API-Key", "")],
        [("X-API-Key", a), ("Authorization", f"Bearer {forged_token()}")],
        [("Authorization", f"ApiKey {a}")],
        [("Authorization", f"Bearer {a}")],
        [("Authorization", "Bearer x"), ("Authorization", "Bearer y")],
    ):
        status, body = _raw(server, headers)
        assert status == 401, (headers[0][0], status)
        assert a not in body and b not in body
    # the header's name is case-insensitive (HTTP); other names are no credential at all
    assert _raw(server, [("x-api-key", a)])[0] == 200
    for name in ("X_API_KEY", "X-Api_Key", "Api-Key", "X-API-Keys", "Apikey"):
        status, _ = _raw(server, [(name, a)])
        assert status == 401, name  # the public: /deliveries needs a credential
        status, body = _raw(server, [(name, a)], path="/collections/my-deliveries/items")
        assert status == 401 and "vaktbolaget" not in body and "pending.csv" not in body


def test_x_forwarded_for_does_not_make_another_anonymous_caller(server):
    """An anonymous job belongs to its caller's address; a forwarding header is not trusted
    (no proxy is configured), so another address cannot claim it, nor hide behind one."""
    job = server["ids"]["anon_job"]
    other = "127.0.0.2"  # a second address of the loopback: another anonymous caller
    for headers in (
        [],
        [("X-Forwarded-For", "127.0.0.1")],
        [("X-Real-IP", "127.0.0.1")],
        [("Forwarded", "for=127.0.0.1")],
    ):
        assert _raw(server, headers, f"/jobs/{job}?f=json", source=other)[0] == 404
        assert _raw(server, headers, f"/jobs/{job}/results?f=json", source=other)[0] == 404
        status, body = _raw(server, headers, "/jobs?f=json", source=other)
        assert status == 200 and job not in body
    # the owner's address with a forwarded header still owns it (the header changes nothing)
    assert _raw(server, [("X-Forwarded-For", "192.0.2.9")], f"/jobs/{job}?f=json")[0] == 200
    # and lists it no more than any other anonymous caller (an address is no identity)
    for fmt in ("json", "html"):
        status, body = _raw(server, [], f"/jobs?f={fmt}")
        assert status == 200 and job not in body, fmt


# -- broken object-level authorization: A reaching for B's rows -----------------------------------

ATTACKS = [
    {"filter": "actor_id='vaktbolaget'"},
    {"filter": "delivery_id={b_secret}"},
    {"filter": "delivery_id={b_secret} OR 1=1"},
    {"filter": "actor_id<>'polisen'"},
    {"filter": f"numerator={B_VALUE}"},
    {"filter": "numerator>7000"},
    {"filter": "actor_id='vaktbolaget' OR true"},
    {"filter": "delivery_id IN (SELECT id FROM lagesbild.delivery)"},
    {"filter": "actor_id LIKE '%'"},
    {"filter-lang": "cql2-json",
     "filter": '{"op": "=", "args": [{"property": "actor_id"}, "vaktbolaget"]}'},
    {"actor_id": "vaktbolaget"},
    {"delivery_id": "{b_secret}"},
    {"sortby": "-numerator", "limit": "5"},
    {"sortby": "actor_id", "properties": "actor_id,source_refs,numerator", "limit": "1000"},
    {"properties": "source_refs,actor_id,delivery_id"},
    {"bbox": "-180,-90,180,90", "limit": "1000"},
    {"datetime": "2026-04-13/..", "limit": "1000"},
    {"offset": "100000"},
    {"offset": "0", "limit": "10000"},
]  # fmt: skip


def _features(r: requests.Response) -> list[dict]:
    assert r.status_code in (200, 400), (r.status_code, r.text[:200])
    return r.json().get("features", []) if r.status_code == 200 else []


@pytest.mark.parametrize(
    "params", ATTACKS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_an_actor_reaches_only_its_own_rows_whatever_it_asks(server, params):
    b_secret = str(server["ids"]["b_secret"])
    params = {k: v.replace("{b_secret}", b_secret) for k, v in params.items()}
    own = {"my-observations": 0, "my-deliveries": 0}
    with psycopg.connect(server["db"]) as conn:
        for name, view in (("my-observations", "my_observations"), ("my-deliveries",
                                                                     "my_deliveries")):  # fmt: skip
            own[name] = conn.execute(
                f"SELECT count(*) FROM restricted.{view} WHERE actor_id = %s", (ACTOR_A,)
            ).fetchone()[0]
    for name in ("my-observations", "my-deliveries"):
        url = f"{server['url']}/collections/{name}/items"
        r = requests.get(url, params=params, headers=headers_of(server, "actor_a"), timeout=60)
        features = _features(r)
        for feature in features:
            actor = feature["properties"].get("actor_id", ACTOR_A)
            assert actor == ACTOR_A, (name, params)
        # (the features only: the links echo the filter, which may name B's value)
        assert not leaks("actor_a", json.dumps(features), ""), (name, params)
        hits = requests.get(url, params=params | {"resulttype": "hits"},
                            headers=headers_of(server, "actor_a"), timeout=60)  # fmt: skip
        if hits.status_code == 200:  # never more than A's own rows, whatever the filter
            assert hits.json()["numberMatched"] <= own[name], (name, params)


def test_cql2_json_posted_reaches_only_own_rows(server):
    url = f"{server['url']}/collections/my-observations/items"
    for body in (
        {"op": "=", "args": [{"property": "actor_id"}, ACTOR_B]},
        {"op": "=", "args": [{"property": "delivery_id"}, server["ids"]["b_secret"]]},
        {"op": "or", "args": [{"op": "=", "args": [{"property": "actor_id"}, ACTOR_B]},
                              {"op": "<>", "args": [{"property": "actor_id"}, "x"]}]},
    ):  # fmt: skip
        for ctype in ("application/query-cql-json", "application/json"):
            r = requests.post(url, json=body, headers=headers_of(server, "actor_a") | {
                "Content-Type": ctype}, timeout=60)  # fmt: skip
            assert all(f["properties"]["actor_id"] == ACTOR_A for f in _features(r))
            assert not leaks("actor_a", r.text, r.url)
            r = requests.post(url, json=body, headers={"Content-Type": ctype}, timeout=60)
            assert r.status_code == 401


def test_the_counts_an_actor_gets_are_its_own(server):
    """``numberMatched`` tells an actor how many rows exist: only its own may be counted."""
    with psycopg.connect(server["db"]) as conn:
        a_rows = conn.execute(
            "SELECT count(*) FROM restricted.my_observations WHERE actor_id = %s", (ACTOR_A,)
        ).fetchone()[0]
        b_rows = conn.execute(
            "SELECT count(*) FROM restricted.my_observations WHERE actor_id = %s", (ACTOR_B,)
        ).fetchone()[0]
    url = f"{server['url']}/collections/my-observations/items?resulttype=hits"
    for audience, want in (("actor_a", a_rows), ("actor_b", b_rows)):
        assert requests.get(url, headers=headers_of(server, audience)).json()[
            "numberMatched"] == want  # fmt: skip


def test_an_actor_lists_only_its_own_deliveries_and_jobs(server):
    for audience, actor in (("actor_a", ACTOR_A), ("actor_b", ACTOR_B)):
        listed = call(server, "GET", "/deliveries", {}, audience).json()["deliveries"]
        assert listed and {d["actor_id"] for d in listed} == {actor}
        for status in ("pending", "rejected", "withdrawn", "approved", "replaced"):
            r = call(server, "GET", f"/deliveries?status={status}", {}, audience)
            assert {d["actor_id"] for d in r.json()["deliveries"]} <= {actor}
        jobs = call(server, "GET", "/jobs?f=json", {}, audience).json()["jobs"]
        theirs = {server["ids"][j] for j in ("a_job", "b_job", "analyst_job", "anon_job")}
        mine = server["ids"]["a_job" if audience == "actor_a" else "b_job"]
        assert {j["jobID"] for j in jobs} & theirs <= {mine}


def test_an_id_of_the_municipality_in_an_actors_request_changes_nothing(server):
    """The caller is the credential's: nothing in a request names who is asking."""
    a = headers_of(server, "actor_a")
    for params in ({"actor_id": ACTOR_B}, {"role": "reviewer"}, {"principal": "key:admin"}):
        r = requests.get(f"{server['url']}/deliveries", params=params, headers=a)
        assert {d["actor_id"] for d in r.json()["deliveries"]} == {ACTOR_A}
    r = requests.post(
        f"{server['url']}/deliveries/{server['ids']['a_pending']}/approve",
        json={"by": "test-granskare", "role": "reviewer"},
        headers=a | {"X-Lagesbild-Role": "reviewer"},
    )
    assert r.status_code == 403


# -- bearer tokens: a second server that trusts an identity provider the test serves ------------


def _hand_made(header: dict, claims: dict, signature: bytes = b"") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(signature)}"


def tokens(provider) -> dict[str, str]:
    """A valid token of actor A and of the analyst, and the ways a token can be wrong."""
    actor = {"realm_access": {"roles": ["lagesbild-aktor"]}, "lagesbild_actor": ACTOR_A,
             "sub": "polis-1", "preferred_username": "polis.ett"}  # fmt: skip
    analyst = {"realm_access": {"roles": ["lagesbild-analytiker"]}, "sub": "ana-1"}
    now = int(time.time())
    pem = oidc_tests.RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_claims = provider.claims(**analyst)
    hs_header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    unsigned = _hand_made(hs_header, hs_claims)
    return {
        "token_a": provider.token(**actor),
        "token_analyst": provider.token(**analyst),
        "token_expired": provider.token(**analyst, iat=now - 7200, exp=now - 3600),
        "token_wrong_audience": provider.token(**analyst, aud="another-api"),
        "token_wrong_issuer": provider.token(**analyst, iss=provider.base + "/realms/other"),
        "token_alg_none": _hand_made({"alg": "none", "typ": "JWT"}, provider.claims(**analyst)),
        "token_hs256_public_key": unsigned.rsplit(".", 1)[0]
        + "."
        + base64.urlsafe_b64encode(
            hmac.digest(pem, unsigned.rsplit(".", 1)[0].encode(), hashlib.sha256)
        )
        .rstrip(b"=")
        .decode(),
        "token_forged": provider.token(key=UNTRUSTED_KEY, **analyst),
        "token_unknown_actor": provider.token(**(actor | {"lagesbild_actor": "ingen-sadan"})),
    }


#: Each token's column of :data:`MATRIX`: the valid ones as the key of the same role, every
#: wrong one as the forged token (401 everywhere).
TOKEN_AS = {"token_a": "actor_a", "token_analyst": "analyst"}


@pytest.fixture(scope="module")
def oidc_server(pg_server, tmp_path_factory):
    provider = oidc_tests.Provider()
    env = {
        "LAGESBILD_OIDC_ISSUER": provider.issuer,
        "LAGESBILD_OIDC_AUDIENCE": oidc_tests.AUDIENCE,
        "LAGESBILD_OIDC_ROLE_CLAIM": "realm_access.roles",
        "LAGESBILD_OIDC_ROLE_MAP": oidc_tests.ROLE_MAP,
    }
    data_dir = tmp_path_factory.mktemp("matrix-oidc")
    try:
        with serving_with_audiences(
            pg_server, "matrix_oidc", data_dir, password="matrix-oidc-pw", **env
        ) as srv:
            given = tokens(provider)
            yield srv | {
                "ids": prepare(srv, with_jobs=False),
                "tokens": given,
                "as": {name: TOKEN_AS.get(name, "forged") for name in given},
            }
    finally:
        provider.server.shutdown()


def test_every_endpoint_for_every_token(oidc_server):
    """The matrix again with bearer tokens: a valid token is its role's column, every wrong
    token a 401 on every path. (Jobs belong to their principal: the key's jobs are not the
    token's, so the rows naming the key holders' jobs are left out.)"""
    problems = run_matrix(oidc_server, audiences=tuple(oidc_server["tokens"]), skip=("/jobs/",))
    assert not problems, "\n".join(problems)


def test_the_forged_key_column_holds_on_the_oidc_server_too(oidc_server):
    problems = run_matrix(
        oidc_server, audiences=("public", "expired", "revoked", "forged"), skip=("/jobs/",)
    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "params",
    [
        {"properties": "source_refs"},
        {"sortby": "source_refs"},
        {"sortby": "actor_id"},
        {"filter": "source_refs IS NOT NULL"},
        {"filter": "actor_id='vaktbolaget'"},
        {"actor_id": "vaktbolaget"},
        {"source_refs": "VB-HEMLIG-0001"},
    ],
    ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()),
)
def test_the_analyst_reaches_no_actors_references_or_ids(server, params):
    """The exact picture has neither the actors' references nor their ids: asking for them
    by property, sort or filter is the 400 of a column that does not exist."""
    url = f"{server['url']}/collections/exact-observations/items"
    r = requests.get(url, params=params, headers=headers_of(server, "analyst"), timeout=60)
    assert r.status_code == 400, (params, r.status_code, r.text[:200])
    assert not leaks("analyst", r.text, r.url)


def test_a_preflight_carrying_a_credential_answers_no_data(server):
    """A CORS preflight is answered before authentication (it carries no credential by the
    standard); one that carries a key, valid or not, still reaches nothing."""
    for audience in ("revoked", "actor_b", "forged"):
        for template in ("/collections/my-observations/items/{b_item}", "/deliveries/{b_secret}",
                         "/admin/keys", "/jobs/{b_job}"):  # fmt: skip
            r = requests.options(url_of(server, template), headers=headers_of(server, audience))
            assert r.status_code < 500, (template, audience, r.status_code)
            assert not leaks("public", r.text, r.url) and "lgb_" not in r.text
            assert r.status_code != 200 or len(r.content) < 200, (template, r.text[:200])


def test_a_correction_of_bs_delivery_by_a_is_as_if_it_did_not_exist(server):
    b_secret = server["ids"]["b_secret"]
    with psycopg.connect(server["db"]) as conn:
        before = conn.execute("SELECT count(*) FROM lagesbild.delivery").fetchone()[0]
    csv = "område,vecka,indikator,antal\n1101,2026-W15,ran,4\n".encode()
    for given in (str(b_secret), f"{b_secret:04d}", f"+{b_secret}"):
        r = requests.post(
            f"{server['url']}/deliveries",
            params={"filename": "rattelse.csv", "replaces": given},
            data=csv,
            headers=headers_of(server, "actor_a") | {"Content-Type": "text/csv"},
            timeout=60,
        )
        assert r.status_code in (400, 404), (given, r.status_code, r.text[:200])
        assert not leaks("actor_a", r.text, r.url)
    with psycopg.connect(server["db"]) as conn:
        assert conn.execute("SELECT count(*) FROM lagesbild.delivery").fetchone()[0] == before
        status = conn.execute(
            "SELECT status FROM lagesbild.delivery WHERE id = %s", (b_secret,)
        ).fetchone()
    assert status == ("pending",)
    # B's job survived everyone else's DELETE in the matrix
    assert call(server, "GET", "/jobs/{b_job}?f=json", {}, "actor_b").status_code == 200
