"""Jobs belong to their caller; processes on exact data by role (issue 13, item 5 and 2).

The job manager runs against a real database as ``lagesbild_jobs`` (the login the server
uses), with a tiny process that records who it ran as; the exact source reads the test
history through the caller's row-level security and is checked against the owner's sums.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pygeoapi.process.base import BaseProcessor, JobNotFoundError, ProcessorExecuteError
from pygeoapi.util import JobStatus, RequestedProcessExecutionMode

import processes.common
from lagesbild_geo.access import identity, session
from lagesbild_geo.access.identity import Identity
from lagesbild_geo.access.logins import LOGINS, ensure_login
from lagesbild_geo.analysis import jobs
from lagesbild_geo.analysis.cube import load_cube
from lagesbild_geo.analysis.params import parse_params
from lagesbild_geo.errors import InputError
from processes.hotspots import HotSpotsProcessor
from processes.jobs import JobManager
from tests.access_helpers import ACTOR_A, ACTOR_B
from tests.publish_data import load

ASYNC = RequestedProcessExecutionMode.respond_async
ACTOR_A_ID = Identity("key:aaaaaaaaaaaa", frozenset({"actor"}), ACTOR_A, "api-key")
ACTOR_B_ID = Identity("key:bbbbbbbbbbbb", frozenset({"actor"}), ACTOR_B, "api-key")
ANALYST = Identity("key:cccccccccccc", frozenset({"analyst"}), None, "api-key")
REVIEWER = Identity("key:dddddddddddd", frozenset({"reviewer"}), None, "api-key")
PUBLIC_1 = Identity(client="192.0.2.1")
PUBLIC_2 = Identity(client="192.0.2.2")

#: Who each run of :class:`WhoProcessor` ran as (the thread's identity), by job input.
RAN_AS: dict[str, Identity] = {}


class WhoProcessor(BaseProcessor):
    """Records the identity it runs as and returns a small result."""

    def __init__(self, processor_def):
        super().__init__(
            processor_def,
            {"id": "who", "jobControlOptions": ["sync-execute", "async-execute"]},
        )

    def execute(self, data, outputs=None):
        RAN_AS[data["tag"]] = identity.current()
        return "application/json", {"tag": data["tag"], "padding": "x" * 1000}


@pytest.fixture
def jobs_dsn(pg_conn, pg_dsn, tmp_path):
    """The test history, and a DSN of the jobs login."""
    load(pg_conn, k=5)
    role, file_name, _ = LOGINS["jobs"]
    password = ensure_login(pg_conn, role, tmp_path / file_name)
    pg_conn.commit()
    params = dict(p.split("=", 1) for p in pg_dsn.split())
    return params | {"user": role, "password": password}


def _manager(jobs_dsn, out: Path, **limits) -> JobManager:
    out.mkdir(exist_ok=True)
    manager = JobManager(
        {
            "name": "processes.jobs.JobManager",
            "connection": {
                "host": jobs_dsn["host"],
                "port": int(jobs_dsn["port"]),
                "dbname": jobs_dsn["dbname"],
                "user": jobs_dsn["user"],
                "password": jobs_dsn["password"],
                "search_path": ["jobs"],
            },
            "output_dir": str(out),
            "processes": {
                "process-who": {
                    "type": "process",
                    "processor": {"name": "tests.access.test_jobs.WhoProcessor"},
                }
            },
        }
    )
    manager.limits = jobs.JobLimits(**limits) if limits else manager.limits
    return manager


def _as(who: Identity, call, *args, **kwargs):
    token = identity.CURRENT.set(who)
    try:
        return call(*args, **kwargs)
    finally:
        identity.CURRENT.reset(token)


def _submit(manager, who: Identity, tag: str) -> str:
    job_id, _, _, status, _ = _as(
        who, manager.execute_process, "who", {"tag": tag}, execution_mode=ASYNC
    )
    assert status == JobStatus.accepted
    return job_id


def _finished(manager, who, job_id, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = _as(who, manager.get_job, job_id)
        if job["status"] in ("successful", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def _rows(pg_conn) -> int:
    pg_conn.rollback()
    return pg_conn.execute("SELECT count(*) FROM jobs.jobs").fetchone()[0]


def test_a_job_runs_as_its_caller_in_its_thread_and_is_only_the_callers(
    jobs_dsn, pg_conn, tmp_path
):
    manager = _manager(jobs_dsn, tmp_path / "jobs")
    job_a = _submit(manager, ACTOR_A_ID, "a")
    job = _finished(manager, ACTOR_A_ID, job_a)
    assert job["status"] == "successful"
    # the thread pygeoapi runs it in got the caller's identity, not the public
    assert RAN_AS["a"] == ACTOR_A_ID
    assert job["bytes"] == Path(job["location"]).stat().st_size > 1000
    for other in (ACTOR_B_ID, PUBLIC_1, ANALYST):
        with pytest.raises(JobNotFoundError):
            _as(other, manager.get_job, job_a)
        with pytest.raises(JobNotFoundError):  # results and dismissal ask get_job first
            _as(other, manager.delete_job, job_a)
        assert _as(other, manager.get_jobs)["jobs"] == []
    assert [j["identifier"] for j in _as(ACTOR_A_ID, manager.get_jobs)["jobs"]] == [job_a]
    owner = pg_conn.execute("SELECT owner FROM jobs.jobs").fetchone()[0]
    assert owner == ACTOR_A_ID.principal


def test_anonymous_jobs_are_never_listed_and_read_only_from_their_address(jobs_dsn, tmp_path):
    """Several people may share one address behind a proxy: an anonymous job is reached only
    through its URL, from the address that made it, and listed to nobody."""
    manager = _manager(jobs_dsn, tmp_path / "jobs")
    job = _submit(manager, PUBLIC_1, "p1")
    _finished(manager, PUBLIC_1, job)
    assert RAN_AS["p1"] == PUBLIC_1
    assert _as(PUBLIC_2, manager.get_jobs)["jobs"] == []
    with pytest.raises(JobNotFoundError):
        _as(PUBLIC_2, manager.get_job, job)
    # not even to its own address (behind a proxy, every anonymous caller's): by id only
    assert _as(PUBLIC_1, manager.get_jobs)["jobs"] == []
    assert _as(PUBLIC_1, manager.get_job, job)["identifier"] == job


def test_an_analysts_jobs_are_the_municipalitys_only(jobs_dsn, tmp_path):
    """Decision: a job of a municipality principal is visible to every municipality
    principal (the huvudman is one organisation), never to an actor or the public."""
    manager = _manager(jobs_dsn, tmp_path / "jobs")
    job = _submit(manager, ANALYST, "an")
    _finished(manager, ANALYST, job)
    assert _as(REVIEWER, manager.get_job, job)["identifier"] == job
    for outsider in (ACTOR_A_ID, PUBLIC_1):
        with pytest.raises(JobNotFoundError):
            _as(outsider, manager.get_job, job)
    assert _as(ANALYST, manager.get_jobs)["numberMatched"] == 1


def test_a_synchronous_run_keeps_no_record_and_no_file(jobs_dsn, pg_conn, tmp_path):
    manager = _manager(jobs_dsn, tmp_path / "jobs")
    _, mime, outputs, status, _ = _as(PUBLIC_1, manager.execute_process, "who", {"tag": "s"})
    assert status == JobStatus.successful and outputs["tag"] == "s"
    assert _rows(pg_conn) == 0
    assert list((tmp_path / "jobs").iterdir()) == []


def test_retention_removes_the_record_and_the_file(jobs_dsn, pg_conn, tmp_path):
    manager = _manager(jobs_dsn, tmp_path / "jobs", retention_s=1)
    job = _finished(manager, ACTOR_A_ID, _submit(manager, ACTOR_A_ID, "r"))
    stale = tmp_path / "jobs" / "hotspots-left-by-an-old-server"
    stale.write_text("{}")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert Path(job["location"]).exists() and _rows(pg_conn) == 1
    time.sleep(1.2)
    assert _as(ACTOR_A_ID, manager.get_jobs)["jobs"] == []  # pruned lazily on listing
    assert _rows(pg_conn) == 0
    assert not Path(job["location"]).exists() and not stale.exists()


def test_beyond_the_callers_bound_is_a_429_with_retry_after(jobs_dsn, tmp_path):
    manager = _manager(jobs_dsn, tmp_path / "jobs", retention_s=600, per_caller=2)
    for tag in ("b1", "b2"):
        _finished(manager, ACTOR_A_ID, _submit(manager, ACTOR_A_ID, tag))
    with pytest.raises(ProcessorExecuteError) as err:
        _submit(manager, ACTOR_A_ID, "b3")
    assert err.value.http_status_code == 429
    assert "Dismiss one" in err.value.message
    headers = dict(jobs.response_headers("429 Too Many Requests", []))
    assert 590 <= int(headers["Retry-After"]) <= 600
    assert jobs.response_headers("429 Too Many Requests", []) == []  # not carried over
    # another caller is not bounded by A's jobs
    _finished(manager, ACTOR_B_ID, _submit(manager, ACTOR_B_ID, "other"))


def test_beyond_the_servers_bound_is_a_429(jobs_dsn, tmp_path):
    manager = _manager(jobs_dsn, tmp_path / "jobs", retention_s=600, total=1)
    _finished(manager, ACTOR_A_ID, _submit(manager, ACTOR_A_ID, "t1"))
    with pytest.raises(ProcessorExecuteError) as err:
        _submit(manager, ACTOR_B_ID, "t2")
    assert err.value.http_status_code == 429 and "The server keeps 1 jobs" in err.value.message


# -- saving and exact data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [(PUBLIC_1, 401), (ACTOR_A_ID, 403), (REVIEWER, 403), (ANALYST, 200)],
)
def test_saving_a_run_needs_the_analyst_role(monkeypatch, who, status):
    saved = []
    monkeypatch.setattr(
        processes.common.analysis, "run", lambda *a, **kw: saved.append(kw) or {"saved": True}
    )
    processor = HotSpotsProcessor({"name": "hotspots", "data": {"save": {"user": "jobs"}}})
    inputs = {"indicator": "skadegorelse", "publish": True}
    if status == 200:
        assert _as(who, processor.execute, inputs)[1] == {"saved": True}
        assert "user=jobs" in saved[0]["save"]
        return
    with pytest.raises(ProcessorExecuteError) as err:
        _as(who, processor.execute, inputs)
    assert err.value.http_status_code == status and "analyst role" in err.value.message
    assert saved == []
    if status == 401:
        assert "WWW-Authenticate" in dict(jobs.response_headers("401 Unauthorized", []))


def test_publish_token_is_gone_and_exact_runs_are_never_saved():
    processor = HotSpotsProcessor({"name": "hotspots", "data": {}})
    with pytest.raises(ProcessorExecuteError) as err:
        _as(ANALYST, processor.execute, {"indicator": "x", "publish": True, "publish_token": "t"})
    assert "Unknown input(s) publish_token" in err.value.message
    with pytest.raises(ProcessorExecuteError) as err:
        _as(ANALYST, processor.execute, {"indicator": "skadegorelse", "publish": True,
                                         "source": "exact"})  # fmt: skip
    assert err.value.http_status_code == 400 and "source 'published'" in err.value.message


@pytest.mark.parametrize(("who", "status"), [(PUBLIC_1, 401), (REVIEWER, 403)])
def test_exact_source_needs_analyst_or_actor(who, status):
    processor = HotSpotsProcessor({"name": "hotspots", "data": {}})
    with pytest.raises(ProcessorExecuteError) as err:
        _as(who, processor.check_inputs, {"indicator": "skadegorelse", "source": "exact"}, True)
    assert err.value.http_status_code == status


def _exact_cube(pg_conn, who: Identity, role: str, indicator: str, start, end):
    params = parse_params(
        "hotspots",
        {"indicator": indicator, "source": "exact", "period_start": str(start),
         "period_end": str(end)},
    )  # fmt: skip
    pg_conn.rollback()
    with pg_conn.transaction():
        session.enter(pg_conn, who, role)
        cube = load_cube(pg_conn, params)
        pg_conn.execute("RESET ROLE")
    return cube


def test_exact_source_gives_an_actor_its_own_counts_and_the_analyst_all(pg_conn, jobs_dsn):
    """skadegorelse is delivered by B (vaktbolaget) and bostadsbolaget: B's exact run sums
    B's cells only, the analyst's all of them, and A (polisen) finds none."""
    indicator = "skadegorelse"
    start, end = pg_conn.execute(
        "SELECT max(week_start) - 21, max(week_start) FROM lagesbild.approved_observation"
        " WHERE indicator_id = %s",
        (indicator,),
    ).fetchone()

    def owner_sum(actor: str | None) -> float:
        pg_conn.rollback()
        return float(
            pg_conn.execute(
                "SELECT coalesce(sum(numerator), 0) FROM lagesbild.approved_observation"
                " WHERE indicator_id = %s AND (%s::text IS NULL OR actor_id = %s)"
                " AND week_start BETWEEN %s AND %s",
                (indicator, actor, actor, start, end),
            ).fetchone()[0]
        )

    def total(cube) -> float:
        return float(sum(v for v in cube.values.flat if v == v))  # NaN: weeks without data

    mine = _exact_cube(pg_conn, ACTOR_B_ID, "actor", indicator, start, end)
    assert mine.imputed_cells == 0
    assert total(mine) == owner_sum(ACTOR_B) > 0
    whole = _exact_cube(pg_conn, ANALYST, "analyst", indicator, start, end)
    assert total(whole) == owner_sum(None) > owner_sum(ACTOR_B)
    with pytest.raises(InputError, match="no published data"):
        _exact_cube(pg_conn, ACTOR_A_ID, "actor", indicator, start, end)
