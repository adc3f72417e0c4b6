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
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowExtensionArray

WEEKDAYS = 7
HOURS = 24

#: A key column ``count_cells`` takes: numpy values, Arrow strings or a ``pandas.Categorical``.
type Keys = np.ndarray | pd.Categorical | ArrowExtensionArray | pa.Array | pa.ChunkedArray


def _codes(values, name: str) -> tuple[np.ndarray, pd.Index]:
    """Sorted integer codes of a key column; missing keys are refused, not silently dropped.

    A ``pandas.Categorical`` with sorted categories gives its codes as they are (categories
    no event uses are harmless: cells come from the keys present). Arrow-backed strings are
    dictionary-encoded in Arrow, integers counted densely; only other columns are hashed.
    """
    if isinstance(values, pd.Series):
        values = values.array
    uniques: pd.Index | list | np.ndarray  # made an Index at the end, whichever it is
    if isinstance(values, pd.Categorical) and values.categories.is_monotonic_increasing:
        codes = np.asarray(values.codes)
        uniques = values.categories
    elif isinstance(values, ArrowExtensionArray):
        codes, uniques = _arrow_codes(pa.array(values))
    elif isinstance(values, pa.Array | pa.ChunkedArray):
        codes, uniques = _arrow_codes(values)
    elif isinstance(values, np.ndarray) and values.dtype.kind in "iu" and len(values):
        codes, uniques = _dense_codes(values)
    else:
        codes, uniques = pd.factorize(np.asarray(values), sort=True)
    if len(codes) and codes.min() < 0:
        raise ValueError(f"{name} has missing values; every event needs one")
    return codes.astype(_index_type(len(codes)), copy=False), pd.Index(uniques)


def _index_type(size: int) -> type:
    """int32 for indexes below ``size`` when they fit: half the memory of a million int64s."""
    return np.int32 if size < 1 << 31 else np.int64


def _arrow_codes(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """Codes of Arrow values in sorted order of the distinct values (nulls get -1)."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.unify_dictionaries().combine_chunks()
    dictionary = encoded.dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    indices = encoded.indices
    codes = rank[pc.fill_null(indices, 0).to_numpy()] if len(rank) else np.zeros(0, np.int64)
    if indices.null_count:
        codes[indices.is_null().to_numpy(zero_copy_only=False)] = -1
    return codes, dictionary.take(pa.array(order)).to_pylist()


def _dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)`` for integers, by counting when their range is small."""
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > max(4 * len(values), 1 << 16):
        return pd.factorize(values, sort=True)
    offset = values.astype(np.int64) - lo
    present = np.bincount(offset, minlength=hi - lo + 1) > 0
    rank = np.cumsum(present) - 1
    return rank[offset], (np.flatnonzero(present) + lo).astype(values.dtype)


def _bins(values: np.ndarray, size: int, name: str) -> np.ndarray:
    """Integer bins ``0..size-1``; anything else would corrupt a neighbouring cell's counts."""
    bins = np.asarray(values)
    if len(bins) and (bins.min() < 0 or bins.max() >= size):
        raise ValueError(f"{name} must lie in 0..{size - 1}")
    return bins.astype(np.int32)


def _cells(keys: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine per-column codes into one key; return each event's cell, the cells' keys and
    the number of events in each cell.

    Mixed radix in the order given, so the cells come out sorted by the first column, then the
    second, and so on. A key space not much larger than the events is counted directly;
    a sparse one is hashed.
    """
    space = int(np.prod(sizes, dtype=np.int64))
    key: np.ndarray = np.zeros(len(keys[0]), dtype=_index_type(space))
    for codes, size in zip(keys, sizes, strict=True):
        key *= size
        key += codes
    index = _index_type(len(key))
    if space <= max(4 * len(key), 1 << 16):
        counts = np.bincount(key, minlength=space)
        cells = np.flatnonzero(counts)
        slot: np.ndarray = (np.cumsum(counts > 0) - 1).astype(index)
        return slot[key], cells, counts[cells]
    inverse, cells = pd.factorize(key, sort=True)  # hash-based: faster than np.unique's sort
    inverse = inverse.astype(index)
    return inverse, np.asarray(cells, dtype=np.int64), np.bincount(inverse, minlength=len(cells))


def _distribution(cell: np.ndarray, bins: np.ndarray, width: int, cells: int) -> np.ndarray:
    """(cells, width) counts of each cell's events per bin."""
    joint: np.ndarray = cell.astype(_index_type(cells * width)) * width
    joint += bins
    return np.bincount(joint, minlength=cells * width).reshape(cells, width)


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
    event_cell: np.ndarray  # (events,) integer: the cell of each event
    weekday: np.ndarray  # (events,) 0 = Monday .. 6
    hour: np.ndarray  # (events,) 0..23

    def __len__(self) -> int:
        return len(self.count)

    @cached_property
    def by_weekday(self) -> np.ndarray:
        """(cells, 7) events per weekday, Monday first (computed when first asked for)."""
        return _distribution(self.event_cell, self.weekday, WEEKDAYS, len(self))

    @cached_property
    def by_hour(self) -> np.ndarray:
        """(cells, 24) events per hour of the day."""
        return _distribution(self.event_cell, self.hour, HOURS, len(self))

    @cached_property
    def _event_order(self) -> np.ndarray:
        """Events sorted by cell, in event order inside a cell (a stable sort by cell)."""
        n = len(self.event_cell)
        if n < 1 << 32 and len(self.count) < 1 << 31:
            # cell and position packed in one integer: an unstable sort of unique keys is
            # stable by construction, and far faster than numpy's stable argsort.
            key = self.event_cell.astype(np.uint64) << np.uint64(32)
            key |= np.arange(n, dtype=np.uint64)
            key.sort()
            key &= np.uint64(0xFFFFFFFF)
            return key.astype(np.int64)
        return np.argsort(self.event_cell, kind="stable")

    def per_cell(
        self, values: np.ndarray | pa.Array, among: np.ndarray | None = None
    ) -> pa.ListArray:
        """Each cell's values in event order, as an Arrow list array aligned with the cells.

        ``among``: the counted events are ``values[among]`` (gathered once, not twice).
        """
        order = self._event_order if among is None else among[self._event_order]
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
    area_code: Keys,
    indicator: Keys,
    week_start: np.ndarray,
    weekday: np.ndarray,
    hour: np.ndarray,
    *,
    order: tuple[str, str, str] = ("area_code", "week_start", "indicator"),
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
    order : tuple of str, optional
        The sort order of the cells: the three key names, most significant first.

    Returns
    -------
    EventCells
        One entry per cell, sorted by area_code, week_start, indicator (or ``order``);
        ``by_weekday`` and ``by_hour`` rows both sum to ``count``.

    Notes
    -----
    Keys may be numpy arrays, Arrow string arrays or ``pandas.Categorical`` (with sorted
    categories); the last two skip hashing a million strings.

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

    keys = {"area_code": area_i, "week_start": week_i, "indicator": ind_i}
    uniques = {"area_code": areas, "week_start": week_values, "indicator": indicators}
    if sorted(order) != sorted(keys):
        raise ValueError(f"order must name area_code, week_start and indicator, not {order}")
    sizes = [max(len(uniques[k]), 1) for k in order]
    inverse, cells, count = _cells([keys[k] for k in order], sizes)
    code = dict(zip(order, _split(cells, sizes), strict=True))
    return EventCells(
        area_code=areas.to_numpy()[code["area_code"]],
        week_start=np.asarray(week_values, dtype=np.int64)[code["week_start"]].astype(
            "datetime64[D]"
        ),
        indicator=indicators.to_numpy()[code["indicator"]],
        count=count.astype(np.int64),
        event_cell=inverse,
        weekday=wd,
        hour=hr,
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
