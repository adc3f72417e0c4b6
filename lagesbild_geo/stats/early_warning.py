"""Early warning: is this week's count unusually high for this area and indicator?

Weekly counts per area are small (0, 1, 3 ...), so "twice the usual" is often chance.  For
every series (area × indicator) the most recent week -- or the sum of the last few weeks --
is compared with the same series' own recent past:

::

    ... | baseline: baseline_weeks | guard: guard_weeks | recent: recent_weeks |  (now)

* **Baseline**: the ``baseline_weeks`` weeks before the guard gap give the expected weekly
  level.  Missing weeks (NaN) are left out of it.
* **Guard gap**: the ``guard_weeks`` weeks just before the recent window are *not* used, so
  that an increase that began a week or two ago does not raise its own baseline and hide
  itself (the same idea as the 2-day guard band of CDC's EARS C2/C3 methods).
* **Test** (one-sided, "more than expected"):

  - *Poisson* (default): the exact conditional test of two Poisson rates.  If baseline and
    recent weeks share one rate, then given their total ``N`` the recent count is
    ``Binomial(N, w / (b + w))`` (``w`` recent, ``b`` baseline weeks).  Unlike plugging the
    baseline mean into a Poisson tail, this accounts for the baseline itself being a small
    sample, and a zero baseline needs no special case (one event after 26 quiet weeks gives
    p = 1/27, not 0).
  - *Negative binomial* when the baseline is over-dispersed (variance clearly above the
    mean, e.g. counts that come in bursts): the index-of-dispersion test
    ``D = (b - 1)·s² / mean`` against ``χ²(b - 1)`` at ``dispersion_alpha``; the negative
    binomial size is then estimated by the method of moments, ``mean² / (s² - mean)``, and the
    recent sum is tested against ``NB(w·size, mean)``.  Bursty series otherwise flood the
    list with false alarms.

* **False discovery rate**: every series tested in one run is one family.  Benjamini-Hochberg
  q-values are computed across all of them, and a series is flagged when ``q <= fdr_level``:
  of the flags raised, at most ``fdr_level`` are expected to be false alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from lagesbild_geo.stats.hotspots import fdr_qvalues

#: Weeks tested: the last week.  Use 4 for "the last four weeks together".
DEFAULT_RECENT_WEEKS = 1
#: Half a year of weekly history as the baseline: long enough for a stable level at small
#: counts, short enough to follow slow change.
DEFAULT_BASELINE_WEEKS = 26
#: Weeks left out between baseline and recent window (see the module docstring).
DEFAULT_GUARD_WEEKS = 2
#: False discovery rate across all series tested together.
DEFAULT_FDR_LEVEL = 0.05
#: Significance level of the over-dispersion test that switches to the negative binomial.
DISPERSION_ALPHA = 0.05
#: Fewest observed baseline weeks for a series to be tested at all.
MIN_BASELINE_WEEKS = 4


@dataclass(frozen=True)
class EarlyWarningResult:
    """Early-warning test per series; arrays have the input's leading shape.

    Attributes
    ----------
    observed : ndarray
        Count in the recent window.
    expected : ndarray
        Baseline weekly mean × ``recent_weeks``.
    p : ndarray
        One-sided p-value (NaN: not tested -- missing recent week or too short a baseline).
    q : ndarray
        Benjamini-Hochberg q-value across all tested series (NaN when not tested).
    flag : ndarray of bool
        ``q <= fdr_level``.
    method : ndarray of str
        ``"poisson"``, ``"negative_binomial"`` or ``"not tested"``.
    dispersion_p : ndarray
        p-value of the over-dispersion test of the baseline (NaN if it cannot be computed,
        e.g. an all-zero baseline).
    """

    observed: np.ndarray
    expected: np.ndarray
    p: np.ndarray
    q: np.ndarray
    flag: np.ndarray
    method: np.ndarray
    dispersion_p: np.ndarray


def early_warning(
    counts,
    *,
    recent_weeks: int = DEFAULT_RECENT_WEEKS,
    baseline_weeks: int = DEFAULT_BASELINE_WEEKS,
    guard_weeks: int = DEFAULT_GUARD_WEEKS,
    fdr_level: float = DEFAULT_FDR_LEVEL,
    dispersion_alpha: float = DISPERSION_ALPHA,
) -> EarlyWarningResult:
    """Flag series whose recent count is unusually high against their own baseline.

    Parameters
    ----------
    counts : array_like, shape (..., n_weeks)
        Whole non-negative counts, oldest week first; the last column is the latest week.
        NaN marks a missing week.  Only the last
        ``baseline_weeks + guard_weeks + recent_weeks`` weeks are used.
    recent_weeks, baseline_weeks, guard_weeks : int
        Window lengths in weeks (see the module docstring).
    fdr_level : float
        False discovery rate for ``flag``.
    dispersion_alpha : float
        Level of the over-dispersion test that switches to the negative binomial.

    Returns
    -------
    EarlyWarningResult

    Examples
    --------
    Two quiet series (two a week), one of which has eleven this week:

    >>> base = [2, 1, 3, 2, 2, 1, 2, 3, 2, 2, 1, 2]
    >>> r = early_warning([base + [0, 0, 11], base + [0, 0, 2]], baseline_weeks=12)
    >>> r.expected.tolist(), r.flag.tolist(), r.method.tolist()
    ([1.9166666666666667, 1.9166666666666667], [True, False], ['poisson', 'poisson'])
    >>> f"{r.p[0]:.2e}"  # P(Binomial(23 + 11, 1/13) >= 11): 11 of 34 events in 1 of 13 weeks
    '3.00e-05'
    """
    x = np.asarray(counts, dtype=float)
    if x.ndim == 0:
        raise ValueError("give weekly counts per series, not a single number")
    if min(recent_weeks, baseline_weeks) < 1 or guard_weeks < 0:
        raise ValueError(
            "recent_weeks and baseline_weeks must be at least 1 and guard_weeks at least 0"
        )
    if baseline_weeks < MIN_BASELINE_WEEKS:
        raise ValueError(
            f"a baseline of {baseline_weeks} weeks is too short to estimate the usual level; "
            f"use at least {MIN_BASELINE_WEEKS}"
        )
    need = baseline_weeks + guard_weeks + recent_weeks
    if x.shape[-1] < need:
        raise ValueError(
            f"{x.shape[-1]} weeks of history given, but a {baseline_weeks}-week baseline, a "
            f"{guard_weeks}-week guard gap and {recent_weeks} recent week(s) need {need}; "
            "shorten baseline_weeks or supply more weeks"
        )
    if not 0 < fdr_level < 1:
        raise ValueError(f"fdr_level must be between 0 and 1, got {fdr_level}")
    finite = x[~np.isnan(x)]
    if (finite < 0).any() or (finite != np.round(finite)).any():
        raise ValueError(
            "early warning needs whole, non-negative counts; test rates with the trend tools"
        )
    lead = x.shape[:-1]
    x = x.reshape(-1, x.shape[-1])[:, -need:]
    baseline = x[:, :baseline_weeks]
    recent = x[:, -recent_weeks:]

    weeks = (~np.isnan(baseline)).sum(axis=1)
    total = np.nansum(baseline, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / weeks
        var = np.nansum((baseline - mean[:, None]) ** 2, axis=1) / (weeks - 1)
        dispersion_p = np.where(
            mean > 0, stats.chi2.sf((weeks - 1) * var / mean, weeks - 1), np.nan
        )
    observed = recent.sum(axis=1)
    tested = ~np.isnan(recent).any(axis=1) & (weeks >= MIN_BASELINE_WEEKS)
    overdispersed = tested & (dispersion_p < dispersion_alpha) & (var > mean)

    p = np.full(x.shape[0], np.nan)
    poisson = tested & ~overdispersed
    share = recent_weeks / (weeks[poisson] + recent_weeks)
    p[poisson] = stats.binom.sf(observed[poisson] - 1, total[poisson] + observed[poisson], share)
    if overdispersed.any():
        mu = mean[overdispersed]
        size = mu**2 / (var[overdispersed] - mu)
        p[overdispersed] = stats.nbinom.sf(
            observed[overdispersed] - 1, recent_weeks * size, size / (size + mu)
        )
    q = fdr_qvalues(p)
    method = np.where(overdispersed, "negative_binomial", np.where(tested, "poisson", "not tested"))
    return EarlyWarningResult(
        observed=observed.reshape(lead),
        expected=(mean * recent_weeks).reshape(lead),
        p=p.reshape(lead),
        q=q.reshape(lead),
        flag=(q <= fdr_level).reshape(lead),
        method=method.reshape(lead),
        dispersion_p=dispersion_p.reshape(lead),
    )
