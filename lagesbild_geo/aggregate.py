"""Count placed events per area × ISO week × indicator; the event rows themselves are not kept.

Only these counts (and the weekday and hour-of-day distributions inside each cell) leave this
stage, so no single event, position or time can be read back from what is stored. The
distributions let the meeting filter by weekday and time of day without keeping event rows.

Everything is vectorised: keys are turned into small integer codes (``pandas.factorize``, hash
based, fast on strings), combined into one integer key per cell, and counted with
``numpy.bincount``. A million events take well under a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEEKDAYS = 7
HOURS = 24


def _codes(values: np.ndarray, name: str) -> tuple[np.ndarray, pd.Index]:
    """Sorted integer codes of a key column; missing keys are refused, not silently dropped."""
    codes, uniques = pd.factorize(np.asarray(values), sort=True)
    if (codes < 0).any():
        raise ValueError(f"{name} has missing values; every event needs one")
    return codes.astype(np.int64), pd.Index(uniques)


def _bins(values: np.ndarray, size: int, name: str) -> np.ndarray:
    """Integer bins ``0..size-1``; anything else would corrupt a neighbouring cell's counts."""
    bins = np.asarray(values).astype(np.int64)
    if len(bins) and (bins.min() < 0 or bins.max() >= size):
        raise ValueError(f"{name} must lie in 0..{size - 1}")
    return bins


def _cells(keys: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Combine per-column codes into one key; return each event's cell and the cells' keys.

    Mixed radix in the order given, so the cells come out sorted by the first column, then the
    second, and so on.
    """
    key = np.zeros(len(keys[0]), dtype=np.int64)
    for codes, size in zip(keys, sizes, strict=True):
        key = key * size + codes
    cells, inverse = np.unique(key, return_inverse=True)
    return inverse.reshape(-1), cells


def _split(cells: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """Inverse of the mixed-radix key: the code of each column for each cell."""
    out = []
    for size in reversed(sizes):
        out.append(cells % size)
        cells = cells // size
    return out[::-1]


def count_events(
    area_code: np.ndarray,
    indicator: np.ndarray,
    week_start: np.ndarray,
    weekday: np.ndarray,
    hour: np.ndarray,
) -> pd.DataFrame:
    """Count events per (area_code, week_start, indicator) with weekday and hour distributions.

    Parameters
    ----------
    area_code : numpy.ndarray of str or object
        The area each event was placed in (after ``AreaLocator.locate``; unplaced events must
        have been removed).
    indicator : numpy.ndarray
        Indicator (category) id of each event.
    week_start : numpy.ndarray of datetime64
        Monday of the event's ISO week.
    weekday : numpy.ndarray of int
        Day of the week, 0 = Monday ... 6 = Sunday.
    hour : numpy.ndarray of int
        Hour of the day, 0..23.

    Returns
    -------
    pandas.DataFrame
        One row per cell, sorted by area_code, week_start, indicator, with columns
        ``area_code``, ``week_start`` (datetime64), ``indicator``, ``count`` (int64),
        ``by_weekday`` (list of 7 ints) and ``by_hour`` (list of 24 ints). Both lists sum to
        ``count``.

    Examples
    --------
    >>> import numpy as np
    >>> week = np.array(["2024-03-04"] * 3, dtype="datetime64[D]")
    >>> out = count_events(np.array(["A", "A", "B"]), np.array(["fire"] * 3), week,
    ...                    np.array([0, 0, 6]), np.array([22, 23, 1]))
    >>> out[["area_code", "count"]].to_dict("list")
    {'area_code': ['A', 'B'], 'count': [2, 1]}
    >>> out["by_weekday"].iloc[0], out["by_hour"].iloc[1][1]
    ([2, 0, 0, 0, 0, 0, 0], 1)
    """
    n = len(area_code)
    if not all(len(a) == n for a in (indicator, week_start, weekday, hour)):
        raise ValueError("all event columns must have the same length")
    weeks = np.asarray(week_start).astype("datetime64[D]")
    if np.isnat(weeks).any():
        raise ValueError("week_start has missing values; every event needs one")
    area_i, areas = _codes(area_code, "area_code")
    week_i, week_values = _codes(weeks.view(np.int64), "week_start")
    ind_i, indicators = _codes(indicator, "indicator")
    wd = _bins(weekday, WEEKDAYS, "weekday")
    hr = _bins(hour, HOURS, "hour")

    sizes = [max(len(areas), 1), max(len(week_values), 1), max(len(indicators), 1)]
    inverse, cells = _cells([area_i, week_i, ind_i], sizes)
    g = len(cells)
    count = np.bincount(inverse, minlength=g).astype(np.int64)
    by_weekday = np.bincount(inverse * WEEKDAYS + wd, minlength=g * WEEKDAYS)
    by_hour = np.bincount(inverse * HOURS + hr, minlength=g * HOURS)
    a, w, i = _split(cells, sizes)
    return pd.DataFrame(
        {
            "area_code": areas.to_numpy()[a],
            "week_start": np.asarray(week_values, dtype=np.int64)[w].astype("datetime64[D]"),
            "indicator": indicators.to_numpy()[i],
            "count": count,
            "by_weekday": by_weekday.reshape(g, WEEKDAYS).tolist(),
            "by_hour": by_hour.reshape(g, HOURS).tolist(),
        }
    )


def count_event_hours(
    area_code: np.ndarray, indicator: np.ndarray, hour_start: np.ndarray
) -> pd.DataFrame:
    """Count events per (area_code, indicator, hour_start).

    Kept only to detect possible double reporting: the same category in the same area and hour
    delivered by different actors. The hour, not the minute, is the finest time kept.

    Parameters
    ----------
    area_code, indicator : numpy.ndarray
        As in ``count_events``.
    hour_start : numpy.ndarray of datetime64
        Start of the event's hour; finer parts are truncated to the hour.

    Returns
    -------
    pandas.DataFrame
        Columns ``area_code``, ``indicator``, ``hour_start`` (datetime64[s]) and ``n`` (int64),
        sorted by area_code, indicator, hour_start.

    Examples
    --------
    >>> import numpy as np
    >>> hours = np.array(["2024-03-04T22:10", "2024-03-04T22:50"], dtype="datetime64[s]")
    >>> count_event_hours(np.array(["A", "A"]), np.array(["fire", "fire"]), hours)["n"].tolist()
    [2]
    """
    n = len(area_code)
    if not all(len(a) == n for a in (indicator, hour_start)):
        raise ValueError("all event columns must have the same length")
    hours = np.asarray(hour_start).astype("datetime64[h]")
    if np.isnat(hours).any():
        raise ValueError("hour_start has missing values; every event needs one")
    area_i, areas = _codes(area_code, "area_code")
    ind_i, indicators = _codes(indicator, "indicator")
    hour_i, hour_values = _codes(hours.view(np.int64), "hour_start")
    sizes = [max(len(areas), 1), max(len(indicators), 1), max(len(hour_values), 1)]
    inverse, cells = _cells([area_i, ind_i, hour_i], sizes)
    a, i, h = _split(cells, sizes)
    g = len(cells)
    return pd.DataFrame(
        {
            "area_code": areas.to_numpy()[a],
            "indicator": indicators.to_numpy()[i],
            "hour_start": np.asarray(hour_values, dtype=np.int64)[h]
            .astype("datetime64[h]")
            .astype("datetime64[s]"),
            "n": np.bincount(inverse, minlength=g).astype(np.int64),
        }
    )
