"""The restricted layers: an actor's own exact cells and deliveries, the analyst's exact picture.

In the database first (migration 0025's security-invoker views, read as the group roles the
server takes with ``SET LOCAL ROLE``), then over HTTP on a real server: what each caller gets,
and what an attacker's filters, sorts, property selections and ids cannot reach.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pandas as pd
import psycopg
import pytest
import requests

from lagesbild_geo.access import session
from lagesbild_geo.access.identity import Identity
from lagesbild_geo.store import deliveries as store
from tests import publish_data

#: Two actors of tests/publish_data.py with approved event deliveries of one indicator.
ACTOR_A, ACTOR_B = "vaktbolaget", "bostadsbolaget"
#: References of the one delivery of A that has them (``_with_references``).
A_REFS = ["VB-2026-0001", "VB-2026-0002", "VB-2026-0003"]


@contextmanager
def acting(conn: psycopg.Connection, role: str, actor_id: str | None = None):
    """A transaction of ``conn`` as the server runs a request: the group role, the caller."""
    identity = Identity(f"test:{role}:{actor_id}", frozenset({role}), actor_id, "api-key")
    with conn.transaction(force_rollback=True):
        session.enter(conn, identity, role)
        yield conn


def _with_references(conn) -> int:
    """A pending delivery of A whose events carry references (the link to A's records)."""
    rows = pd.DataFrame(
        [
            {
                "area_code": publish_data.SMALL_CELL[0],
                "week_start": publish_data.WEEKS[-1],
                "indicator": "skadegorelse",
                "numerator": 3,
                "event_hours": [1, 30, 167],
                "source_refs": A_REFS,
            }
        ]
    )
    delivery_id, _ = store.save_delivery(
        conn,
        store.NewDelivery(
            actor_id=ACTOR_A,
            file_name="refs.csv",
            content_sha256="a" * 64,
            shape="events",
            row_count=3,
            observations=rows,
        ),
    )
    return delivery_id


@pytest.fixture
def history(pg_conn):
    """tests/publish_data.py's history and A's delivery with references; the owner's
    connection and the delivery ids."""
    ids = publish_data.load(pg_conn)
    ids["refs"] = _with_references(pg_conn)
    return pg_conn, ids


def _owner_cells(conn, actor_id: str) -> dict[str, tuple]:
    """The actor's exact cells, read as the owner (no row-level security)."""
    rows = conn.execute(
        "SELECT o.delivery_id || ':' || o.area_code || ':' || to_char(o.week_start,"
        " 'IYYY-\"W\"IW') || ':' || o.indicator_id, o.numerator, o.denominator"
        " FROM lagesbild.observation o JOIN lagesbild.delivery d ON d.id = o.delivery_id"
        " WHERE d.actor_id = %s",
        (actor_id,),
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


# -- the views, in the database ---------------------------------------------------------------


def test_an_actor_reads_its_own_exact_cells_and_no_one_elses(history):
    conn, ids = history
    expected = _owner_cells(conn, ACTOR_A)
    with acting(conn, "actor", ACTOR_A):
        rows = conn.execute(
            "SELECT id, numerator, denominator, actor_id FROM restricted.my_observations"
        ).fetchall()
        # the policies, not the view, do it: the filter of someone else finds nothing
        others = conn.execute(
            "SELECT count(*) FROM restricted.my_observations WHERE actor_id = %s"
            " OR delivery_id = %s",
            (ACTOR_B, ids[ACTOR_B]),
        ).fetchone()[0]
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    assert {r[3] for r in rows} == {ACTOR_A}
    assert others == 0


def test_an_actor_sees_its_references_and_breakdown_of_a_cell(history):
    conn, ids = history
    with acting(conn, "actor", ACTOR_A):
        row = conn.execute(
            "SELECT source_refs, value, delivery_status, by_weekday_mon, by_weekday_tue,"
            " by_weekday_sun, by_hour_01, by_hour_06, by_hour_23, area_name, geom IS NOT NULL"
            " FROM restricted.my_observations WHERE delivery_id = %s",
            (ids["refs"],),
        ).fetchone()
    refs, value, status, mon, tue, sun, h01, h06, h23, area_name, has_geom = row
    assert json.loads(refs) == A_REFS
    assert (value, status) == (3, "pending")
    # hours of the week 1 (Mon 01), 30 (Tue 06), 167 (Sun 23)
    assert (mon, tue, sun, h01, h06, h23) == (1, 1, 1, 1, 1, 1)
    assert area_name and has_geom


def test_an_actor_lists_its_own_deliveries_with_their_status_and_content(history):
    conn, ids = history
    with acting(conn, "actor", "polisen"):
        rows = conn.execute(
            "SELECT id, status, cells, total, actor_id FROM restricted.my_deliveries"
        ).fetchall()
    by_id = {r[0]: r for r in rows}
    assert set(by_id) == {ids[n] for n in ("police", "pending", "rejected", "withdrawn")}
    assert by_id[ids["rejected"]][1] == "rejected"
    assert {r[4] for r in rows} == {"polisen"}
    cells, total = conn.execute(
        "SELECT count(*), sum(numerator) FROM lagesbild.observation WHERE delivery_id = %s",
        (ids["police"],),
    ).fetchone()
    assert by_id[ids["police"]][2:4] == (cells, total)


def test_the_analyst_reads_the_exact_sums_of_the_approved_deliveries(history):
    conn, _ = history
    expected = dict(
        conn.execute(
            "SELECT o.area_code || ':' || to_char(o.week_start, 'IYYY-\"W\"IW') || ':'"
            " || o.indicator_id || ':' || o.actor_kind, sum(o.numerator)"
            " FROM lagesbild.approved_observation o GROUP BY 1"
        ).fetchall()
    )
    with acting(conn, "analyst"):
        rows = dict(conn.execute("SELECT id, numerator FROM restricted.exact_observations"))
        empty = conn.execute("SELECT * FROM restricted.exact_observations LIMIT 0")
        columns = [d.name for d in empty.description]
    assert rows == expected
    assert publish_data.NEVER_PUBLISHED_MIN not in rows.values()  # pending/rejected: not in
    assert "source_refs" not in columns and "actor_id" not in columns


@pytest.mark.parametrize(
    ("role", "view"),
    [
        ("actor", "exact_observations"),
        ("analyst", "my_observations"),
        ("reviewer", "exact_observations"),
        ("admin", "my_deliveries"),
    ],
)
def test_a_role_cannot_read_another_roles_layer(history, role, view):
    conn, _ = history
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        acting(conn, role, ACTOR_A if role == "actor" else None),
    ):
        conn.execute(f"SELECT 1 FROM restricted.{view} LIMIT 1")


def test_the_public_readers_role_cannot_read_the_restricted_layers(history):
    conn, _ = history
    for view in ("my_observations", "my_deliveries", "exact_observations"):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            conn.transaction(force_rollback=True),
        ):
            conn.execute("SET LOCAL ROLE lagesbild_reader")
            conn.execute(f"SELECT 1 FROM restricted.{view} LIMIT 1")


def test_an_actor_without_its_identity_in_the_transaction_sees_nothing(history):
    conn, _ = history
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL ROLE lagesbild_actor")
        assert conn.execute("SELECT count(*) FROM restricted.my_observations").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM restricted.my_deliveries").fetchone()[0] == 0


# -- over HTTP, on a real server --------------------------------------------------------------


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    from tests.access_helpers import serving_with_audiences

    data_dir = tmp_path_factory.mktemp("restricted-layers")
    with serving_with_audiences(pg_server, "restricted_http", data_dir, password="rl-pw") as srv:
        with psycopg.connect(srv["db"]) as conn:
            srv["ids"] = dict(
                conn.execute("SELECT file_name, id FROM lagesbild.delivery").fetchall()
            )
        yield srv


def _get(server, path: str, who: str | None = None, **params):
    headers = {"X-API-Key": server["keys"][who]} if who else {}
    return requests.get(server["url"] + path, headers=headers, params=params, timeout=60)


def _all_items(server, collection: str, who: str, **params) -> list[dict]:
    """Every feature of a collection for ``who``, page by page."""
    features: list[dict] = []
    offset = 0
    while True:
        r = _get(server, f"/collections/{collection}/items", who, limit=1000, offset=offset,
                 **params)  # fmt: skip
        assert r.status_code == 200, r.text
        page = r.json()["features"]
        features += page
        if len(page) < 1000:
            return features
        offset += 1000


def test_http_an_actor_reads_its_own_exact_cells_and_never_another_actors(server):
    a, b = server["actors"]["actor_a"], server["actors"]["actor_b"]
    with psycopg.connect(server["db"]) as owner:
        expected = _owner_cells(owner, a)
        b_ids = set(_owner_cells(owner, b))
    features = _all_items(server, "my-observations", "actor_a")
    got = {
        f["id"]: (f["properties"]["numerator"], f["properties"]["denominator"]) for f in features
    }
    assert got == expected
    assert not got.keys() & b_ids
    assert {f["properties"]["actor_id"] for f in features} == {a}
    # every row has its area's geometry (the current layer has every area delivered)
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in features[:50])


def test_http_an_actor_lists_its_own_deliveries(server):
    a = server["actors"]["actor_a"]
    with psycopg.connect(server["db"]) as owner:
        expected = dict(
            owner.execute(
                "SELECT id, status FROM lagesbild.delivery WHERE actor_id = %s", (a,)
            ).fetchall()
        )
    features = _all_items(server, "my-deliveries", "actor_a")
    assert {f["id"]: f["properties"]["status"] for f in features} == expected


def test_http_the_analyst_reads_the_exact_picture(server):
    with psycopg.connect(server["db"]) as owner:
        expected = dict(
            owner.execute(
                "SELECT o.area_code || ':' || to_char(o.week_start, 'IYYY-\"W\"IW') || ':'"
                " || o.indicator_id || ':' || o.actor_kind, sum(o.numerator)"
                " FROM lagesbild.approved_observation o GROUP BY 1"
            ).fetchall()
        )
    features = _all_items(server, "exact-observations", "analyst")
    assert {f["id"]: f["properties"]["numerator"] for f in features} == expected
    assert "source_refs" not in features[0]["properties"]


#: (query parameters, the same condition in SQL on the view): filters the counts of
#: migration 0028 cover, and one they do not (an area: counted in the view).
MATCHED_FILTERS = [
    ({}, "true"),
    ({"filter": "indicator='anlagd_brand' AND value >= 5"},
     "indicator = 'anlagd_brand' AND value >= 5"),
    ({"datetime": "2026-01-12T00:00:00Z/2026-02-15T23:59:59Z", "filter": "value < 3"},
     "week_start <= '2026-02-15' AND week_end >= '2026-01-12' AND value < 3"),
    ({"filter": "area_code='1101' AND value >= 1"}, "area_code = '1101' AND value >= 1"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "where"), MATCHED_FILTERS)
@pytest.mark.parametrize(
    ("who", "collection", "view"),
    [("actor_a", "my-observations", "my_observations"),
     ("analyst", "exact-observations", "exact_observations")],
)  # fmt: skip
def test_http_number_matched_is_the_callers_count(server, who, collection, view, params, where):
    """numberMatched, summed from the counts or counted, is the number of the caller's rows
    that match, with and without filters; the page is the first of them in id order."""
    rows_of = f"actor_id = '{server['actors']['actor_a']}'" if who == "actor_a" else "true"
    with psycopg.connect(server["db"]) as owner:
        ids = [
            r[0]
            for r in owner.execute(
                f"SELECT id FROM restricted.{view} WHERE {where} AND {rows_of} ORDER BY id"
            )
        ]
    r = _get(server, f"/collections/{collection}/items", who, limit=50, sortby="id", **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["numberMatched"] == len(ids) > 0
    assert [f["id"] for f in body["features"]] == ids[:50]


@pytest.mark.parametrize("collection", ["my-observations", "my-deliveries", "exact-observations"])
@pytest.mark.parametrize("path", ["/items", "/items/1"])
def test_http_the_public_is_asked_for_credentials(server, collection, path):
    r = _get(server, f"/collections/{collection}{path}")
    assert r.status_code == 401, r.text
    assert "WWW-Authenticate" in r.headers
    assert r.json()["code"] == "Unauthorized"


@pytest.mark.parametrize(
    ("who", "collection"),
    [
        ("actor_a", "exact-observations"),
        ("analyst", "my-observations"),
        ("reviewer", "exact-observations"),
        ("admin", "my-deliveries"),
    ],
)
def test_http_a_role_without_the_layers_role_is_forbidden(server, who, collection):
    for path in ("/items", "/items/1"):
        r = _get(server, f"/collections/{collection}{path}", who)
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "Forbidden"


def test_http_filters_sorts_and_ids_never_reach_another_actors_rows(server):
    a, b = server["actors"]["actor_a"], server["actors"]["actor_b"]
    with psycopg.connect(server["db"]) as owner:
        b_delivery, b_cell = owner.execute(
            "SELECT d.id, o.delivery_id || ':' || o.area_code || ':' || to_char(o.week_start,"
            " 'IYYY-\"W\"IW') || ':' || o.indicator_id"
            " FROM lagesbild.delivery d JOIN lagesbild.observation o ON o.delivery_id = d.id"
            " WHERE d.actor_id = %s LIMIT 1",
            (b,),
        ).fetchone()
    items = "/collections/my-observations/items"
    for params in (
        {"actor_id": b},
        {"delivery_id": str(b_delivery)},
        {"filter": f"actor_id = '{b}'"},
        {"filter": f"delivery_id = {b_delivery} OR actor_id <> '{a}'"},
        {"filter": f"id = '{b_cell}'"},
    ):
        r = _get(server, items, "actor_a", **params)
        assert r.status_code == 200, (params, r.text)
        assert r.json()["features"] == [], params
    # sorted every way and with only the references: still A's rows only
    for params in (
        {"sortby": "-numerator", "limit": "1000"},
        {"sortby": "actor_id", "properties": "source_refs,actor_id", "limit": "1000"},
    ):
        r = _get(server, items, "actor_a", **params)
        assert r.status_code == 200, r.text
        assert r.json()["features"]
        assert all(f["id"].split(":")[0] != str(b_delivery) for f in r.json()["features"])
    # B's cell and B's delivery by id: not there (404), exactly like an id that never was
    assert _get(server, f"{items}/{b_cell}", "actor_a").status_code == 404
    assert (
        _get(server, f"/collections/my-deliveries/items/{b_delivery}", "actor_a").status_code == 404
    )
    assert _get(server, "/collections/my-deliveries/items/999999", "actor_a").status_code == 404
    assert _get(server, f"{items}/{b_cell}", "actor_b").status_code == 200
    # the analyst's layer names no actor and no reference to select by
    r = _get(server, "/collections/exact-observations/items", "analyst",
             properties="source_refs")  # fmt: skip
    assert r.status_code == 400


def test_http_an_actors_item_is_read_whole(server):
    features = _all_items(server, "my-observations", "actor_a")
    wanted = features[0]
    r = _get(server, f"/collections/my-observations/items/{wanted['id']}", "actor_a")
    assert r.status_code == 200, r.text
    assert r.json()["properties"] == wanted["properties"]
    assert r.json()["geometry"] == wanted["geometry"]


def test_http_restricted_answers_are_private_and_every_read_is_logged(server):
    with psycopg.connect(server["db"]) as owner:
        before = owner.execute("SELECT max(id) FROM lagesbild.access_log").fetchone()[0] or 0
    r = _get(server, "/collections/my-observations/items", "actor_a", limit="7")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "private, no-store"
    assert "X-API-Key" in r.headers["Vary"] and "ETag" not in r.headers
    item = r.json()["features"][0]["id"]
    assert _get(server, f"/collections/my-observations/items/{item}", "actor_a").ok
    assert _get(server, "/collections/exact-observations/items", "analyst", limit="3").ok
    with psycopg.connect(server["db"]) as owner:
        rows = owner.execute(
            "SELECT role, actor_id, action, object_type, object_id, detail"
            " FROM lagesbild.access_log WHERE id > %s ORDER BY id",
            (before,),
        ).fetchall()
    a = server["actors"]["actor_a"]
    assert [r[:5] for r in rows] == [
        ("actor", a, "layer.read", "collection", "my-observations"),
        ("actor", a, "layer.read", "collection", "my-observations"),
        ("analyst", None, "layer.read", "collection", "exact-observations"),
    ]
    assert rows[0][5] == {"items": 7}
    assert rows[1][5] == {"items": 1, "id": item}
    assert rows[2][5] == {"items": 3}


def test_the_configured_restricted_collections_are_the_views_and_their_roles(pg_conn):
    import yaml

    from lagesbild_geo.server.restricted_provider import restricted_collections
    from tests.conftest import REPO

    config = yaml.safe_load((REPO / "pygeoapi-config.yml").read_text(encoding="utf-8"))
    tables = restricted_collections(config)
    assert tables == {
        "my-observations": "my_observations",
        "my-deliveries": "my_deliveries",
        "exact-observations": "exact_observations",
    }
    for name, table in tables.items():
        (provider,) = config["resources"][name]["providers"]
        assert "temporal" not in config["resources"][name]["extents"]  # nothing of the data
        group = f"lagesbild_{provider['role']}"
        readable = pg_conn.execute(
            "SELECT has_table_privilege(%s, %s, 'SELECT')", (group, f"restricted.{table}")
        ).fetchone()[0]
        assert readable, (name, group)
        assert not pg_conn.execute(
            "SELECT has_table_privilege('lagesbild_reader', %s, 'SELECT')", (f"restricted.{table}",)
        ).fetchone()[0]
        assert provider["data"]["user"] == "${LAGESBILD_SERVER_DB_USER:-lagesbild_server}"
