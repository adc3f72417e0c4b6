"""``/admin``: only the admin manages actors and keys and reads the access log over HTTP."""

from __future__ import annotations

import psycopg
import pytest
import requests

from tests.access_helpers import serving_with_audiences

ADMIN_PATHS = ["/admin", "/admin/actors", "/admin/keys", "/admin/access-log", "/admin/areas"]


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("admin-server")
    with serving_with_audiences(pg_server, "admin_http", data_dir, password="admin-pw") as srv:
        yield srv


def _as(server, audience: str | None) -> dict[str, str]:
    return {"X-API-Key": server["keys"][audience]} if audience else {}


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_only_the_admin_reaches_admin(server, path):
    url = server["url"] + path
    assert requests.get(url, timeout=30).status_code == 401
    for audience in ("actor_a", "reviewer", "analyst"):
        r = requests.get(url, headers=_as(server, audience), timeout=30)
        assert r.status_code == 403, (audience, r.text)
    r = requests.get(url, headers=_as(server, "admin"), timeout=30)
    assert r.status_code == 200, r.text


def test_the_admin_adds_an_actor_and_a_key_that_works_at_once(server):
    admin = _as(server, "admin")
    r = requests.post(
        server["url"] + "/admin/actors",
        json={"id": "skolan_test", "kind": "education", "name": "Testskolan"},
        headers=admin,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    actors = requests.get(server["url"] + "/admin/actors", headers=admin, timeout=30).json()
    assert {"id": "skolan_test", "kind": "education", "name": "Testskolan", "deliveries": 0} in (
        actors["actors"]
    )
    r = requests.post(
        server["url"] + "/admin/keys",
        json={"role": "actor", "owner": "Rektor", "actor_id": "skolan_test"},
        headers=admin,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("lgb_") and created["role"] == "actor"
    # the new key is an actor's: it reaches its own deliveries, not the admin
    assert (
        requests.get(server["url"] + "/deliveries", headers={"X-API-Key": key}).status_code == 200
    )
    assert (
        requests.get(server["url"] + "/admin/keys", headers={"X-API-Key": key}).status_code == 403
    )
    # the listing shows the key but never its secret or hash
    listing = requests.get(server["url"] + "/admin/keys", headers=admin, timeout=30)
    assert key not in listing.text and key.rsplit("_", 1)[1] not in listing.text
    assert created["id"] in {k["id"] for k in listing.json()["keys"]}
    with psycopg.connect(server["db"]) as conn:
        stored = conn.execute(
            "SELECT secret_sha256::text, owner FROM lagesbild.api_key WHERE id = %s",
            (created["id"],),
        ).fetchone()
    assert stored[1] == "Rektor" and key.rsplit("_", 1)[1] not in stored[0]
    # revoked: refused at once
    r = requests.post(
        server["url"] + f"/admin/keys/{created['id']}/revoke", headers=admin, timeout=30
    )
    assert r.status_code == 200, r.text
    assert requests.get(server["url"] + "/", headers={"X-API-Key": key}).status_code == 401
    # and the log says who did all this
    log = requests.get(server["url"] + "/admin/access-log?limit=50", headers=admin).json()
    actions = [(e["action"], e["object_id"]) for e in log["entries"]]
    admin_principal = "key:" + server["keys"]["admin"][4:16]
    assert ("actor.save", "skolan_test") in actions
    assert ("key.create", created["id"]) in actions and ("key.revoke", created["id"]) in actions
    assert all(
        e["principal"] == admin_principal
        for e in log["entries"]
        if e["action"] in ("actor.save", "key.create", "key.revoke")
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"role": "superuser", "owner": "x"}, 400),
        ({"role": "actor", "owner": "x"}, 400),  # an actor key names its actor
        ({"role": "actor", "owner": "x", "actor_id": "nobody"}, 404),
        ({"role": "analyst"}, 400),
        ({"role": "analyst", "owner": "x", "expires_at": "tomorrow"}, 400),
        ([], 400),
    ],
)
def test_a_wrong_key_request_is_a_specific_4xx(server, body, status):
    r = requests.post(
        server["url"] + "/admin/keys", json=body, headers=_as(server, "admin"), timeout=30
    )
    assert r.status_code == status, r.text
    assert r.json()["description"]


def test_the_log_filters_and_refuses_unknown_parameters(server):
    admin = _as(server, "admin")
    r = requests.get(server["url"] + "/admin/access-log?action=key.create", headers=admin)
    assert r.status_code == 200 and all(e["action"] == "key.create" for e in r.json()["entries"])
    assert (
        requests.get(server["url"] + "/admin/access-log?drop=1", headers=admin).status_code == 400
    )
    r = requests.get(server["url"] + "/admin/access-log?since=not-a-date", headers=admin)
    assert r.status_code == 400
    assert requests.delete(server["url"] + "/admin/access-log", headers=admin).status_code == 405
