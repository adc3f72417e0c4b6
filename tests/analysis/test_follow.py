"""The result layers follow the picture: a review asks, a follower recomputes after commit.

On a copy of the session's demo database (the demo leaves deliveries pending review): the
review's transaction writes the request and the notification only when it commits; the
follower process (``python -m lagesbild_geo.analysis.follow``, what ``lagesbild serve``
starts), logged in as ``lagesbild_jobs`` and reading as the reader, recomputes the layers of
the reviewed delivery's indicators and no others; ``lagesbild analyse`` answers open requests.
The trends' FDR classes and the seasonal warning run on the read-only demo database.
"""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from lagesbild_geo.analysis import follow
from lagesbild_geo.analysis import run as analysis
from lagesbild_geo.cli.main import main
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.publish.results import CHANNEL
from lagesbild_geo.publish.review import change_status
from lagesbild_geo.stats.hotspots import fdr_qvalues
from lagesbild_geo.weeks import iso_week
from tests.conftest import PG_PASSWORD, PG_USER

PASSWORD = "follow-test-pw"  # roles are cluster-wide: this module's password for them
FOLLOW_S = 120  # a slow CI machine: the follower recomputes two layers of a few indicators


@pytest.fixture(scope="module")
def copy_url(demo_db_url):
    """A writable copy of the demo database (the demo's own is read-only for the tests)."""
    name = "lagesbild_follow"
    admin = demo_db_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(demo_db_url.rsplit("/", 1)[1])
            )
        )
    try:
        yield demo_db_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def logins(copy_url):
    """The reader's and the jobs role's logins: how ``lagesbild serve`` runs the follower."""
    urls = {}
    with psycopg.connect(copy_url, autocommit=True) as conn:
        for role in (publish.READER_ROLE, "lagesbild_jobs"):
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(PASSWORD)
                )
            )
            urls[role] = copy_url.replace(f"{PG_USER}:{PG_PASSWORD}", f"{role}:{PASSWORD}")
    return urls


def _pending(conn) -> list[tuple[int, list[str]]]:
    return conn.execute(
        "SELECT d.id, ARRAY(SELECT DISTINCT o.indicator_id FROM lagesbild.observation o"
        " WHERE o.delivery_id = d.id ORDER BY 1)"
        " FROM lagesbild.delivery d WHERE d.status = 'pending' ORDER BY d.id"
    ).fetchall()


def _as_publisher(conn) -> None:
    conn.execute("SET LOCAL ROLE lagesbild_publisher")  # as the server's decision path


def _layer_runs(conn, table: str) -> dict[str, tuple]:
    return {
        ind: (run_id, run_at, version)
        for ind, run_id, run_at, version in conn.execute(
            sql.SQL(
                "SELECT indicator, max(run_id), max(run_at), max(publication_version)"
                " FROM {} GROUP BY indicator"
            ).format(sql.Identifier("publish", table))
        )
    }


def test_analyse_answers_the_open_requests(copy_url, monkeypatch):
    """The demo's own reviews asked for a recomputation; the first ``lagesbild analyse``
    (what ``lagesbild up`` runs after loading the demo) answers every one of them."""
    with psycopg.connect(copy_url, autocommit=True) as conn:
        (open_before,) = conn.execute(
            "SELECT count(*) FROM publish.analysis_queue WHERE finished_at IS NULL"
        ).fetchone()
    assert open_before > 100  # one per approval of the demo history
    started = time.perf_counter()
    monkeypatch.setenv("LAGESBILD_DATABASE_URL", copy_url)
    out = CliRunner().invoke(main, ["analyse"])
    seconds = time.perf_counter() - started
    assert out.exit_code == 0, out.output + str(out.exception or "")
    assert "increasing" in out.output and "FDR 5 %" in out.output
    with psycopg.connect(copy_url, autocommit=True) as conn:
        open_after, answered = conn.execute(
            "SELECT count(*) FILTER (WHERE finished_at IS NULL),"
            " count(*) FILTER (WHERE cardinality(run_ids) > 0) FROM publish.analysis_queue"
        ).fetchone()
        (version,) = conn.execute("SELECT version FROM publish.state").fetchone()
        missing = conn.execute(
            "SELECT count(*) FROM publish.trends WHERE publication_version IS NULL"
            " OR q IS NULL AND p IS NOT NULL"
        ).fetchone()[0]
    assert (open_after, answered) == (0, open_before)
    assert missing == 0
    assert version > 0
    print(f"lagesbild analyse over the whole demo: {seconds:.1f} s")


def test_a_rolled_back_review_asks_nothing(copy_url):
    with psycopg.connect(copy_url) as conn, psycopg.connect(copy_url, autocommit=True) as ear:
        ear.execute(f"LISTEN {CHANNEL}")
        (before,) = conn.execute("SELECT count(*) FROM publish.analysis_queue").fetchone()
        delivery, _ = _pending(conn)[0]
        with pytest.raises(RuntimeError), conn.transaction():
            change_status(conn, delivery, "approve", by_whom="test", k=5)
            raise RuntimeError("the reviewer's request failed after the decision")
        (after,) = conn.execute("SELECT count(*) FROM publish.analysis_queue").fetchone()
        conn.rollback()
        assert after == before
        assert list(ear.notifies(timeout=1.0, stop_after=1)) == []


def test_the_follower_recomputes_the_reviewed_indicators_after_commit(copy_url, logins):
    with psycopg.connect(copy_url, autocommit=True) as conn:
        # the follower starts with nothing open, so what it does is the review's doing
        conn.execute("UPDATE publish.analysis_queue SET started_at = now(), finished_at = now()")
        (last_id,) = conn.execute("SELECT max(id) FROM publish.analysis_queue").fetchone()
        before = {t: _layer_runs(conn, t) for t in ("hotspots", "trends")}
        analysed = {i for i, _ in analysis.indicators_with_data(conn)}
    proc = follow.spawn(logins[publish.READER_ROLE], logins["lagesbild_jobs"])
    try:
        time.sleep(2)  # listening (a request written before LISTEN is found by the first look)
        assert proc.poll() is None, "the follower stopped"
        with psycopg.connect(copy_url) as conn:
            delivery, indicators = next(
                (d, inds) for d, inds in _pending(conn) if set(inds) & analysed
            )
            decided = time.perf_counter()
            change_status(
                conn, delivery, "approve", by_whom="test", k=5, before_refresh=_as_publisher
            )
            conn.commit()
            (version,) = conn.execute("SELECT version FROM publish.state").fetchone()
            conn.commit()
        with psycopg.connect(copy_url, autocommit=True) as conn:
            row = None
            while time.perf_counter() - decided < FOLLOW_S:
                row = conn.execute(
                    "SELECT indicators, delivery_ids, run_ids, error, finished_at - requested_at"
                    " FROM publish.analysis_queue WHERE id > %s AND finished_at IS NOT NULL",
                    (last_id,),
                ).fetchone()
                if row:
                    break
                time.sleep(0.5)
            assert row is not None, f"no recomputation within {FOLLOW_S} s of the review"
            asked, deliveries, run_ids, error, took = row
            assert error is None
            assert deliveries == [delivery] and asked == indicators
            after = {t: _layer_runs(conn, t) for t in ("hotspots", "trends")}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    weekly = [i for i in indicators if i in analysed]
    assert weekly
    for table in ("hotspots", "trends"):
        assert set(weekly) <= set(after[table])
        for ind, (run_id, run_at, layer_version) in after[table].items():
            if ind in weekly:
                assert run_id in run_ids
                assert ind not in before[table] or run_at > before[table][ind][1]
                # computed from the publication the review made (saving bumps it again)
                assert layer_version >= version
            else:
                assert (run_id, run_at, layer_version) == before[table][ind], (table, ind)
    print(f"review -> layers of {weekly} recomputed in {took.total_seconds():.1f} s")


# -- trends: classes at a false discovery rate ------------------------------------------------


@pytest.fixture(scope="module")
def trend_inputs(demo_db_url):
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        todo = analysis.indicators_with_data(conn)
    last = max(w for _, w in todo)
    return {
        "indicators": [i for i, _ in todo],
        "period_start": iso_week(last - timedelta(weeks=51)),
        "period_end": iso_week(last),
    }


def test_trend_classes_control_the_false_discovery_rate(demo_db_url, trend_inputs):
    result = analysis.run(demo_db_url, "trends", trend_inputs)
    rows = [f["properties"] for f in result["features"]]
    assert len(rows) == 60 * len(trend_inputs["indicators"])
    p = np.array([np.nan if r["p"] is None else r["p"] for r in rows])
    q = np.array([np.nan if r["q"] is None else r["q"] for r in rows])
    # across areas x indicators (p and q are rounded to 6 decimals in the output, so they are
    # compared where that rounding is small against p)
    exact = fdr_qvalues(p)
    tested = ~np.isnan(p) & (p >= 1e-3)
    np.testing.assert_allclose(q[tested], exact[tested], rtol=1e-3)
    assert (np.isnan(q) == np.isnan(p)).all() and (q[~np.isnan(p)] >= p[~np.isnan(p)]).all()
    for r in rows:
        significant = r["q"] is not None and r["q"] <= 0.05
        assert (r["trend"] != "no trend") == significant, r
    assert result["provenance"]["parameters"]["fdr"] is True

    raw = analysis.run(demo_db_url, "trends", trend_inputs | {"fdr": False})
    raw_rows = [f["properties"] for f in raw["features"]]
    for r in raw_rows:
        assert (r["trend"] != "no trend") == (r["p"] is not None and r["p"] <= 0.05), r
    n_fdr = sum(r["trend"] != "no trend" for r in rows)
    n_raw = sum(r["trend"] != "no trend" for r in raw_rows)
    assert 0 < n_fdr < n_raw  # the planted trends survive; some raw 5 % noise does not
    print(f"trends at p <= 0.05: {n_raw}; at q <= 0.05: {n_fdr} of {len(rows)} tests")


def test_a_seasonal_trend_over_empty_weeks_warns(demo_db_url, trend_inputs):
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        start, last = conn.execute(
            "SELECT first_week, last_week FROM publish.indicators WHERE id = 'skadegorelse'"
        ).fetchone()
    inputs = {"indicator": "skadegorelse", "seasonal": True, "period_end": iso_week(last)}
    # two years ending at the newest approved week: the few weeks before the first delivery
    # are empty, far below a quarter
    two_years = iso_week(last - timedelta(weeks=103))
    full = analysis.run(demo_db_url, "trends", inputs | {"period_start": two_years})
    assert not any("empty" in w for w in full["warnings"]), full["warnings"]
    early = iso_week(start - timedelta(weeks=60))  # 60 weeks before the first delivery
    sparse = analysis.run(demo_db_url, "trends", inputs | {"period_start": early})
    assert any(w.startswith("WARNING: ") and "weeks are empty" in w for w in sparse["warnings"])
    assert sparse["features"] and all("q" in f["properties"] for f in sparse["features"])


def test_the_served_layers_follow_an_approval_over_http(pg_server, tmp_path_factory):
    """End to end: ``lagesbild serve`` starts the follower; an actor delivers over HTTP, the
    reviewer approves, and the public ``trends`` layer of that indicator is recomputed with a
    newer run and publication version, without any command."""
    import requests

    from tests.access_helpers import serving_with_audiences

    data_dir = tmp_path_factory.mktemp("follow-http")
    with serving_with_audiences(pg_server, "follow_http", data_dir, password="follow-pw") as srv:
        url = srv["url"]
        rows = "".join(f"1101,2026-W{w:02d},ran,{40 + w}\n" for w in range(1, 17))
        posted = requests.post(
            url + "/deliveries",
            files={"file": ("ran.csv", "område,vecka,indikator,antal\n" + rows, "text/csv")},
            headers={"X-API-Key": srv["keys"]["actor_a"]},
            timeout=60,
        )
        assert posted.status_code == 201, posted.text
        before = _trend_runs(url)
        approved = requests.post(
            url + f"/deliveries/{posted.json()['id']}/approve",
            headers={"X-API-Key": srv["keys"]["reviewer"]},
            timeout=120,
        )
        assert approved.status_code == 200, approved.text
        deadline = time.monotonic() + 180
        while (after := _trend_runs(url)) == before and time.monotonic() < deadline:
            time.sleep(2)
        assert after != before, "the trends layer did not follow the approval"
        assert after["version"] > (before["version"] or 0)


def _trend_runs(url: str) -> dict:
    import requests

    page = requests.get(
        url + "/collections/trends/items",
        params={"f": "json", "indicator": "ran", "limit": 1000},
        timeout=60,
    ).json()
    runs = {f["properties"].get("run_at") for f in page["features"]}
    versions = [f["properties"].get("publication_version") or 0 for f in page["features"]]
    return {"runs": runs, "version": max(versions, default=None)}
