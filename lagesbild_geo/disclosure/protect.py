"""Protecting one actor's contribution to a cell: its count, a share's two parts, a breakdown.

Every function is pure (arrays in, arrays out) and vectorised over contributions. ``publish``
sums the protected contributions into the published cells; the ``k-anonymity`` process uses
the same functions on a posted table.
"""

from __future__ import annotations

import numpy as np

from lagesbild_geo.disclosure.ptable import PTable


def protect_counts(table: PTable, counts: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Each count perturbed by its key (``u`` in [0, 1), same shape)."""
    return table.perturb(counts, u)


def protect_breakdown(
    table: PTable, bins: np.ndarray, u: np.ndarray, totals: np.ndarray
) -> np.ndarray:
    """Perturb each bin by its key, then make the bins add up to the protected total.

    ``bins`` (n, B) are the true bins of n contributions, ``u`` (n, B) their keys, ``totals``
    (n,) the contributions' protected totals. A bin that is truly 0 stays 0 (no event is
    invented at an hour that had none); a positive bin never goes below 0. The bins are then
    moved one at a time towards the protected total: up, the bin furthest below its true value;
    down, the one furthest above it (ties by key), among the truly positive bins. Each bin ends
    within ``D`` of its true value (the deviations start within ``D`` and are only evened out
    towards a total that is itself within ``D``), which ``publish`` checks: a breakdown that
    would not is published as protected (NULL) instead.

    Returns the protected bins, or -1 in every bin of a row that cannot be made to add up
    (a protected total above 0 with no positive bin, which cannot happen for real data).
    """
    bins = np.asarray(bins, dtype=np.int64)
    out = table.perturb(bins, u)
    totals = np.asarray(totals, dtype=np.int64)
    positive = bins > 0
    delta = totals - out.sum(axis=1)
    while True:
        up = delta > 0
        down = delta < 0
        if not (up.any() or down.any()):
            break
        dev = out - bins
        # tie-break by key: scale the deviation, add the key (< 1) as the fraction
        score = dev * 2.0 + np.asarray(u)
        if up.any():
            cand = np.where(positive, score, np.inf)
            col = np.argmin(cand, axis=1)
            ok = up & np.isfinite(cand[np.arange(len(col)), col])
            out[ok, col[ok]] += 1
            delta[ok] -= 1
            stuck = up & ~ok
            delta[stuck] = 0
            out[stuck] = -1
        if down.any():
            cand = np.where(positive & (out > 0), score, -np.inf)
            col = np.argmax(cand, axis=1)
            ok = down & np.isfinite(cand[np.arange(len(col)), col])
            out[ok, col[ok]] -= 1
            delta[ok] += 1
            stuck = down & ~ok
            delta[stuck] = 0
            out[stuck] = -1
    return out


def breakdown_within(table: PTable, bins: np.ndarray, protected: np.ndarray) -> np.ndarray:
    """Per row: is every protected bin within ``D`` of its true value (and made at all)?"""
    return ((protected >= 0) & (np.abs(protected - bins) <= table.d)).all(axis=1)
