"""The cell key method's parts: the perturbation table's rules, every key's perturbation, and
the protection of a breakdown (docs/disclosure.md)."""

from __future__ import annotations

import numpy as np
import pytest

from lagesbild_geo.disclosure import keys, protect, ptable

EVERY_KEY = np.arange(ptable.KEY_STEPS) / ptable.KEY_STEPS


@pytest.mark.parametrize(("k", "v"), [(3, None), (5, None), (5, 2.0), (10, None), (15, 1.0)])
def test_every_row_keeps_the_rules_for_every_key(k, v):
    d = ptable.default_d(k)
    table = ptable.build(d, ptable.default_v(d) if v is None else v)
    support = np.arange(-d, d + 1)
    for x in range(0, 2 * d + 3):
        moved = table.perturbation(np.full(len(EVERY_KEY), x), EVERY_KEY)
        if x == 0:
            assert (moved == 0).all()  # a true zero stays zero
            continue
        assert moved.min() == -min(x, d) and moved.max() == d  # the whole of ±D is reachable
        assert (x + moved >= 0).all()
        # every allowed perturbation is drawn by some keys: none is impossible
        assert set(np.unique(moved)) == {s for s in support if x + s >= 0}
        assert abs(moved.mean()) < 0.01  # unbiased
        if x >= d:
            assert moved.var() == pytest.approx(table.v, rel=0.1)


def test_the_defaults_make_every_published_figure_consistent_with_k_minus_1_values():
    for k in (3, 4, 5, 7, 10, 15):
        d = ptable.default_d(k)
        table = ptable.build(d, ptable.default_v(d))
        for p in range(0, 3 * d):
            consistent = [
                x for x in range(0, 5 * d)
                if (table.perturb(np.full(len(EVERY_KEY), x), EVERY_KEY) == p).any()
            ]  # fmt: skip
            if consistent:
                assert len(consistent) >= k - 1, (k, p, consistent)


def test_d_one_with_variance_one_would_never_stay_so_the_default_is_smaller():
    assert ptable.default_v(1) == 0.5
    table = ptable.build(1, ptable.default_v(1))
    moved = table.perturbation(np.full(len(EVERY_KEY), 4), EVERY_KEY)
    assert (moved == 0).mean() == pytest.approx(0.5, abs=0.01)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="D must be at least 1"):
        ptable.build(0, 1.0)
    with pytest.raises(ValueError, match="variance"):
        ptable.build(2, 5.0)


def test_a_breakdown_adds_up_keeps_zeros_and_stays_within_d():
    rng = np.random.default_rng(12)
    table = ptable.build(3, 1.0)
    for bins in (7, 24):
        true = rng.poisson(0.5, size=(20_000, bins))
        totals = table.perturb(true.sum(axis=1), rng.random(20_000))
        out = protect.protect_breakdown(table, true, rng.random((20_000, bins)), totals)
        assert (out.sum(axis=1) == totals).all()
        assert (out[true == 0] == 0).all()
        assert protect.breakdown_within(table, true, out).all()
        assert (out != true).any(axis=1).mean() > 0.5


def test_keys_are_sixteen_bit_slots_of_the_digest():
    u = keys.record_keys(b"s" * 32, [b"a", b"b", b"a"])
    assert u.shape == (3, keys.SLOTS) and (u[0] == u[2]).all() and (u[0] != u[1]).any()
    assert ((u * ptable.KEY_STEPS) % 1 == 0).all() and u.min() >= 0 and u.max() < 1
    other = keys.record_keys(b"t" * 32, [b"a"])
    assert (other[0] != u[0]).any()  # another secret, other keys
