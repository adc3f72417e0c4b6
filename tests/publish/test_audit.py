"""The audit of a real publication (real PostGIS): the cell key method's publication passes,
a planted leak in a public relation is caught, and two publications are audited jointly."""

from __future__ import annotations

import stat
import time

import pytest

from lagesbild_geo.disclosure import audit
from lagesbild_geo.publish import audit as reader
from lagesbild_geo.publish.review import change_status
from tests import publish_data


@pytest.fixture
def published(pg_conn):
    ids = publish_data.load(pg_conn)
    return pg_conn, ids


def test_the_published_history_audits_clean(published):
    conn, _ = published
    reading = reader.read_publication(conn)
    assert reading.mismatches == []
    assert reading.derived > 100 and reading.not_derived == 0
    results = audit.audit_all([reading.publication])
    assert [r.attacker for r in results][0] == "public" and len(results) > 3
    public = results[0].counts()
    for kind in audit.KINDS:
        assert public[kind]["total"] > 0, kind
    for result in results:
        assert result.failures() == 0, (result.attacker, result.worst())


def test_a_situation_figure_that_is_not_derived_is_caught(published):
    """Plant the exact 4-week totals in publish.situation: the audit must see that they are
    not derived and find the cells they narrow."""
    conn, _ = published
    conn.execute(
        "UPDATE publish.situation s SET anlagd_brand_last4 = t.n FROM ("
        " SELECT o.area_code, sum(o.numerator) AS n FROM lagesbild.approved_observation o"
        " WHERE o.indicator_id = 'anlagd_brand' AND o.week_start > (SELECT max(week_start)"
        "  FROM publish.observations WHERE indicator = 'anlagd_brand') - 28"
        " GROUP BY o.area_code) t WHERE t.area_code = s.area_code"
    )
    reading = reader.read_publication(conn)
    assert reading.not_derived > 0
    result = audit.audit([reading.publication])
    counts = result.counts()
    assert counts["situation"]["recovered"] >= reading.not_derived
    assert result.failures() > 0


def test_a_change_or_week_not_derived_is_caught(published):
    """A change computed from the exact cells (it would leak their ratio) and a reference
    week that is not the indicator's newest published one are mismatches, so failures."""
    conn, _ = published
    assert not reader.read_publication(conn).mismatches
    conn.execute(
        "UPDATE publish.situation SET ran_change_pct = ran_change_pct + 0.3,"
        " anlagd_brand_week = '2026-W01' WHERE area_code = '1101'"
    )
    mismatches = reader.read_publication(conn).mismatches
    assert any("1101:ran_change_pct" in m for m in mismatches)
    assert any("1101:anlagd_brand_week" in m for m in mismatches)


def test_observation_counts_not_derived_are_reported(published):
    conn, _ = published
    conn.execute("UPDATE publish.observation_counts SET n = n + 1 WHERE ctid IN"
                 " (SELECT ctid FROM publish.observation_counts LIMIT 1)")  # fmt: skip
    assert any("observation_counts" in m for m in reader.read_publication(conn).mismatches)


def test_two_publications_jointly(published, tmp_path):
    """Publication N saved (0600), then a withdrawal and a new approval: N and N + 1 audited
    together pass, and the changed figures of N are among those audited."""
    conn, ids = published
    first = reader.read_publication(conn)
    path = reader.save_snapshot(first, tmp_path / "audit" / "n.npz")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    change_status(conn, ids["vaktbolaget"], "withdraw", by_whom="vaktbolaget",
                  actor_id="vaktbolaget")  # fmt: skip
    change_status(conn, ids["pending"], "approve", by_whom=publish_data.REVIEWER)
    second = reader.read_publication(conn)
    earlier = reader.load_snapshot(path)
    assert earlier.version == first.version < second.version
    results = audit.audit_all([earlier.publication, second.publication])
    for result in results:
        assert result.failures() == 0, (result.attacker, result.worst())
    assert (results[0].publication == -1).any()


def test_a_snapshot_that_is_not_one_is_an_input_error(tmp_path):
    from lagesbild_geo.errors import InputError

    bad = tmp_path / "x.npz"
    bad.write_text("no")
    with pytest.raises(InputError):
        reader.load_snapshot(bad)


def test_the_demo_publication_audits_clean(demo_db_url):
    import psycopg

    with psycopg.connect(demo_db_url) as conn:
        started = time.perf_counter()
        reading = reader.read_publication(conn)
        read_s = time.perf_counter() - started
    started = time.perf_counter()
    results = audit.audit_all([reading.publication])
    audit_s = time.perf_counter() - started
    print(f"demo audit: read {read_s:.1f} s, audited {audit_s:.1f} s")
    for row in audit.table(results):
        print(row)
    assert reading.mismatches == []
    for result in results:
        counts = result.counts()
        assert all(counts[k]["recovered"] == counts[k]["narrowed"] == 0 for k in audit.KINDS)
        assert result.failures() == 0


def test_the_per_indicator_situation_not_the_wide_ones_is_reported(published):
    """situation-<id>'s table (migration 0029) must hold the wide situation's figures."""
    conn, _ = published
    conn.execute(
        "UPDATE publish.situation_by_indicator SET last4 = last4 + 1"
        " WHERE area_code = '1101' AND indicator = 'ran'"
    )
    mismatches = reader.read_publication(conn).mismatches
    assert mismatches == ["situation_by_indicator 1101:ran is not the situation's figures"]
    conn.execute("DELETE FROM publish.situation_by_indicator WHERE area_code = '1101'")
    assert any("one per area and indicator" in m for m in reader.read_publication(conn).mismatches)
