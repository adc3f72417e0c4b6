"""Mann-Kendall, Theil-Sen, Hamed-Rao and seasonal tests against pymannkendall."""

import warnings

import numpy as np
import pymannkendall as mk
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from lagesbild_geo.stats import trends
from lagesbild_geo.stats.trends import mann_kendall, seasonal_mann_kendall, sens_slope

FIELDS = ("p", "z", "Tau", "s", "var_s", "slope", "intercept")


def _ours(result, name):
    return getattr(result, "tau" if name == "Tau" else name)


def _series(seed=0, count=240, lengths=(8, 9, 30, 104)):
    """Weekly-looking series: Poisson counts with and without trend, all zeros, runs of ties,
    continuous values, negative values, large counts."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = lengths[i % len(lengths)]
        t = np.arange(n)
        kind = (i // len(lengths)) % 8
        if kind == 0:
            x = rng.poisson(2.0, n)
        elif kind == 1:
            x = rng.poisson(np.linspace(0.5, 5, n))
        elif kind == 2:
            x = np.zeros(n)
        elif kind == 3:
            x = rng.poisson(np.linspace(4, 0.2, n))
        elif kind == 4:
            x = np.round(rng.normal(size=n).cumsum(), 1)
        elif kind == 5:
            x = rng.normal(size=n) + 0.02 * t
        elif kind == 6:
            x = rng.poisson(60, n) + t  # wide range: the sorting route
        else:
            x = np.repeat(rng.integers(-3, 3, size=(n + 3) // 4), 4)[:n]
        out.append(np.asarray(x, dtype=float))
    return out


def _check(ours_row, ref, atol=1e-9):
    assert ref.trend == ours_row["trend"]
    assert bool(ref.h) == bool(ours_row["h"])
    for name in FIELDS:
        assert_allclose(ours_row[name], getattr(ref, name), rtol=1e-9, atol=atol, err_msg=name)


def _row(result, i):
    return {
        "trend": result.trend[i],
        "h": result.h[i],
        **{name: _ours(result, name)[i] for name in FIELDS},
    }


@pytest.mark.parametrize("n", [8, 9, 30, 104])
def test_original_test_equals_pymannkendall(n):
    series = [x for x in _series(seed=n) if x.size == n]
    result = mann_kendall(np.array(series))
    assert result.trend.shape == (len(series),)
    for i, x in enumerate(series):
        _check(_row(result, i), mk.original_test(x))
    # The data set is not trivial: it has trends both ways and none.
    assert {"increasing", "decreasing", "no trend"} <= set(result.trend.tolist()) or n < 30


@pytest.mark.parametrize("alpha", [0.01, 0.1])
def test_alpha_is_passed_on(alpha):
    series = np.array([x for x in _series(seed=5) if x.size == 30])
    result = mann_kendall(series, alpha=alpha)
    for i, x in enumerate(series):
        _check(_row(result, i), mk.original_test(x, alpha=alpha))


def test_sens_slope_equals_pymannkendall():
    series = [x for x in _series(seed=1) if x.size == 104]
    slope, intercept = sens_slope(np.array(series))
    for i, x in enumerate(series):
        ref = mk.sens_slope(x)
        assert_allclose([slope[i], intercept[i]], [ref.slope, ref.intercept], rtol=1e-9, atol=1e-12)


def test_counting_and_sorting_routes_agree():
    rng = np.random.default_rng(9)
    x = rng.poisson(3, (300, 52)).astype(float)
    x[:5] = 0
    s1, b1 = trends._counts_pairs(x)
    s2, b2 = trends._sorted_pairs(x)
    assert_array_equal(s1, s2)
    assert_array_equal(b1, b2)


def test_missing_weeks_follow_pymannkendall():
    rng = np.random.default_rng(2)
    series = np.array([x for x in _series(seed=2) if x.size == 104])
    series[rng.random(series.shape) < 0.15] = np.nan
    result = mann_kendall(series)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i, x in enumerate(series):
            _check(_row(result, i), mk.original_test(x))
    assert (result.n < 104).all()


def test_hamed_rao_equals_pymannkendall():
    series = [x for x in _series(seed=3) if x.size in (30, 104)]
    result = mann_kendall(np.array([x for x in series if x.size == 104]), hamed_rao=True)
    long = [x for x in series if x.size == 104]
    corrected = 0
    for i, x in enumerate(long):
        if np.all(x == x[0]):
            # pymannkendall's autocorrelation is 0/0 here; ours keeps var_s = 0, p = 1.
            assert result.p[i] == 1.0 and result.var_s[i] == 0.0
            continue
        ref = mk.hamed_rao_modification_test(x)
        _check(_row(result, i), ref, atol=1e-9)
        corrected += ref.var_s != mk.original_test(x).var_s
    assert corrected > 5  # the correction really changed the variance of many series
    short = np.array([x for x in series if x.size == 30])
    lagged = mann_kendall(short, hamed_rao=True, lag=3)
    for i, x in enumerate(short):
        if not np.all(x == x[0]):
            _check(_row(lagged, i), mk.hamed_rao_modification_test(x, lag=3))


def test_hamed_rao_with_missing_weeks():
    rng = np.random.default_rng(4)
    series = np.array([x for x in _series(seed=4) if x.size == 104 and np.ptp(x) > 0])
    series[rng.random(series.shape) < 0.1] = np.nan
    result = mann_kendall(series, hamed_rao=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i, x in enumerate(series):
            _check(_row(result, i), mk.hamed_rao_modification_test(x))


@pytest.mark.parametrize(("n", "period"), [(104, 52), (130, 52), (36, 12), (60, 12)])
def test_seasonal_equals_pymannkendall(n, period):
    rng = np.random.default_rng(n)
    t = np.arange(n)
    season = 3 + 2 * np.sin(2 * np.pi * t / period)
    series = np.array(
        [rng.poisson(season * (1 + k * t / n / 4)) for k in range(-3, 5)]
        + [np.zeros(n), rng.normal(size=n), rng.poisson(season) + 0.5 * t / period]
    ).astype(float)
    result = seasonal_mann_kendall(series, period=period)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i, x in enumerate(series):
            _check(_row(result, i), mk.seasonal_test(x, period=period))


def test_shape_is_kept():
    x = np.random.default_rng(0).poisson(2, (4, 3, 20)).astype(float)
    r = mann_kendall(x)
    assert r.z.shape == (4, 3) and r.trend.shape == (4, 3)
    assert_allclose(r.z[2, 1], mk.original_test(x[2, 1]).z, rtol=1e-12)
    one = mann_kendall(x[0, 0])
    assert one.z.shape == ()


def test_all_zero_series_has_no_trend():
    r = mann_kendall(np.zeros((3, 52)), hamed_rao=True)
    assert_array_equal(r.trend, "no trend")
    assert_array_equal(r.p, 1.0)
    assert_array_equal(r.z, 0.0)
    assert_array_equal(r.slope, 0.0)
    s = seasonal_mann_kendall(np.zeros((2, 104)))
    assert_array_equal(s.p, 1.0)


def test_too_few_observed_weeks_are_not_tested():
    x = np.full((2, 12), np.nan)
    x[0] = np.arange(12)
    x[1, :5] = [1, 2, 3, 4, 5]
    r = mann_kendall(x)
    assert r.trend.tolist() == ["increasing", "no trend"]
    assert np.isnan(r.p[1]) and not r.h[1]


def test_errors_say_what_to_change():
    with pytest.raises(ValueError, match="window of 6 weeks is shorter than the 8"):
        mann_kendall(np.ones((3, 6)))
    with pytest.raises(ValueError, match="shorter than the 104"):
        seasonal_mann_kendall(np.ones(80))
    with pytest.raises(ValueError, match="infinite"):
        mann_kendall([1, 2, 3, np.inf, 5, 6, 7, 8])
