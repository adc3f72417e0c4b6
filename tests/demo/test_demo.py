"""The demo history: deterministic, with every planted pattern visible in the stored counts."""

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from lagesbild_geo.demo.history import (
    _deliveries,
    plan_patterns,
    planned_delivery_count,
    read_demo_layer,
    weeks_of_history,
)


@pytest.fixture(scope="module")
def demo(demo_db_url):
    with psycopg.connect(demo_db_url) as conn:
        yield conn


def _weekly(conn, indicator, area, approved=True):
    """Weekly totals for one area over the whole history (zeros where nothing was reported)."""
    weeks = weeks_of_history()
    table = "lagesbild.approved_observation" if approved else "lagesbild.observation"
    got = dict(
        conn.execute(
            f"SELECT week_start, sum(numerator) FROM {table}"
            " WHERE indicator_id = %s AND area_code = %s GROUP BY 1",
            (indicator, area),
        ).fetchall()
    )
    return np.array([got.get(w, 0) for w in weeks], float)


@pytest.fixture(scope="module")
def patterns():
    level3, _ = read_demo_layer()
    return {p.key: p for p in plan_patterns(level3, weeks_of_history())}


def test_statuses_cover_the_review_workflow(demo):
    statuses = dict(
        demo.execute("SELECT status, count(*) FROM lagesbild.delivery GROUP BY 1").fetchall()
    )
    assert statuses["pending"] == 3
    assert statuses["rejected"] == 1
    assert statuses["replaced"] == 1
    assert statuses["approved"] == planned_delivery_count() - 5
    kinds = {
        r[0]
        for r in demo.execute(
            "SELECT DISTINCT a.kind FROM lagesbild.delivery d JOIN lagesbild.actor a"
            " ON a.id = d.actor_id"
        )
    }
    assert kinds == {
        "police",
        "rescue",
        "security",
        "housing",
        "education",
        "social",
        "municipality",
    }
    (double,) = demo.execute("SELECT count(*) FROM lagesbild.double_report").fetchone()
    assert double == 1


def test_vandalism_cluster_grows_over_neighbours(demo, patterns):
    p = patterns["vandalism_cluster"]
    weeks = weeks_of_history()
    for ring, start in zip((p.areas[:1], p.areas[1:4], p.areas[4:]), p.weeks, strict=True):
        s = weeks.index(start)
        for area in ring:
            series = _weekly(demo, "skadegorelse", area)
            before, after = series[:s].mean(), series[-8:].mean()
            assert after > before + 2.0, (area, before, after)


def test_persistent_disorder_is_the_top_area_every_quarter(demo, patterns):
    centre = patterns["persistent_disorder"].areas[0]
    rows = demo.execute(
        "SELECT area_code, sum(numerator) FROM lagesbild.approved_observation"
        " WHERE indicator_id = 'ordningsstorning' GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    assert rows[0][0] == centre and rows[0][1] > 2 * rows[1][1]


def test_single_week_arson_spike(demo, patterns):
    p = patterns["arson_spike"]
    series = _weekly(demo, "anlagd_brand", p.areas[0])
    spike = weeks_of_history().index(p.weeks[0])
    assert series[spike] >= 8
    assert np.delete(series, spike).max() <= 3


def test_summer_pattern(demo):
    rows = demo.execute(
        "SELECT extract(week FROM week_start) BETWEEN 23 AND 33, avg(numerator)::float8"
        " FROM lagesbild.approved_observation WHERE indicator_id = 'brand_offentlig_utomhus'"
        " GROUP BY 1"
    ).fetchall()
    means = dict(rows)
    assert means[True] > 2.0 * means[False]


def test_improvement_after_the_intervention(demo, patterns):
    p = patterns["improving_after_intervention"]
    series = _weekly(demo, "narkotika", p.areas[0])
    cut = weeks_of_history().index(p.weeks[0])
    assert series[:cut].mean() > 2.0 + series[cut:].mean()


def test_the_history_is_the_same_every_time(tmp_path):
    """Same seed, same files, byte for byte (what makes the README's pattern list true)."""
    level3, _ = read_demo_layer()
    weeks = weeks_of_history()
    pats = plan_patterns(level3, weeks)
    dirs = [tmp_path / "a", tmp_path / "b"]
    made = []
    for d in dirs:
        d.mkdir()
        made.append(
            [s.path.name for s in _deliveries(level3, weeks, pats, np.random.default_rng(7), d)]
        )
    assert made[0] == made[1] and len(made[0]) == planned_delivery_count()
    text = [n for n in made[0] if Path(n).suffix == ".csv"]
    match, mismatch, errors = filecmp.cmpfiles(dirs[0], dirs[1], text, shallow=False)
    assert mismatch == [] and errors == [] and len(match) == len(text)
    # Excel files carry their creation time; their cells must be the same.
    sheets = [n for n in made[0] if Path(n).suffix == ".xlsx"]
    assert sheets
    for name in sheets:
        pd.testing.assert_frame_equal(pd.read_excel(dirs[0] / name), pd.read_excel(dirs[1] / name))


def test_readme_lists_the_planted_areas(patterns):
    """The README's pattern table is what the demo plants (areas and start weeks)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for key in (
        "vandalism_cluster",
        "persistent_disorder",
        "arson_spike",
        "improving_after_intervention",
    ):
        p = patterns[key]
        for area in p.areas:
            assert area in readme, (key, area)
        for week in p.weeks:
            year, number, _ = week.isocalendar()
            assert f"{year}-W{number:02d}" in readme, (key, week)
