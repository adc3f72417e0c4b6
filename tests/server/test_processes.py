"""The analysis processes over HTTP: the real server (``lagesbild serve``) on a copy of the demo.

The copy (``CREATE DATABASE ... TEMPLATE lagesbild_demo``) gets the nightly ``lagesbild
analyse`` and the runs saved with ``publish: true``; the session's demo database is never
written. The server connects as the reader role, as in production.
"""

from __future__ import annotations

import time

import psycopg
import pytest
import requests

from lagesbild_geo.demo.history import plan_patterns, read_demo_layer, weeks_of_history
from tests.access_helpers import make_key
from tests.conftest import PG_PASSWORD, PG_PORT, PG_USER
from tests.servers import analyse, demo_copy, public_url, running_server

pytestmark = pytest.mark.server

COPY = "lagesbild_analysis_serve"
READER_PASSWORD = "reader-test-pw"  # the same as test_server_features.py (the role is global)


@pytest.fixture(scope="module")
def planted():
    return {p.key: p for p in plan_patterns(read_demo_layer()[0], weeks_of_history())}


@pytest.fixture(scope="module")
def database(demo_db_url):
    with demo_copy(demo_db_url, COPY, password=READER_PASSWORD) as url:
        yield url


@pytest.fixture(scope="module")
def nightly(database, planted):
    """``lagesbild analyse`` for the indicators of the planted patterns, as cron would run it."""
    keys = ("vandalism_cluster", "persistent_disorder", "improving_after_intervention")
    return analyse(database, sorted({planted[k].indicator for k in keys}))


@pytest.fixture(scope="module")
def server(database, nightly, tmp_path_factory):
    with running_server(
        database_url=database,
        public_url=public_url(database, READER_PASSWORD),
        data_dir=tmp_path_factory.mktemp("serve-analysis"),
    ) as srv:
        with psycopg.connect(database) as conn:
            keys = {role: make_key(conn, role) for role in ("analyst", "reviewer")}
        yield {**srv, "keys": keys}


def _execute(server, process, inputs, **headers):
    return requests.post(
        f"{server['url']}/processes/{process}/execution",
        json={"inputs": inputs},
        headers=headers,
        timeout=60,
    )


def test_the_five_processes_are_listed_with_swedish_and_english_titles(server):
    listed = requests.get(server["url"] + "/processes", timeout=10).json()["processes"]
    assert {p["id"] for p in listed} == {
        "hotspots", "emerging-hotspots", "trends", "early-warning", "k-anonymity"
    }  # fmt: skip
    sv = requests.get(server["url"] + "/processes/hotspots", params={"lang": "sv"}).json()
    en = requests.get(server["url"] + "/processes/hotspots", params={"lang": "en"}).json()
    assert sv["title"].startswith("Heta punkter") and en["title"].startswith("Hot spots")
    assert "async-execute" in sv["jobControlOptions"]
    assert {"indicator", "period_start", "weights", "permutations", "seed", "fdr"} <= set(
        sv["inputs"]
    )


def test_sync_hotspots_return_the_planted_cluster_significant(server, planted):
    cluster = planted["vandalism_cluster"]
    start = time.perf_counter()
    response = _execute(server, "hotspots", {"indicator": cluster.indicator})
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 60
    props = {f["id"]: f["properties"] for f in collection["features"]}
    assert all(props[a]["bin"] >= 2 for a in cluster.areas)
    assert collection["provenance"]["input"]["deliveries"]
    assert elapsed < 10
    print(f"sync hotspots on the demo: {elapsed * 1000:.0f} ms")


def test_async_trends_job_is_polled_to_its_result(server, planted):
    improving = planted["improving_after_intervention"]
    response = _execute(
        server, "trends", {"indicators": [improving.indicator]}, Prefer="respond-async"
    )
    assert response.status_code in (201, 202), response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    status_url = response.headers["Location"]
    assert status_url.endswith("/jobs/" + response.json()["jobID"])
    deadline = time.monotonic() + 60
    while True:
        status = requests.get(status_url, params={"f": "json"}, timeout=10).json()
        if status["status"] in ("successful", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["status"] == "successful", status
    results = requests.get(status_url + "/results", params={"f": "json"}, timeout=10)
    assert results.status_code == 200
    props = {f["id"]: f["properties"] for f in results.json()["features"]}
    assert props[f"{improving.areas[0]}:{improving.indicator}"]["trend"] == "decreasing"


def test_async_job_with_bad_input_fails_with_the_message(server):
    response = _execute(server, "hotspots", {"indicator": "nope"}, Prefer="respond-async")
    assert response.status_code in (201, 202)
    status_url = response.headers["Location"]
    for _ in range(100):
        status = requests.get(status_url, params={"f": "json"}, timeout=10).json()
        if status["status"] != "accepted" and status["status"] != "running":
            break
        time.sleep(0.1)
    assert status["status"] == "failed"
    assert "Unknown indicator (not in the catalogue)" in status["message"]


BAD = [
    ("hotspots", {"indicator": "nope"}, "Unknown indicator (not in the catalogue)"),
    ("hotspots", {"indicator": "skadegorelse", "period_start": "2020-W01",
                  "period_end": "2020-W05"}, "has no published data"),
    ("trends", {"indicator": "skadegorelse", "period_start": "2026-W30",
                "period_end": "2026-W35"}, "Mann-Kendall needs at least 8 weeks"),
    ("hotspots", {"indicator": "skadegorelse", "weights": "distance_band", "distance_m": 10},
     "choose a larger distance band or use k nearest neighbours"),
    ("hotspots", {"indicator": "skadegorelse", "permutations": "many"}, "a whole number"),
    ("hotspots", {"indikator": "skadegorelse"}, "Unknown input(s) indikator"),
    ("hotspots", {"indicator": "skadegorelse", "publish": True, "publish_token": "guess"},
     "Unknown input(s) publish_token"),
    ("hotspots", {"indicator": "skadegorelse", "publish": True, "source": "exact"},
     "run it on source 'published' to save it"),
    ("early-warning", {"indicator": "skadegorelse", "baseline_weeks": 2}, "between 4 and 156"),
]  # fmt: skip


@pytest.mark.parametrize(("process", "inputs", "message"), BAD)
def test_bad_input_is_a_400_with_a_message(server, process, inputs, message):
    response = _execute(server, process, inputs)
    assert response.status_code == 400, response.text
    assert message in response.json()["description"]


def test_all_zero_period_and_malformed_requests_are_400(server):
    with psycopg.connect(_db_url()) as conn:
        indicator, week = conn.execute(
            "SELECT indicator, to_char(week_start, 'IYYY-\"W\"IW') FROM publish.observations"
            " GROUP BY 1, 2 HAVING bool_and(coalesce(value, 1) = 0) ORDER BY 2, 1 LIMIT 1"
        ).fetchone()
    response = _execute(
        server, "hotspots", {"indicator": indicator, "period_start": week, "period_end": week}
    )
    assert response.status_code == 400 and "nothing to analyse" in response.json()["description"]
    url = f"{server['url']}/processes/hotspots/execution"
    assert requests.post(url, data="{not json", timeout=10).status_code == 400
    assert requests.post(url, json={"inputs": {}}, timeout=10).status_code == 400
    assert requests.post(url.replace("hotspots", "nope"), json={}, timeout=10).status_code == 404


def _db_url() -> str:
    return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{PG_PORT}/{COPY}"


def test_nightly_analyse_fills_the_trends_layer_the_web_map_embeds(server, nightly, planted):
    assert "skadegorelse" in nightly and "increasing" in nightly
    cluster = planted["vandalism_cluster"]
    response = requests.get(
        server["url"] + "/collections/trends/items",
        params={"indicator": cluster.indicator, "f": "json", "limit": 100},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    layer = response.json()
    trend = {f["properties"]["area_code"]: f["properties"] for f in layer["features"]}
    assert len(trend) == 60
    assert all(trend[a]["trend"] == "increasing" for a in cluster.areas)
    assert trend[cluster.areas[0]]["direction_sv"] == "Ökande"
    lon, lat = layer["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 10 < lon < 25 and 55 < lat < 70


def test_publish_true_replaces_the_hotspots_layer_and_its_etag(server, planted):
    disorder = planted["persistent_disorder"]
    items = server["url"] + "/collections/hotspots/items"
    params = {"indicator": disorder.indicator, "f": "json", "limit": 100}
    before = requests.get(items, params=params, timeout=10)
    response = _execute(
        server,
        "hotspots",
        {
            "indicator": disorder.indicator,
            "publish": True,
            "permutations": 99,
            "seed": 5,
        },  # fmt: skip
        **{"X-API-Key": server["keys"]["analyst"]},
    )
    assert response.status_code == 200, response.text
    run_id = response.json()["provenance"]["published_run_id"]
    after = requests.get(items, params=params, timeout=10)
    assert after.headers["ETag"] != before.headers["ETag"]
    features = after.json()["features"]
    assert len(features) == 60 and {f["properties"]["run_id"] for f in features} == {run_id}
    props = {f["properties"]["area_code"]: f["properties"] for f in features}
    assert props[disorder.areas[0]]["bin"] >= 2
    assert props[disorder.areas[0]]["label_sv"].startswith("Het punkt")
    assert requests.get(items, params={"nope": 1}, timeout=10).status_code == 400


def test_saving_needs_an_analyst_and_says_how_to_log_in(server):
    inputs = {"indicator": "skadegorelse", "publish": True, "permutations": 0}
    public = _execute(server, "hotspots", inputs)
    assert public.status_code == 401 and "WWW-Authenticate" in public.headers
    assert "analyst role" in public.json()["description"]
    reviewer = _execute(server, "hotspots", inputs, **{"X-API-Key": server["keys"]["reviewer"]})
    assert reviewer.status_code == 403
    exact = _execute(server, "hotspots", {"indicator": "skadegorelse", "source": "exact"})
    assert exact.status_code == 401


def test_a_synchronous_run_leaves_no_job_and_an_async_one_is_its_callers(server):
    with psycopg.connect(_db_url()) as conn:
        before = conn.execute("SELECT count(*) FROM jobs.jobs").fetchone()[0]
    jobs_dir = server["data_dir"] / "jobs"
    files = set(jobs_dir.iterdir())
    response = _execute(server, "hotspots", {"indicator": "skadegorelse", "permutations": 0})
    assert response.status_code == 200 and "Location" not in response.headers
    with psycopg.connect(_db_url()) as conn:
        assert conn.execute("SELECT count(*) FROM jobs.jobs").fetchone()[0] == before
    assert set(jobs_dir.iterdir()) == files
    analyst = {"X-API-Key": server["keys"]["analyst"]}
    job = _execute(server, "trends", {"indicator": "skadegorelse"}, Prefer="respond-async",
                   **analyst)  # fmt: skip
    assert job.status_code == 201
    status_url = job.headers["Location"]
    assert requests.get(status_url, timeout=10).status_code == 404  # not the public's
    listed = requests.get(server["url"] + "/jobs", params={"f": "json"}, timeout=10).json()
    assert job.json()["jobID"] not in {j["jobID"] for j in listed["jobs"]}
    mine = requests.get(server["url"] + "/jobs", params={"f": "json"}, headers=analyst)
    assert [j["jobID"] for j in mine.json()["jobs"]] == [job.json()["jobID"]]


def test_jobs_are_kept_by_the_postgresql_job_manager(server):
    with psycopg.connect(_db_url()) as conn:
        rows = conn.execute(
            "SELECT process_id, status FROM jobs.jobs WHERE process_id = 'trends'"
        ).fetchall()
    assert ("trends", "successful") in rows
