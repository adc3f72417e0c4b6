"""Gi* hot spots on the real Stockholms län areas, checked against esda."""

import warnings
from pathlib import Path

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from lagesbild_geo.stats import hotspots
from lagesbild_geo.stats.hotspots import (
    confidence_bins,
    fdr_qvalues,
    gi_star,
    rates_per_1000,
)
from lagesbild_geo.stats.weights import queen_weights

STOCKHOLM = (
    Path(__file__).resolve().parents[2].parent / "shared" / "areas" / "deso2018_stockholms_lan.gpkg"
)


@pytest.fixture(scope="module")
def areas():
    return gpd.read_file(STOCKHOLM).set_index("deso_code")


@pytest.fixture(scope="module")
def weights(areas):
    return queen_weights(areas)


@pytest.fixture(scope="module")
def pysal_w(weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return libpysal.weights.W(weights.neighbour_lists(), id_order=list(weights.ids))


@pytest.fixture(scope="module")
def counts(areas, weights):
    """Poisson counts proportional to population, with a planted cluster around one area."""
    rng = np.random.default_rng(42)
    rate = areas["pop_2023"].to_numpy() / 1000.0
    centre = 100
    nbrs = weights.matrix.indices[weights.matrix.indptr[centre] : weights.matrix.indptr[centre + 1]]
    rate[[centre, *nbrs]] *= 6
    return rng.poisson(rate).astype(float), centre


def _esda(y, w, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(y, w, star=True, alternative="directed", **kw)


def test_z_equals_esda_binary(counts, weights, pysal_w):
    y, _ = counts
    ours = gi_star(y, weights, permutations=0)
    ref = _esda(y, pysal_w, transform="B", permutations=0)
    assert_allclose(ours.z, ref.Zs, rtol=0, atol=1e-9)
    assert_allclose(ours.p_norm, ref.p_norm, rtol=0, atol=1e-12)
    assert_allclose(ours.p, 2 * ref.p_norm, rtol=0, atol=1e-12)
    assert np.isnan(ours.p_sim).all()


def test_z_equals_esda_default_transform(counts, weights, pysal_w):
    """transform="R" reproduces esda's default G_Local(y, w, star=True)."""
    y, _ = counts
    ref = _esda(y, pysal_w, permutations=0)  # esda default transform="R"
    assert ref.w_transform == "R"
    ours = gi_star(y, weights, permutations=0, transform="R")
    assert_allclose(ours.z, ref.Zs, rtol=0, atol=1e-9)
    # ... and it is a different (smaller) statistic than the binary one.
    binary = gi_star(y, weights, permutations=0)
    assert np.abs(binary.z).mean() > 1.5 * np.abs(ours.z).mean()


def test_rates_equal_esda(areas, counts, weights, pysal_w):
    y, _ = counts
    rates = rates_per_1000(y, areas["pop_2023"].to_numpy())
    ref = _esda(rates, pysal_w, transform="B", permutations=0)
    assert_allclose(gi_star(rates, weights, permutations=0).z, ref.Zs, rtol=0, atol=1e-9)


def test_permutation_p_within_monte_carlo_error(counts, weights, pysal_w):
    y, centre = counts
    ours = gi_star(y, weights, permutations=999, seed=7)
    ref = _esda(y, pysal_w, transform="B", permutations=999, seed=11, n_jobs=1)
    p = (ours.p_sim + ref.p_sim) / 2
    # Both are estimates from 999 draws: the difference has sd sqrt(2 p (1 - p) / 999).
    bound = 4.5 * np.sqrt(2 * p * (1 - p) / 999) + 0.002
    assert (np.abs(ours.p_sim - ref.p_sim) <= bound).all()
    assert np.abs(ours.p_sim - ref.p_sim).mean() < 0.01
    assert ours.p_sim[centre] == pytest.approx(0.001)
    assert ours.p_sim.min() >= 0.001 and ours.p_sim.max() <= 0.5 + 1e-12
    assert (ours.p_sim_two_sided >= ours.p_sim - 1e-12).all()


def test_permutation_counting_matches_brute_force():
    """The vectorised shortcut gives exactly the counts of a plain loop over the same draws."""
    rng = np.random.default_rng(3)
    n = 40
    a = sp.random(n, n, density=0.12, random_state=4)
    m = sp.csr_array(((a + a.T) > 0).astype(float))
    m.setdiag(0)
    m.eliminate_zeros()
    y = rng.poisson(2.0, n).astype(float)
    card = np.diff(m.indptr)
    obs = m @ y
    perms = 200
    ge, le = hotspots._permutation_counts(y, obs, card, perms, seed=5)
    sample = hotspots._ordered_samples(np.random.default_rng(5), n, min(card.max() + 1, n), perms)
    for i in range(n):
        sims = []
        for r in range(perms):
            others = [j for j in sample[r] if j != i][: card[i]]
            sims.append(y[others].sum())
        sims = np.array(sims)
        assert ge[i] == (sims >= obs[i]).sum()
        assert le[i] == (sims <= obs[i]).sum()


def test_ordered_samples_are_uniform_and_distinct():
    rng = np.random.default_rng(0)
    for n, size in ((50, 5), (30, 20)):  # rejection route and partition route
        s = hotspots._ordered_samples(rng, n, size, 4000)
        assert all(len(set(row)) == size for row in s)
        first = np.bincount(s[:, 0], minlength=n) / 4000
        assert np.abs(first - 1 / n).max() < 5 * np.sqrt(1 / n / 4000)


def test_seed_reproducible(counts, weights):
    y, _ = counts
    a = gi_star(y, weights, seed=1)
    assert_array_equal(a.p_sim, gi_star(y, weights, seed=1).p_sim)
    assert not np.array_equal(a.p_sim, gi_star(y, weights, seed=2).p_sim)


def test_bins_and_fdr(counts, weights):
    y, centre = counts
    plain = gi_star(y, weights)
    fdr = gi_star(y, weights, fdr=True)
    assert plain.bin[centre] == 3 and fdr.bin[centre] == 3
    assert_array_equal(plain.bin, confidence_bins(plain.z, plain.p))
    assert_array_equal(np.sign(plain.bin[plain.bin != 0]), np.sign(plain.z[plain.bin != 0]))
    # FDR never makes a bin more extreme, and with 1,287 tests it removes some.
    assert (np.abs(fdr.bin) <= np.abs(plain.bin)).all()
    assert (fdr.bin != 0).sum() < (plain.bin != 0).sum()
    assert_array_equal(fdr.bin, confidence_bins(fdr.z, fdr.q))
    perm = gi_star(y, weights, bin_on="permutation")
    assert_array_equal(perm.bin, confidence_bins(perm.z, perm.p_sim_two_sided))


def test_fdr_qvalues_match_definition():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=200) ** 3
    q = fdr_qvalues(p)
    m = p.size
    order = np.argsort(p)
    for rank, i in enumerate(order, start=1):
        expected = min(1.0, min(p[order[k - 1]] * m / k for k in range(rank, m + 1)))
        assert q[i] == pytest.approx(expected, rel=1e-12)
    # Rejecting q <= alpha is the Benjamini-Hochberg step-up rule.
    alpha = 0.1
    k = max((r for r in range(1, m + 1) if np.sort(p)[r - 1] <= alpha * r / m), default=0)
    assert (q <= alpha).sum() == k
    assert np.isnan(fdr_qvalues([0.1, np.nan]))[1]


def test_islands_are_reported_and_binned_zero(pysal_w):
    n = 40
    line = sp.diags([1.0, 1.0], [-1, 1], shape=(n, n), format="lil")
    line[38, 39] = line[39, 38] = line[38, 37] = line[37, 38] = 0  # 39 and 38 isolated
    m = sp.csr_array(line)
    m.eliminate_zeros()
    y = np.arange(n, dtype=float)
    y[39] = 500
    r = gi_star(y, m, permutations=99)
    assert r.islands == ("38", "39")
    assert r.bin[39] == 0 and r.p_sim[39] == 1.0
    assert any("no neighbours" in w for w in r.warnings)
    nbrs = {i: [j for j in (i - 1, i + 1) if 0 <= j < 38] for i in range(38)}
    nbrs.update({38: [], 39: []})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.W(nbrs)
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    assert_allclose(r.z, ref.Zs, rtol=0, atol=1e-9)


def test_few_areas_warn_but_work():
    m = sp.diags([1.0, 1.0], [-1, 1], shape=(12, 12))
    r = gi_star(np.arange(12.0), m)
    assert any("only 12 areas" in w for w in r.warnings)
    assert np.isfinite(r.z).all()


def test_constant_values_give_no_spots():
    m = sp.diags([1.0, 1.0], [-1, 1], shape=(40, 40))
    for y in (np.zeros(40), np.full(40, 3.0)):
        r = gi_star(y, m)
        assert_array_equal(r.z, 0)
        assert_array_equal(r.p, 1)
        assert_array_equal(r.bin, 0)
        assert not np.isnan(r.p_sim).any()
        assert any("same value" in w for w in r.warnings)


def test_refuses_bad_input(weights):
    with pytest.raises(ValueError, match="exactly one value per area"):
        gi_star(np.ones(5), weights)
    y = np.ones(weights.n)
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gi_star(y, weights)
    with pytest.raises(ValueError, match="transform"):
        gi_star(np.ones(weights.n), weights, transform="X")
    with pytest.raises(ValueError, match="permutations > 0"):
        gi_star(np.ones(weights.n), weights, permutations=0, bin_on="permutation")
    with pytest.raises(ValueError, match="no population"):
        rates_per_1000([1, 2], [100, 0])
