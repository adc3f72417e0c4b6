"""The perturbation table of the cell key method (CKM).

A published count is its true value plus a perturbation ``v`` drawn from the table's row for
that value, by the figure's key ``u`` in [0, 1): ``v`` is the first perturbation whose
cumulative probability exceeds ``u``. The table is public (``publish.ptable``): the method's
protection does not rest on keeping it secret, only the keys are.

The rules every row follows (docs/disclosure.md):

* ``|v| <= D``: no figure moves by more than ``D``.
* A true zero stays zero (row 0 is ``v = 0`` with probability 1); a positive count may become
  0 but never negative. So a published 0 is consistent with 0..D, a published ``p >= 1`` with
  every value of ``max(1, p - D) .. p + D``: at least ``D + 1`` values, which for the default
  ``D = k - 2`` is ``k - 1`` values, as wide as primary suppression's ``1..k-1``.
* Unbiased: every row has mean 0 (up to the floor below, under 0.01 for D <= 13), so sums of
  many perturbed figures stay centred on the truth.
* Every perturbation a row allows has a probability of at least ``FLOOR_STEPS`` key steps: no
  value within ±D is impossible, so the interval the rules promise is the attacker's interval.
* Variance ``V`` where the row allows it; the row's distribution is the maximum-entropy one
  with mean 0 and variance ``V`` on its support (p(v) proportional to exp(a v + b v^2)).

Rows ``i >= D`` share one distribution (nothing is cut off at zero), so the table has the rows
``0 .. D``; a value ``x`` uses row ``min(x, D)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, root

#: Keys are 16-bit: u = key / 65536.
KEY_STEPS = 65_536
#: Every perturbation a row allows gets at least this probability (in key steps), so that no
#: transition within ±D is impossible: an impossible one would let an attacker rule out true
#: values the table's rules promise (a maximum-entropy row with large D has tails far below
#: one key step).
FLOOR_STEPS = 4


def default_d(k: int) -> int:
    """The maximum deviation for threshold ``k``: ``k - 2`` (at least 1), so that every
    published figure is consistent with at least ``k - 1`` true values."""
    return max(1, k - 2)


def default_v(d: int) -> float:
    """The variance for maximum deviation ``d``: 1, or ``d²/2`` when that is smaller (with
    D = 1 a variance of 1 would leave no chance to stay: a published 1 would mean 2)."""
    return min(1.0, d * d / 2)


@dataclass(frozen=True)
class PTable:
    """Rows ``0..d``; column ``j`` is the probability of perturbation ``j - d``."""

    d: int
    v: float
    probabilities: np.ndarray  # shape (d + 1, 2 d + 1)

    @property
    def cumulative(self) -> np.ndarray:
        return np.cumsum(self.probabilities, axis=1)

    def perturbation(self, values: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The perturbation of each value by its key (both arrays of the same shape)."""
        values = np.asarray(values, dtype=np.int64)
        if (values < 0).any():
            raise ValueError("counts must be >= 0")
        rows = np.minimum(values, self.d)
        # Keys in 16-bit steps, thresholds in the same steps: no floating-point ties.
        steps = np.minimum(np.floor(np.asarray(u) * KEY_STEPS), KEY_STEPS - 1).astype(np.int64)
        bounds = np.round(self.cumulative * KEY_STEPS).astype(np.int64)
        bounds[:, -1] = KEY_STEPS  # the last column takes every key
        col = (steps[..., None] >= bounds[rows]).sum(axis=-1)
        return col - self.d

    def perturb(self, values: np.ndarray, u: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64)
        return values + self.perturbation(values, u)

    def rows(self) -> list[tuple[int, int, float]]:
        """(true value row, perturbation, probability) for every possible perturbation."""
        out = []
        for i in range(self.d + 1):
            for j, p in enumerate(self.probabilities[i]):
                if p > 0:
                    out.append((i, j - self.d, float(p)))
        return out


def _row(i: int, d: int, v: float) -> np.ndarray:
    """Maximum-entropy distribution on perturbations max(-i, -d)..d, mean 0, variance v."""
    support = np.arange(max(-i, -d), d + 1, dtype=float)
    if i == 0:
        return (support == 0).astype(float)

    def moments(ab: np.ndarray) -> np.ndarray:
        w = ab[0] * support + ab[1] * support**2
        p = np.exp(w - w.max())
        p /= p.sum()
        return np.array([p @ support, p @ support**2 - v])

    def dist(ab: np.ndarray) -> np.ndarray:
        w = ab[0] * support + ab[1] * support**2
        p = np.exp(w - w.max())
        return p / p.sum()

    sol = root(moments, np.array([0.0, -0.5 / v]), method="hybr")
    if sol.success and np.abs(moments(sol.x)).max() < 1e-9:
        return dist(sol.x)
    # The variance cannot be had on this short support: the maximum-entropy distribution with
    # mean 0 alone (exponential tilt), which is as spread as the support allows.
    a = brentq(lambda a: float(dist(np.array([a, 0.0])) @ support), -50, 50)
    return dist(np.array([a, 0.0]))


def build(d: int, v: float) -> PTable:
    """The perturbation table for maximum deviation ``d`` and variance ``v``."""
    if d < 1:
        raise ValueError("the maximum deviation D must be at least 1")
    if not 0 < v <= d * d:
        raise ValueError(f"the variance V must be in (0, D²] = (0, {d * d}]")
    probs = np.zeros((d + 1, 2 * d + 1))
    floor = FLOOR_STEPS / KEY_STEPS
    for i in range(d + 1):
        row = _row(i, d, v)
        if i > 0:  # every allowed perturbation possible; a true zero stays zero
            row = row * (1 - floor * len(row)) + floor
        probs[i, 2 * d + 1 - len(row) :] = row
    return PTable(d=d, v=v, probabilities=probs)
