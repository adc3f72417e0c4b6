"""The utility of the publication, measured against the exact data (``publish.utility``).

On the small published history of tests/publish_data.py (one contribution per cell: every
actor kind has one actor there) and on the demo. The bounds come from the method
(docs/disclosure.md): a cell of ``n`` contributions is within ``n·D`` of the truth, a 4-week
total of one contribution per week within ``4·D``, a 12-week mean within ``D``.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lagesbild_geo.cli.main import main
from lagesbild_geo.publish import utility
from tests.publish_data import SMALL_CELL, load

K = 5
D = K - 2


@pytest.fixture
def measured(pg_conn):
    load(pg_conn, k=K)
    return pg_conn, {(r.figure, r.unit): r for r in utility.measure(pg_conn)}


def test_every_weekly_cell_is_counted_and_within_n_d(measured):
    conn, rows = measured
    per_unit = dict(
        conn.execute("SELECT unit, count(*) FROM publish.observations GROUP BY unit").fetchall()
    )
    for unit, n in per_unit.items():
        r = rows[("weekly cells", unit)]
        assert r.with_data == n
        assert r.beyond_bound == 0, r
    counts = rows[("weekly cells", "count")]
    assert counts.published == counts.with_data  # a count is never withheld
    assert 0.3 < counts.mean_abs_dev < 1.0 and counts.max_abs_dev == D
    assert 0.5 < counts.mean_abs_dev_positive < 1.0  # V = 1: E|v| ~ 0.75 for x >= 1
    rates = rows[("weekly cells", "rate_per_1000")]
    assert rates.published == rates.with_data and rates.max_abs_dev > 0
    shares = rows[("weekly cells", "share")]
    (protected,) = conn.execute(
        "SELECT count(*) FROM publish.observations WHERE unit = 'share'"
        " AND value_status = 'protected'"
    ).fetchone()
    assert shares.published == shares.with_data - protected
    assert 0 < shares.mean_abs_dev < shares.max_abs_dev


def test_the_small_cell_is_off_by_what_the_table_says(measured):
    """The one planted small cell (3): published within D, and counted as one contribution."""
    conn, _ = measured
    area, week, indicator, kind, true = SMALL_CELL
    (value,) = conn.execute(
        "SELECT value FROM publish.observations WHERE area_code = %s AND week_start = %s"
        " AND indicator = %s AND actor_kind = %s",
        (area, week, indicator, kind),
    ).fetchone()
    assert abs(value - true) <= D


def test_situation_deviations_are_within_the_sums_of_cell_bounds(measured):
    conn, rows = measured
    last4 = rows[("situation last4", "count")]
    prev12 = rows[("situation prev12_mean", "count")]
    # anlagd_brand and ran (police), brand_offentlig_utomhus (rescue), skadegorelse (security
    # and housing: two contributions per area and week) -> 3 + 3 + 3 + 6 D over 4 weeks.
    assert 0 < last4.max_abs_dev <= 4 * 2 * D
    assert 0 < prev12.max_abs_dev <= 2 * D
    # every area and count indicator with a cell in the indicator's last 4 weeks, published
    (pairs,) = conn.execute(
        "SELECT count(DISTINCT (o.area_code, o.indicator)) FROM publish.observations o"
        " JOIN (SELECT indicator, max(week_start) AS ref FROM publish.observations"
        "       GROUP BY 1) r USING (indicator)"
        " WHERE o.unit = 'count' AND o.week_start > r.ref - 28"
    ).fetchone()
    assert last4.with_data == pairs == 3 * 60 + 5  # brand_offentlig_utomhus: 5 areas
    assert last4.published == last4.with_data
    share = rows[("situation last4", "share")]
    assert share.published >= 0.9 * share.with_data


def test_bins_of_event_cells(measured):
    conn, rows = measured
    (cells, published) = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE breakdown_status = 'published')"
        " FROM publish.observations WHERE has_breakdown"
    ).fetchone()
    weekday, hour = rows[("weekday bins", "count")], rows[("hour bins", "count")]
    assert (weekday.with_data, hour.with_data) == (7 * cells, 24 * cells)
    assert (weekday.published, hour.published) == (7 * published, 24 * published)
    assert published > 0.5 * cells
    for r in (weekday, hour):
        assert r.beyond_bound == 0 and 0 < r.max_abs_dev <= D


def test_measuring_writes_nothing(measured):
    conn, _ = measured
    before = conn.execute("SELECT version FROM publish.state").fetchone()
    utility.measure(conn)
    assert conn.execute("SELECT version FROM publish.state").fetchone() == before
    assert conn.execute("SELECT to_regclass('pg_temp.exact')").fetchone() == (None,)


def test_the_command_prints_the_table_and_json(measured, pg_url, monkeypatch):
    conn, rows = measured
    conn.commit()
    monkeypatch.setenv("LAGESBILD_DATABASE_URL", pg_url)
    text = CliRunner().invoke(main, ["publish", "utility"])
    assert text.exit_code == 0, text.output
    assert "| weekly cells | count |" in text.output and "k = 5, D = 3" in text.output
    doc = CliRunner().invoke(main, ["publish", "utility", "--json"])
    assert doc.exit_code == 0, doc.output
    parsed = json.loads(doc.output)
    assert parsed["k"] == K and parsed["d"] == D
    got = {(r["figure"], r["unit"]): r for r in parsed["rows"]}
    assert got[("weekly cells", "count")]["with_data"] == rows[("weekly cells", "count")].with_data


def test_the_demo_publishes_at_least_90_percent_of_its_situation_figures(demo_db_url):
    """Issue 12's goal: the layer the weekly meeting opens first is nearly full."""
    import psycopg

    with psycopg.connect(demo_db_url) as conn:
        rows = utility.measure(conn)
    situation = [r for r in rows if r.figure.startswith("situation")]
    with_data = sum(r.with_data for r in situation)
    published = sum(r.published for r in situation)
    assert with_data > 60 * 20 and published >= 0.9 * with_data, utility.table(rows)
    assert all(r.beyond_bound == 0 for r in rows if r.beyond_bound is not None)
