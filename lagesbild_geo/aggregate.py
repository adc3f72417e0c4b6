"""Count placed events per area × ISO week × indicator; the event rows themselves are not kept.

Only these counts (and the weekday and hour-of-day distributions inside each cell) leave this
stage, so no single event, position or time can be read back from what is stored. The
distributions let the meeting filter by weekday and time of day without keeping event rows.

Everything is vectorised: keys are turned into small integer codes (``pandas.factorize``, hash
based, fast on strings), combined into one integer key per cell, and counted with
``numpy.bincount``. A million events take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

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
    inverse, cells = pd.factorize(key, sort=True)  # hash-based: faster than np.unique's sort
    return inverse.astype(np.int64), np.asarray(cells, dtype=np.int64)


def _split(cells: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """Inverse of the mixed-radix key: the code of each column for each cell."""
    out = []
    for size in reversed(sizes):
        out.append(cells % size)
        cells = cells // size
    return out[::-1]


@dataclass(frozen=True)
class EventCells:
    """Counts per (area, ISO week, indicator) cell, and which cell each event went to.

    ``event_cell`` lets the caller gather other per-event values (the hour of the week, the
    actor's own reference) cell by cell with ``per_cell`` without a Python-level group-by.
    """

    area_code: np.ndarray
    week_start: np.ndarray  # datetime64[D], the Monday
    indicator: np.ndarray
    count: np.ndarray  # int64
    by_weekday: np.ndarray  # (cells, 7) int64, Monday first
    by_hour: np.ndarray  # (cells, 24) int64
    event_cell: np.ndarray  # (events,) int64: the cell of each event

    def __len__(self) -> int:
        return len(self.count)

    def per_cell(self, values: np.ndarray | pa.Array) -> pa.ListArray:
        """Each cell's values in event order, as an Arrow list array aligned with the cells."""
        order = np.argsort(self.event_cell, kind="stable")
        offsets = np.zeros(len(self.count) + 1, dtype=np.int32)
        np.cumsum(self.count, out=offsets[1:])
        if isinstance(values, pa.Array | pa.ChunkedArray):
            gathered = values.take(pa.array(order))
            if isinstance(gathered, pa.ChunkedArray):
                gathered = gathered.combine_chunks()
        else:
            gathered = pa.array(np.asarray(values)[order])
        return pa.ListArray.from_arrays(pa.array(offsets), gathered)

    def frame(self) -> pd.DataFrame:
        """The cells as a DataFrame with the distributions as lists (for people and tests)."""
        return pd.DataFrame(
            {
                "area_code": self.area_code,
                "week_start": self.week_start,
                "indicator": self.indicator,
                "count": self.count,
                "by_weekday": self.by_weekday.tolist(),
                "by_hour": self.by_hour.tolist(),
            }
        )


def count_cells(
    area_code: np.ndarray,
    indicator: np.ndarray,
    week_start: np.ndarray,
    weekday: np.ndarray,
    hour: np.ndarray,
) -> EventCells:
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
    EventCells
        One entry per cell, sorted by area_code, week_start, indicator; ``by_weekday`` and
        ``by_hour`` rows both sum to ``count``.

    Examples
    --------
    >>> import numpy as np
    >>> week = np.array(["2024-03-04"] * 3, dtype="datetime64[D]")
    >>> cells = count_cells(np.array(["A", "A", "B"]), np.array(["fire"] * 3), week,
    ...                     np.array([0, 0, 6]), np.array([22, 23, 1]))
    >>> cells.count.tolist(), cells.by_weekday[0].tolist(), cells.per_cell([5, 6, 7]).to_pylist()
    ([2, 1], [2, 0, 0, 0, 0, 0, 0], [[5, 6], [7]])
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
    a, w, i = _split(cells, sizes)
    return EventCells(
        area_code=areas.to_numpy()[a],
        week_start=np.asarray(week_values, dtype=np.int64)[w].astype("datetime64[D]"),
        indicator=indicators.to_numpy()[i],
        count=np.bincount(inverse, minlength=g).astype(np.int64),
        by_weekday=np.bincount(inverse * WEEKDAYS + wd, minlength=g * WEEKDAYS).reshape(
            g, WEEKDAYS
        ),
        by_hour=np.bincount(inverse * HOURS + hr, minlength=g * HOURS).reshape(g, HOURS),
        event_cell=inverse,
    )


def count_events(
    area_code: np.ndarray,
    indicator: np.ndarray,
    week_start: np.ndarray,
    weekday: np.ndarray,
    hour: np.ndarray,
) -> pd.DataFrame:
    """``count_cells`` as a DataFrame: area_code, week_start, indicator, count, by_weekday,
    by_hour (lists).

    Examples
    --------
    >>> import numpy as np
    >>> week = np.array(["2024-03-04"] * 3, dtype="datetime64[D]")
    >>> out = count_events(np.array(["A", "A", "B"]), np.array(["fire"] * 3), week,
    ...                    np.array([0, 0, 6]), np.array([22, 23, 1]))
    >>> out[["area_code", "count"]].to_dict("list")
    {'area_code': ['A', 'B'], 'count': [2, 1]}
    """
    return count_cells(area_code, indicator, week_start, weekday, hour).frame()
