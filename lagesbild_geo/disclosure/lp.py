"""Feasible intervals: the smallest and largest value of each unknown consistent with what is
published, as an attacker solves them (linear programming with HiGHS, through scipy).

The attacker's knowledge is a system of linear constraints on non-negative integer unknowns
(the true figures): ``row_lo <= A x <= row_hi`` and ``x_lo <= x <= x_hi``. For each unknown
asked about, the interval is ``[min x_j, max x_j]`` over that system. The system is split
into its connected blocks (unknowns linked by a constraint) and each block solved on its own;
with ``integral`` the unknowns are integers (HiGHS's branch and bound), which matters when
the constraints are not totally unimodular (linked tables with overlapping margins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csgraph, csr_array, eye, vstack

INFINITE = np.inf


@dataclass
class System:
    """``row_lo <= A x <= row_hi``, ``x_lo <= x <= x_hi``."""

    a: csr_array
    row_lo: np.ndarray
    row_hi: np.ndarray
    x_lo: np.ndarray
    x_hi: np.ndarray


def blocks(system: System) -> np.ndarray:
    """The connected block of every unknown (unknowns in no constraint are blocks of one)."""
    n = system.a.shape[1]
    if system.a.shape[0] == 0:
        return np.arange(n)
    inc = csr_array(system.a != 0, dtype=np.int8)
    graph = (inc.T @ inc) + eye(n, format="csr", dtype=np.int8)
    _, labels = csgraph.connected_components(graph, directed=False)
    return labels


def _solve(a, row_lo, row_hi, x_lo, x_hi, j: int, sense: int, integral: bool) -> float:
    n = a.shape[1]
    c = np.zeros(n)
    c[j] = sense
    finite_hi = np.isfinite(row_hi)
    finite_lo = np.isfinite(row_lo)
    a_ub = vstack([a[finite_hi], -a[finite_lo]]) if a.shape[0] else None
    b_ub = np.concatenate([row_hi[finite_hi], -row_lo[finite_lo]]) if a.shape[0] else None
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=b_ub,
        bounds=list(zip(x_lo, np.where(np.isfinite(x_hi), x_hi, None), strict=True)),
        method="highs",
        integrality=np.ones(n) if integral else None,
    )
    if res.status == 3:  # unbounded
        return sense * -INFINITE
    if res.status != 0:
        raise ValueError(f"the attacker's system is infeasible or unsolved: {res.message}")
    return float(res.fun) * sense


def intervals(
    system: System, targets: np.ndarray | None = None, *, integral: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper feasible bound of each target unknown (default: all)."""
    n = system.a.shape[1]
    targets = np.arange(n) if targets is None else np.asarray(targets)
    labels = blocks(system)
    lo = np.full(len(targets), np.nan)
    hi = np.full(len(targets), np.nan)
    a = csr_array(system.a)
    rows_of = a.shape[0] and labels[a.indices[a.indptr[:-1]]] if a.nnz else np.zeros(0, int)
    for block in np.unique(labels[targets]):
        cols = np.flatnonzero(labels == block)
        rows = np.flatnonzero(rows_of == block) if a.shape[0] else np.zeros(0, int)
        sub = a[rows][:, cols] if len(rows) else csr_array((0, len(cols)))
        local = {c: i for i, c in enumerate(cols)}
        for t, j in enumerate(targets):
            if labels[j] != block:
                continue
            if not len(rows):
                lo[t], hi[t] = system.x_lo[j], system.x_hi[j]
                continue
            args = (
                sub,
                system.row_lo[rows],
                system.row_hi[rows],
                system.x_lo[cols],
                system.x_hi[cols],
                local[j],
            )
            lo[t] = _solve(*args, 1, integral)
            hi[t] = _solve(*args, -1, integral)
    return lo, hi


def box_sum_intervals(
    x_lo: np.ndarray, x_hi: np.ndarray, s_lo: float, s_hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Closed form for one block ``x_lo <= x <= x_hi``, ``s_lo <= sum(x) <= s_hi``.

    The constraint matrix of a box and one sum is totally unimodular, so the integer and the
    linear intervals agree: ``x_j >= max(x_lo_j, s_lo - sum of the others' upper bounds)`` and
    ``x_j <= min(x_hi_j, s_hi - sum of the others' lower bounds)``. Used by the audit where a
    block has exactly this shape (tests check it against HiGHS).
    """
    up = np.sum(x_hi)
    down = np.sum(x_lo)
    lo = np.maximum(x_lo, s_lo - (up - x_hi))
    hi = np.minimum(x_hi, s_hi - (down - x_lo))
    return lo, hi
