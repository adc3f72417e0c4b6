"""Every path answers an invalid credential with 401, never as the public; valid keys pass."""

from __future__ import annotations

import base64

import psycopg
import pytest
import requests

from tests.access_helpers import make_key, serving_with_audiences

PATHS = [
    "/",
    "/collections",
    "/collections/observations/items?limit=1",
    "/collections/situation/items/1101",
    "/processes",
    "/jobs",
    "/openapi?f=json",
    "/conformance",
    "/deliveries",
    "/nonexistent",
]


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("auth-server")
    with serving_with_audiences(pg_server, "auth_http", data_dir, password="auth-pw") as srv:
        yield srv


def _bad_credentials(keys: dict[str, str]) -> dict[str, dict[str, str]]:
    good = keys["analyst"]
    return {
        "expired": {"X-API-Key": keys["expired"]},
        "revoked": {"X-API-Key": keys["revoked"]},
        "empty key": {"X-API-Key": ""},
        "forged secret": {
            "X-API-Key": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        },
        "other prefix": {"X-API-Key": "LGB_" + good[4:]},
        "inner space": {"X-API-Key": good[:16] + " " + good[16:]},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "bearer garbage": {"Authorization": "Bearer not-a-token"},
        "empty bearer": {"Authorization": "Bearer "},
        "key as bearer": {"Authorization": f"Bearer {good}"},
        "both": {"X-API-Key": good, "Authorization": "Bearer x"},
    }


@pytest.mark.parametrize("path", PATHS)
def test_invalid_credentials_are_401_on_every_path(server, path):
    for label, headers in _bad_credentials(server["keys"]).items():
        r = requests.get(server["url"] + path, headers=headers, timeout=30)
        assert r.status_code == 401, (label, path, r.status_code, r.text[:200])
        assert "WWW-Authenticate" in r.headers, label
        assert r.headers["Cache-Control"] == "private, no-store"
        body = r.json()
        assert body["code"] == "Unauthorized"
        # the credential is never repeated back
        for value in headers.values():
            if len(value) > 12:
                assert value.strip() not in r.text


def test_a_valid_key_reads_the_public_layers_privately(server):
    url = server["url"] + "/collections/observations/items?limit=1&f=json"
    public = requests.get(url, timeout=30)
    assert public.status_code == 200
    assert public.headers["Cache-Control"] == "public, no-cache" and "ETag" in public.headers
    for audience in ("actor_a", "reviewer", "analyst", "admin"):
        r = requests.get(url, headers={"X-API-Key": server["keys"][audience]}, timeout=30)
        assert r.status_code == 200, audience
        assert r.json()["features"] == public.json()["features"]
        # an authenticated answer is never kept by a shared cache, nor revalidated publicly
        assert r.headers["Cache-Control"] == "private, no-store"
        assert "ETag" not in r.headers
        assert "X-API-Key" in r.headers["Vary"]


def test_a_revoked_key_stops_at_once(server):
    with psycopg.connect(server["db"]) as conn:
        key = make_key(conn, "analyst", owner="to be revoked")
    r = requests.get(server["url"] + "/", headers={"X-API-Key": key})
    assert r.status_code == 200
    with psycopg.connect(server["db"]) as conn:
        conn.execute("UPDATE lagesbild.api_key SET revoked_at = now() WHERE id = %s", (key[4:16],))
    r = requests.get(server["url"] + "/", headers={"X-API-Key": key})
    assert r.status_code == 401


def test_a_key_as_the_password_of_http_basic_is_the_key(server):
    """QGIS 3.22's built-in Basic method (it has no API Header method) sends the key this way."""
    url = server["url"] + "/collections/my-observations/items?limit=1&f=json"
    key = server["keys"]["actor_a"]
    r = requests.get(url, auth=("qgis", key), timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["features"][0]["properties"]["actor_id"] == server["actors"]["actor_a"]
    for wrong in (("qgis", key[:-1]), ("qgis", ""), (key, "x")):
        assert requests.get(url, auth=wrong, timeout=30).status_code == 401, wrong
    no_colon = {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}
    assert requests.get(url, headers=no_colon, timeout=30).status_code == 401
    assert requests.get(url, headers={"Authorization": "Basic !!!"}, timeout=30).status_code == 401
    # the server never asks for Basic: a browser shows no password dialog
    assert "Basic" not in requests.get(url, timeout=30).headers["WWW-Authenticate"]
