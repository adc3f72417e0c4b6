"""Emerging hot spots: how each area's hot/cold spot status has developed week by week.

A single hot spot map answers "where, now?".  The question behind a situation picture is
also "since when, and is it getting worse?".  ArcGIS "Emerging Hot Spot Analysis" answers it
in three steps, reproduced here on an areas × weeks cube:

1. **Space-time Gi\\*** for every (area, week) bin: the neighbourhood of a bin is the area and
   its spatial neighbours, in the same week and in the ``time_steps`` previous weeks (Esri's
   "neighborhood time step").  Mean and standard deviation come from the whole cube (Esri's
   default global window, "entire cube"), so weeks are compared with the whole period.  The
   z-scores are turned into two-sided p-values and, by default, corrected for the false
   discovery rate over all bins of the cube (Benjamini-Hochberg), as ArcGIS Pro does.
2. **Mann-Kendall** on each area's series of Gi* z-scores: is the clustering getting more
   intense (z rising) or fading?
3. **Classification** into Esri's 17 patterns (:func:`classify_patterns`).

A bin is a significant hot (cold) spot when its z-score is positive (negative) and its p-value
-- its q-value with ``fdr=True`` -- is at most ``alpha`` (default 0.10: the 90 % level, the
weakest of the ±1/±2/±3 bins, as in the ArcGIS hot spot bins).  The trend is significant when
the Mann-Kendall p-value is at most ``alpha`` as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import ndtr

from lagesbild_geo.stats.hotspots import (
    MIN_RELIABLE_AREAS,
    _binary_matrix,
    confidence_bins,
    fdr_qvalues,
    star_z_scores,
)
from lagesbild_geo.stats.trends import mann_kendall
from lagesbild_geo.stats.weights import SpatialWeights

#: Esri's default "neighborhood time step": the current week plus one previous week.
DEFAULT_TIME_STEPS = 1
#: Significance level for hot/cold bins and for the trend (the 90 % level).
DEFAULT_ALPHA = 0.10
#: "90 percent of the time-step intervals" in Esri's definitions, as a fraction.
SHARE = 0.9

NO_PATTERN = "No Pattern Detected"
#: The 17 pattern names, in Esri's wording and order.
PATTERNS = (
    NO_PATTERN,
    "New Hot Spot",
    "Consecutive Hot Spot",
    "Intensifying Hot Spot",
    "Persistent Hot Spot",
    "Diminishing Hot Spot",
    "Sporadic Hot Spot",
    "Oscillating Hot Spot",
    "Historical Hot Spot",
    "New Cold Spot",
    "Consecutive Cold Spot",
    "Intensifying Cold Spot",
    "Persistent Cold Spot",
    "Diminishing Cold Spot",
    "Sporadic Cold Spot",
    "Oscillating Cold Spot",
    "Historical Cold Spot",
)


@dataclass(frozen=True)
class EmergingResult:
    """Emerging hot spot analysis; per-area arrays are aligned with ``ids``.

    Attributes
    ----------
    ids : tuple of str
    pattern : ndarray of str, shape (n_areas,)
        One of :data:`PATTERNS`.
    z, p, q : ndarray, shape (n_areas, n_weeks)
        Space-time Gi* z-score, two-sided p-value and Benjamini-Hochberg q-value per bin.
    bin : ndarray of int8, shape (n_areas, n_weeks)
        ±3/±2/±1 confidence bin per (area, week), from ``q`` if ``fdr`` else from ``p``.
    trend_z, trend_p : ndarray, shape (n_areas,)
        Mann-Kendall z and two-sided p of each area's Gi* z-series.
    hot_weeks, cold_weeks : ndarray of int, shape (n_areas,)
        Number of significant hot / cold weeks.
    fdr : bool
    warnings : tuple of str
    """

    ids: tuple[str, ...]
    pattern: np.ndarray
    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    bin: np.ndarray
    trend_z: np.ndarray
    trend_p: np.ndarray
    hot_weeks: np.ndarray
    cold_weeks: np.ndarray
    fdr: bool
    warnings: tuple[str, ...]


def space_time_gi_star(cube, weights, *, time_steps: int = DEFAULT_TIME_STEPS) -> np.ndarray:
    """Gi* z-score of every (area, week) bin with space-time neighbours.

    The neighbourhood of bin (i, t) is every bin (j, t') with j = i or a neighbour of i and
    ``t - time_steps <= t' <= t``; early weeks simply have fewer previous weeks.  Weights are
    binary; n, mean and standard deviation are those of the whole cube.

    Parameters
    ----------
    cube : array_like, shape (n_areas, n_weeks)
    weights : SpatialWeights or scipy.sparse matrix (binary, without the area itself)
    time_steps : int
        Number of previous weeks in the neighbourhood (0 = each week on its own).

    Examples
    --------
    Three areas in a row over four weeks; area 0 lights up in the last two weeks:

    >>> import scipy.sparse as sp
    >>> line = sp.csr_array(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    >>> cube = np.array([[1, 1, 6, 6], [1, 1, 1, 1], [1, 1, 1, 1]], dtype=float)
    >>> np.round(space_time_gi_star(cube, line, time_steps=1), 2)
    array([[-0.66, -1.05,  0.52,  2.1 ],
           [-0.86, -1.48,  0.  ,  1.48],
           [-0.66, -1.05, -1.05, -1.05]])
    """
    m, _ = _binary_matrix(weights)
    cube = np.asarray(cube, dtype=float)
    n_areas = m.shape[0]
    if cube.ndim != 2 or cube.shape[0] != n_areas:
        raise ValueError(
            f"the cube has shape {cube.shape}; it must be (areas, weeks) with {n_areas} areas "
            "in the order of the weights"
        )
    if not np.isfinite(cube).all():
        raise ValueError("the cube contains NaN or infinity; fill missing weeks with 0 first")
    if time_steps < 0:
        raise ValueError(f"time_steps must be 0 or more, got {time_steps}")
    n_weeks = cube.shape[1]
    cum = np.zeros((n_areas, n_weeks + 1))
    np.cumsum(cube, axis=1, out=cum[:, 1:])
    start = np.maximum(np.arange(n_weeks) - time_steps, 0)
    window = cum[:, 1:] - cum[:, start]
    local = window + m @ window
    spatial = np.diff(m.indptr) + 1.0
    temporal = np.arange(n_weeks) - start + 1.0
    n = cube.size
    mean = float(cube.mean())
    std = float(np.sqrt(np.mean((cube - mean) ** 2)))
    return star_z_scores(local, spatial[:, None] * temporal[None, :], n, mean, std)


def _final_run(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True at the end of each row."""
    reverse = flags[:, ::-1]
    return np.where(reverse.all(axis=1), flags.shape[1], np.argmin(reverse, axis=1))


def classify_patterns(hot, cold, trend_up, trend_down) -> np.ndarray:
    """Esri's 17 emerging hot spot patterns from significant hot/cold weeks and the trend.

    Parameters
    ----------
    hot, cold : array_like of bool, shape (n_areas, n_weeks)
        Significant hot / cold spot per (area, week); the last column is the final week.
    trend_up, trend_down : array_like of bool, shape (n_areas,)
        Significant increasing / decreasing Mann-Kendall trend of the area's Gi* z-scores.

    Returns
    -------
    ndarray of str: one of :data:`PATTERNS` per area.

    Notes
    -----
    Esri's definitions (ArcGIS Pro, "How Emerging Hot Spot Analysis works"); "90 percent"
    means at least 90 % of all weeks, "less than 90 percent" fewer:

    - **No Pattern Detected** -- does not fall into any of the patterns below.
    - **New Hot Spot** -- a statistically significant hot spot for the final time step that
      has never been a statistically significant hot spot before.
    - **Consecutive Hot Spot** -- a single uninterrupted run of at least two statistically
      significant hot spot bins in the final time-step intervals; never a significant hot spot
      before that final run, and less than 90 % of all bins are significant hot spots.
    - **Intensifying Hot Spot** -- a significant hot spot for 90 % of the time-step intervals,
      including the final time step; the intensity of clustering of high counts is increasing
      overall, and that increase is statistically significant.
    - **Persistent Hot Spot** -- a significant hot spot for 90 % of the time-step intervals
      with no discernible trend in the intensity of clustering over time.
    - **Diminishing Hot Spot** -- a significant hot spot for 90 % of the time-step intervals,
      including the final time step; the intensity of clustering is decreasing overall, and
      that decrease is statistically significant.
    - **Sporadic Hot Spot** -- a significant hot spot for the final time-step interval with a
      history of also being an on-again, off-again hot spot; less than 90 % of the intervals
      have been significant hot spots and none has been a significant cold spot.
    - **Oscillating Hot Spot** -- a significant hot spot for the final time-step interval that
      has a history of also being a significant cold spot during a prior time step; less than
      90 % of the intervals have been significant hot spots.
    - **Historical Hot Spot** -- the most recent time period is not hot, but at least 90 % of
      the time-step intervals have been significant hot spots.
    - The eight **cold spot** patterns are the mirror images (hot ↔ cold; for cold spots
      "intensifying" means the z-scores are falling significantly, "diminishing" rising).

    Where two literal definitions overlap, the state of the final week decides, the same
    way for hot and cold spots:

    - final week a significant hot spot: New / Consecutive / Sporadic / Oscillating when
      less than 90 % of weeks are hot; Intensifying / Diminishing / Persistent (by trend)
      when at least 90 % are.  A cold history makes it Oscillating, even when it has never
      been hot before (so New and Consecutive mean "nothing significant before except this
      hot run").  Sporadic needs hot weeks before the final run.
    - final week not a hot spot but at least 90 % of weeks hot: Historical Hot Spot
      (Persistent requires the final week to be hot: a hot spot that has stopped is history).
    - cold spots alike; a final cold week in an area that was hot at least 90 % of the time
      is an Oscillating Cold Spot (the final week is significant, so it decides).

    Examples
    --------
    >>> hot = np.zeros((3, 10), dtype=bool)
    >>> cold = np.zeros((3, 10), dtype=bool)
    >>> hot[0, -1] = True                       # hot for the first time in the final week
    >>> hot[1, -3:] = True                      # hot for the last three weeks only
    >>> hot[2, [2, 5, 9]] = True                # on and off
    >>> classify_patterns(hot, cold, np.zeros(3, bool), np.zeros(3, bool)).tolist()
    ['New Hot Spot', 'Consecutive Hot Spot', 'Sporadic Hot Spot']
    """
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    up = np.asarray(trend_up, dtype=bool)
    down = np.asarray(trend_down, dtype=bool)
    if hot.shape != cold.shape or hot.ndim != 2:
        raise ValueError("hot and cold must both be (areas, weeks) arrays of the same shape")
    if (hot & cold).any():
        raise ValueError("a week cannot be both a significant hot and cold spot")
    n_weeks = hot.shape[1]
    pattern = np.full(hot.shape[0], NO_PATTERN, dtype=object)
    for flags, other, rising, falling, kind in (
        (hot, cold, up, down, "Hot"),
        (cold, hot, down, up, "Cold"),
    ):
        count = flags.sum(axis=1)
        mostly = 10 * count >= 9 * n_weeks  # at least 90 %, in exact integer arithmetic
        final = flags[:, -1]
        run = _final_run(flags)
        ever_other = other.any(axis=1)
        rules = (
            (final & ~mostly & ever_other, "Oscillating"),
            (final & ~mostly & ~ever_other & (count == 1), "New"),
            (final & ~mostly & ~ever_other & (count == run) & (run >= 2), "Consecutive"),
            (final & ~mostly & ~ever_other & (count > run), "Sporadic"),
            (final & mostly & rising, "Intensifying"),
            (final & mostly & falling, "Diminishing"),
            (final & mostly & ~rising & ~falling, "Persistent"),
            (~final & ~other[:, -1] & mostly, "Historical"),
        )
        for mask, name in rules:
            pattern[mask] = f"{name} {kind} Spot"
    return pattern.astype(str)


def emerging_hot_spots(
    cube,
    weights: SpatialWeights | sp.sparray | sp.spmatrix,
    *,
    time_steps: int = DEFAULT_TIME_STEPS,
    alpha: float = DEFAULT_ALPHA,
    fdr: bool = True,
) -> EmergingResult:
    """Emerging hot spot analysis of an areas × weeks cube (ArcGIS-compatible patterns).

    Parameters
    ----------
    cube : array_like, shape (n_areas, n_weeks)
        Counts (or rates) per area and week, oldest week first, areas in weights order.
    weights : SpatialWeights or scipy.sparse matrix
        Spatial neighbours (binary, without the area itself).
    time_steps : int
        Esri's neighbourhood time step: previous weeks in each bin's neighbourhood.
    alpha : float
        Significance level for hot/cold bins and for the Mann-Kendall trend.
    fdr : bool
        Benjamini-Hochberg correction over all bins of the cube before deciding significance.

    Returns
    -------
    EmergingResult

    Examples
    --------
    Ten areas on a line over twelve weeks; areas 0-2 grow busier week by week:

    >>> import scipy.sparse as sp
    >>> line = sp.diags([1.0, 1.0], [-1, 1], shape=(10, 10))
    >>> cube = np.ones((10, 12))
    >>> cube[:3] += np.arange(12) // 2
    >>> r = emerging_hot_spots(cube, line)
    >>> r.pattern[:4].tolist()
    ['Consecutive Hot Spot', 'Consecutive Hot Spot', 'Consecutive Hot Spot', 'No Pattern Detected']
    >>> r.warnings[0][:13]
    'only 10 areas'
    """
    m, ids = _binary_matrix(weights)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    z = space_time_gi_star(cube, weights, time_steps=time_steps)
    p = 2.0 * ndtr(-np.abs(z))
    q = fdr_qvalues(p)
    decide = q if fdr else p
    hot = (z > 0) & (decide <= alpha)
    cold = (z < 0) & (decide <= alpha)
    trend = mann_kendall(z, alpha=alpha)
    significant = trend.p <= alpha
    pattern = classify_patterns(hot, cold, significant & (trend.z > 0), significant & (trend.z < 0))
    notes = []
    if len(ids) < MIN_RELIABLE_AREAS:
        notes.append(
            f"only {len(ids)} areas: Gi* needs at least {MIN_RELIABLE_AREAS} for reliable "
            "results; read the patterns as indicative"
        )
    islands = int((np.diff(m.indptr) == 0).sum())
    if islands:
        notes.append(
            f"{islands} area(s) have no spatial neighbours; their neighbourhood is only "
            "their own previous weeks"
        )
    if not np.any(z):
        notes.append("the cube has no variation at all: there are no hot or cold spots")
    return EmergingResult(
        ids=ids,
        pattern=pattern,
        z=z,
        p=p,
        q=q,
        bin=confidence_bins(z, decide),
        trend_z=trend.z,
        trend_p=trend.p,
        hot_weeks=hot.sum(axis=1),
        cold_weeks=cold.sum(axis=1),
        fdr=fdr,
        warnings=tuple(notes),
    )
