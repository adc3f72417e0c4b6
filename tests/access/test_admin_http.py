"""``/admin``: only the admin manages actors, keys and area layers and reads the access log
over HTTP."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
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


# -- area layers ---------------------------------------------------------------------------------

NYKO = Path(__file__).resolve().parents[2] / "areas" / "lagesby_nyko.gpkg"


def _versions(server) -> list[dict]:
    r = requests.get(server["url"] + "/admin/areas", headers=_as(server, "admin"), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["versions"]


def _post_areas(server, audience, path: Path, timeout=120, **fields):
    with path.open("rb") as f:
        return requests.post(
            server["url"] + "/admin/areas",
            files={"file": (path.name, f)},
            data=fields,
            headers=_as(server, audience),
            timeout=timeout,
        )


def _revised_nyko(folder: Path) -> Path:
    """The demo layer with 1101 and 1102 merged into 1109: the history's deliveries use both,
    so it must become a new version with a crosswalk."""
    layer = gpd.read_file(NYKO, layer="nyko3")
    merged = layer[layer["code"].isin(["1101", "1102"])]
    rest = layer[~layer["code"].isin(["1101", "1102"])]
    union = gpd.GeoDataFrame(
        {"code": ["1109"], "population": [int(merged["population"].sum())]},
        geometry=[merged.union_all()],
        crs=layer.crs,
    )
    path = folder / "nyko_2027.gpkg"
    gpd.pd.concat([rest[["code", "population", "geometry"]], union]).to_file(path)
    return path


def test_only_the_admin_imports_an_area_layer(server):
    before = _versions(server)
    assert _post_areas(server, None, NYKO, layer="nyko3").status_code == 401
    for audience in ("actor_a", "reviewer", "analyst"):
        r = _post_areas(server, audience, NYKO, layer="nyko3")
        assert r.status_code == 403, (audience, r.text)
    assert _versions(server) == before


@pytest.mark.parametrize(
    ("name", "content", "fields", "reason"),
    [
        ("nyko.gpkg", b"not a geopackage at all", {}, "content is not one"),
        ("nyko.shp", b"x", {}, "not a file type read over HTTP"),
        ("nyko.zip", b"PK\x03\x04 broken", {}, "cannot be read as one"),
        (None, None, {"layer": "nyko3", "code_field": "nyko"}, "field 'nyko' not found"),
        (None, None, {"layer": "nyko9"}, "cannot be read as an area file"),
    ],
)
def test_a_broken_area_file_is_a_400_with_the_reason_and_changes_nothing(
    server, tmp_path, name, content, fields, reason
):
    before = _versions(server)
    path = NYKO
    if name is not None:
        path = tmp_path / name
        path.write_bytes(content)
    r = _post_areas(server, "admin", path, **fields)
    assert r.status_code == 400, r.text
    problems = r.json()["problems"]
    assert any(reason in p["reason"] for p in problems), problems
    assert {p["file"] for p in problems} == {path.name}
    assert "/tmp" not in r.text and "lagesbild-areas-" not in r.text  # never the server's path
    assert _versions(server) == before


def test_an_unknown_option_is_refused(server):
    r = _post_areas(server, "admin", NYKO, layer="nyko3", code_feild="code")
    assert r.status_code == 400 and "code_feild" in r.json()["description"]


def test_the_admin_imports_a_revised_layer_as_a_new_version(server, tmp_path):
    before = _versions(server)
    # no population field given: the stored populations stay for the codes that stay
    r = _post_areas(server, "admin", _revised_nyko(tmp_path), level_prefixes="1,2")
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["new_version"] and answer["source"] == "nyko_2027.gpkg"
    assert answer["version"] == before[-1]["version"] + 1
    assert answer["areas"] == 59 and "gaps" in answer["report"]
    assert answer["carried"] and answer["carried"][0]["version"] == before[-1]["version"]
    versions = _versions(server)
    assert [v["version"] for v in versions] == [*(v["version"] for v in before), answer["version"]]
    assert versions[-1]["current"] and versions[-1]["source"] == "nyko_2027.gpkg"

    # the public layer is the new one, at once
    areas = requests.get(
        server["url"] + "/collections/areas/items?f=json&limit=1000", timeout=30
    ).json()
    codes = {f["properties"]["code"] for f in areas["features"]}
    assert "1109" in codes and "1101" not in codes

    # and the huvudman can show who did it
    log = requests.get(
        server["url"] + "/admin/access-log?action=areas.import", headers=_as(server, "admin")
    ).json()["entries"]
    (entry,) = [e for e in log if e["object_id"] == str(answer["version"])]
    assert entry["object_type"] == "area_version" and entry["role"] == "admin"
    assert entry["detail"] == {"source": "nyko_2027.gpkg", "areas": 59}


def test_a_deso_layer_that_leaves_out_used_areas_is_a_409_and_changes_nothing(server, shared_areas):
    """A real DeSO layer, sent raw as GeoJSON (WGS 84): read, reprojected and checked, then
    refused because the history's deliveries use NYKO areas it does not cover."""
    before = _versions(server)
    r = requests.post(
        server["url"] + "/admin/areas",
        params={"filename": "deso.geojson", "code_field": "deso_code",
                "population_field": "pop_2023", "level_prefixes": "4,5"},
        data=(shared_areas / "deso2018_sodertalje.geojson").read_bytes(),
        headers={**_as(server, "admin"), "Content-Type": "application/geo+json"},
        timeout=120,
    )  # fmt: skip
    assert r.status_code == 409, r.text
    assert "nothing was imported" in r.json()["description"]
    assert _versions(server) == before


def test_the_openapi_document_describes_every_admin_path(server):
    doc = requests.get(server["url"] + "/openapi?f=json", timeout=30).json()
    expected = {
        "/admin": {"get"},
        "/admin/actors": {"get", "post"},
        "/admin/keys": {"get", "post"},
        "/admin/keys/{id}/revoke": {"post"},
        "/admin/access-log": {"get"},
        "/admin/areas": {"get", "post"},
    }
    for path, methods in expected.items():
        assert methods <= set(doc["paths"][path]), path
    post = doc["paths"]["/admin/areas"]["post"]
    assert {"multipart/form-data", "application/geopackage+sqlite3"} <= set(
        post["requestBody"]["content"]
    )
    names = {p["name"] for p in post["parameters"]}
    assert {"layer", "code_field", "population_field", "level_prefixes", "source_crs"} <= names
    assert {"201", "400", "401", "403", "409", "413"} <= set(post["responses"])
