"""The per-indicator layers in the real clients, on the demo: QGIS 3.22 (Debian's python3-qgis,
its own OAPIF provider, driven by bench/qgis_open.py in a subprocess of the system Python) and
GDAL 3.6 (``ogrinfo``/``ogr2ogr``) open one layer of each kind directly, with one feature per
area, numeric fields typed as numbers, in under 5 s each.

The demo database of the session (tests/conftest.py ``demo_db_url``) is copied and
``lagesbild analyse`` computes the hot spots and trend of Skadegörelse, as ``./run.sh`` does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from lagesbild_geo.publish import publication as publish
from tests.conftest import PG_PASSWORD, PG_USER
from tests.servers import running_server

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COPY = "lagesbild_qgis_layers"
READER_PASSWORD = "reader-test-pw"  # the same as the other server tests (the role is global)
INDICATOR = "skadegorelse"
LAYERS = [f"{kind}-{INDICATOR}" for kind in ("situation", "hotspots", "trends")]
GOAL_S = 5.0


@pytest.fixture(scope="module")
def database(demo_db_url):
    admin = demo_db_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {COPY} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {COPY} TEMPLATE lagesbild_demo")
        conn.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")
    url = demo_db_url.rsplit("/", 1)[0] + f"/{COPY}"
    env = {**os.environ, "LAGESBILD_DATABASE_URL": url}
    result = subprocess.run(
        [str(BIN / "lagesbild"), "analyse", "--indicator", INDICATOR],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {COPY} WITH (FORCE)")


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    public = database.replace(
        f"{PG_USER}:{PG_PASSWORD}", f"{publish.READER_ROLE}:{READER_PASSWORD}"
    )
    with running_server(
        database_url=database, public_url=public, data_dir=tmp_path_factory.mktemp("qgis")
    ) as srv:
        with psycopg.connect(database) as conn:
            srv["n_areas"] = conn.execute("SELECT count(*) FROM publish.areas").fetchone()[0]
            srv["numeric"] = {
                table: [
                    c
                    for (c,) in conn.execute(
                        "SELECT column_name::text FROM information_schema.columns"
                        " WHERE table_schema = 'publish' AND table_name = %s AND udt_name IN"
                        " ('int2', 'int4', 'int8', 'float4', 'float8', 'numeric')",
                        (table,),
                    )
                ]
                for table in ("situation_by_indicator", "hotspots_by_area", "trends_by_area")
            }
        yield srv


def _qgis(server, tmp_path: Path, *collections: str, provider: str = "OAPIF") -> list[dict]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        ["/usr/bin/python3", str(REPO / "bench" / "qgis_open.py"), "--url", server["url"],
         "--json", "--provider", provider, "--only", *collections],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert lines, f"QGIS printed no answer (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(lines[-1])


def test_qgis_322_opens_each_kind_with_one_feature_per_area_typed(server, tmp_path):
    """QGIS's own provider, as a GIS person adds the layer: valid, one feature per area, every
    numeric column numeric (their values are on the sample page QGIS types from), < 5 s."""
    results = _qgis(server, tmp_path, *LAYERS)
    tables = {"situation": "situation_by_indicator", "hotspots": "hotspots_by_area",
              "trends": "trends_by_area"}  # fmt: skip
    for got in results:
        print(f"QGIS 3.22 {got['collection']}: {got['open_s']:.2f} s open, "
              f"{got['read_s']:.2f} s read, {got['count']} features")  # fmt: skip
        assert got["valid"], got
        assert got["count"] == server["n_areas"], got
        numeric = server["numeric"][tables[got["collection"].split("-")[0]]]
        wrong = {n: got["fields"].get(n) for n in numeric if got["fields"].get(n) not in
                 {2, 3, 4, 5, 6}}  # fmt: skip
        assert not wrong, (got["collection"], wrong)
        assert got["text_numeric"] == []
        assert got["total_s"] < GOAL_S, got


def test_gdal_36_opens_each_kind_with_one_feature_per_area_typed(server, tmp_path):
    """GDAL's OAPIF driver (3.6): the feature count is the areas', numbers stay numbers in a
    GeoPackage."""
    for collection in LAYERS:
        out = tmp_path / f"{collection}.gpkg"
        done = subprocess.run(
            ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server['url']}/collections/{collection}",
             "-oo", "PAGE_SIZE=1000"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        info = subprocess.run(
            ["ogrinfo", "-so", "-al", str(out)], capture_output=True, text=True, timeout=60
        ).stdout
        assert f"Feature Count: {server['n_areas']}" in info, info
        fields = dict(re.findall(r"^(\w+): (\w+) \(", info, flags=re.M))
        kind = collection.split("-")[0]
        table = {"situation": "situation_by_indicator", "hotspots": "hotspots_by_area",
                 "trends": "trends_by_area"}[kind]  # fmt: skip
        for name in server["numeric"][table]:
            assert fields.get(name) in ("Integer", "Integer64", "Real"), (collection, name)
