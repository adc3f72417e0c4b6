"""Ingest end to end on a real PostGIS: counts stored exactly, whole or not at all."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from lagesbild_geo.errors import DeliveryRefusedError, NotFoundError
from lagesbild_geo.ingest import pipeline
from lagesbild_geo.ingest.locate import LOCATOR_FORMAT
from lagesbild_geo.ingest.pipeline import ingest_file
from lagesbild_geo.store import reads as queries
from tests.conftest import table_counts

TODAY = date(2026, 11, 20)


def _ingest(conn, path, actor, **kw):
    return ingest_file(conn, path, actor_id=actor, today=TODAY, **kw)


def _points(demo_layer, codes, per_area, seed=1):
    """Random points strictly inside the named areas (x, y, code)."""
    rng = np.random.default_rng(seed)
    out = []
    for code in codes:
        geom = demo_layer.loc[demo_layer["code"] == code].geometry.iloc[0]
        minx, miny, maxx, maxy = geom.bounds
        got = 0
        while got < per_area:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if geom.buffer(-1).contains(__import__("shapely").Point(x, y)):
                out.append((round(x, 2), round(y, 2), code))
                got += 1
    return out


def test_aggregated_csv_is_stored_pending_with_exact_integers(ready_conn, tmp_path):
    path = tmp_path / "polis.csv"
    path.write_text(
        "område,vecka,indikator,antal,referens\n"
        "1101,2026-W07,anlagd_brand,3,P-1\n"
        "110104,2026-W07,ran,2,P-2\n"  # a finer NYKO code rolls up to 1101
        "1102,2026-02-16,anlagd_brand,0,P-3\n",  # a date maps to its ISO week (W08)
        encoding="utf-8",
    )
    result = _ingest(ready_conn, path, "polisen")
    assert result.status == "pending" and result.rows == 3 and result.observations == 3
    rows = ready_conn.execute(
        "SELECT area_code, week_start, indicator_id, numerator, denominator,"
        " lagesbild.source_ref_list(source_refs)"
        " FROM lagesbild.observation WHERE delivery_id = %s ORDER BY indicator_id, area_code",
        (result.delivery_id,),
    ).fetchall()
    assert rows == [
        ("1101", date(2026, 2, 9), "anlagd_brand", 3, None, ["P-1"]),
        ("1102", date(2026, 2, 16), "anlagd_brand", 0, None, ["P-3"]),
        ("1101", date(2026, 2, 9), "ran", 2, None, ["P-2"]),
    ]
    (status,) = ready_conn.execute(
        "SELECT status FROM lagesbild.delivery WHERE id = %s", (result.delivery_id,)
    ).fetchone()
    assert status == "pending"
    # Pending data is never in the approved view that publishing reads.
    assert (
        ready_conn.execute("SELECT count(*) FROM lagesbild.approved_observation").fetchone()[0] == 0
    )


def test_shares_keep_numerator_and_denominator(ready_conn, tmp_path):
    path = tmp_path / "skola.csv"
    path.write_text(
        "område,vecka,indikator,täljare,nämnare\n1101,2026-W25,ofullstandiga_betyg_ak9,4,31\n",
        encoding="utf-8",
    )
    result = _ingest(ready_conn, path, "utbildning")
    row = ready_conn.execute(
        "SELECT numerator, denominator FROM lagesbild.observation WHERE delivery_id = %s",
        (result.delivery_id,),
    ).fetchone()
    assert row == (4, 31)


def test_same_file_twice_is_stored_once(ready_conn, tmp_path):
    path = tmp_path / "polis.csv"
    path.write_text("område,vecka,indikator,antal\n1101,2026-W07,ran,2\n", encoding="utf-8")
    first = _ingest(ready_conn, path, "polisen")
    before = table_counts(ready_conn)
    second = _ingest(ready_conn, path, "polisen")
    assert second.already_delivered and second.delivery_id == first.delivery_id
    assert table_counts(ready_conn) == before
    assert "already delivered" in second.summary()


@pytest.mark.parametrize("locator", ["stored with the import", "built (older import)"])
def test_events_are_placed_counted_and_never_stored_as_rows(
    ready_conn, tmp_path, demo_layer, monkeypatch, locator
):
    monkeypatch.setattr(pipeline, "_locators", pipeline._LocatorCache())
    stored_format = ready_conn.execute("SELECT locator_format FROM lagesbild.area_import")
    assert stored_format.fetchall() == [(LOCATOR_FORMAT,)]
    if locator.startswith("built"):  # as after migrating a database imported before 0010
        ready_conn.execute("UPDATE lagesbild.area_import SET locator = NULL, locator_format = NULL")
    codes = ["1101", "1102", "2101"]
    pts = _points(demo_layer, codes, per_area=7)
    rng = np.random.default_rng(3)
    days = pd.Timestamp("2026-03-02") + pd.to_timedelta(rng.integers(0, 14, len(pts)), "D")
    hours = rng.integers(0, 24, len(pts))
    frame = pd.DataFrame(
        {
            "kategori": "skadegorelse",
            "datum": days.strftime("%Y-%m-%d"),
            "tid": [f"{h:02d}:30" for h in hours],
            "x": [p[0] for p in pts],
            "y": [p[1] for p in pts],
            "referens": [f"V-{i}" for i in range(len(pts))],
        }
    )
    path = tmp_path / "vakt.csv"
    frame.to_csv(path, index=False)
    result = _ingest(ready_conn, path, "vaktbolaget")
    assert result.shape == "events" and result.rows == len(pts)

    # Expected: PostGIS itself places the same points (ST_Covers on the stored geometry).
    ready_conn.execute("CREATE TEMP TABLE pts (x float8, y float8, day date)")
    with ready_conn.cursor().copy("COPY pts FROM STDIN") as copy:
        for (x, y, _), d in zip(pts, days, strict=True):
            copy.write_row((x, y, d.date()))
    expected = ready_conn.execute(
        """
        SELECT a.code, date_trunc('week', p.day)::date, count(*)
        FROM pts p JOIN lagesbild.area a
          ON a.level = 3 AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 3006))
        GROUP BY 1, 2 ORDER BY 1, 2
        """
    ).fetchall()
    stored = ready_conn.execute(
        "SELECT area_code, week_start, numerator FROM lagesbild.observation"
        " WHERE delivery_id = %s ORDER BY 1, 2",
        (result.delivery_id,),
    ).fetchall()
    assert stored == expected
    assert sum(r[2] for r in stored) == len(pts)

    # Each cell keeps the actor's references of its events, in file order.
    refs = ready_conn.execute(
        "SELECT lagesbild.source_ref_list(source_refs) FROM lagesbild.observation"
        " WHERE delivery_id = %s",
        (result.delivery_id,),
    ).fetchall()
    got = sorted(ref for (cell,) in refs for ref in cell)
    assert got == sorted(frame["referens"]) and all(
        cell == sorted(cell, key=lambda r: int(r[2:])) for (cell,) in refs
    )

    # The weekday and hour distributions add up to the count, bin by bin from the file.
    for area, week, n, wd, hr in ready_conn.execute(
        "SELECT area_code, week_start, numerator, lagesbild.weekday_counts(event_hours),"
        " lagesbild.hour_counts(event_hours) FROM lagesbild.observation WHERE delivery_id = %s",
        (result.delivery_id,),
    ):
        mask = np.array([p[2] == area for p in pts]) & (
            (days - pd.to_timedelta(days.day_of_week, "D")).date == week
        )
        assert sum(wd) == sum(hr) == n == mask.sum()
        assert wd == np.bincount(days[mask].day_of_week, minlength=7).tolist()
        assert hr == np.bincount(hours[mask], minlength=24).tolist()

    # No coordinates or event rows anywhere: the only geometry column is the area layer's.
    geometry_columns = ready_conn.execute(
        "SELECT f_table_schema || '.' || f_table_name FROM geometry_columns"
        " WHERE f_table_schema = 'lagesbild'"
    ).fetchall()
    assert sorted(geometry_columns) == [("lagesbild.area",), ("lagesbild.area_past",)]
    suspicious = ready_conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'lagesbild'"
        " AND column_name IN ('x', 'y', 'lat', 'lon', 'position', 'address', 'event_time')"
    ).fetchall()
    assert suspicious == []


def test_points_outside_the_municipality_refuse_the_delivery_by_row(
    ready_conn, tmp_path, demo_layer
):
    inside = _points(demo_layer, ["1101"], per_area=2)
    path = tmp_path / "vakt.csv"
    path.write_text(
        "kategori,datum,tid,x,y\n"
        f"skadegorelse,2026-03-02,12:00,{inside[0][0]},{inside[0][1]}\n"
        "skadegorelse,2026-03-02,13:00,760000,7540000\n"  # Kiruna: in Sweden, not in Lägesby
        f"skadegorelse,2026-03-03,14:00,{inside[1][0]},{inside[1][1]}\n",
        encoding="utf-8",
    )
    before = table_counts(ready_conn)
    with pytest.raises(DeliveryRefusedError) as info:
        _ingest(ready_conn, path, "vaktbolaget")
    assert [p.row for p in info.value.problems] == [3]
    assert "outside every area" in str(info.value)
    assert table_counts(ready_conn) == before

    result = _ingest(ready_conn, path, "vaktbolaget", allow_unplaced=True)
    assert result.unplaced_rows == [3] and result.observations >= 1
    report = ready_conn.execute(
        "SELECT report FROM lagesbild.delivery WHERE id = %s", (result.delivery_id,)
    ).fetchone()[0]
    assert report == {"unplaced_rows": [3]}


def test_an_actor_cannot_deliver_another_kinds_indicator(ready_conn, tmp_path):
    path = tmp_path / "bostad.csv"
    path.write_text("område,vecka,indikator,antal\n1101,2026-W07,anlagd_brand,2\n")
    before = table_counts(ready_conn)
    with pytest.raises(DeliveryRefusedError, match="delivered by police"):
        _ingest(ready_conn, path, "bostadsbolaget")
    assert table_counts(ready_conn) == before


def test_unknown_actor_is_named(ready_conn, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("område,vecka,indikator,antal\n1101,2026-W07,ran,2\n")
    with pytest.raises(NotFoundError, match="Unknown actor 'okand'"):
        _ingest(ready_conn, path, "okand")


def _event_file(path, rows):
    pd.DataFrame(rows, columns=["kategori", "datum", "tid", "x", "y"]).to_csv(path, index=False)


def test_double_reporting_across_actors_is_flagged(ready_conn, tmp_path, demo_layer):
    (p1, p2) = _points(demo_layer, ["2101"], per_area=2, seed=9)
    same = ("skadegorelse", "2026-03-04", "22:05", p1[0], p1[1])
    _event_file(tmp_path / "vakt.csv", [same, ("klotter", "2026-03-04", "22:10", p2[0], p2[1])])
    _event_file(
        tmp_path / "bostad.csv",
        [
            ("skadegorelse", "2026-03-04", "22:40", p2[0], p2[1]),  # same area, category, hour
            ("klotter", "2026-03-04", "23:10", p2[0], p2[1]),  # next hour: not a double
        ],
    )
    a = _ingest(ready_conn, tmp_path / "vakt.csv", "vaktbolaget")
    b = _ingest(ready_conn, tmp_path / "bostad.csv", "bostadsbolaget")
    assert a.double_reports == 0 and b.double_reports == 1
    flags = ready_conn.execute(
        "SELECT area_code, indicator_id, hour_start::text, delivery_a, delivery_b, n_a, n_b"
        " FROM lagesbild.double_report"
    ).fetchall()
    assert flags == [
        ("2101", "skadegorelse", "2026-03-04 22:00:00", a.delivery_id, b.delivery_id, 1, 1)
    ]
    listed = {d["id"]: d["double_reports"] for d in queries.list_deliveries(ready_conn)}
    assert listed == {a.delivery_id: 1, b.delivery_id: 1}


def test_same_actor_twice_in_an_hour_is_not_a_double_report(ready_conn, tmp_path, demo_layer):
    (p1,) = _points(demo_layer, ["2101"], per_area=1, seed=4)
    _event_file(tmp_path / "a.csv", [("skadegorelse", "2026-03-04", "22:05", p1[0], p1[1])])
    _event_file(tmp_path / "b.csv", [("skadegorelse", "2026-03-04", "22:15", p1[0], p1[1])])
    _ingest(ready_conn, tmp_path / "a.csv", "vaktbolaget")
    second = _ingest(ready_conn, tmp_path / "b.csv", "vaktbolaget")
    assert second.double_reports == 0


def test_the_store_refuses_a_cell_twice_and_stores_nothing(ready_conn):
    """The observation table has no unique index (migration 0009): the writer keeps a cell
    unique, and refuses a table that repeats one before anything is written."""
    from lagesbild_geo.errors import InputError
    from lagesbild_geo.store import deliveries as store

    before = table_counts(ready_conn)
    cells = pd.DataFrame(
        {
            "area_code": ["1101", "1102", "1101"],
            "week_start": [date(2026, 2, 9)] * 3,
            "indicator": ["ran", "ran", "ran"],
            "numerator": [3, 1, 4],
        }
    )
    new = store.NewDelivery(
        actor_id="polisen",
        file_name="twice.csv",
        content_sha256="b" * 64,
        shape="aggregated",
        row_count=3,
        observations=cells,
    )
    with pytest.raises(InputError, match="same cell twice.*'area_code': '1101'"):
        store.save_delivery(ready_conn, new)
    assert table_counts(ready_conn) == before


def test_cells_stored_in_parts_are_stored_whole_or_not_at_all(ready_conn):
    """The store writes each part while the next is computed; a part that fails after others
    were sent rolls the whole delivery back, and the connection stays usable."""
    import pyarrow as pa

    from lagesbild_geo.errors import InputError
    from lagesbild_geo.store import deliveries as store

    def part(week, areas):
        return pa.table(
            {
                "area_code": areas,
                "week_start": pa.array([week] * len(areas), pa.date32()),
                "indicator": ["skadegorelse"] * len(areas),
                "numerator": [2] * len(areas),
                "event_hours": pa.array([[1, 30]] * len(areas), pa.list_(pa.int16())),
            }
        )

    weeks = (date(2026, 2, 2), date(2026, 2, 16))

    def new(parts, sha):
        return store.NewDelivery(
            actor_id="vaktbolaget", file_name="parts.csv", content_sha256=sha * 64,
            shape="events", row_count=12, observations=iter(parts),
        )  # fmt: skip

    before = table_counts(ready_conn)
    broken = [part(weeks[0], ["1101", "1102"]), part(weeks[1], ["1101", "1102", "1101"])]
    with pytest.raises(InputError, match="same cell twice"):
        store.save_delivery(ready_conn, new(broken, "c"))
    assert table_counts(ready_conn) == before
    across = [part(weeks[1], ["1101"]), part(weeks[1], ["1101", "1102"])]
    with pytest.raises(InputError, match="out of order or twice"):
        store.save_delivery(ready_conn, new(across, "e"))
    assert table_counts(ready_conn) == before
    good = [part(weeks[0], ["1101", "1102"]), part(weeks[1], ["1101", "1102", "2101"])]
    delivery_id, _ = store.save_delivery(ready_conn, new(good, "d"))
    stored = ready_conn.execute(
        "SELECT count(*), sum(numerator), min(week_start), max(week_start)"
        " FROM lagesbild.observation WHERE delivery_id = %s",
        (delivery_id,),
    ).fetchone()
    assert stored == (5, 10, *weeks)
