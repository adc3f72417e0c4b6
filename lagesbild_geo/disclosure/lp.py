"""Feasible intervals: the smallest and largest value of linear expressions of the unknowns
consistent with what is published, as an attacker solves them (HiGHS, through scipy).

The attacker's knowledge is a system of linear constraints on non-negative integer unknowns
(the true figures and the protected parts no one publishes): ``row_lo <= A x <= row_hi`` and
``x_lo <= x <= x_hi``. The interval of an expression ``c x`` is ``[min c x, max c x]`` over
that system.

Why blocks, and why many blocks in one solve: the system falls apart into connected blocks
(unknowns linked by a constraint), and on the demo they are small (one weekly cell and its
breakdown bins, or the cells of one planted sum) but there are tens of thousands of them. A
HiGHS call costs about a millisecond whatever its size, so solving block by block costs
minutes. Where the objective is a sum over independent blocks its minimum is the sum of the
blocks' minima, and every optimal solution has each block at its own minimum; so one solve
serves one expression in every block at once, and the number of solves is twice the largest
number of expressions of any one block, not twice their total. The MIP gap is 0: with a
relative gap, a sum over many blocks could leave one block short of its optimum.

With ``integral`` the unknowns are integers (HiGHS's branch and bound), which matters when
the constraints are not totally unimodular (overlapping sums, the protected part of a figure
that is 0 exactly when the figure is). :func:`box_sum_intervals` is the closed form for the
one shape that is (a box and one sum); the audit uses it for the bulk of the figures, and the
tests check it against HiGHS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array, csgraph, csr_array

INFINITE = np.inf
#: Values within this of an integer are that integer (HiGHS's feasibility tolerance is 1e-7).
INTEGER_TOLERANCE = 1e-6


class InfeasibleError(ValueError):
    """The attacker's system has no solution: the published figures contradict the model."""


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
    a = csr_array(system.a)
    if a.nnz == 0:
        return np.arange(n)
    rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
    # unknowns of a row are linked to the row's first unknown: a spanning star per row
    first = a.indices[a.indptr[:-1][rows]]
    graph = coo_array((np.ones(a.nnz, dtype=np.int8), (first, a.indices)), shape=(n, n))
    _, labels = csgraph.connected_components(graph.tocsr(), directed=False)
    return labels


def row_blocks(system: System, labels: np.ndarray) -> np.ndarray:
    """The block of every constraint row; -1 for a row without unknowns."""
    a = csr_array(system.a)
    out = np.full(a.shape[0], -1, dtype=np.int64)
    filled = np.diff(a.indptr) > 0
    out[filled] = labels[a.indices[a.indptr[:-1][filled]]]
    return out


def _check_empty_rows(system: System, row_labels: np.ndarray) -> None:
    """A row without unknowns says ``row_lo <= 0 <= row_hi``; anything else is infeasible."""
    empty = row_labels < 0
    bad = empty & ((system.row_lo > INTEGER_TOLERANCE) | (system.row_hi < -INTEGER_TOLERANCE))
    if bad.any():
        raise InfeasibleError(
            f"the attacker's system is infeasible: {int(bad.sum())} constraint(s) without "
            "unknowns exclude 0"
        )


def _milp(c, a, row_lo, row_hi, x_lo, x_hi, integral: bool):
    constraints = [LinearConstraint(a, row_lo, row_hi)] if a.shape[0] else []
    return milp(
        c,
        constraints=constraints,
        bounds=Bounds(x_lo, x_hi),
        integrality=np.ones(len(c), dtype=np.int64) if integral else None,
        options={"mip_rel_gap": 0.0, "presolve": True},
    )


def _solve_batch(system, labels, row_labels, batch, sense, integral):
    """Optimise ``sense * sum of the batch's expressions`` (one per block) in one solve.

    ``batch`` is a list of (block, columns, coefficients); returns each expression's optimum.
    Falls back to one solve per block when the joint solve is not optimal (one infeasible or
    unbounded block spoils the sum), so that the failure names its own block.
    """
    block_ids = np.array([b for b, _, _ in batch])
    cols = np.flatnonzero(np.isin(labels, block_ids))
    rows = np.flatnonzero(np.isin(row_labels, block_ids))
    local = np.full(len(labels), -1)
    local[cols] = np.arange(len(cols))
    a = csr_array(system.a)[rows][:, cols] if len(rows) else csr_array((0, len(cols)))
    c = np.zeros(len(cols))
    for _, ecols, coef in batch:
        np.add.at(c, local[ecols], sense * coef)
    res = _milp(
        c, a, system.row_lo[rows], system.row_hi[rows], system.x_lo[cols], system.x_hi[cols],
        integral,
    )  # fmt: skip
    if res.status == 0:
        return [float(coef @ res.x[local[ecols]]) for _, ecols, coef in batch]
    if len(batch) == 1:
        if res.status == 3:
            return [sense * INFINITE]
        raise InfeasibleError(f"the attacker's system is infeasible or unsolved: {res.message}")
    return [_solve_batch(system, labels, row_labels, [b], sense, integral)[0] for b in batch]


def objective_intervals(
    system: System, objectives: csr_array, *, integral: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper feasible bound of each row of ``objectives`` (expressions ``c x``).

    Each expression is split by block; the parts of different blocks are solved together,
    one part per block and solve (see the module's docstring).
    """
    objectives = csr_array(objectives)
    n = system.a.shape[1]
    if objectives.shape[1] != n:
        raise ValueError("the objectives must have one column per unknown")
    labels = blocks(system)
    row_labels = row_blocks(system, labels)
    _check_empty_rows(system, row_labels)
    lo = np.zeros(objectives.shape[0])
    hi = np.zeros(objectives.shape[0])
    # the parts: (expression, block, columns, coefficients), queued per block
    queues: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    for i in range(objectives.shape[0]):
        s = slice(objectives.indptr[i], objectives.indptr[i + 1])
        ecols, coef = objectives.indices[s], objectives.data[s]
        keep = coef != 0
        ecols, coef = ecols[keep], coef[keep]
        if not len(ecols):
            continue
        order = np.argsort(labels[ecols], kind="stable")
        ecols, coef = ecols[order], coef[order]
        cuts = np.flatnonzero(np.diff(labels[ecols])) + 1
        for part_cols, part_coef in zip(np.split(ecols, cuts), np.split(coef, cuts), strict=True):
            queues.setdefault(int(labels[part_cols[0]]), []).append((i, part_cols, part_coef))
    # a part on a block of one unknown without constraints is its bounds
    lonely = np.bincount(labels, minlength=n) == 1
    free = np.ones(n, dtype=bool)
    free[system.a.indices] = False
    for block in [b for b, q in queues.items() if lonely[b]]:
        for i, ecols, coef in queues[block]:
            if free[ecols[0]]:
                bounds = coef[0] * np.array([system.x_lo[ecols[0]], system.x_hi[ecols[0]]])
                lo[i] += bounds.min()
                hi[i] += bounds.max()
            else:
                break
        else:
            del queues[block]
    while queues:
        batch = [(b, q[0][1], q[0][2]) for b, q in queues.items()]
        owners = [q[0][0] for q in queues.values()]
        low = _solve_batch(system, labels, row_labels, batch, 1, integral)
        high = _solve_batch(system, labels, row_labels, batch, -1, integral)
        for i, v_lo, v_hi in zip(owners, low, high, strict=True):
            lo[i] += v_lo
            hi[i] += v_hi
        for b in list(queues):
            queues[b].pop(0)
            if not queues[b]:
                del queues[b]
    if integral:
        lo = np.where(np.isfinite(lo), np.ceil(lo - INTEGER_TOLERANCE), lo)
        hi = np.where(np.isfinite(hi), np.floor(hi + INTEGER_TOLERANCE), hi)
    return lo, hi


def intervals(
    system: System, targets: np.ndarray | None = None, *, integral: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper feasible bound of each target unknown (default: all)."""
    n = system.a.shape[1]
    targets = np.arange(n) if targets is None else np.asarray(targets, dtype=np.int64)
    eye = csr_array(
        (np.ones(len(targets)), (np.arange(len(targets)), targets)), shape=(len(targets), n)
    )
    return objective_intervals(system, eye, integral=integral)


def box_sum_intervals(
    x_lo: np.ndarray, x_hi: np.ndarray, s_lo, s_hi
) -> tuple[np.ndarray, np.ndarray]:
    """Closed form for blocks ``x_lo <= x <= x_hi``, ``s_lo <= sum(x) <= s_hi``.

    The constraint matrix of a box and one sum is totally unimodular, so the integer and the
    linear intervals agree: ``x_j >= max(x_lo_j, s_lo - sum of the others' upper bounds)`` and
    ``x_j <= min(x_hi_j, s_hi - sum of the others' lower bounds)``. With 2-D bounds every row
    is one block and ``s_lo``, ``s_hi`` hold one bound per row. Assumes the block is feasible
    (``sum(x_lo) <= s_hi`` and ``s_lo <= sum(x_hi)``); the audit checks that first.

    >>> box_sum_intervals(np.array([1, 0, 0]), np.array([4, 3, 3]), 7, 7)
    (array([1, 0, 0]), array([4, 3, 3]))
    >>> box_sum_intervals(np.array([1, 1]), np.array([4, 4]), 2, 2)
    (array([1, 1]), array([1, 1]))
    """
    x_lo, x_hi = np.asarray(x_lo), np.asarray(x_hi)
    s_lo, s_hi = np.asarray(s_lo), np.asarray(s_hi)
    if x_lo.ndim == 2:
        s_lo, s_hi = s_lo[:, None], s_hi[:, None]
    up = np.sum(x_hi, axis=-1, keepdims=True)
    down = np.sum(x_lo, axis=-1, keepdims=True)
    lo = np.maximum(x_lo, s_lo - (up - x_hi))
    hi = np.minimum(x_hi, s_hi - (down - x_lo))
    return lo, hi
