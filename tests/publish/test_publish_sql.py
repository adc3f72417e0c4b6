"""The publication tables: approved data only, protected by the cell key method, a reader
that reads nothing else.

Expected values are computed from the restricted tables (and, for the protection, recomputed
in Python from the secret and the contributions), never hard-coded.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import psycopg
import pytest

from lagesbild_geo.access.logins import ensure_login
from lagesbild_geo.disclosure import keys, ptable
from lagesbild_geo.publish import publication as publish
from lagesbild_geo.publish.review import change_status
from lagesbild_geo.server.statements import COUNT_TABLES
from lagesbild_geo.store import deliveries as store
from tests.publish_data import NEVER_PUBLISHED_MIN, SMALL_CELL, WEEKS, load

K = 5
D = K - 2
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
BIN_COLUMNS = [f"by_weekday_{d}" for d in WEEKDAYS] + [f"by_hour_{h:02d}" for h in range(24)]


@pytest.fixture
def loaded(pg_conn):
    ids = load(pg_conn, k=K)
    return pg_conn, ids


def _contributions(conn) -> dict[tuple, list[tuple]]:
    """(area, week, indicator, kind) -> [(actor, numerator, denominator)] of approved data."""
    rows = conn.execute(
        "SELECT o.area_code, o.week_start, o.indicator_id, a.kind, d.actor_id,"
        " sum(o.numerator), sum(o.denominator) FROM lagesbild.observation o"
        " JOIN lagesbild.delivery d ON d.id = o.delivery_id AND d.status = 'approved'"
        " JOIN lagesbild.actor a ON a.id = d.actor_id GROUP BY 1, 2, 3, 4, 5"
    ).fetchall()
    cells: dict[tuple, list[tuple]] = defaultdict(list)
    for area, week, ind, kind, actor, num, den in rows:
        cells[(area, week, ind, kind)].append((actor, int(num), None if den is None else int(den)))
    return cells


def _exact_cells(conn) -> dict[tuple, tuple[int, int | None]]:
    """(area, week, indicator, kind) -> (numerator, denominator) over approved deliveries."""
    out = {}
    for cell, parts in _contributions(conn).items():
        dens = [p[2] for p in parts]
        out[cell] = (
            sum(p[1] for p in parts),
            None if any(d is None for d in dens) else sum(d for d in dens if d is not None),
        )
    return out


def _covered(conn) -> set[tuple]:
    """The cells approved event deliveries cover: every area x week x indicator x kind."""
    rows = conn.execute(
        "SELECT a.code, w::date, x.indicator_id, act.kind FROM lagesbild.delivery d"
        " JOIN lagesbild.actor act ON act.id = d.actor_id"
        " CROSS JOIN LATERAL generate_series(d.first_week, d.last_week, interval '7 days') w"
        " CROSS JOIN LATERAL (SELECT DISTINCT indicator_id FROM lagesbild.observation o"
        "                     WHERE o.delivery_id = d.id) x"
        " CROSS JOIN publish.areas a WHERE d.status = 'approved' AND d.shape = 'events'"
    ).fetchall()
    return {tuple(r) for r in rows}


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
    # the correction's value (7) replaced the first version's (1001), within D
    values = [
        r[0]
        for r in conn.execute(
            "SELECT value FROM publish.observations WHERE indicator = 'brand_offentlig_utomhus'"
        )
    ]
    assert len(values) == 20 and all(7 - D <= v <= 7 + D for v in values)
    # one feature per delivered cell, and per cell an event delivery covers
    (n,) = conn.execute("SELECT count(*) FROM publish.observations").fetchone()
    assert n == len(set(_exact_cells(conn)) | _covered(conn))


def _published_cells(conn) -> dict[tuple, tuple]:
    rows = conn.execute(
        "SELECT area_code, week_start, indicator, actor_kind, unit, value, numerator,"
        " denominator, value_status FROM publish.observations"
    ).fetchall()
    return {r[:4]: r[4:] for r in rows}


def test_every_cell_is_the_sum_of_its_protected_contributions(loaded):
    """Within n x D of the truth (n contributors), a true zero is zero, unbiased, and the
    very value the method gives: recomputed here from the secret, the ptable and the content
    (the SQL digest and keys.digest are one function)."""
    conn, _ = loaded
    (secret,) = conn.execute("SELECT secret FROM lagesbild.protection_secret").fetchone()
    table = ptable.build(D, 1.0)
    population = dict(conn.execute("SELECT code, population FROM publish.areas").fetchall())
    published = _published_cells(conn)
    deviations = {"count": [], "share": [], "rate_per_1000": []}
    reproduced = 0
    for cell, parts in _contributions(conn).items():
        unit, value, num, den, status = published[cell]
        n_true = sum(p[1] for p in parts)
        got = value if unit == "count" else num
        if n_true == 0:
            assert got == 0
        assert abs(got - n_true) <= len(parts) * D
        deviations[unit].append(got - n_true)
        if unit == "share":
            d_true = sum(p[2] for p in parts)
            assert abs(den - d_true) <= 2 * len(parts) * D
            if den == 0:  # both parts protected down to 0: nothing to show a share of
                assert status == "protected" and value is None
            else:
                assert status == "published"
                assert value == pytest.approx(100 * num / den, abs=0.0501)
        if unit == "rate_per_1000":
            assert value == pytest.approx(1000 * num / population[cell[0]], abs=0.00501)
            assert den == population[cell[0]]
        if unit == "count" and cell[2] != "skadegorelse":  # no breakdown in the content
            expected = 0
            for actor, part, _ in parts:
                content = "|".join(
                    [actor, cell[0], cell[1].isoformat(), cell[2], cell[3], str(part), "", "", ""]
                )
                u = keys.record_keys(secret, [content.encode()])[0, keys.SLOT_COUNT]
                expected += int(table.perturb(np.array([part]), np.array([u]))[0])
            assert value == expected, cell
            reproduced += 1
    assert reproduced > 1500
    for unit, devs in deviations.items():
        devs = np.array(devs)
        assert len(devs) > 400, unit
        assert abs(devs.mean()) < 0.15, unit  # unbiased
        assert 0.2 < (devs != 0).mean() < 0.9, unit  # most figures moved, not all


def test_the_small_cell_is_not_published_as_itself_beyond_the_protection(loaded):
    """The planted 3 is published as one of 0..6, and whatever is published is consistent
    with at least k - 1 true values (the protection interval of docs/disclosure.md)."""
    conn, _ = loaded
    area, week, ind, kind, true = SMALL_CELL
    (value,) = conn.execute(
        "SELECT value FROM publish.observations WHERE area_code = %s AND week_start = %s"
        " AND indicator = %s AND actor_kind = %s",
        (area, week, ind, kind),
    ).fetchone()
    assert 0 <= value <= true + D
    consistent = [x for x in range(0, 20) if (x == 0) == (value == 0) or (x > 0 and value == 0)]
    consistent = [x for x in consistent if abs(x - value) <= D]
    assert len(consistent) >= K - 1 and true in consistent


def test_breakdowns_add_up_keep_zeros_and_stay_within_d(loaded):
    conn, _ = loaded
    rows = conn.execute(
        f"SELECT area_code, week_start, actor_kind, value, breakdown_status,"
        f" {', '.join(BIN_COLUMNS)} FROM publish.observations WHERE has_breakdown"
    ).fetchall()
    assert len(rows) > 1000
    # The truth, binned here from each event's stored hour of the week (0 = Monday 00:00).
    exact = {
        (r[0], r[1], r[2]): (
            np.bincount(np.array(r[3] or [], int) // 24, minlength=7),
            np.bincount(np.array(r[3] or [], int) % 24, minlength=24),
        )
        for r in conn.execute(
            "SELECT o.area_code, o.week_start, a.kind, array_agg(h) FILTER (WHERE h IS NOT NULL)"
            " FROM lagesbild.observation o JOIN lagesbild.delivery d ON d.id = o.delivery_id"
            " JOIN lagesbild.actor a ON a.id = d.actor_id"
            " LEFT JOIN LATERAL unnest(o.event_hours) AS h ON true"
            " WHERE d.status = 'approved' AND o.event_hours IS NOT NULL GROUP BY 1, 2, 3"
        )
    }
    moved = shown = 0
    for area, week, kind, total, status, *bins in rows:
        # shown only where the published total guarantees k events (one contribution here):
        # a small cell's breakdown would tell when its few events happened
        if not (total == 0 or total >= K + D):
            assert status == "protected" and bins == [None] * 31
            continue
        assert status == "published"
        shown += 1
        weekdays, hours = np.array(bins[:7]), np.array(bins[7:])
        true_wd, true_hr = exact.get((area, week, kind), (np.zeros(7, int), np.zeros(24, int)))
        for published, truth in ((weekdays, true_wd), (hours, true_hr)):
            assert published.sum() == total
            assert (published[truth == 0] == 0).all()  # no event invented at an empty hour
            assert (np.abs(published - truth) <= D).all()
            moved += int((published != truth).any())
    assert moved > 500 and shown > 1000


def test_situation_is_computed_from_the_published_cells_per_indicator(loaded):
    conn, _ = loaded
    cells = conn.execute(
        "SELECT area_code, indicator, week_start, coalesce(numerator, value), denominator"
        " FROM publish.observations"
    ).fetchall()
    by = defaultdict(list)
    newest: dict[str, object] = {}
    for area, ind, week, num, den in cells:
        by[(area, ind)].append((week, float(num), den))
        newest[ind] = max(newest.get(ind, week), week)
    exact = _exact_cells(conn)
    names = [c.name for c in conn.execute("SELECT * FROM publish.situation LIMIT 0").description]
    situation = [dict(zip(names, r, strict=True)) for r in conn.execute(
        "SELECT * FROM publish.situation").fetchall()]  # fmt: skip
    assert len(situation) == 60
    checked = 0
    for row in situation:
        for ind in ("skadegorelse", "anlagd_brand", "ran"):
            ref = newest[ind]
            assert row[f"{ind}_week"] == ref.strftime("%G-W%V")
            mine = by[(row["area_code"], ind)]
            last = [n for w, n, _ in mine if 0 <= (ref - w).days < 28]
            prev = [n for w, n, _ in mine if 28 <= (ref - w).days < 112]
            w4 = len({w for w, _, _ in mine if 0 <= (ref - w).days < 28})
            w12 = len({w for w, _, _ in mine if 28 <= (ref - w).days < 112})
            assert row[f"{ind}_last4"] == pytest.approx(sum(last))
            assert row[f"{ind}_prev12_mean"] == pytest.approx(sum(prev) / w12, abs=0.00501)
            if sum(prev) > 0:
                change = 100 * ((sum(last) / w4) / (sum(prev) / w12) - 1)
                assert row[f"{ind}_change_pct"] == pytest.approx(change, abs=0.0501)
            true4 = sum(
                v[0] for (a, w, i, _k), v in exact.items()
                if a == row["area_code"] and i == ind and 0 <= (ref - w).days < 28
            )  # fmt: skip
            kinds = 2 if ind == "skadegorelse" else 1
            assert abs(row[f"{ind}_last4"] - true4) <= 4 * kinds * D
            checked += 1
        # never delivered: no data, named so; delivered: not named
        assert "narkotika_last4" in row["no_data_fields"]
        assert "skadegorelse_last4" not in row["no_data_fields"]
        assert row["narkotika_last4"] is None and row["narkotika_week"] is None
    assert checked == 180


def test_an_event_delivery_publishes_real_zeros_for_the_weeks_it_covers(loaded):
    conn, _ = loaded
    exact = _exact_cells(conn)
    zeros = [c for c in _covered(conn) if exact.get(c, (0,))[0] == 0]
    assert zeros
    published = _published_cells(conn)
    for cell in zeros:
        assert published[cell][1] == 0.0 and published[cell][4] == "published"
    # a week no delivery covers has no feature at all (no data, not zero)
    (outside,) = conn.execute(
        "SELECT count(*) FROM publish.observations WHERE indicator = 'skadegorelse'"
        " AND week_start NOT BETWEEN %s AND %s",
        (WEEKS[0], WEEKS[-1]),
    ).fetchone()
    assert outside == 0


def test_repeated_publication_gives_the_same_figures(loaded):
    """Stable keys: a refresh with nothing changed, and a correction that leaves a cell as it
    was, publish exactly the same values (no second noisy copy to average)."""
    conn, _ = loaded
    query = "SELECT id, value, numerator, denominator FROM publish.observations ORDER BY id"
    before = conn.execute(query).fetchall()
    publish.refresh(conn)
    assert conn.execute(query).fetchall() == before


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
    untouched = conn.execute(
        "SELECT id, value FROM publish.observations WHERE indicator <> 'narkotika' ORDER BY id"
    ).fetchall()
    delivery_id, _ = store.save_delivery(conn, new)
    assert publish.read_state(conn).version == before
    change_status(conn, delivery_id, "approve", by_whom="granskare", k=K)
    state = publish.read_state(conn)
    assert state.version == before + 1
    _assert_counts_follow_the_observations(conn)
    values = [
        r[0]
        for r in conn.execute(
            "SELECT value FROM publish.observations WHERE indicator = 'narkotika'"
        )
    ]
    assert len(values) == 60 and all(12 - D <= v <= 12 + D for v in values)
    assert len(set(values)) > 1  # perturbed, not all 12
    # nothing else moved: the other cells' contributions, and so their keys, are the same
    assert (
        conn.execute(
            "SELECT id, value FROM publish.observations WHERE indicator <> 'narkotika' ORDER BY id"
        ).fetchall()
        == untouched
    )
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
        " actor_kind, value, value_status, has_breakdown"
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
    exact = _exact_cells(conn)
    before = _published_cells(conn)
    publish.refresh(conn, 10)
    state = publish.read_state(conn)
    assert (state.k, state.ckm_d, state.ckm_v) == (10, 8, 1.0)
    _assert_counts_follow_the_observations(conn)
    (rows,) = conn.execute("SELECT count(*) FROM publish.ptable WHERE row = 8").fetchone()
    assert rows == 17  # perturbations -8..8
    deviations = [
        abs(v[1] - exact[c][0])
        for c, v in _published_cells(conn).items()
        if v[0] == "count" and c in exact
    ]
    assert max(deviations) <= 2 * 8  # two contributors at most
    after = _published_cells(conn)
    assert sum(after[c] != before[c] for c in before) > 0  # drawn from the new table


def test_reader_role_reads_publish_and_nothing_restricted(loaded, pg_dsn, tmp_path):
    conn, _ = loaded
    password = ensure_login(conn, publish.READER_ROLE, tmp_path / "db-reader-password")
    conn.commit()
    assert (tmp_path / "db-reader-password").stat().st_mode & 0o777 == 0o600
    reader_dsn = pg_dsn.replace("user=lagesbild", f"user={publish.READER_ROLE}")
    reader_dsn = " ".join(
        p if not p.startswith("password=") else f"password={password}" for p in reader_dsn.split()
    )
    with psycopg.connect(reader_dsn, autocommit=True) as reader:
        for table in ("areas", "indicators", "observations", "situation", "state", "ptable"):
            reader.execute(f"SELECT count(*) FROM publish.{table}").fetchone()
        for statement in (
            "SELECT count(*) FROM lagesbild.observation",
            "SELECT count(*) FROM lagesbild.approved_observation",
            "SELECT count(*) FROM lagesbild.delivery",
            "SELECT count(*) FROM lagesbild.double_report",
            "SELECT * FROM lagesbild.protection_secret",
            "SELECT * FROM publish._refresh_begin(5, NULL, NULL, NULL, NULL, NULL, NULL)",
            "SELECT publish._refresh_situation()",
            "DELETE FROM publish.ptable",
            "DELETE FROM publish.observations",
            "CREATE TABLE publish.x (i int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(statement)


def test_a_changed_perturbation_table_redraws_every_cell(loaded):
    """A review's refresh touches only its cells, unless the perturbation table itself is not
    the one the publication was drawn from (a new version of the method): then every cell is
    drawn again, so that no publication mixes two tables."""
    conn, _ = loaded
    query = "SELECT count(*) FROM publish.observations WHERE indicator = 'anlagd_brand'"
    (n,) = conn.execute(query).fetchone()
    conn.execute("DELETE FROM publish.observations WHERE indicator = 'anlagd_brand'")
    publish.refresh(conn, lo=WEEKS[0], hi=WEEKS[0], indicators=["ran"], actor_kinds=["police"])
    assert conn.execute(query).fetchone() == (0,)  # scoped: the other cells untouched
    conn.execute("UPDATE publish.ptable SET probability = probability * 0.999 WHERE row = 1")
    publish.refresh(conn, lo=WEEKS[0], hi=WEEKS[0], indicators=["ran"], actor_kinds=["police"])
    assert conn.execute(query).fetchone() == (n,)  # every cell drawn again
    stored = conn.execute("SELECT row, perturbation, probability FROM publish.ptable ORDER BY 1, 2")
    assert [tuple(r) for r in stored] == ptable.build(D, 1.0).rows()
