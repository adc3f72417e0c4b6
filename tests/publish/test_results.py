"""Saved analysis runs: one feature per area and indicator, names and geometry from the
publication, the indicator's earlier rows replaced, the publication's version bumped."""

from __future__ import annotations

from datetime import date

import pytest

from lagesbild_geo.errors import InputError
from lagesbild_geo.publish.results import save_analysis_run

HOTSPOT_PROPERTIES = {
    "measure": "count",
    "value": 12.0,
    "z": 2.5,
    "p": 0.01,
    "bin": 3,
    "label_sv": "Het punkt (99 %)",
    "label_en": "Hot spot (99 %)",
    "pattern": None,
    "pattern_sv": None,
}
TREND_PROPERTIES = {
    "weeks": 16,
    "measure": "count",
    "trend": "increasing",
    "direction_sv": "Ökande",
    "direction_en": "Increasing",
    "tau": 0.4,
    "z": 2.1,
    "p": 0.03,
    "slope_per_week": 0.25,
}


def _collection(process: str, areas: list[str], indicator: str, properties: dict) -> dict:
    features = [
        {"properties": {"area_code": a, "indicator": indicator, **properties, "z": float(i)}}
        for i, a in enumerate(areas)
    ]
    provenance = {
        "process": process,
        "parameters": {"period_start": "2026-W01", "period_end": "2026-W16"},
    }
    return {"features": features, "provenance": provenance}


def _version(conn) -> int:
    return conn.execute("SELECT version FROM publish.state").fetchone()[0]


@pytest.mark.parametrize(
    ("process", "table", "properties", "period_columns"),
    [
        ("hotspots", "hotspots", HOTSPOT_PROPERTIES, ("period", "period_start", "period_end")),
        (
            "emerging-hotspots",
            "hotspots",
            HOTSPOT_PROPERTIES | {"pattern": "new", "pattern_sv": "Ny"},
            ("period", "period_start", "period_end"),
        ),
        ("trends", "trends", TREND_PROPERTIES, ("window_text", "window_start", "window_end")),
    ],
)
def test_a_saved_run_replaces_its_indicators_rows(
    ready_conn, process, table, properties, period_columns
):
    conn = ready_conn
    areas = [r[0] for r in conn.execute("SELECT code FROM publish.areas ORDER BY code")]
    first = save_analysis_run(conn, _collection(process, areas, "ran", properties))
    other = save_analysis_run(conn, _collection(process, areas[:3], "anlagd_brand", properties))
    before = _version(conn)
    run_id = save_analysis_run(conn, _collection(process, areas[:5], "ran", properties))
    assert first < other < run_id
    assert _version(conn) == before + 1

    rows = conn.execute(
        f"SELECT * FROM publish.{table} WHERE indicator = 'ran' ORDER BY area_code"
    ).fetchall()
    names = [c.name for c in conn.execute(f"SELECT * FROM publish.{table} LIMIT 0").description]
    saved = [dict(zip(names, r, strict=True)) for r in rows]
    assert [s["area_code"] for s in saved] == areas[:5]  # the earlier run's 60 rows are gone
    (kept,) = conn.execute(
        f"SELECT count(*) FROM publish.{table} WHERE indicator = 'anlagd_brand'"
    ).fetchone()
    assert kept == 3  # another indicator's result stays
    expected_names = dict(conn.execute("SELECT code, name FROM publish.areas").fetchall())
    (ind_sv, ind_en) = conn.execute(
        "SELECT name_sv, name_en FROM publish.indicators WHERE id = 'ran'"
    ).fetchone()
    for i, s in enumerate(saved):
        assert s["id"] == f"{s['area_code']}:ran"
        assert s["area_name"] == expected_names[s["area_code"]]
        assert (s["indicator_name_sv"], s["indicator_name_en"]) == (ind_sv, ind_en)
        assert s["run_id"] == run_id and s["run_at"] is not None
        assert [s[c] for c in period_columns] == [
            "2026-W01/2026-W16",
            date(2025, 12, 29),
            date(2026, 4, 19),
        ]
        assert {k: s[k] for k in properties} == properties | {"z": float(i)}
        if table == "hotspots":
            assert s["process"] == process
    same_geometry = conn.execute(
        f"SELECT bool_and(ST_Equals(r.geom, a.geom)) FROM publish.{table} r"
        " JOIN publish.areas a ON a.code = r.area_code"
    ).fetchone()[0]
    assert same_geometry
    (logged,) = conn.execute(
        "SELECT process FROM publish.analysis_runs WHERE id = %s", (run_id,)
    ).fetchone()
    assert logged == process


def test_a_process_without_a_layer_is_refused_and_nothing_is_saved(ready_conn):
    before = _version(ready_conn)
    with pytest.raises(InputError, match="not a published layer"):
        save_analysis_run(ready_conn, _collection("early-warning", ["1101"], "ran", {}))
    assert _version(ready_conn) == before
    assert ready_conn.execute("SELECT count(*) FROM publish.analysis_runs").fetchone() == (0,)
