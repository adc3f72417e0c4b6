"""The feasible-interval solver: empty rows, batching, and the closed form against HiGHS."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.sparse import csr_array

from lagesbild_geo.disclosure import lp


def _system(a, lo, hi, x_lo, x_hi):
    arrays = [np.asarray(v, dtype=float) for v in (lo, hi, x_lo, x_hi)]
    return lp.System(csr_array(np.asarray(a, dtype=float)), *arrays)


def test_empty_rows_are_checked_not_misassigned():
    s = _system([[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]], [3, 0, 2], [3, 0, 2], [0] * 4,
                [2, 2, 5, 5])  # fmt: skip
    lo, hi = lp.intervals(s)
    assert_array_equal(lo, [1, 1, 0, 0])
    assert_array_equal(hi, [2, 2, 2, 2])
    bad = _system([[0, 0]], [1], [1], [0, 0], [3, 3])
    with pytest.raises(lp.InfeasibleError):
        lp.intervals(bad)


def test_a_system_without_rows_is_its_bounds():
    s = _system(np.zeros((0, 3)), [], [], [0, 1, 2], [4, 5, 6])
    lo, hi = lp.intervals(s)
    assert_array_equal(lo, [0, 1, 2])
    assert_array_equal(hi, [4, 5, 6])


def test_expressions_over_blocks_add_their_parts():
    s = _system([[1, 1, 0, 0], [0, 0, 1, 1]], [3, 2], [3, 2], [0] * 4, [2, 2, 5, 5])
    lo, hi = lp.objective_intervals(s, csr_array(np.array([[1.0, 0, 1, 0], [0, 1, 0, 0]])))
    assert_array_equal(lo, [1, 1])
    assert_array_equal(hi, [4, 2])


def test_integrality_where_it_matters():
    # x + y = 1, x - y = 0: no integer solution; x0 + x1 = 1 twice overlapping (odd cycle)
    s = _system([[1, 1, 0], [0, 1, 1], [1, 0, 1]], [1, 1, 1], [1, 1, 1], [0] * 3, [1] * 3)
    with pytest.raises(lp.InfeasibleError):
        lp.intervals(s, integral=True)
    lo, hi = lp.intervals(s, integral=False)
    assert_array_equal(lo, [0.5] * 3)


def test_one_infeasible_block_is_named_not_hidden_in_the_batch():
    s = _system([[1, 1, 0, 0], [0, 0, 1, 1]], [3, 20], [3, 20], [0] * 4, [2, 2, 5, 5])
    with pytest.raises(lp.InfeasibleError):
        lp.intervals(s)


def test_closed_form_equals_highs_on_random_blocks():
    """Box plus one sum: the closed form and HiGHS agree on 300 random blocks, solved as one
    batched system (so the batching is checked too)."""
    rng = np.random.default_rng(12)
    blocks, rows, x_lo, x_hi, s_lo, s_hi = [], [], [], [], [], []
    expected_lo, expected_hi = [], []
    col = 0
    for _ in range(300):
        m = int(rng.integers(1, 9))
        lo = rng.integers(0, 4, m)
        hi = lo + rng.integers(0, 6, m)
        total = int(rng.integers(lo.sum(), hi.sum() + 1))
        slack = int(rng.integers(0, 4))
        a, b = max(lo.sum(), total - slack), min(hi.sum(), total + slack)
        e_lo, e_hi = lp.box_sum_intervals(lo, hi, a, b)
        expected_lo += e_lo.tolist()
        expected_hi += e_hi.tolist()
        rows.append(list(range(col, col + m)))
        x_lo += lo.tolist()
        x_hi += hi.tolist()
        s_lo.append(a)
        s_hi.append(b)
        col += m
        blocks.append(m)
    a = np.zeros((len(rows), col))
    for r, cols in enumerate(rows):
        a[r, cols] = 1
    lo, hi = lp.intervals(_system(a, s_lo, s_hi, x_lo, x_hi))
    assert_array_equal(lo, expected_lo)
    assert_array_equal(hi, expected_hi)
    # and the 2-D form (one block per row) gives the same
    two_d = lp.box_sum_intervals(np.array([[1, 0], [2, 2]]), np.array([[4, 3], [5, 5]]),
                                 np.array([4, 4]), np.array([4, 5]))  # fmt: skip
    assert_array_equal(two_d[0], [[1, 0], [2, 2]])
    assert_array_equal(two_d[1], [[4, 3], [3, 3]])


def test_many_blocks_take_few_solves(monkeypatch):
    calls = []
    real = lp._milp
    monkeypatch.setattr(lp, "_milp", lambda *a: calls.append(1) or real(*a))
    n = 2000
    a = np.zeros((n, 2 * n))
    for i in range(n):
        a[i, 2 * i : 2 * i + 2] = 1
    lo, hi = lp.intervals(_system(a, [3] * n, [3] * n, [0] * (2 * n), [2] * (2 * n)))
    assert (lo == 1).all() and (hi == 2).all()
    assert len(calls) == 4  # two expressions per block, min and max
