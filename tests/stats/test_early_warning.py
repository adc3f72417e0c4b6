"""Early warning for small weekly counts: spikes, false alarms, over-dispersion."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from lagesbild_geo.stats.early_warning import early_warning

WEEKS = 26 + 2 + 1  # default baseline + guard + recent


def _null(rng, series, weeks=WEEKS):
    mean = rng.uniform(0.3, 5.0, size=(series, 1))
    return rng.poisson(mean * np.ones(weeks)).astype(float)


def test_planted_spike_is_flagged_among_many_quiet_series():
    rng = np.random.default_rng(1)
    x = _null(rng, 1000)
    x[17, :-1] = rng.poisson(2.0, WEEKS - 1)
    x[17, -1] = 14
    r = early_warning(x)
    assert r.flag[17]
    assert r.method[17] == "poisson"
    assert r.observed[17] == 14
    assert r.expected[17] == pytest.approx(x[17, :26].mean())
    assert r.flag.sum() <= 3  # the spike, and at most a stray false alarm


def test_flat_series_is_not_flagged():
    x = np.tile([2.0, 2, 3, 1, 2, 2, 3, 2, 1, 2, 2, 2, 3], 3)[None, :WEEKS]
    r = early_warning(x)
    assert not r.flag[0] and r.p[0] > 0.3


def test_false_alarm_rate_under_the_null():
    """Across many null weeks of 500 series each, BH keeps false alarms at or below alpha."""
    rng = np.random.default_rng(2)
    alpha = 0.05
    replicates = 300
    any_flag = 0
    rejections = 0
    tests = 0
    for _ in range(replicates):
        r = early_warning(_null(rng, 500), fdr_level=alpha)
        any_flag += r.flag.any()  # every series is null: any flag is a false discovery
        rejections += (r.p <= alpha).sum()
        tests += r.p.size
    fwer = any_flag / replicates
    # Under the complete null the FDR is the chance of any flag; BH bounds it by alpha.
    assert fwer <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / replicates)
    assert fwer > 0  # the test can reject at all
    # Each single test is valid, if a little conservative because counts are discrete.
    size = rejections / tests
    assert 0.015 < size <= alpha


def test_exact_conditional_poisson_p_value():
    x = np.array([[1, 0, 2, 1, 0, 1, 1, 0, 2, 1, 5, 5, 3, 4]], dtype=float)
    r = early_warning(x, baseline_weeks=10, guard_weeks=1, recent_weeks=3)
    assert r.observed[0] == 12
    baseline = x[0, :10].sum()
    assert_allclose(r.p[0], stats.binom.sf(11, baseline + 12, 3 / 13), rtol=1e-12)
    assert_allclose(r.expected[0], x[0, :10].mean() * 3)


def test_zero_baseline_is_not_infinitely_surprising():
    x = np.zeros((1, WEEKS))
    x[0, -1] = 1
    r = early_warning(x)
    assert r.p[0] == pytest.approx(1 / 27)  # not 0, as a plug-in Poisson(0) tail would say
    assert not early_warning(x, fdr_level=0.01).flag[0]


def test_overdispersion_switches_to_negative_binomial():
    rng = np.random.default_rng(3)
    bursty = rng.negative_binomial(1, 1 / 4, size=26).astype(float)  # mean 3, variance 12
    x = np.concatenate([bursty, [0, 0, 14]])[None, :]
    r = early_warning(x)
    poisson = early_warning(x, dispersion_alpha=0)  # never switch
    assert r.method[0] == "negative_binomial" and poisson.method[0] == "poisson"
    assert r.dispersion_p[0] < 0.05
    mean = bursty.mean()
    var = bursty.var(ddof=1)
    size = mean**2 / (var - mean)
    assert_allclose(r.p[0], stats.nbinom.sf(13, size, size / (size + mean)), rtol=1e-12)
    assert r.p[0] > 10 * poisson.p[0]  # bursts make 14 far less surprising


def test_poisson_baseline_stays_poisson():
    x = np.tile([2.0, 3, 1, 2, 2, 3, 1, 2, 3, 2], 3)[None, :WEEKS]
    r = early_warning(x)
    assert r.method[0] == "poisson" and r.dispersion_p[0] > 0.05


def test_guard_weeks_are_left_out():
    rng = np.random.default_rng(4)
    x = rng.poisson(2, (5, WEEKS)).astype(float)
    y = x.copy()
    y[:, -3:-1] += 20  # the guard gap
    a, b = early_warning(x), early_warning(y)
    assert_array_equal(a.p, b.p)
    assert_array_equal(a.expected, b.expected)
    # Older history beyond the window is ignored too.
    longer = np.concatenate([np.full((5, 10), 50.0), x], axis=1)
    assert_array_equal(early_warning(longer).p, a.p)


def test_recent_window_of_four_weeks():
    x = np.ones((2, 34))
    x[0, -4:] = [3, 4, 3, 4]
    r = early_warning(x, recent_weeks=4)
    assert r.observed.tolist() == [14.0, 4.0]
    assert r.expected.tolist() == [4.0, 4.0]
    assert r.flag.tolist() == [True, False]


def test_missing_weeks_and_all_zero_series():
    x = np.zeros((4, WEEKS))
    x[1, :-1] = 2
    x[1, 5] = np.nan  # one missing baseline week: the mean uses the others
    x[2, -1] = np.nan  # missing recent week: not tested
    x[3, :-1] = np.nan  # no baseline at all: not tested
    x[3, -1] = 4
    r = early_warning(x)
    assert r.p[0] == 1.0 and not r.flag[0] and r.method[0] == "poisson"
    assert r.expected[1] == 2.0
    assert r.method[2] == "not tested" and np.isnan(r.p[2]) and not r.flag[2]
    assert r.method[3] == "not tested" and not r.flag[3]
    assert not np.isnan(r.q[[0, 1]]).any()


def test_leading_shape_is_kept():
    x = np.random.default_rng(5).poisson(2, (3, 4, WEEKS))
    r = early_warning(x)
    assert r.p.shape == (3, 4) and r.flag.shape == (3, 4)
    flat = early_warning(x.reshape(12, WEEKS))
    assert_allclose(r.q.ravel(), flat.q)


def test_errors_say_what_to_change():
    with pytest.raises(ValueError, match="shorten baseline_weeks or supply more weeks"):
        early_warning(np.ones((2, 20)))
    with pytest.raises(ValueError, match="whole, non-negative counts"):
        early_warning(np.full((1, WEEKS), 1.5))
    with pytest.raises(ValueError, match="whole, non-negative counts"):
        early_warning(-np.ones((1, WEEKS)))
    with pytest.raises(ValueError, match="at least 4"):
        early_warning(np.ones((1, WEEKS)), baseline_weeks=2)
    with pytest.raises(ValueError, match="fdr_level"):
        early_warning(np.ones((1, WEEKS)), fdr_level=0)
