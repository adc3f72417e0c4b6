"""The publication tables: approved data only, small numbers suppressed, a reader that reads
nothing else.

Expected values are computed from the restricted tables, never hard-coded.
"""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from lagesbild_geo.publish import publication as publish
from lagesbild_geo.publish.review import change_status
from lagesbild_geo.server.statements import COUNT_TABLES
from lagesbild_geo.store import deliveries as store
from tests.publish_data import NEVER_PUBLISHED_MIN, SMALL_CELL, load

K = 5
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
BIN_COLUMNS = [f"by_weekday_{d}" for d in WEEKDAYS] + [f"by_hour_{h:02d}" for h in range(24)]


@pytest.fixture
def loaded(pg_conn):
    ids = load(pg_conn, k=K)
    return pg_conn, ids


def _exact_cells(conn) -> dict[tuple, tuple[int, int | None]]:
    """(area, week, indicator, kind) -> (numerator, denominator) over approved deliveries."""
    rows = conn.execute(
        "SELECT o.area_code, o.week_start, o.indicator_id, a.kind, sum(o.numerator),"
        " sum(o.denominator) FROM lagesbild.observation o"
        " JOIN lagesbild.delivery d ON d.id = o.delivery_id AND d.status = 'approved'"
        " JOIN lagesbild.actor a ON a.id = d.actor_id GROUP BY 1, 2, 3, 4"
    ).fetchall()
    return {r[:4]: (int(r[4]), None if r[5] is None else int(r[5])) for r in rows}


def test_only_approved_deliveries_are_published(loaded):
    conn, ids = loaded
    statuses = dict(conn.execute("SELECT id, status FROM lagesbild.delivery").fetchall())
    assert statuses[ids["pending"]] == "pending"
    assert statuses[ids["rescue_old"]] == "replaced"
    assert statuses[ids["withdrawn"]] == "withdrawn"
    published = {r[0] for r in conn.execute("SELECT DISTINCT indicator FROM publish.observations")}
    assert published == {
        "anlagd_brand",
        "ran",
        "unga_misstankta_boende",
        "skadegorelse",
        "ofullstandiga_betyg_ak9",
        "brand_offentlig_utomhus",
    }
    (biggest,) = conn.execute(
        "SELECT max(greatest(value, numerator)) FROM publish.observations"
    ).fetchone()
    assert biggest < NEVER_PUBLISHED_MIN
    # the correction's value (7) replaced the first version's (1001)
    values = {
        r[0]
        for r in conn.execute(
            "SELECT value FROM publish.observations WHERE indicator = 'brand_offentlig_utomhus'"
        )
    }
    assert values == {7.0}
    exact = _exact_cells(conn)
    (n,) = conn.execute("SELECT count(*) FROM publish.observations").fetchone()
    assert n == len(exact)


def test_counts_equal_the_approved_sums_or_are_suppressed(loaded):
    conn, _ = loaded
    exact = _exact_cells(conn)
    rows = conn.execute(
        "SELECT area_code, week_start, indicator, actor_kind, unit, value, numerator,"
        " denominator, suppressed FROM publish.observations"
    ).fetchall()
    checked = {"count": 0, "share": 0, "rate_per_1000": 0, "suppressed": 0}
    population = dict(conn.execute("SELECT code, population FROM publish.areas").fetchall())
    for area, week, ind, kind, unit, value, num, den, suppressed in rows:
        n, d = exact[(area, week, ind, kind)]
        small = 0 < n < K or (unit == "share" and 0 < d - n < K)
        assert suppressed == small
        if small:
            assert (value, num, den) == (None, None, None)
            checked["suppressed"] += 1
            continue
        checked[unit] += 1
        if unit == "count":
            assert value == n
        elif unit == "share":
            assert (num, den) == (n, d)
            assert value == pytest.approx(100 * n / d, abs=0.0501)
        else:
            assert value == pytest.approx(1000 * n / population[area], abs=0.00501)
    assert all(v > 100 for v in checked.values()), checked


def test_no_value_below_k_exists_in_any_public_table(loaded):
    conn, _ = loaded
    counts = " OR ".join(f"{c} BETWEEN 1 AND {K - 1}" for c in BIN_COLUMNS)
    (leaks,) = conn.execute(
        "SELECT count(*) FROM publish.observations WHERE (unit = 'count' AND value > 0 AND"
        f" value < {K}) OR numerator BETWEEN 1 AND {K - 1} OR {counts}"
    ).fetchone()
    assert leaks == 0
    area, week, ind, kind, _ = SMALL_CELL
    row = conn.execute(
        "SELECT * FROM publish.observations WHERE area_code = %s AND week_start = %s"
        " AND indicator = %s AND actor_kind = %s",
        (area, week, ind, kind),
    ).fetchone()
    assert row is not None
    names = [c.name for c in conn.execute("SELECT * FROM publish.observations LIMIT 0").description]
    record = dict(zip(names, row, strict=True))
    assert record["suppressed"] is True and record["value"] is None
    assert SMALL_CELL[4] not in [v for k, v in record.items() if k not in ("geom",)]


def test_breakdowns_never_let_a_small_bin_be_recovered(loaded):
    conn, _ = loaded
    rows = conn.execute(
        f"SELECT area_code, week_start, actor_kind, value, {', '.join(BIN_COLUMNS)}"
        " FROM publish.observations WHERE has_breakdown AND NOT suppressed"
    ).fetchall()
    assert len(rows) > 1000
    # The truth, binned here from each event's stored hour of the week (0 = Monday 00:00).
    exact = {
        (r[0], r[1], r[2]): (
            np.bincount(np.array(r[3] or [], int) // 24, minlength=7).tolist(),
            np.bincount(np.array(r[3] or [], int) % 24, minlength=24).tolist(),
        )
        for r in conn.execute(
            "SELECT o.area_code, o.week_start, a.kind, array_agg(h) FILTER (WHERE h IS NOT NULL)"
            " FROM lagesbild.observation o JOIN lagesbild.delivery d ON d.id = o.delivery_id"
            " JOIN lagesbild.actor a ON a.id = d.actor_id"
            " LEFT JOIN LATERAL unnest(o.event_hours) AS h ON true"
            " WHERE d.status = 'approved' AND o.event_hours IS NOT NULL GROUP BY 1, 2, 3"
        )
    }
    partly_hidden = 0
    for area, week, kind, total, *bins in rows:
        weekdays, hours = bins[:7], bins[7:]
        true_wd, true_hr = exact[(area, week, kind)]
        for published, truth in ((weekdays, true_wd), (hours, true_hr)):
            hidden = [t for p, t in zip(published, truth, strict=True) if p is None]
            assert all(p == t for p, t in zip(published, truth, strict=True) if p is not None)
            assert sum(p for p in published if p is not None) + sum(hidden) == total
            if hidden:
                partly_hidden += 1
                assert len(hidden) >= 2 and sum(hidden) >= K
    assert partly_hidden > 100


def test_situation_layer_sums_and_suppression(loaded):
    conn, _ = loaded
    (ref,) = conn.execute("SELECT reference_week FROM publish.state").fetchone()
    exact = conn.execute(
        "SELECT area_code, sum(numerator) FILTER (WHERE week_start > %(ref)s::date - 28),"
        " sum(numerator) FILTER (WHERE week_start <= %(ref)s::date - 28)"
        " FROM lagesbild.approved_observation WHERE indicator_id = 'skadegorelse'"
        " AND week_start > %(ref)s::date - 112 GROUP BY area_code",
        {"ref": ref},
    ).fetchall()
    published = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT area_code, skadegorelse_last4, skadegorelse_prev12_mean,"
            " skadegorelse_change_pct, anlagd_brand_last4, suppressed_fields"
            " FROM publish.situation"
        )
    }
    assert len(published) == 60
    for area, last4, prev12 in exact:
        got_last4, got_mean, got_change, _, _ = published[area]
        assert got_last4 == (None if 0 < last4 < K else last4)
        assert got_mean == pytest.approx(float(prev12) / 12, abs=0.00501)
        if 0 < last4 < K:
            assert got_change is None
        else:
            expected = 100 * ((float(last4) / 4) / (float(prev12) / 12) - 1)
            assert got_change == pytest.approx(expected, abs=0.0501)
    # a suppressed figure is named in suppressed_fields
    for _area, (_l4, _m, _c, brand_last4, fields) in published.items():
        if brand_last4 is None:
            assert "anlagd_brand_last4" in (fields or "")


def test_version_moves_with_reviews_only(loaded):
    conn, _ = loaded
    before = publish.read_state(conn).version
    obs = conn.execute(
        "SELECT code, week_start, 'narkotika' AS indicator, 12 AS numerator"
        " FROM publish.areas CROSS JOIN (SELECT DATE '2026-04-13' AS week_start) w"
    ).fetchall()
    import pandas as pd

    frame = pd.DataFrame(obs, columns=["area_code", "week_start", "indicator", "numerator"])
    new = store.NewDelivery(
        actor_id="polisen",
        file_name="late.csv",
        content_sha256="a" * 64,
        shape="aggregated",
        row_count=len(frame),
        observations=frame,
    )
    delivery_id, _ = store.save_delivery(conn, new)
    assert publish.read_state(conn).version == before
    change_status(conn, delivery_id, "approve", by_whom="granskare", k=K)
    state = publish.read_state(conn)
    assert state.version == before + 1
    _assert_counts_follow_the_observations(conn)
    (n,) = conn.execute(
        "SELECT count(*) FROM publish.observations WHERE indicator = 'narkotika' AND value = 12"
    ).fetchone()
    assert n == 60
    change_status(conn, delivery_id, "withdraw", by_whom="polisen", actor_id="polisen")
    assert publish.read_state(conn).version == before + 2
    _assert_counts_follow_the_observations(conn)
    (n,) = conn.execute(
        "SELECT count(*) FROM publish.observations WHERE indicator = 'narkotika'"
    ).fetchone()
    assert n == 0


def _assert_counts_follow_the_observations(conn) -> None:
    """publish.observation_counts (numberMatched's shortcut) is the group-by of the features."""
    columns = (
        "iso_week, week_start, week_end, indicator, indicator_name_sv, indicator_name_en, unit,"
        " actor_kind, value, suppressed, has_breakdown"
    )
    (table_columns,) = conn.execute(
        "SELECT array_agg(column_name::text) FROM information_schema.columns"
        " WHERE table_schema = 'publish' AND table_name = 'observation_counts'"
    ).fetchone()
    # what the server sums from (server.statements.COUNT_TABLES) is what the table holds
    assert set(table_columns) - {"n"} == COUNT_TABLES["observations"][1] == set(columns.split(", "))
    fresh = f"SELECT {columns}, count(*) AS n FROM publish.observations GROUP BY {columns}"
    stored = f"SELECT {columns}, n FROM publish.observation_counts"
    (total, rows) = conn.execute(
        "SELECT sum(n), count(*) FROM publish.observation_counts"
    ).fetchone()
    (features,) = conn.execute("SELECT count(*) FROM publish.observations").fetchone()
    assert total == features and rows < features
    for a, b in ((fresh, stored), (stored, fresh)):
        (extra,) = conn.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b}) d").fetchone()
        assert extra == 0


def test_a_new_k_rebuilds_everything(loaded):
    conn, _ = loaded
    publish.refresh(conn, 10)
    assert publish.read_state(conn).k == 10
    _assert_counts_follow_the_observations(conn)
    (leaks,) = conn.execute(
        "SELECT count(*) FROM publish.observations WHERE unit = 'count' AND value BETWEEN 1 AND 9"
    ).fetchone()
    assert leaks == 0


def test_reader_role_reads_publish_and_nothing_restricted(loaded, pg_dsn, tmp_path):
    conn, _ = loaded
    password = publish.ensure_reader_login(conn, tmp_path / "db-reader-password")
    conn.commit()
    assert (tmp_path / "db-reader-password").stat().st_mode & 0o777 == 0o600
    reader_dsn = pg_dsn.replace("user=lagesbild", f"user={publish.READER_ROLE}")
    reader_dsn = " ".join(
        p if not p.startswith("password=") else f"password={password}" for p in reader_dsn.split()
    )
    with psycopg.connect(reader_dsn, autocommit=True) as reader:
        for table in ("areas", "indicators", "observations", "situation", "state"):
            reader.execute(f"SELECT count(*) FROM publish.{table}").fetchone()
        for statement in (
            "SELECT count(*) FROM lagesbild.observation",
            "SELECT count(*) FROM lagesbild.approved_observation",
            "SELECT count(*) FROM lagesbild.delivery",
            "SELECT count(*) FROM lagesbild.double_report",
            "SELECT publish.refresh(5)",
            "DELETE FROM publish.observations",
            "CREATE TABLE publish.x (i int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(statement)
