"""count_events / count_cells: hand-counted cells, and a plain pandas groupby as referee."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lagesbild_geo.ingest.aggregate import count_cells, count_events


def _events(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    areas = np.array([f"0181C{i:04d}" for i in range(40)], dtype=object)
    when = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 60 * 86400, n).astype(
        "timedelta64[s]"
    )
    day = when.astype("datetime64[D]")
    weekday = (day.view(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return {
        "area_code": areas[rng.integers(0, len(areas), n)],
        "indicator": np.array(["brand", "skadegorelse", "narkotika"], dtype=object)[
            rng.integers(0, 3, n)
        ],
        "week_start": day - weekday.astype("timedelta64[D]"),
        "weekday": weekday.astype(np.int8),
        "hour": ((when - day.astype("datetime64[s]")).astype(np.int64) // 3600).astype(np.int8),
        "when": when,
    }


def test_hand_counted_cells():
    week = np.array(["2024-03-04", "2024-03-04", "2024-03-04", "2024-03-11"], dtype="datetime64[D]")
    out = count_events(
        np.array(["B", "A", "A", "A"], dtype=object),
        np.array(["fire", "fire", "fire", "fire"], dtype=object),
        week,
        np.array([6, 0, 0, 2], dtype=np.int8),
        np.array([23, 0, 13, 13], dtype=np.int8),
    )
    assert out["area_code"].tolist() == ["A", "A", "B"]
    assert out["week_start"].tolist() == [
        pd.Timestamp("2024-03-04"),
        pd.Timestamp("2024-03-11"),
        pd.Timestamp("2024-03-04"),
    ]
    assert out["count"].tolist() == [2, 1, 1]
    assert out["count"].dtype == np.int64
    assert out["by_weekday"].tolist() == [
        [2, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0, 0],
        [0] * 6 + [1],
    ]
    hours = [[0] * 24 for _ in range(3)]
    hours[0][0] = hours[0][13] = hours[1][13] = hours[2][23] = 1
    assert out["by_hour"].tolist() == hours


def test_matches_pandas_groupby_on_many_events():
    ev = _events(200_000, seed=11)
    out = count_events(
        ev["area_code"], ev["indicator"], ev["week_start"], ev["weekday"], ev["hour"]
    )
    frame = pd.DataFrame({k: v for k, v in ev.items() if k != "when"})
    keys = ["area_code", "week_start", "indicator"]
    ref = frame.groupby(keys).size().rename("count").reset_index()
    assert (
        out[keys + ["count"]]
        .reset_index(drop=True)
        .equals(ref.astype(out[keys + ["count"]].dtypes))
    )
    wd = pd.crosstab([frame[k] for k in keys], frame["weekday"]).reindex(
        columns=range(7), fill_value=0
    )
    hr = pd.crosstab([frame[k] for k in keys], frame["hour"]).reindex(
        columns=range(24), fill_value=0
    )
    np.testing.assert_array_equal(np.array(out["by_weekday"].tolist()), wd.to_numpy())
    np.testing.assert_array_equal(np.array(out["by_hour"].tolist()), hr.to_numpy())
    by_wd = np.array(out["by_weekday"].tolist()).sum(axis=1)
    by_hr = np.array(out["by_hour"].tolist()).sum(axis=1)
    assert (by_wd == out["count"]).all() and (by_hr == out["count"]).all()
    assert out["count"].sum() == 200_000


def test_per_cell_gathers_each_events_value_in_its_cell():
    """What the pipeline uses for the hours of the week and the actor's references."""
    ev = _events(20_000, seed=12)
    how = ev["weekday"].astype(np.int64) * 24 + ev["hour"]
    cells = count_cells(
        ev["area_code"], ev["indicator"], ev["week_start"], ev["weekday"], ev["hour"]
    )
    gathered = cells.per_cell(how).to_pylist()
    ref = (
        pd.DataFrame(
            {"a": ev["area_code"], "w": ev["week_start"], "i": ev["indicator"], "how": how}
        )
        .groupby(["a", "w", "i"], sort=True)["how"]
        .agg(list)
    )
    assert len(gathered) == len(ref) == len(cells)
    assert gathered == ref.tolist()
    assert [len(g) for g in gathered] == cells.count.tolist()


def test_empty_input_gives_empty_frames():
    empty = np.array([], dtype=object)
    out = count_events(
        empty, empty, np.array([], "datetime64[D]"), np.array([], np.int8), np.array([], np.int8)
    )
    assert len(out) == 0
    assert list(out.columns) == [
        "area_code",
        "week_start",
        "indicator",
        "count",
        "by_weekday",
        "by_hour",
    ]


@pytest.mark.parametrize(
    ("weekday", "hour", "match"),
    [([7], [0], "weekday"), ([-1], [0], "weekday"), ([0], [24], "hour")],
)
def test_refuses_out_of_range_bins(weekday, hour, match):
    with pytest.raises(ValueError, match=match):
        count_events(
            np.array(["A"]),
            np.array(["fire"]),
            np.array(["2024-03-04"], "datetime64[D]"),
            np.array(weekday),
            np.array(hour),
        )


def test_refuses_missing_keys():
    with pytest.raises(ValueError, match="area_code"):
        count_events(
            np.array([None, "A"], dtype=object),
            np.array(["f", "f"]),
            np.array(["2024-03-04"] * 2, "datetime64[D]"),
            np.array([0, 0]),
            np.array([0, 0]),
        )
    with pytest.raises(ValueError, match="week_start"):
        count_events(
            np.array(["A"]),
            np.array(["f"]),
            np.array(["NaT"], "datetime64[D]"),
            np.array([0]),
            np.array([0]),
        )
