"""Issue 12's goal for the analyses: every planted demo pattern is still found on public data.

The processes run as ``lagesbild_reader`` (which cannot read one restricted row) on the demo,
whose publication is protected by the cell key method; the test first shows that the cells
they read are the perturbed ones (not the exact counts), then that the processes still find
the seven vandalism-cluster areas hot, flag the 2026-W23 arson spike and see the
intervention area's narcotics decrease. A protection that blurred a pattern away fails here.
Expected areas and weeks come from ``demo.plan_patterns``, never hard-coded.
"""

from __future__ import annotations

import psycopg
import pytest

from lagesbild_geo.analysis import run as analysis
from lagesbild_geo.demo.history import plan_patterns, read_demo_layer, weeks_of_history
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.weeks import iso_week
from tests.conftest import PG_PASSWORD, PG_USER

READER_PASSWORD = "reader-test-pw"  # the same as test_server_features.py (the role is global)


@pytest.fixture(scope="module")
def planted():
    return {p.key: p for p in plan_patterns(read_demo_layer()[0], weeks_of_history())}


@pytest.fixture(scope="module")
def reader(demo_db_url):
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")
    return demo_db_url.replace(
        f"{PG_USER}:{PG_PASSWORD}", f"{publish.READER_ROLE}:{READER_PASSWORD}"
    )


def test_the_processes_read_perturbed_cells(demo_db_url, planted):
    """The published skadegorelse cells of the cluster are not the exact counts."""
    cluster = planted["vandalism_cluster"]
    with psycopg.connect(demo_db_url) as conn:
        (cells, differ) = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE p.value <> e.n) FROM publish.observations p"
            " JOIN (SELECT area_code, week_start, indicator_id, actor_kind, sum(numerator) AS n"
            "       FROM lagesbild.approved_observation GROUP BY 1, 2, 3, 4) e"
            "   ON (e.area_code, e.week_start, e.indicator_id, e.actor_kind)"
            "    = (p.area_code, p.week_start, p.indicator, p.actor_kind)"
            " WHERE p.indicator = %s AND p.area_code = ANY(%s)",
            (cluster.indicator, list(cluster.areas)),
        ).fetchone()
    assert cells > 500 and differ > 0.3 * cells


def test_the_seven_vandalism_cluster_areas_are_hot(reader, planted):
    cluster = planted["vandalism_cluster"]
    assert len(cluster.areas) == 7
    result = analysis.run(reader, "hotspots", {"indicator": cluster.indicator})
    bins = {f["properties"]["area_code"]: f["properties"]["bin"] for f in result["features"]}
    assert {a: bins[a] for a in cluster.areas if bins[a] < 2} == {}
    assert len({a for a, b in bins.items() if b >= 2} - set(cluster.areas)) <= 2


def test_the_arson_spike_is_flagged_by_early_warning(reader, planted):
    spike = planted["arson_spike"]
    week = iso_week(spike.weeks[0])
    assert week == "2026-W23"
    inputs = {"indicators": [spike.indicator], "period_end": week}
    result = analysis.run(reader, "early-warning", inputs)
    props = {f["id"]: f["properties"] for f in result["features"]}
    spiked = props[f"{spike.areas[0]}:{spike.indicator}"]
    assert spiked["flag"], spiked
    assert sum(p["flag"] for p in props.values()) <= 3  # the spike, not noise


def test_the_intervention_area_decreases(reader, planted):
    improving = planted["improving_after_intervention"]
    assert iso_week(improving.weeks[0]) == "2026-W03"
    result = analysis.run(reader, "trends", {"indicators": [improving.indicator]})
    trend = {f["id"]: f["properties"] for f in result["features"]}
    props = trend[f"{improving.areas[0]}:{improving.indicator}"]
    assert props["trend"] == "decreasing" and props["tau"] < 0, props
