"""The real server under abuse: generated requests, SQL in CQL2, and a PostgreSQL restart.

Everything here runs against its own embedded PostGIS cluster (``lagesbild_geo.db.cluster``, in a
temporary folder on a free port), not the session cluster of ``conftest.py``: the restart test
stops PostgreSQL, which must not pull the database from under other tests. The cluster holds the
deterministic history of ``tests/publish_data.py``; one ``lagesbild serve`` (two gunicorn
workers) runs for the module. The read-only role's statements are logged
(``log_statement = all`` for that role only), so a test can read what the server really sent.

What ``tests/test_server_features.py`` already covers (bbox, unknown property, malformed CQL2,
a quoted injection, ``ogrinfo`` on every collection) is not repeated here.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests

from lagesbild_geo.db.cluster import Cluster
from lagesbild_geo.db.connection import migrate
from lagesbild_geo.publish import publication as publish
from tests.publish_data import load
from tests.servers import free_port, running_server

pytestmark = pytest.mark.server

K = 5
REPO = Path(__file__).resolve().parents[2]
READER_PASSWORD = "reader-robustness-pw"
#: Generated requests per API operation and phase (schemathesis ``--max-examples``), the least
#: requests and the most seconds of the run: 3 sent ~5,500 requests in ~60 s (8: ~190 s).
MAX_EXAMPLES, MIN_REQUESTS, MAX_SECONDS = 3, 1000, 180
SEED = 20260316


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    """A PostGIS cluster of this module's own, with the publication test history loaded.

    Not under pytest's tmp folder: as root the server runs as ``postgres``, which must be able
    to traverse to the data folder, and pytest takes the others' permissions off
    /tmp/pytest-of-root whenever another session starts (conftest.py does the same).
    """
    data_dir = Path(tempfile.mkdtemp(prefix="lagesbild-robust-pg-"))
    data_dir.chmod(0o755)
    cl = Cluster(data_dir=data_dir, port=free_port(), user="lagesbild", database="lagesbild")
    cl.up()
    try:
        with psycopg.connect(cl.url()) as conn:
            migrate(conn)
            load(conn, k=K)
            conn.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")
            # Only the public server's role: every statement it sends lands in the log.
            conn.execute(f"ALTER ROLE {publish.READER_ROLE} SET log_statement = 'all'")
        yield cl
    finally:
        cl.down()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def reader_url(cluster) -> str:
    return (
        f"postgresql://{publish.READER_ROLE}:{READER_PASSWORD}@127.0.0.1:{cluster.port}/"
        f"{cluster.database}"
    )


@pytest.fixture(scope="module")
def server(cluster, reader_url, tmp_path_factory):
    """``lagesbild serve`` on a free port against the module's cluster; SIGTERM at the end."""
    with running_server(
        database_url=cluster.url(),
        public_url=reader_url,
        data_dir=tmp_path_factory.mktemp("robust-serve"),
        k=K,
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def owner(cluster):
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        yield conn


def _publish_fingerprint(conn) -> dict[str, int]:
    """Row counts of every table the reader can see, and of the restricted tables."""
    tables = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema IN ('publish', 'lagesbild') AND table_type = 'BASE TABLE'"
        " ORDER BY 1, 2"
    ).fetchall()
    return {
        f"{s}.{t}": conn.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]
        for s, t in tables
    }


# -- SQL in CQL2 ---------------------------------------------------------------------------------

INJECTIONS = [
    "indicator='x'; DROP TABLE publish.observations;--",
    "indicator = 'x' OR 1=1--",
]


DROP = re.compile(r"\bDROP\b")


def _reader_statements(cluster: Cluster, since: int) -> list[tuple[str, str]]:
    """(statement, its bound parameters) logged for the reader role since byte offset ``since``
    of the server log: simple statements (no parameters) and executions of the extended
    protocol (the provider's reads, psycopg 3), whose values PostgreSQL logs apart."""
    text = cluster.log_file.read_bytes()[since:].decode("utf-8", "replace")
    pattern = (
        r"LOG:\s+(?:statement|execute [^:\n]*): (.*?)(?=\n\S|\Z)"
        r"(?:\n[^\n]*?DETAIL:\s+parameters: (.*?)(?=\n\S|\Z))?"
    )
    return re.findall(pattern, text, flags=re.S)


def _without_literals(statement: str) -> str:
    """The statement with its string literals ('...', '' escaped) removed."""
    return re.sub(r"'(?:[^']|'')*'", "''", statement)


@pytest.mark.parametrize("cql", INJECTIONS)
def test_sql_in_cql2_is_a_400_and_runs_nothing(server, cluster, reader_url, owner, cql):
    before = _publish_fingerprint(owner)
    offset = cluster.log_file.stat().st_size
    response = requests.get(
        server["url"] + "/collections/observations/items", params={"filter": cql}, timeout=10
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert "CQL" in body["description"] and body["code"] == "InvalidParameterValue"
    # nothing changed, and the reader can still read what it could
    assert _publish_fingerprint(owner) == before
    with psycopg.connect(reader_url) as conn:
        (n,) = conn.execute("SELECT count(*) FROM publish.observations").fetchone()
        assert n == before["publish.observations"]
    time.sleep(0.5)  # let the logging collector write
    for statement, parameters in _reader_statements(cluster, offset):
        bare = _without_literals(f"{statement} {parameters}").upper()
        assert not DROP.search(bare) and "1=1" not in bare.replace(" ", ""), statement


def test_sql_inside_a_cql2_string_reaches_postgresql_only_as_a_literal(server, cluster, owner):
    """A valid filter whose string holds SQL: PostgreSQL sees SELECTs, with the string as the
    value of a parameter, never in the text of a statement."""
    before = _publish_fingerprint(owner)
    offset = cluster.log_file.stat().st_size
    # (pygeofilter's CQL2 text has no '' escape, so the string cannot hold a quote)
    cql = "indicator = 'x; DROP TABLE publish.observations; --'"
    response = requests.get(
        server["url"] + "/collections/observations/items", params={"filter": cql}, timeout=10
    )
    assert response.status_code == 200 and response.json()["numberMatched"] == 0
    assert _publish_fingerprint(owner) == before
    time.sleep(0.5)
    statements = _reader_statements(cluster, offset)
    with_payload = [p for _, p in statements if "'x; DROP TABLE publish.observations; --'" in p]
    assert len(with_payload) == 2, "the filter did not reach PostgreSQL (count and page)"
    for statement, _ in statements:
        assert "DROP TABLE" not in statement.upper(), statement
        bare = _without_literals(statement).strip().upper()
        assert bare.startswith(("SELECT", "BEGIN", "ROLLBACK", "COMMIT", "SHOW", "SET")), statement
        assert not DROP.search(bare), statement


# -- schemathesis --------------------------------------------------------------------------------

#: Stand-ins for the schema's references to schemas.opengis.net and raw.githubusercontent.com:
#: tests never use the network. Minimal but real: what a client relies on in each response.
_EXCEPTION = {
    "type": "object",
    "required": ["code", "description"],
    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
}
_FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"enum": ["Feature"]},
        "geometry": {"type": ["object", "null"]},
        "properties": {"type": ["object", "null"]},
    },
}
_FEATURES = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": _FEATURE},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
        "links": {"type": "array"},
    },
}
_WITH_LINKS = {"type": "object", "required": ["links"], "properties": {"links": {"type": "array"}}}


def _response(description: str, schema: dict) -> dict:
    """pygeoapi answers JSON as ``application/json`` (GeoJSON too), or JSON-LD, or HTML."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": schema},
            "application/geo+json": {"schema": schema},
            "application/ld+json": {"schema": {"type": "object"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }


_REMOTE = {
    "responses/Features": _response("features", _FEATURES),
    "responses/Feature": _response("a feature", _FEATURE),
    "responses/Collection": _response("a collection", {**_WITH_LINKS, "required": ["id", "links"]}),
    # pygeoapi refers to LandingPage for /conformance too, which has no links
    "responses/LandingPage": _response("landing page", {"type": "object"}),
    "responses/InvalidParameter": _response("invalid parameter", _EXCEPTION),
    "responses/NotFound": _response("not found", _EXCEPTION),
    "responses/ServerError": _response("server error", _EXCEPTION),
    "NotFound.yaml": _response("not found", _EXCEPTION),
    "ServerError.yaml": _response("server error", _EXCEPTION),
    "ProcessList.yaml": _response("processes", _WITH_LINKS),
    "ExecuteAsync.yaml": _response("job", {"type": "object"}),
    "parameters/featureId": {
        "name": "featureId",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    },
    "parameters/datetime": {
        "name": "datetime",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "schema": {"type": "string"},
    },
    "sortby.yaml": {
        "name": "sortby",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "schema": {"type": "array", "items": {"type": "string", "pattern": "^[+-]?[A-Za-z_]"}},
    },
    "cql2.json": {"type": "object"},
    # OGC API Processes' execute request (schemas/execute.yaml), without its remote parts:
    # generated bodies have inputs of any JSON type, and schemathesis's negative mode sends
    # bodies of every other JSON type ([null], "x", false, 1: 500s before issue 11).
    "schemas/execute.yaml": {
        "type": "object",
        "properties": {
            "inputs": {"type": "object"},
            "outputs": {"type": "object"},
            "response": {"enum": ["raw", "document"]},
        },
    },
    "schemas/exception.yaml": _EXCEPTION,
    "schemas/link": {"type": "object"},
}


#: The per-indicator layer of each kind schemathesis tries (lagesbild_geo/server/layers.py):
#: the 3 × 32 layers of the three kinds share their provider's code and their kind's schema,
#: so one of each is what is new; all of them would make the run ~8 times as long.
TRIED_PER_INDICATOR = "skadegorelse"


def one_layer_per_kind(document: dict) -> dict:
    """The OpenAPI document without the per-indicator layers' paths but one of each kind."""
    from lagesbild_geo.server.layers import KINDS

    prefixes = tuple(f"/collections/{kind}-" for kind in KINDS)
    kept = tuple(f"/collections/{kind}-{TRIED_PER_INDICATOR}" for kind in KINDS)

    def wanted(path: str) -> bool:
        return (
            not path.startswith(prefixes)
            or path.startswith(kept)
            and (path.removeprefix(next(k for k in kept if path.startswith(k)))[:1] in ("", "/"))
        )

    return {**document, "paths": {p: v for p, v in document["paths"].items() if wanted(p)}}


def offline_schema(document: dict) -> dict:
    """The OpenAPI document with every remote ``$ref`` replaced by its stand-in."""
    missing: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                for suffix, standin in _REMOTE.items():
                    if ref.endswith(suffix):
                        return json.loads(json.dumps(standin))
                missing.add(ref)
                return node
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    result = walk(document)
    assert not missing, f"no stand-in for {sorted(missing)}"
    return result


#: What schemathesis is not asked to generate, and why (everything else in the document is,
#: process executions included: most generated inputs are refused at once, and those that
#: are valid run a real analysis on the small test history, ~50 runs of a second or less):
EXCLUDED = [
    # Deleting a job changes state other tests and users rely on; GET /jobs... is included.
    ("--exclude-method", "DELETE"),
]
#: Checks: no 5xx ever; every status code one the document declares for the operation (or
#: 405 for a method it does not declare); JSON bodies valid against the (stand-in) response
#: schemas. Not content_type_conformance: pygeoapi answers GeoJSON as application/json where
#: the OGC document says application/geo+json, a known pygeoapi deviation, not a robustness bug.
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"


@pytest.fixture(scope="module")
def schemathesis_run(server, tmp_path_factory):
    """Run the schemathesis CLI once against the live server; return its parsed report."""
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("schemathesis is not installed (it is in the [test] extra)")
    out = tmp_path_factory.mktemp("schemathesis")
    document = requests.get(server["url"] + "/openapi", params={"f": "json"}, timeout=30).json()
    schema_path = out / "openapi.json"
    schema_path.write_text(json.dumps(offline_schema(one_layer_per_kind(document))))
    command = [
        exe, "run", str(schema_path), "--url", server["url"],
        "--checks", CHECKS,
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--generation-deterministic",
        "--request-timeout", "30",
        "--workers", "2",
        "--suppress-health-check", "all",
        "--no-shrink",
        "--no-color",
        "--report", "ndjson",
        "--report-ndjson-path", str(out / "events.ndjson"),
    ]  # fmt: skip
    for option, value in EXCLUDED:
        command += [option, value]
    started = time.monotonic()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=out, env=os.environ
    )
    elapsed = time.monotonic() - started
    return {
        "result": result,
        "elapsed": elapsed,
        "events": [json.loads(line) for line in (out / "events.ndjson").read_text().splitlines()],
    }


def _sent_requests(events: list[dict]) -> list[tuple[str, str, int | None]]:
    """(method, url, status) of every request schemathesis sent, from its NDJSON report."""
    sent = []
    for event in events:
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        for interaction in (finished["recorder"].get("interactions") or {}).values():
            request = interaction.get("request") or {}
            response = interaction.get("response") or {}
            sent.append((request.get("method"), request.get("uri"), response.get("status_code")))
    return sent


def _execution_bodies(events: list[dict]) -> dict[str, list]:
    """Process id -> the JSON type names of the execution bodies schemathesis sent."""
    bodies: dict[str, list] = {}
    for event in events:
        recorder = (event.get("ScenarioFinished") or {}).get("recorder") or {}
        for interaction in (recorder.get("interactions") or {}).values():
            request = interaction.get("request") or {}
            match = re.search(r"/processes/([^/]+)/execution", request.get("uri") or "")
            if request.get("method") == "POST" and match is not None:
                raw = base64.b64decode((request.get("body") or {}).get("$base64", ""))
                try:
                    bodies.setdefault(match[1], []).append(type(json.loads(raw)).__name__)
                except ValueError:
                    bodies.setdefault(match[1], []).append("not JSON")
    return bodies


def test_schemathesis_finds_no_server_error(schemathesis_run):
    run = schemathesis_run
    output = run["result"].stdout + run["result"].stderr
    sent = _sent_requests(run["events"])
    statuses = [status for _, _, status in sent]
    print(
        f"schemathesis: {len(sent)} requests in {run['elapsed']:.0f} s; status codes: "
        + ", ".join(f"{s}: {statuses.count(s)}" for s in sorted(set(statuses), key=str))
    )
    assert len(sent) >= MIN_REQUESTS, output[-3000:]
    assert run["elapsed"] < MAX_SECONDS, run["elapsed"]
    # every process was executed, with bodies of the wrong JSON types among the requests
    bodies = _execution_bodies(run["events"])
    assert set(bodies) == {
        "hotspots", "emerging-hotspots", "trends", "early-warning", "k-anonymity"
    }, bodies  # fmt: skip
    for process, kinds in bodies.items():
        assert len(kinds) >= 20 and "dict" in kinds, (process, kinds)
        assert {"list", "str", "bool", "int", "NoneType"} & set(kinds), (process, kinds)
    server_errors = [(m, u, s) for m, u, s in sent if s is None or s >= 500]
    assert not server_errors, server_errors[:20]
    assert run["result"].returncode == 0, output[-6000:]


# -- PostgreSQL restart -----------------------------------------------------------------------


def _probe(base: str) -> tuple[int, float, requests.Response]:
    started = time.monotonic()
    response = requests.get(
        base + "/collections/observations/items",
        params={"limit": 5, "filter": "indicator = 'ran'"},
        timeout=10,
    )
    return response.status_code, time.monotonic() - started, response


def test_service_survives_a_postgresql_restart(server, cluster):
    """Down: clean 503s with Retry-After, fast. Up again: 200s, same server processes."""
    base = server["url"]
    pid = server["proc"].pid
    status, _, response = _probe(base)
    assert status == 200 and len(response.json()["features"]) == 5

    # a client polling the service through the whole restart
    seen: list[tuple[int, float]] = []
    failures: list[str] = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                code, took, _ = _probe(base)
                seen.append((code, took))
            except requests.RequestException as exc:  # a hang or a dropped connection
                failures.append(repr(exc))
            time.sleep(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        try:
            cluster.down()
            assert not cluster.running()
            for path in (
                "/collections/observations/items?limit=3",
                "/collections/areas/items/1101",
                "/collections/situation",
                "/collections",
            ):
                started = time.monotonic()
                down = requests.get(base + path, timeout=10)
                took = time.monotonic() - started
                assert down.status_code == 503, (path, down.status_code, down.text[:300])
                assert took < 5, (path, took)
                assert down.headers["Retry-After"].isdigit()
                assert down.headers["Content-Type"].startswith("application/json")
                assert "database" in down.json()["description"]
            for method, path, body in (
                ("GET", "/jobs?f=json", None),
                ("POST", "/processes/hotspots/execution", {"inputs": {"indicator": "ran"}}),
            ):  # the job manager and the analysis need the database too
                down = requests.request(method, base + path, json=body, timeout=10)
                assert down.status_code == 503, (path, down.status_code, down.text[:300])
                assert down.headers["Retry-After"].isdigit()
            assert requests.get(base + "/", timeout=10).status_code == 200  # needs no database
            time.sleep(2)
        finally:
            cluster.up()
        deadline = time.monotonic() + 20
        while True:
            status, _, response = _probe(base)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join(timeout=15)

    assert status == 200, response.text[:500]
    assert len(response.json()["features"]) == 5
    # every worker is back (each has its own pool): a run of requests, all 200
    assert all(_probe(base)[0] == 200 for _ in range(10))
    assert server["proc"].poll() is None and server["proc"].pid == pid
    assert not failures, failures[:5]
    codes = {code for code, _ in seen}
    assert codes <= {200, 503}, sorted(codes)
    assert 503 in codes and 200 in codes
    assert max(took for _, took in seen) < 5
