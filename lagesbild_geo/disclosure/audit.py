"""The attacker's audit: is any protected figure narrowed below the protection interval?

For every protected figure (a published weekly cell figure, breakdown bin or ``situation``
figure whose true value is at least 1) the attacker's feasible interval ``[lo, hi]`` is
solved (:mod:`.attack`: as the public and as each actor, from one publication or two
consecutive ones) and classified as ``docs/disclosure.md`` defines it:

* *recovered*: ``lo == hi``;
* *protected*: ``lo == 0`` (it cannot be told from nothing) or at least ``k - 1`` values
  (``hi - lo + 1 >= k - 1``, as wide as primary suppression's ``1..k-1``);
* *narrowed*: neither;
* *error*: the interval does not hold the truth: the audit's model is wrong, not a pass.

The table has one row per kind of figure and attacker, like the issue's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lagesbild_geo.disclosure.attack import Attack
from lagesbild_geo.disclosure.published import Publication

KINDS = ("cells", "situation", "weekday", "hour")
KIND_LABELS = {
    "cells": "weekly count cells",
    "situation": "situation figures",
    "weekday": "weekday bins",
    "hour": "hour-of-day bins",
}
STATUSES = ("recovered", "narrowed", "protected", "error")
PUBLIC = "public"


def classify(truth, lo, hi, k: int) -> np.ndarray:
    """The status of each figure (``"zero"`` for a true 0 inside its interval).

    >>> classify(np.array([2, 2, 2, 2, 0, 9]), np.array([2, 1, 0, 2, 0, 1]),
    ...          np.array([2, 3, 3, 5, 3, 4]), 5).tolist()
    ['recovered', 'narrowed', 'protected', 'protected', 'zero', 'error']
    """
    truth, lo, hi = np.asarray(truth), np.asarray(lo), np.asarray(hi)
    out = np.full(truth.shape, "protected", dtype=object)
    out[(lo > 0) & (hi - lo + 1 < k - 1)] = "narrowed"
    out[lo == hi] = "recovered"
    out[truth == 0] = "zero"
    out[(truth < lo) | (truth > hi)] = "error"
    return out


@dataclass
class Result:
    """Every audited figure of one attacker: kind, name, publication (0 = the one audited,
    -1 = the one before it), truth and interval, and the solver's work."""

    attacker: str
    kind: np.ndarray
    key: np.ndarray
    publication: np.ndarray
    truth: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    k: int
    solved: int = 0
    status: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.status = classify(self.truth, self.lo, self.hi, self.k)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: the protected figures (``total``) and how many have each status."""
        out = {}
        for kind in KINDS:
            mine = (self.kind == kind) & ((self.truth >= 1) | (self.status == "error"))
            row = {"total": int(mine.sum())}
            row |= {s: int((mine & (self.status == s)).sum()) for s in STATUSES}
            out[kind] = row
        return out

    def failures(self) -> int:
        """Recovered, narrowed and erroneous figures: 0 is a pass."""
        return int(np.isin(self.status, ("recovered", "narrowed", "error")).sum())

    def worst(self, limit: int = 10) -> list[dict]:
        """The first failing figures, for the report."""
        bad = np.flatnonzero(np.isin(self.status, ("recovered", "narrowed", "error")))
        return [
            {"kind": str(self.kind[i]), "key": str(self.key[i]), "status": str(self.status[i]),
             "publication": int(self.publication[i]), "lo": int(self.lo[i]),
             "hi": int(self.hi[i])}
            for i in bad[:limit]
        ]  # fmt: skip


def audit(
    publications: list[Publication], attacker: str | None = None, *, highs_only: bool = False
) -> Result:
    """Audit one publication (``[N]``) or two consecutive ones jointly (``[N, N + 1]``).

    ``attacker`` is ``None`` for the public, else the actor whose own contributions it
    knows exactly. ``highs_only`` solves every figure with HiGHS instead of using the closed
    form where a figure's block has its shape (the same intervals, slower; a check).
    """
    attack = Attack(publications, attacker, highs_only)
    kind, key, pub, truth, lo, hi = attack.run()
    return Result(
        attacker=PUBLIC if attacker is None else f"actor {attacker}",
        kind=kind, key=key, publication=pub, truth=truth, lo=lo, hi=hi,
        k=publications[-1].k, solved=attack.solved,
    )  # fmt: skip


def actors(publications: list[Publication]) -> list[str]:
    """Every actor with a contribution to the publications."""
    found: set[str] = set()
    for pub in publications:
        found |= {str(a) for a in pub.contrib_actor.tolist()}
    return sorted(found)


def audit_all(
    publications: list[Publication],
    attackers: list[str] | None = None,
    *,
    highs_only: bool = False,
) -> list[Result]:
    """The public and every actor (default: every actor with a contribution)."""
    names = actors(publications) if attackers is None else attackers
    return [audit(publications, None, highs_only=highs_only)] + [
        audit(publications, a, highs_only=highs_only) for a in names
    ]


def table(results: list[Result]) -> list[dict]:
    """One row per kind of figure and attacker: the total and each status's count."""
    rows = []
    for result in results:
        for kind, row in result.counts().items():
            rows.append({"figures": KIND_LABELS[kind], "kind": kind,
                         "attacker": result.attacker, **row})  # fmt: skip
    return rows
