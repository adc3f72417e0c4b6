"""An actor opens its own layer in QGIS with its API key (Debian's python3-qgis, QGIS 3.22).

QGIS runs in a subprocess of the system Python (``/usr/bin/python3``; the project's venv has
no QGIS), headless (``QT_QPA_PLATFORM=offscreen``), in a throw-away profile folder, and opens
``my-observations`` as an OGC API Features layer (provider ``OAPIF``) the way a GIS person
would, then reads every feature through QGIS's own network stack and paging.

How the key travels:

* QGIS's **API Header** authentication method (an authentication configuration of method
  ``APIHeader`` with ``{"X-API-Key": key}``, the way the issue names) is what an actor uses
  from QGIS 3.24 on (qgis/QGIS#45452). QGIS 3.22, Debian's, does not have it: its
  authentication methods are Basic, ESRI token (which sends ``X-Esri-Authorization``),
  identity certificate, PKCS#12 and PKI paths (``/usr/lib/qgis/plugins/libauthmethod_*``),
  none of which sends a header of one's choosing. So the service also takes the key as the
  password of HTTP Basic, and on 3.22 the authentication configuration is a Basic one: the
  test uses API Header where QGIS has it and Basic where it does not, never skipping.
* On QGIS 3.22 a key goes in a header through PyQGIS's request preprocessor
  (``QgsNetworkAccessManager.setRequestPreprocessor``, one line in the Python console or a
  startup script): every request QGIS makes to the service carries ``X-API-Key``. That is
  tested here, against the real server, with the same expectations.

Either way: with the key QGIS gets exactly the actor's own rows (the count in the database);
without it the layer has no features (the items answer 401).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.access_helpers import serving_with_audiences

SYSTEM_PYTHON = Path("/usr/bin/python3")

#: Run by the system Python with QGIS. argv: server URL, collection, key ("" for none), how
#: the key is sent ("authcfg" | "preprocessor" | "none"), profile folder. Prints one JSON
#: line: {"methods": [...], "valid": bool, "count": n, "ids": [...], "error": text}. (The
#: provider's error() is not read: in QGIS 3.22 its summary() crashes from Python.)
QGIS_SCRIPT = r"""
import json, os, sys
url, collection, key, how, profile = sys.argv[1:6]
os.environ["QGIS_AUTH_DB_DIR_PATH"] = profile
from qgis.core import (QgsApplication, QgsAuthMethodConfig, QgsNetworkAccessManager,
                       QgsVectorLayer)
app = QgsApplication([], False, profile)
app.initQgis()
auth = QgsApplication.authManager()
methods = sorted(auth.authMethodsKeys())
out = {"methods": methods, "valid": False, "count": 0, "ids": [], "error": ""}
uri = f"url={url} typename={collection}"
if how == "authcfg":
    # the API Header method where QGIS has it (3.24+), else the built-in Basic method with
    # the key as the password (QGIS 3.22: lagesbild_geo/access/authenticate.py)
    auth.setMasterPassword("qgis-test-master", True)
    if "APIHeader" in methods:
        config = QgsAuthMethodConfig("APIHeader")
        config.setConfigMap({"X-API-Key": key})
    else:
        config = QgsAuthMethodConfig("Basic")
        config.setConfigMap({"username": "lagesbild", "password": key})
    config.setName("lagesbild actor key")
    ok, config = auth.storeAuthenticationConfig(config)
    out["method"] = config.method()
    uri += f" authcfg={config.id()}"
elif how == "preprocessor":
    def add_key(request):
        if request.url().toString().startswith(url):
            request.setRawHeader(b"X-API-Key", key.encode())
    QgsNetworkAccessManager.setRequestPreprocessor(add_key)
layer = QgsVectorLayer(uri, collection, "OAPIF")
out["valid"] = layer.isValid()
if layer.isValid():
    ids = [f["id"] for f in layer.getFeatures()]
    out["count"], out["ids"] = len(ids), ids
print(json.dumps(out), flush=True)
os._exit(0)  # QGIS 3.22 may crash while tearing down; the answer is out
"""

pytestmark = pytest.mark.skipif(
    not SYSTEM_PYTHON.exists()
    or subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode,
    reason="needs Debian's python3-qgis (/usr/bin/python3 with qgis.core)",
)


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("qgis-server")
    with serving_with_audiences(pg_server, "qgis_key", data_dir, password="qgis-pw") as srv:
        yield srv


def _qgis(server, tmp_path: Path, how: str, key: str = "") -> dict:
    profile = tmp_path / f"qgis-profile-{how}"
    profile.mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    env.pop("PYTHONPATH", None)  # the system Python with its own QGIS, not the venv's path
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", QGIS_SCRIPT, server["url"], "my-observations", key, how,
         str(profile)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"QGIS printed no answer (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(lines[-1])


def _own_ids(server) -> set[str]:
    with psycopg.connect(server["db"]) as owner:
        rows = owner.execute(
            "SELECT o.delivery_id || ':' || o.area_code || ':' || to_char(o.week_start,"
            " 'IYYY-\"W\"IW') || ':' || o.indicator_id"
            " FROM lagesbild.observation o JOIN lagesbild.delivery d ON d.id = o.delivery_id"
            " WHERE d.actor_id = %s",
            (server["actors"]["actor_a"],),
        ).fetchall()
    return {r[0] for r in rows}


def test_qgis_reads_the_actors_own_layer_with_the_key_in_a_header(server, tmp_path):
    got = _qgis(server, tmp_path, "preprocessor", server["keys"]["actor_a"])
    assert got["valid"], got
    assert got["count"] == len(_own_ids(server))
    assert set(got["ids"]) == _own_ids(server)


def test_qgis_without_the_key_gets_no_features(server, tmp_path):
    got = _qgis(server, tmp_path, "none")
    assert got["count"] == 0, got


def test_qgis_authentication_configuration_sends_the_key(server, tmp_path):
    """An authentication configuration, no Python: API Header (QGIS 3.24+) or, on Debian's
    QGIS 3.22 which lacks it, Basic with the key as the password."""
    got = _qgis(server, tmp_path, "authcfg", server["keys"]["actor_a"])
    assert got["method"] == ("APIHeader" if "APIHeader" in got["methods"] else "Basic")
    assert got["valid"], got
    assert set(got["ids"]) == _own_ids(server)


def test_qgis_with_another_actors_key_gets_only_that_actors_rows(server, tmp_path):
    got = _qgis(server, tmp_path, "authcfg", server["keys"]["actor_b"])
    assert got["count"] > 0 and not set(got["ids"]) & _own_ids(server)
