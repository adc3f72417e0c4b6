"""Protecting a posted table of counts before it is released: the ``k-anonymity`` process.

A municipality that answers a request for public records, or gives a table to a report or a
researcher, posts the table (JSON rows or CSV text), the margins it will publish with it and
``k``; :func:`protect` returns the protected table, each figure's status and the feasible
interval ``[lo, hi]`` the public can solve for it. The rule of the audit is the publication's
(SPEC12): a figure whose true value is ``x >= 1`` is protected when ``lo = 0`` or the interval
holds at least ``k - 1`` values; ``lo == hi`` is *recovered*, anything else *narrowed*.

``cell_key`` (default): the publication's cell key method (:mod:`.ptable`, :mod:`.keys`,
:mod:`.protect`), each cell one record (one contributor: the municipality) with key
SHA-512(secret || canonical content) (the dimension names and labels sorted by name, and the
count), so the same secret gives the same noise to every unchanged cell of a corrected table and
fresh noise to a changed one. Margins are sums of the protected cells: they add nothing to what
the cells tell. The public's interval of a cell is every true value its published value can come
from by the perturbation table (a published 0 comes from ``0..D``, ``p >= 1`` from
``max(1, p - D)..p + D``; a ``(D, V)`` whose table makes one of those perturbations
impossible is refused, since a published value would then exclude true values); of a margin
the sum of its cells' intervals. Every cell's status is ``perturbed``, true zeros included
(a status that told them apart would tell which published zeros are true). The secret is
generated when absent and returned: keep it with the request's papers, never release it, and
never use the publication's.

``suppression`` (figures released exactly): cells and margins of 1..k-1 are suppressed
(``primary``), zeros and the rest published, then a further figure is suppressed while the audit
finds a suppressed figure recovered or narrowed (``secondary``). The public knows that zeros are
published, so a suppressed figure is ``>= 1``; it knows every published value and which are
suppressed, not why: release ``value`` only, the status column is the municipality's. (Why not
audit an attacker who also knows the status: a margin 3 = 1 + 2, all primary, then tells each
cell is at most 2 however much else is suppressed.) Its system (each margin = the sum of its
cells) is solved with HiGHS (:func:`.lp.intervals`, integers) per connected block. Heuristic for
the next figure, for a violated figure ``f``: a published non-zero cell in the smallest margin
group that holds ``f`` (a row before the grand total: it closes a cycle of suppressed cells with
the fewest values withheld); else a published margin group holding ``f``; else a published non-
zero figure of the table. Among the candidates the choice is by a rank drawn from the run's
secret and the figure's position, never by its value: an earlier version took the smallest
candidate, and an outside attacker who replayed that open heuristic over every completion of a
released table recovered 16 of 201 suppressed cells of random 3×3 tables exactly (a secondary
was known to be the smallest). Without the secret the choice cannot be replayed. Suppressed
figures are checked newest first (the latest secondary is the one left alone in its other
margin), and a figure alone in an equation, or in a sum too small for k - 1 values, is found
violated without solving. Suppressing a figure only takes a constraint from the public, so an
interval found protected stays protected and is not solved again; the loop ends because
suppressing everything leaves nothing bounded above. Cost (2 cores, loaded): 100 cells in 2
dimensions 1-3 s, 4,800 cells 35 s; 200 cells in 3 dimensions with every margin 17 s, 1,000 such
cells 11 minutes, hence the limits."""

from __future__ import annotations

import json
import math
import secrets as random_secrets
import time

import numpy as np
from scipy.sparse import csgraph, csr_array, hstack

from lagesbild_geo.disclosure.keys import SLOT_COUNT, record_keys
from lagesbild_geo.disclosure.lp import System, box_sum_intervals, intervals
from lagesbild_geo.disclosure.protect import protect_counts
from lagesbild_geo.disclosure.ptable import PTable, build
from lagesbild_geo.disclosure.request import (
    SECRET_BYTES,
    Request,
    TableTooLargeError,
    possible_perturbations,
)


def cell_key_intervals(table: PTable, published: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest true value each published value can come from by ``table``."""
    d = table.d
    possible = possible_perturbations(d, table.v)
    x = published[:, None] + np.arange(-d, d + 1)[None, :]
    v = published[:, None] - x
    ok = (x >= 0) & possible[np.minimum(np.maximum(x, 0), d), v + d]
    lo = np.where(ok, x, np.iinfo(np.int64).max).min(axis=1)
    hi = np.where(ok, x, -1).max(axis=1)
    return lo, hi


# -- margins ------------------------------------------------------------------------------------


def _groups(request: Request) -> tuple[csr_array, list[tuple[int, tuple]]]:
    """Incidence (margin figures × cells) and each margin figure's (margin, labels)."""
    n = request.cells
    label_codes = np.array(
        [np.unique([str(lab[j]) for lab in request.labels], return_inverse=True)[1]
         for j in range(len(request.dimensions))]).T.reshape(n, -1)  # fmt: skip
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    described: list[tuple[int, tuple]] = []
    for m, idx in enumerate(request.margins):
        if idx:
            _, first, inverse = np.unique(
                label_codes[:, idx], axis=0, return_index=True, return_inverse=True
            )
        else:
            first, inverse = np.zeros(1, dtype=np.int64), np.zeros(n, dtype=np.int64)
        base = len(described)
        described += [(m, tuple(request.labels[c][j] for j in idx)) for c in first]
        rows.append(base + inverse.ravel())
        cols.append(np.arange(n))
    if not described:
        return csr_array((0, n), dtype=np.int64), []
    data = np.ones(n * len(request.margins), dtype=np.int64)
    shape = (len(described), n)
    return csr_array((data, (np.concatenate(rows), np.concatenate(cols))), shape=shape), described


# -- the audit ------------------------------------------------------------------------------------


def violates(lo: float, hi: float, k: int) -> bool:
    """True when ``[lo, hi]`` of a figure ``>= 1`` fails the protection interval: one value
    (recovered), or not from 0 and fewer than k-1 values (narrowed)."""
    return lo == hi or not (lo == 0 or hi - lo + 1 >= k - 1)


def _interval(sub: System, j: int, true: int) -> tuple[float, float]:
    """One unknown's interval; an unbounded maximum (HiGHS's integer solver says 'unbounded
    or infeasible', and the truth is feasible) is infinite: the minimum again with the
    unknown capped at its true value, which cannot change a minimum."""
    rows = sub.a.shape[0]
    if rows == 1 and (sub.a.data == 1).all():
        s = float(sub.row_lo[0])
        lo, hi = box_sum_intervals(sub.x_lo, np.full(sub.a.shape[1], s), s, s)
        return float(lo[j]), float(hi[j])
    try:
        lo, hi = intervals(sub, np.array([j]))
        return float(lo[0]), float(hi[0])
    except ValueError:
        capped = sub.x_hi.copy()
        capped[j] = true
        lo, _ = intervals(System(sub.a, sub.row_lo, sub.row_hi, sub.x_lo, capped), np.array([j]))
        return float(lo[0]), math.inf


class _Audit:
    """The public's system for a suppression pattern (unknowns: the suppressed figures, one
    equation per margin figure that holds one), split in connected blocks."""

    def __init__(self, incidence: csr_array, truth: np.ndarray, suppressed: np.ndarray):
        n = incidence.shape[1]
        cells, margins = suppressed[:n], suppressed[n:]
        self.unknowns = np.flatnonzero(suppressed)
        self.truth = truth
        rhs = np.where(margins, 0, truth[n:]) - incidence @ np.where(cells, 0, truth[:n])
        own = csr_array(
            (-np.ones(margins.sum()), (np.flatnonzero(margins), np.arange(margins.sum()))),
            shape=(incidence.shape[0], int(margins.sum())),
        )
        a = csr_array(hstack([incidence[:, cells], own], format="csr"))
        keep = np.diff(a.indptr) > 0
        self.a, self.rhs = csr_array(a[keep]), rhs[keep].astype(float)
        u, m = len(self.unknowns), self.a.shape[0]
        row_of = np.repeat(np.arange(m), np.diff(self.a.indptr)) + u
        graph = csr_array((np.ones(self.a.nnz), (self.a.indices, row_of)), shape=(u + m, u + m))
        _, labels = csgraph.connected_components(graph, directed=False)
        self.labels, self.row_labels = labels[:u], labels[u:]
        self.column = {int(f): i for i, f in enumerate(self.unknowns)}
        self.by_column = self.a.T.tocsr()  # the rows of each unknown
        self.row_size = np.diff(self.a.indptr)
        self.row_cells_only = np.array(
            [(self.a.data[self.a.indptr[r] : self.a.indptr[r + 1]] > 0).all() for r in range(m)],
            dtype=bool,
        )

    def surely_violated(self, figure: int, k: int) -> bool:
        """A violation one equation shows without solving: the figure alone in it
        (recovered), or in a sum of suppressed cells ``s`` of ``n`` cells, each at least 1,
        so that at most ``s - n + 1 < k - 1`` values are left."""
        j = self.column[figure]
        rows = self.by_column.indices[self.by_column.indptr[j] : self.by_column.indptr[j + 1]]
        alone = self.row_size[rows] == 1
        left = self.rhs[rows] - self.row_size[rows] + 1
        return bool(alone.any() or (self.row_cells_only[rows] & (left < k - 1)).any())

    def interval(self, figure: int) -> tuple[int, float]:
        """The public's integer interval of a suppressed figure (``hi`` may be infinite)."""
        label = self.labels[self.column[figure]]
        cols = np.flatnonzero(self.labels == label)
        rows = np.flatnonzero(self.row_labels == label)
        sub = System(
            csr_array(self.a[rows][:, cols]), self.rhs[rows], self.rhs[rows],
            np.ones(len(cols)), np.full(len(cols), np.inf),
        )  # fmt: skip
        j = int(np.searchsorted(cols, self.column[figure]))
        lo, hi = _interval(sub, j, int(self.truth[figure]))
        return math.ceil(lo - 1e-6), (hi if math.isinf(hi) else math.floor(hi + 1e-6))

    def all_intervals(self) -> dict[int, tuple[int, float]]:
        """Every suppressed figure's interval, one call of the solver per block where it can."""
        out: dict[int, tuple[int, float]] = {}
        for label in np.unique(self.labels):
            cols = np.flatnonzero(self.labels == label)
            rows = np.flatnonzero(self.row_labels == label)
            figures = [int(f) for f in self.unknowns[cols]]
            if len(rows) == 1 and len(cols) > 1 and (self.a[rows].data == 1).all():
                s = float(self.rhs[rows[0]])
                lo, hi = box_sum_intervals(np.ones(len(cols)), np.full(len(cols), s), s, s)
            else:
                try:
                    sub = System(
                        csr_array(self.a[rows][:, cols]), self.rhs[rows], self.rhs[rows],
                        np.ones(len(cols)), np.full(len(cols), np.inf),
                    )  # fmt: skip
                    lo, hi = intervals(sub)
                except ValueError:  # an unbounded maximum: figure by figure
                    out.update((f, self.interval(f)) for f in figures)
                    continue
            for f, a, b in zip(figures, lo, hi, strict=True):
                out[f] = (math.ceil(a - 1e-6), b if math.isinf(b) else math.floor(b + 1e-6))
        return out


# -- the methods ----------------------------------------------------------------------------------

PUBLISHED, PRIMARY, SECONDARY, PERTURBED = "published", "primary", "secondary", "perturbed"


def _next_figure(f: int, incidence: csr_array, rank: np.ndarray, open_: np.ndarray) -> int:
    """The figure to suppress next for the violated figure ``f`` (the module's heuristic);
    ``rank`` orders the candidates (secret, value-independent)."""
    truth = rank
    n = incidence.shape[1]
    sizes = np.diff(incidence.indptr)

    def members(g: int) -> np.ndarray:
        return incidence.indices[incidence.indptr[g] : incidence.indptr[g + 1]]

    # the margin figures holding f: the groups of a cell, a margin figure's own group
    groups = incidence[:, [f]].nonzero()[0] if f < n else np.array([f - n])
    best: tuple | None = None
    for g in groups:
        cand = members(int(g))
        cand = cand[open_[cand]]
        if len(cand):
            c = int(cand[np.lexsort((cand, truth[cand]))[0]])
            key = (sizes[g], truth[c], c)
            best = key if best is None or key < best else best
    if best is not None:
        return int(best[2])
    if f >= n:  # the margin figures that share a cell with f's group
        cells = members(f - n)
        groups = np.unique(incidence[:, cells].nonzero()[0])
    groups = groups[open_[n + groups]]
    if len(groups):
        return n + int(groups[np.lexsort((groups, truth[n + groups]))[0]])
    rest = np.flatnonzero(open_)
    if not len(rest):
        raise RuntimeError("nothing left to suppress, yet a figure is not protected")
    cells = rest[rest < n]
    rest = cells if len(cells) else rest
    return int(rest[np.lexsort((rest, truth[rest]))[0]])


def suppression(
    request: Request, incidence: csr_array, seconds: float | None = None, secret: bytes = b""
):
    """Primary and secondary suppression; (published values, statuses, lo, hi) per figure
    (cells, then margin figures). More than ``seconds`` is a :class:`TableTooLargeError`.
    ``secret`` ranks the candidates for secondary suppression (by position, not value)."""
    k = request.k
    n_figures = incidence.shape[1] + incidence.shape[0]
    rank = record_keys(secret, [b"figure %d" % i for i in range(n_figures)])[:, SLOT_COUNT]
    deadline = None if seconds is None else time.monotonic() + seconds
    truth = np.concatenate([request.counts, incidence @ request.counts])
    suppressed = (truth >= 1) & (truth <= k - 1)
    status = np.where(suppressed, PRIMARY, PUBLISHED).astype(object)
    order = [int(f) for f in np.flatnonzero(suppressed)]
    # figure -> its interval and the round it was solved in: more suppression only widens
    # an interval, so a protected figure is not solved again until the final pattern
    verified: dict[int, tuple[int, float, int]] = {}
    rounds = 0
    while True:
        audit = _Audit(incidence, truth, suppressed)
        violated = None
        for f in reversed(order):  # newest first
            if f not in verified:
                if audit.surely_violated(f, k):
                    violated = f
                    break
                a, b = audit.interval(f)
                if violates(a, b, k):
                    violated = f
                    break
                verified[f] = (a, b, rounds)
        if violated is None:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise TableTooLargeError(
                f"Secondary suppression of this table takes more than {seconds:.0f} s: use "
                "method cell_key, fewer margins or dimensions, or split the table"
            )
        f = _next_figure(violated, incidence, rank, ~suppressed & (truth > 0))
        suppressed[f], status[f] = True, SECONDARY
        order.append(f)
        rounds += 1
    lo, hi = truth.astype(float), truth.astype(float)
    final = {f: (a, b) for f, (a, b, r) in verified.items() if r == rounds}
    if len(final) < len(order):
        final = audit.all_intervals()
    for f, (a, b) in final.items():
        lo[f], hi[f] = a, b
    values = np.where(suppressed, -1, truth)
    return values, status, lo, hi


def canonical(dimensions: tuple[str, ...], labels: tuple, count: int) -> bytes:
    """A cell's content for its key: labels by dimension name (column order does not matter)
    and the count (a changed count gets a fresh key).

    >>> canonical(("week", "area"), ("2026-W01", 7), 3)
    b'{"cell":{"area":"7","week":"2026-W01"},"count":3}'
    """
    cell = {d: str(label) for d, label in zip(dimensions, labels, strict=True)}
    return json.dumps(
        {"cell": cell, "count": int(count)}, sort_keys=True, ensure_ascii=False,
        separators=(",", ":"),
    ).encode()  # fmt: skip


def cell_key(request: Request, incidence: csr_array, secret: bytes):
    """The cell key method; (published values, statuses, lo, hi) per figure."""
    table = build(request.d, request.v)
    contents = (
        canonical(request.dimensions, labels, count)
        for labels, count in zip(request.labels, request.counts, strict=True)
    )
    u = record_keys(secret, contents)[:, SLOT_COUNT]
    published = protect_counts(table, request.counts, u)
    lo, hi = cell_key_intervals(table, published)
    values = np.concatenate([published, incidence @ published])
    lo = np.concatenate([lo, incidence @ lo]).astype(float)
    hi = np.concatenate([hi, incidence @ hi]).astype(float)
    return values, np.full(len(values), PERTURBED, dtype=object), lo, hi


def protect(request: Request, seconds: float | None = None) -> dict:
    """Protect the table by its method and audit it; the process's JSON result.

    ``cells`` and each margin's ``cells`` hold per figure its labels (``dims``), the value to
    release (``null``: suppressed), its status and the public's interval ``[lo, hi]``
    (``hi`` null: no upper bound). ``summary`` counts what was published and what the audit
    found (``recovered`` and ``narrowed`` are 0, else this raises); the deviations of the
    released from the true figures for ``cell_key``; ``secret`` (``cell_key``, when none was
    given) is the generated hex secret to pass again for a corrected table. ``seconds``
    bounds the secondary suppression (the process: :data:`~.request.SUPPRESSION_SECONDS`).
    """
    incidence, described = _groups(request)
    n = request.cells
    truth = np.concatenate([request.counts, incidence @ request.counts])
    secret = request.secret or random_secrets.token_bytes(SECRET_BYTES)
    if request.method == "cell_key":
        values, status, lo, hi = cell_key(request, incidence, secret)
    else:
        values, status, lo, hi = suppression(request, incidence, seconds, secret)
    if ((truth < lo) | (truth > hi)).any():
        raise RuntimeError("the audit's model is wrong: an interval misses its true value")
    figures = (truth >= 1) & (status != PUBLISHED)  # the protected figures
    width = hi - lo + 1
    recovered = figures & (lo == hi)
    narrowed = figures & ~recovered & (lo > 0) & (width < request.k - 1)
    if recovered.any() or narrowed.any():
        raise RuntimeError("the protected table does not meet the protection interval")

    def figure(i: int, dims: dict) -> dict:
        upper = None if math.isinf(hi[i]) else int(hi[i])
        value = None if values[i] < 0 else int(values[i])
        return {"dims": dims, "value": value, "status": status[i], "interval": [int(lo[i]), upper]}

    names = request.dimensions
    cells = [figure(i, dict(zip(names, request.labels[i], strict=True))) for i in range(n)]
    margin_cells: list[list[dict]] = [[] for _ in request.margins]
    for g, (m, labels) in enumerate(described):
        dims = {names[j]: label for j, label in zip(request.margins[m], labels, strict=True)}
        margin_cells[m].append(figure(n + g, dims))
    margins = [
        {"dimensions": [names[j] for j in idx], "cells": figures_of}
        for idx, figures_of in zip(request.margins, margin_cells, strict=True)
    ]
    released = values >= 0
    summary: dict[str, int | float | None] = {
        "cells": n,
        "published_cells": int(released[:n].sum()),
        "published_share": round(float(released[:n].mean()), 4),
        "primary": int((status == PRIMARY).sum()),
        "secondary": int((status == SECONDARY).sum()),
        "margin_cells": len(described),
        "published_margin_cells": int(released[n:].sum()),
        "protected_figures": int(figures.sum()),
        "recovered": int(recovered.sum()),
        "narrowed": int(narrowed.sum()),
    }
    result = {"method": request.method, "k": request.k, "dimensions": list(names),
              "cells": cells, "margins": margins, "summary": summary}  # fmt: skip
    if request.method == "cell_key":
        dev = np.abs(values - truth).astype(float)
        summary |= {
            "mean_abs_deviation": round(float(dev[:n].mean()), 4),
            "max_abs_deviation": int(dev[:n].max()),
            "margin_mean_abs_deviation": round(float(dev[n:].mean()), 4) if len(dev) > n else None,
            "margin_max_abs_deviation": int(dev[n:].max()) if len(dev) > n else None,
        }
        result |= {"ckm_d": request.d, "ckm_v": request.v}
    if request.secret is None:  # a caller's own secret is never echoed
        result["secret"] = secret.hex()
    return result
