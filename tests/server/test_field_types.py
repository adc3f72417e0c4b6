"""Numbers typed as numbers in GDAL 3.6 and QGIS 3.22 (lagesbild_geo/server/schemas.py).

The real server on the test history, read by GDAL's OAPIF driver (``ogr2ogr``/``ogrinfo``,
Debian's GDAL 3.6) and by QGIS 3.22 (Debian's python3-qgis, a subprocess of the system
Python, as in tests/access/test_qgis_api_key.py). Every expected type comes from the
database's own column types (``information_schema``), so a column added later is checked too.

On the test history most of ``situation``'s indicator columns are null in every row (indicators
without data) and ``observations``' hour and weekday columns are null on the first page: the
fields GDAL typed as String before the schema was linked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
import requests

from lagesbild_geo.analysis.follow import recompute
from tests.access_helpers import serving_with_audiences

pytestmark = pytest.mark.server

#: The stacked public layers and one per-indicator layer of each kind (all of a kind share one
#: table or view and its schema: lagesbild_geo/server/layers.py).
PER_INDICATOR = ("situation-skadegorelse", "hotspots-skadegorelse", "trends-skadegorelse")
PUBLIC = ("areas", "indicators", "observations", "situation", "hotspots", "trends", *PER_INDICATOR)
SYSTEM_PYTHON = Path("/usr/bin/python3")
#: PostgreSQL type -> the OGR field types (``ogrinfo -so``) that keep it.
OGR_TYPES = {
    "int2": {"Integer", "Integer64"},
    "int4": {"Integer", "Integer64"},
    "int8": {"Integer", "Integer64"},
    "float4": {"Real"},
    "float8": {"Real"},
    "numeric": {"Real"},
    "bool": {"Integer(Boolean)"},
    "date": {"Date"},
    "timestamptz": {"DateTime"},
    "_text": {"StringList"},
    "_int4": {"IntegerList"},
    "text": {"String"},
}
NUMERIC = {"int2", "int4", "int8", "float4", "float8", "numeric"}


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("field-types")
    with serving_with_audiences(pg_server, "field_types", data_dir, password="types-pw") as srv:
        # the result layers of one indicator, as the follower computes them after a review
        done = recompute(srv["db"], srv["db"], ["skadegorelse"])
        assert len(done.run_ids) == 2, done
        yield srv


@pytest.fixture(scope="module")
def column_types(server) -> dict[str, dict[str, str]]:
    """collection -> column -> udt_name, from the table or view the collection reads."""
    config = _config(server)
    from lagesbild_geo.server.restricted_provider import restricted_collections

    restricted = restricted_collections(config)
    with psycopg.connect(server["db"]) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name, column_name::text, udt_name::text"
            " FROM information_schema.columns WHERE table_schema IN ('publish', 'restricted')"
        ).fetchall()
    by_table: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, udt in rows:
        by_table.setdefault((schema, table), {})[column] = udt
    out = {}
    for name, resource in config["resources"].items():
        if resource.get("type") != "collection":
            continue
        provider = resource["providers"][0]
        key = ("restricted", restricted[name]) if name in restricted else (
            "publish", provider["table"])  # fmt: skip
        out[name] = {
            c: t for c, t in by_table[key].items() if c not in (provider.get("geom_field"),)
        }
    return out


def _config(server) -> dict:
    import yaml

    return yaml.safe_load((server["data_dir"] / "pygeoapi-config.yml").read_text())


def _ogr_fields(path_or_url: str, *options: str) -> dict[str, str]:
    done = subprocess.run(
        ["ogrinfo", "-so", "-ro", "-al", *options, path_or_url],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    fields = re.findall(r"^(\w+): (\w+(?:\(\w+\))?) \(", done.stdout, flags=re.M)
    names = [n for n, _ in fields]
    assert len(names) == len(set(names)), f"a field twice: {names}"
    return dict(fields)


def test_every_collection_links_a_feature_schema_gdal_reads(server, column_types):
    """Public and restricted collections: the ``describedBy`` link GDAL 3.6 follows (and
    IANA's ``describedby``), to a GeoJSON Feature schema with every column's type."""
    key = server["keys"]["actor_a"]
    listed = requests.get(
        server["url"] + "/collections", params={"f": "json"}, headers={"X-API-Key": key},
        timeout=30,
    ).json()["collections"]  # fmt: skip
    assert set(PUBLIC) | {"my-observations"} <= {c["id"] for c in listed} <= set(column_types)
    for collection in listed:
        links = {
            link["rel"]: link
            for link in collection["links"]
            if link["rel"].lower() == "describedby"
        }
        assert set(links) == {"describedBy", "describedby"}, collection["id"]
        link = links["describedBy"]
        assert link["type"] == "application/schema+json"
        got = requests.get(link["href"], headers={"Accept": link["type"]}, timeout=30)
        assert got.status_code == 200
        assert got.headers["Content-Type"] == "application/schema+json"
        fields = got.json()["properties"]["properties"]["properties"]
        expected = {c: t for c, t in column_types[collection["id"]].items() if c != "id"}
        assert set(fields) == set(expected), collection["id"]
        for name, udt in expected.items():
            kind = fields[name]["type"]
            assert isinstance(kind, str), (name, kind)  # one type: GDAL 3.6 reads no list
            if udt in ("int2", "int4", "int8"):
                assert kind == "integer", name
            elif udt in ("float4", "float8", "numeric"):
                assert kind == "number", name
            elif udt == "date":
                assert (kind, fields[name]["format"]) == ("string", "date"), name


def test_unknown_schema_is_a_404(server):
    got = requests.get(server["url"] + "/feature-schemas/nope", timeout=30)
    assert got.status_code == 404
    assert "nope" in got.json()["description"]


@pytest.mark.parametrize("collection", PUBLIC)
def test_ogr2ogr_to_geopackage_keeps_numeric_types(server, column_types, collection, tmp_path):
    """``ogr2ogr -f GPKG`` of the live layer: every column keeps its type in the GeoPackage
    (Integer/Integer64, Real, Date, ...), null on the first page or not."""
    out = tmp_path / f"{collection}.gpkg"
    done = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server['url']}/collections/{collection}",
         "-oo", "PAGE_SIZE=1000"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    fields = _ogr_fields(str(out))
    matched = requests.get(
        f"{server['url']}/collections/{collection}/items", params={"limit": 1, "f": "json"},
        timeout=30,
    ).json()["numberMatched"]  # fmt: skip
    for name, udt in column_types[collection].items():
        if name == "id" and not matched:
            continue  # GDAL takes the id field from the first page (schemas.feature_schema)
        assert name in fields, (collection, name)
        wanted = OGR_TYPES.get(udt, {"String"}) if name != "id" else {"String", "Integer64"}
        assert fields[name] in wanted, (collection, name, udt, fields[name])
    numeric = [n for n, t in column_types[collection].items() if t in NUMERIC]
    assert all(fields[n] in ("Integer", "Integer64", "Real") for n in numeric)


def test_restricted_layer_is_typed_with_the_key(server, column_types):
    """A restricted layer read with an actor's key (HTTP Basic, the key as the password,
    as QGIS 3.22 sends it): its schema is followed too."""
    fields = _ogr_fields(
        f"OAPIF:{server['url']}/collections/my-observations",
        "-oo", f"USERPWD=lagesbild:{server['keys']['actor_a']}",
    )  # fmt: skip
    for name, udt in column_types["my-observations"].items():
        if udt in NUMERIC:
            assert fields[name] in ("Integer", "Integer64", "Real"), (name, fields[name])


#: Run by the system Python with QGIS 3.22. argv: server URL, provider ("OAPIF": QGIS's own;
#: "ogr": GDAL's OAPIF driver inside QGIS), collections. Prints {collection: {"valid", "qgis",
#: "fields": {name: QVariant type number}}}.
QGIS_SCRIPT = r"""
import json, os, sys
url, provider, *collections = sys.argv[1:]
from qgis.core import Qgis, QgsApplication, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for collection in collections:
    if provider == "ogr":
        layer = QgsVectorLayer(f"OAPIF:{url}/collections/{collection}", collection, "ogr")
    else:
        layer = QgsVectorLayer(f"url={url} typename={collection}", collection, "OAPIF")
    out[collection] = {"valid": layer.isValid(), "qgis": Qgis.QGIS_VERSION_INT,
                       "fields": {f.name(): int(f.type()) for f in layer.fields()}}
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down; the answer is out
"""
#: QVariant::Int, UInt, LongLong, ULongLong, Double
QVARIANT_NUMERIC = {2, 3, 4, 5, 6}
QVARIANT_STRING = 10


def _qgis(server, tmp_path: Path, provider: str, collections) -> dict[str, dict]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    env.pop("PYTHONPATH", None)  # the system Python with its own QGIS, not the venv's path
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_SCRIPT, server["url"], provider, *collections],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"QGIS printed no answer (exit {done.returncode}):\n{done.stderr[-3000:]}"
    got = json.loads(lines[-1])
    assert all(g["valid"] for g in got.values()), got
    return got


def _valued(server, column_types, collection: str) -> set[str]:
    """The numeric columns of the collection with a value in at least one of its rows."""
    config = _config(server)
    provider = config["resources"][collection]["providers"][0]
    numeric = [n for n, t in column_types[collection].items() if t in NUMERIC]
    fixed = provider.get("fixed") or {}
    where = " AND ".join(f"{k} = %({k})s" for k in fixed) or "true"
    counts = ", ".join(f'count("{n}")' for n in numeric)
    with psycopg.connect(server["db"]) as conn:
        row = conn.execute(
            f'SELECT {counts} FROM publish."{provider["table"]}" WHERE {where}', fixed
        ).fetchone()
    return {n for n, c in zip(numeric, row, strict=True) if c}


def test_qgis_through_gdal_types_every_numeric_field(server, column_types, tmp_path):
    """QGIS 3.22 with the layers added through GDAL (``OAPIF:<url>/collections/<name>``, the
    ogr provider; docs/publishing.md): every numeric column of every public layer is a numeric
    QVariant, whether it has values or not (GDAL reads the schema)."""
    got = _qgis(server, tmp_path, "ogr", PUBLIC)
    for collection in PUBLIC:
        numeric = [n for n, t in column_types[collection].items() if t in NUMERIC]
        assert numeric or collection == "indicators", collection
        fields = got[collection]["fields"]
        wrong = {n: fields.get(n) for n in numeric if fields.get(n) not in QVARIANT_NUMERIC}
        assert not wrong, (collection, wrong)


def test_qgis_own_provider_types_every_field_with_values_as_a_number(
    server, column_types, tmp_path
):
    """QGIS 3.22's own OAPIF provider reads no schema (release-3_22's qgsoapifprovider.cpp:
    landing page, OpenAPI, collection, then ``items?limit=10`` read through OGR's GeoJSON
    driver; no ``queryables`` or ``describedby`` string in Debian's libprovider_wfs.so 3.22.16):
    a field is typed from the values on that first page. The service orders the first page
    of the per-indicator layers and ``situation`` so that every numeric field with a value
    anywhere in the layer has one there (provider option ``sample_first``), so each of them
    is a number in QGIS. What stays text: a field without any value in the layer (an
    indicator without data, a result not computed: nothing to type it from), and in
    ``observations`` (ordered by id, millions of rows on a real municipality) the numeric
    fields null on its first ten rows; docs/publishing.md sends QGIS 3.22 users of those to
    GDAL's driver (the test above)."""
    got = _qgis(server, tmp_path, "OAPIF", PUBLIC)
    for collection in PUBLIC:
        if got[collection]["qgis"] >= 32300:
            pytest.fail(f"QGIS {got[collection]['qgis']}, not 3.22: does it read the schema?")
        fields = got[collection]["fields"]
        numeric = [n for n, t in column_types[collection].items() if t in NUMERIC]
        valued = _valued(server, column_types, collection)
        if collection == "observations":
            sample = requests.get(
                f"{server['url']}/collections/{collection}/items",
                params={"limit": 10, "f": "json"}, timeout=30,
            ).json()["features"]  # fmt: skip
            valued = {n for n in valued if any(f["properties"].get(n) is not None for f in sample)}
        wrong = {n: fields.get(n) for n in valued if fields.get(n) not in QVARIANT_NUMERIC}
        assert not wrong, (collection, wrong)
        # the rest: text, for want of a value (pinned, so that a QGIS that does better shows)
        rest = {n: fields.get(n) for n in numeric if n not in valued}
        assert all(t == QVARIANT_STRING for t in rest.values()), (collection, rest)
    assert _valued(server, column_types, "hotspots-skadegorelse") >= {"value", "z", "p", "bin"}
