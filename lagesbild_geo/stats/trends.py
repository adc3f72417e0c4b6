"""Trends: Mann-Kendall test and Theil-Sen slope, vectorised over many weekly series.

"Is this indicator going up in this area?" is asked for every area × indicator every week
(1,287 areas × 20 indicators = 25,740 series).  The Mann-Kendall test answers it without
assuming a straight line or normal errors (it only counts how often a later week is higher
than an earlier one), and the Theil-Sen slope says by how much per week (the median of all
pairwise slopes, robust to the odd extreme week).  Both are what ``pymannkendall`` computes,
and the results here equal ``pymannkendall.original_test``, ``hamed_rao_modification_test``,
``seasonal_test`` and ``sens_slope`` to 1e-9 (tested); they are computed for all series at once
with numpy instead of one Python call per series.

Input is an array of shape ``(..., n_weeks)``: the last axis is time, any leading axes
(areas, indicators) are kept in the output.  Missing weeks are ``NaN``:

* the test statistics (``s``, ``var_s``, ``z``, ``p``, ``tau``) skip them, exactly as
  pymannkendall does (it drops missing values; S only depends on the order of the observed
  weeks);
* the Theil-Sen slope uses the *true* week positions, so a gap does not shorten time (again as
  pymannkendall's ``sens_slope`` does);
* a series with fewer than :data:`MIN_SERIES_LENGTH` observed weeks is not tested: ``z`` and
  ``p`` are NaN, ``h`` is False and ``trend`` is ``"no trend"``.

A series that never changes (e.g. all zeros) has ``s = 0``, ``var_s = 0``, ``z = 0``,
``p = 1``, slope 0: no trend, no division by zero.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

#: Fewest weeks the tests accept.  Below 8 values the normal approximation of S is poor and
#: even a perfectly monotone series cannot reach p < 0.05 (n = 4: p = 0.09).
MIN_SERIES_LENGTH = 8
#: Two-sided significance level for ``h`` and ``trend`` (pymannkendall's default).
DEFAULT_ALPHA = 0.05
#: Season length for weekly data in the seasonal test.
WEEKS_PER_YEAR = 52
#: Pairwise differences are formed in blocks of about this many numbers (8 bytes each), which
#: bounds memory at ~16-32 MB whatever the number of series.
_BLOCK_ELEMENTS = 2_000_000
#: Whole-number series spanning at most this range use the histogram route for Theil-Sen.
_MAX_COUNT_RANGE = 24


@dataclass(frozen=True)
class TrendResult:
    """Mann-Kendall results; every array has the input's leading shape.

    Attributes
    ----------
    trend : ndarray of str
        ``"increasing"``, ``"decreasing"`` or ``"no trend"`` at level ``alpha``.
    h : ndarray of bool
        True when the trend is significant.
    p : ndarray
        Two-sided p-value.
    z : ndarray
        Standardised statistic (with continuity correction).
    tau : ndarray
        Kendall's tau, ``s / (n(n-1)/2)``.
    s : ndarray
        Mann-Kendall score: pairs going up minus pairs going down.
    var_s : ndarray
        Variance of ``s`` under no trend, corrected for ties (and for autocorrelation with
        Hamed-Rao).
    slope : ndarray
        Theil-Sen slope per week (per *period* for the seasonal test, as pymannkendall).
    intercept : ndarray
        Intercept of the Kendall-Theil line, at week index 0.
    n : ndarray of int
        Observed (non-NaN) weeks.
    """

    trend: np.ndarray
    h: np.ndarray
    p: np.ndarray
    z: np.ndarray
    tau: np.ndarray
    s: np.ndarray
    var_s: np.ndarray
    slope: np.ndarray
    intercept: np.ndarray
    n: np.ndarray


def _as_series(x, min_length: int = MIN_SERIES_LENGTH) -> tuple[np.ndarray, tuple[int, ...]]:
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        raise ValueError("give a series of weekly values, not a single number")
    if x.shape[-1] < min_length:
        raise ValueError(
            f"a window of {x.shape[-1]} weeks is shorter than the {min_length} the "
            "Mann-Kendall test needs; choose a longer period"
        )
    if np.isinf(x).any():
        raise ValueError("the series contain infinite values; replace them by NaN or a number")
    lead = x.shape[:-1]
    return x.reshape(-1, x.shape[-1]), lead


def _pair_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """S and the median pairwise slope (Theil-Sen) for each row of ``x`` (NaN-aware).

    Both look at all ``n(n-1)/2`` pairs of weeks ``i < j``: S counts the signs of
    ``x[j] - x[i]`` and the slope is the median of ``(x[j] - x[i]) / (j - i)``.  Rows of whole
    numbers with a modest range (weekly counts, the common case) take a histogram route that
    needs no sorting; other rows sort their pairwise slopes.  Both give the same numbers.
    """
    m, n = x.shape
    s = np.zeros(m)
    slope = np.full(m, np.nan)
    if n < 2 or m == 0:
        return s, slope
    complete = ~np.isnan(x).any(axis=1)
    spread = np.where(complete, np.nanmax(x, axis=1) - np.nanmin(x, axis=1), np.inf)
    whole = complete & (x == np.round(x)).all(axis=1) & (spread <= _MAX_COUNT_RANGE)
    pairs = n * (n - 1) // 2
    counted = np.flatnonzero(whole)
    if counted.size:
        # The histogram holds (n - 1) × (2·range + 1) counts per series.
        cells = (n - 1) * (2 * int(spread[counted].max()) + 1)
        _in_blocks(x, counted, max(1, 2 * _BLOCK_ELEMENTS // cells), _counts_pairs, s, slope)
    _in_blocks(x, np.flatnonzero(~whole), max(1, _BLOCK_ELEMENTS // pairs), _sorted_pairs, s, slope)
    return s, slope


def _in_blocks(x, rows, per_block, method, s, slope) -> None:
    for start in range(0, rows.size, per_block):
        block = rows[start : start + per_block]
        s[block], slope[block] = method(x[block])


def _sorted_pairs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """General route: form every pairwise slope, sort each row, read off the middle."""
    n = x.shape[1]
    ii, jj = np.triu_indices(n, 1)
    d = x[:, jj] - x[:, ii]
    s = np.count_nonzero(d > 0, axis=1) - np.count_nonzero(d < 0, axis=1)
    d /= (jj - ii).astype(float)
    d.sort(axis=1)  # NaN (pairs with a missing week) sort last
    count = np.count_nonzero(~np.isnan(d), axis=1)
    lower = np.take_along_axis(d, np.maximum(count - 1, 0)[:, None] // 2, axis=1)[:, 0]
    upper = np.take_along_axis(d, (count // 2)[:, None], axis=1)[:, 0]
    return s.astype(float), np.where(count > 0, (lower + upper) / 2, np.nan)


def _counts_pairs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole-number route: histogram the pairwise differences by (lag, difference).

    For whole numbers spanning ``R`` the pairwise slopes can only take the values ``d / k``
    (``|d| <= R``, lag ``1 <= k < n``).  Counting how often each (k, d) occurs per row, and
    walking those counts in the (common) sorted order of ``d / k``, finds the median without
    sorting the ``n(n-1)/2`` slopes of every row.  Arrays are laid out (time, row) so that
    every step works on whole contiguous rows of series.
    """
    rows, n = x.shape
    low = x.min(axis=1)
    span = int((x.max(axis=1) - low).max())
    width = 2 * span + 1
    scaled = np.ascontiguousarray((x - low[:, None]).T).astype(np.int64) * rows
    base = span * rows + np.arange(rows, dtype=np.int64)
    hist = np.empty((n - 1, width, rows), dtype=np.int32)
    for k in range(1, n):
        index = scaled[k:] - scaled[:-k]
        index += base
        hist[k - 1] = np.bincount(index.ravel(), minlength=width * rows).reshape(width, rows)
    d = np.arange(-span, span + 1)
    values = (d[None, :] / np.arange(1, n)[:, None]).ravel()
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    cum = hist.reshape(-1, rows)[order]
    for i in range(1, cum.shape[0]):
        cum[i] += cum[i - 1]
    pairs = n * (n - 1) // 2
    # S = (pairs with slope > 0) - (pairs with slope < 0), read off the cumulative counts.
    below = np.searchsorted(ranked, 0.0, side="left")
    upto = np.searchsorted(ranked, 0.0, side="right")
    negative = cum[below - 1] if below > 0 else np.zeros(rows, dtype=np.int32)
    s = (pairs - cum[upto - 1]).astype(float) - negative
    lower = ranked[_first_above(cum, (pairs - 1) // 2)]
    upper = ranked[_first_above(cum, pairs // 2)]
    return s, (lower + upper) / 2


def _first_above(cum: np.ndarray, rank: int) -> np.ndarray:
    """Per column of the non-decreasing ``cum``, the first row index where ``cum > rank``."""
    cols = np.arange(cum.shape[1])
    lo = np.zeros(cum.shape[1], dtype=np.int64)
    hi = np.full(cum.shape[1], cum.shape[0] - 1, dtype=np.int64)
    while (lo < hi).any():
        mid = (lo + hi) // 2
        above = cum[mid, cols] > rank
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid + 1)
    return lo


def _quiet():
    """Silence numpy's 'All-NaN slice' warning where an all-NaN series is expected."""
    return warnings.catch_warnings(action="ignore", category=RuntimeWarning)


def _tie_variance(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Var(S) with the tie correction, and the number of observed values, per row."""
    m, n = x.shape
    xs = np.sort(x, axis=1)  # NaN sorts last
    valid = ~np.isnan(xs)
    nv = valid.sum(axis=1).astype(float)
    starts = np.ones_like(valid)
    starts[:, 1:] = xs[:, 1:] != xs[:, :-1]
    run = np.cumsum(starts.ravel()) - 1
    tp = np.bincount(run[valid.ravel()], minlength=run[-1] + 1 if run.size else 0).astype(float)
    run_row = np.nonzero(starts.ravel())[0] // n
    ties = np.bincount(run_row, weights=tp * (tp - 1) * (2 * tp + 5), minlength=m)
    return (nv * (nv - 1) * (2 * nv + 5) - ties) / 18.0, nv


def _z_and_p(s, var_s, alpha, n_obs):
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            s > 0, (s - 1) / np.sqrt(var_s), np.where(s < 0, (s + 1) / np.sqrt(var_s), 0.0)
        )
    z = np.where(n_obs >= MIN_SERIES_LENGTH, z, np.nan)
    p = 2.0 * ndtr(-np.abs(z))
    h = np.abs(z) > ndtri(1 - alpha / 2)
    trend = np.where(h & (z > 0), "increasing", np.where(h & (z < 0), "decreasing", "no trend"))
    return z, p, h, trend


def _intercept(x: np.ndarray, slope: np.ndarray, scale: float = 1.0) -> np.ndarray:
    n = x.shape[1]
    gaps = np.isnan(x).any(axis=1)
    middle = np.full(x.shape[0], (n - 1) / 2)
    level = np.empty(x.shape[0])
    level[~gaps] = np.median(x[~gaps], axis=1)
    if gaps.any():
        idx = np.where(np.isnan(x[gaps]), np.nan, np.arange(n, dtype=float))
        with np.errstate(all="ignore"), _quiet():
            level[gaps] = np.nanmedian(x[gaps], axis=1)
            middle[gaps] = np.nanmedian(idx, axis=1)
    return level - middle / scale * slope


def sens_slope(x) -> tuple[np.ndarray, np.ndarray]:
    """Theil-Sen slope per week and Kendall-Theil intercept, as ``pymannkendall.sens_slope``.

    The slope is the median of ``(x[j] - x[i]) / (j - i)`` over all pairs of observed weeks;
    the intercept is ``median(x) - median(week index) * slope`` (Conover 1980), so the line
    passes through the middle of the data.

    >>> slope, intercept = sens_slope([[1, 2, 3, 5, 4, 6, 7, 9], [0, 0, 0, 0, 0, 0, 0, 0]])
    >>> slope, intercept
    (array([1., 0.]), array([1., 0.]))
    """
    flat, lead = _as_series(x, min_length=2)
    _, slope = _pair_statistics(flat)
    return slope.reshape(lead), _intercept(flat, slope).reshape(lead)


def _hamed_rao_factor(x: np.ndarray, slope: np.ndarray, alpha: float, lag: int | None):
    """Hamed & Rao (1998) variance inflation ``n/n*`` for complete rows of ``x``."""
    from scipy.stats import rankdata

    m, n = x.shape
    ranks = rankdata(x - np.arange(1, n + 1) * slope[:, None], axis=1)
    y = ranks - ranks.mean(axis=1, keepdims=True)
    nlags = n if lag is None else min(lag + 1, n)
    acov = np.empty((m, nlags))
    for k in range(nlags):
        acov[:, k] = np.einsum("ij,ij->i", y[:, : n - k], y[:, k:])
    with np.errstate(divide="ignore", invalid="ignore"):
        acf = acov / acov[:, :1]
    bound = ndtri(1 - alpha / 2) / np.sqrt(n)
    lags = np.arange(nlags)
    weight = (n - lags) * (n - lags - 1) * (n - lags - 2)
    significant = (np.abs(acf) > bound) & (lags >= 1)
    sni = np.where(significant, weight * acf, 0.0).sum(axis=1)
    factor = 1 + 2 / (n * (n - 1) * (n - 2)) * sni
    # A constant series has no ranks to correlate: leave its variance as it is.
    return np.where(acov[:, 0] > 0, factor, 1.0)


def mann_kendall(
    x, *, alpha: float = DEFAULT_ALPHA, hamed_rao: bool = False, lag: int | None = None
) -> TrendResult:
    """Mann-Kendall trend test and Theil-Sen slope for every series in ``x``.

    Parameters
    ----------
    x : array_like, shape (..., n_weeks)
        Weekly values, time along the last axis; NaN marks a missing week.
    alpha : float
        Two-sided significance level for ``h`` and ``trend``.
    hamed_rao : bool
        Inflate ``var_s`` for autocorrelation (Hamed & Rao 1998): weekly counts are often
        serially correlated, which makes the plain test see trends too often.  The rank
        autocorrelations of the detrended series that are significant at ``alpha`` enter the
        correction, as in ``pymannkendall.hamed_rao_modification_test``.
    lag : int, optional
        Hamed-Rao only: consider the first ``lag`` autocorrelations (default: all).

    Returns
    -------
    TrendResult

    Examples
    --------
    >>> r = mann_kendall([[1, 2, 3, 5, 4, 6, 7, 9], [4, 4, 4, 4, 4, 4, 4, 4]])
    >>> r.trend.tolist(), r.s.tolist(), np.round(r.p, 4).tolist()
    (['increasing', 'no trend'], [26.0, 0.0], [0.002, 1.0])
    >>> float(r.tau[0]), float(r.slope[0])
    (0.9285714285714286, 1.0)
    """
    flat, lead = _as_series(x)
    s, slope = _pair_statistics(flat)
    var_s, nv = _tie_variance(flat)
    if hamed_rao:
        gaps = np.isnan(flat).any(axis=1)
        factor = np.ones(flat.shape[0])
        if (~gaps).any():
            factor[~gaps] = _hamed_rao_factor(flat[~gaps], slope[~gaps], alpha, lag)
        for i in np.flatnonzero(gaps):
            row = flat[i][~np.isnan(flat[i])][None, :]
            if row.shape[1] >= 3:
                factor[i] = _hamed_rao_factor(row, slope[i : i + 1], alpha, lag)[0]
        var_s = var_s * factor
    z, p, h, trend = _z_and_p(s, var_s, alpha, nv)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = s / (0.5 * nv * (nv - 1))
    return _shaped(
        lead, trend=trend, h=h, p=p, z=z, tau=tau, s=s, var_s=var_s, slope=slope,
        intercept=_intercept(flat, slope), n=nv.astype(int),
    )  # fmt: skip


def seasonal_mann_kendall(
    x, *, period: int = WEEKS_PER_YEAR, alpha: float = DEFAULT_ALPHA
) -> TrendResult:
    """Seasonal Mann-Kendall test (Hirsch & Slack 1984), as ``pymannkendall.seasonal_test``.

    Many safety indicators follow the year (summer nights, school holidays, darkness in
    November).  The seasonal test compares each week only with the same week in other years
    and sums the per-week scores, so a seasonal rhythm is not mistaken for a trend.  Week
    ``t`` belongs to season ``t mod period`` counted from the first column; with ISO weeks a
    53-week year shifts the alignment by one week, which the test tolerates.

    It needs at least two full periods (two years of weekly data): with fewer, no season has
    two values to compare.  ``slope`` is the seasonal Theil-Sen slope **per period** (per
    year for weekly data) and ``intercept`` refers to that unit, as in pymannkendall.

    Examples
    --------
    Three "years" of four seasons; the third year is one higher in every season.  Each
    season scores +2 (two of its three pairs go up), and the median year-on-year slope is 0.5:

    >>> r = seasonal_mann_kendall([[1, 5, 9, 2, 1, 5, 9, 2, 2, 6, 10, 3]], period=4)
    >>> r.s.tolist(), r.var_s.tolist(), r.slope.tolist()
    ([8.0], [10.666666666666666], [0.5])
    """
    if period < 2:
        raise ValueError(f"the season length must be 2 or more, got {period}")
    flat, lead = _as_series(x, min_length=2 * period)
    m, n = flat.shape
    years = -(-n // period)
    padded = np.full((m, years * period), np.nan)
    padded[:, :n] = flat
    # (series, year, season) -> one row per (series, season), time = year.
    seasons = padded.reshape(m, years, period).transpose(0, 2, 1).reshape(m * period, years)
    s_season, _ = _pair_statistics(seasons)
    var_season, n_season = _tie_variance(seasons)
    s = s_season.reshape(m, period).sum(axis=1)
    var_s = var_season.reshape(m, period).sum(axis=1)
    denom = (0.5 * n_season * (n_season - 1)).reshape(m, period).sum(axis=1)
    nv = (~np.isnan(flat)).sum(axis=1)
    z, p, h, trend = _z_and_p(s, var_s, alpha, nv)
    ii, jj = np.triu_indices(years, 1)
    per_row = seasons.reshape(m, period, years)
    slopes = (per_row[:, :, jj] - per_row[:, :, ii]) / (jj - ii)
    with np.errstate(all="ignore"), _quiet():
        slope = np.nanmedian(slopes.reshape(m, -1), axis=1)
        tau = s / denom
    return _shaped(
        lead, trend=trend, h=h, p=p, z=z, tau=tau, s=s, var_s=var_s, slope=slope,
        intercept=_intercept(flat, slope, scale=period), n=nv,
    )  # fmt: skip


def _shaped(lead: tuple[int, ...], **fields: np.ndarray) -> TrendResult:
    """A TrendResult with every field given the caller's leading shape back."""
    return TrendResult(**{name: np.asarray(v).reshape(lead) for name, v in fields.items()})
