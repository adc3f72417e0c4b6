"""The ``k-anonymity`` process over HTTP: the real server (``lagesbild serve``), real requests.

The process reads no database, but the server needs one to start (the publication's state,
the job manager's jobs): the small history of ``tests/publish_data.py``.
"""

from __future__ import annotations

import json
import time
import uuid

import psycopg
import pytest
import requests

from lagesbild_geo.disclosure.request import MAX_CELLS, SYNC_CELLS
from lagesbild_geo.server.checks import MAX_TABLE_BODY_BYTES
from tests.disclosure.test_table import (
    CLASSIC,
    MARGINS_2D,
    assert_protected,
    generated,
    grid_rows,
    public_intervals,
)
from tests.servers import serving_test_history

pytestmark = pytest.mark.server

SECRET_LABEL = "Anna Andersson 19800101"


@pytest.fixture(scope="module")
def server(pg_server, tmp_path_factory):
    with serving_test_history(
        pg_server, "lagesbild_k_anonymity", tmp_path_factory.mktemp("kanon"),
        password="reader-kanon-pw",
    ) as srv:  # fmt: skip
        yield srv


def _execute(server, inputs, timeout=120, **headers):
    return requests.post(
        f"{server['url']}/processes/k-anonymity/execution",
        data=json.dumps({"inputs": inputs}),
        headers={"Content-Type": "application/json", **headers},
        timeout=timeout,
    )


def _job_result(response, deadline_s=600) -> dict:
    assert response.status_code == 201, response.text
    assert response.headers["Preference-Applied"] == "respond-async"
    status_url = response.headers["Location"]
    deadline = time.monotonic() + deadline_s
    while True:
        status = requests.get(status_url, params={"f": "json"}, timeout=30).json()
        if status["status"] in ("successful", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status["status"] == "successful", status
    return requests.get(status_url + "/results", params={"f": "json"}, timeout=60).json()


def test_the_process_is_described_in_swedish_and_english(server):
    sv = requests.get(server["url"] + "/processes/k-anonymity", params={"lang": "sv"}).json()
    en = requests.get(server["url"] + "/processes/k-anonymity", params={"lang": "en"}).json()
    assert sv["title"].startswith("Skydda en tabell") and en["title"].startswith("Protect")
    assert {"sync-execute", "async-execute"} <= set(sv["jobControlOptions"])
    assert {"table", "margins", "k", "method", "secret"} <= set(sv["inputs"])
    assert sv["inputs"]["k"]["schema"]["default"] == 5


def test_sync_json_rows_by_suppression_protect_the_classic_table(server):
    start = time.perf_counter()
    response = _execute(
        server, {"table": grid_rows(CLASSIC), "margins": MARGINS_2D, "method": "suppression"}
    )
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    result = response.json()
    first = result["cells"][0]
    assert first["dims"] == {"row": "r1", "col": "c1"} and first["value"] is None
    assert first["status"] == "primary" and first["interval"][0] == 1
    assert first["interval"][1] >= 4 and "secret" in result  # to repeat the same choice
    assert result["summary"]["secondary"] >= 3
    assert result["summary"]["recovered"] == result["summary"]["narrowed"] == 0
    truth = [c for line in CLASSIC for c in line]
    for i, interval in public_intervals(result).items():
        assert_protected(interval, truth[i])
    print(f"sync suppression, 9 cells: {elapsed * 1000:.0f} ms")


def _jobs(server) -> int:
    """The k-anonymity jobs the job manager holds (read in its table, as the owner)."""
    with psycopg.connect(server["db"]) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM jobs.jobs WHERE process_id = 'k-anonymity'"
        ).fetchone()
    return n


def test_a_sync_run_leaves_no_job_and_a_job_is_never_listed(server):
    """A municipality's table is its own: a synchronous run leaves nothing on the server, and
    an anonymous asynchronous job is reached only through the URL its submitter got, never by
    listing /jobs (in any format, not even from the same address)."""
    inputs = {"table": grid_rows(CLASSIC), "margins": MARGINS_2D, "method": "suppression",
              "secret": "5e" * 32}  # fmt: skip
    accepted = _execute(server, inputs, Prefer="respond-async")
    location = accepted.headers["Location"]
    _job_result(accepted)
    before = _jobs(server)
    assert before
    assert requests.get(location, params={"f": "json"}, timeout=30).status_code == 200
    job_id = location.rstrip("/").rsplit("/", 1)[-1]
    assert uuid.UUID(job_id).version == 4  # random, not uuid1's time and MAC
    for fmt in ("json", "html"):
        listing = requests.get(
            server["url"] + "/jobs", params={"f": fmt, "limit": 1000}, timeout=30
        )
        assert listing.status_code == 200 and job_id not in listing.text, fmt
    response = _execute(server, {"table": grid_rows(CLASSIC), "margins": MARGINS_2D})
    assert response.status_code == 200 and "secret" in response.json()
    assert _execute(server, {"table": [], "margins": []}).status_code == 400
    assert _jobs(server) == before


def test_sync_csv_by_cell_key_returns_a_secret_that_repeats_the_noise(server):
    csv_text = "område;vecka;antal\r\n" + "".join(
        f"{r['row']};2026-W{r['col'][1:]:0>2};{r['count']}\r\n" for r in grid_rows(CLASSIC)
    )
    inputs = {"table": csv_text, "count_column": "antal", "margins": [["område"], []]}
    first = _execute(server, inputs)
    assert first.status_code == 200, first.text
    result = first.json()
    assert {c["status"] for c in result["cells"]} == {"perturbed"}
    assert result["margins"][1]["cells"][0]["value"] == sum(c["value"] for c in result["cells"])
    again = _execute(server, inputs | {"secret": result["secret"]}).json()
    assert again["cells"] == result["cells"] and "secret" not in again


def test_a_table_too_large_for_sync_asks_for_async_and_runs_as_a_job(server):
    rows = generated((101, 100), 4.0, 3)[: SYNC_CELLS["cell_key"] + 1]
    inputs = {"table": rows, "margins": [["d0"], ["d1"], []]}
    refused = _execute(server, inputs)
    assert refused.status_code == 413, refused.text
    assert "Prefer: respond-async" in refused.json()["description"]
    # a job's result stays on the server: the caller brings the secret, it is never in it
    no_secret = _execute(server, inputs, Prefer="respond-async")
    assert no_secret.status_code == 400
    assert "needs your own secret" in no_secret.json()["description"]
    start = time.perf_counter()
    result = _job_result(_execute(server, inputs | {"secret": "5e" * 32}, Prefer="respond-async"))
    elapsed = time.perf_counter() - start
    assert "secret" not in result and "5e" * 32 not in json.dumps(result)
    assert result["summary"]["cells"] == len(rows) and result["summary"]["recovered"] == 0
    print(f"async cell_key, {len(rows):,} cells: {elapsed:.1f} s to the result")


def test_a_suppression_job_is_audited_by_the_attacker(server):
    rows = generated((12, 10), 3.0, 5)
    assert len(rows) > SYNC_CELLS["suppression"]
    start = time.perf_counter()
    result = _job_result(
        _execute(
            server,
            {
                "table": rows,
                "margins": [["d0"], ["d1"], []],
                "method": "suppression",
                "secret": "5e" * 32,
            },
            Prefer="respond-async",
        )  # fmt: skip
    )
    elapsed = time.perf_counter() - start
    truth = [r["count"] for r in rows]
    for i, interval in public_intervals(result).items():
        if i < len(rows):
            assert_protected(interval, truth[i])
    print(f"async suppression, {len(rows)} cells: {elapsed:.1f} s to the result")


def _bad_rows(**change):
    rows = grid_rows(CLASSIC)
    rows[0]["row"] = SECRET_LABEL
    rows[3].update(change)
    return rows


BAD = [
    ({"table": _bad_rows(count=-3)}, 400, "column 'count', row 4: a count must be a whole number"),
    ({"table": _bad_rows(count=1.5)}, 400, "a count must be a whole number"),
    ({"table": [*grid_rows(CLASSIC), grid_rows(CLASSIC)[0]]}, 400, "the same cell as row 1"),
    ({"table": _bad_rows(), "count_column": "n"}, 400, "count_column is not a column"),
    ({"margins": [["vecka"]]}, 400, "names a dimension the table has not"),
    ({"k": 1}, 400, "Input k must be a whole number 2..15"),
    ({"ckm_d": 1}, 400, "Input ckm_d must be a whole number 3..15"),
    ({"table": "row,col,count\nr1,c1,x\n"}, 400, "row 2: a count must be"),
    ({"table": generated((41, 50), 1.0, 2), "method": "suppression"}, 413,
     f"at most {MAX_CELLS['suppression']:,} are protected"),
]  # fmt: skip


@pytest.mark.parametrize("prefer", [None, "respond-async"])
@pytest.mark.parametrize(("change", "status", "message"), BAD)
def test_a_malformed_or_too_large_table_is_a_4xx_that_says_what_to_change(
    server, change, status, message, prefer
):
    headers = {"Prefer": prefer} if prefer else {}
    inputs = {"table": _bad_rows(), "margins": MARGINS_2D} | change
    response = _execute(server, inputs, **headers)
    assert response.status_code == status, response.text
    description = response.json()["description"]
    assert message in description and SECRET_LABEL not in description


def test_a_body_above_the_table_limit_is_a_413_that_says_to_split_it(server):
    line = "område-med-ett-långt-namn,2026-W01,3\n"
    text = "area,week,count\n" + line * (MAX_TABLE_BODY_BYTES // len(line.encode()) + 1)
    response = _execute(server, {"table": text, "margins": []})
    assert response.status_code == 413
    assert "split the table" in response.json()["description"]
