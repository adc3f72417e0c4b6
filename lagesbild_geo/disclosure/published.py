"""What the attacker's audit reads of one publication: the published figures, and the true
contributions behind them (restricted: only the audit, run by the database owner, has them).

Pure data (numpy arrays, a sparse matrix for the linked figures); ``publish.audit`` fills it
from the database, the tests from generated tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array

#: Breakdown bins of a count: weekdays Monday..Sunday, then the hours 00..23.
BINS = 31
WEEKDAY = slice(0, 7)
HOUR = slice(7, 31)


@dataclass
class Publication:
    """One publication's protected figures and the true contributions behind them.

    A *cell figure* is one published integer of a weekly cell: a count's (or a rate's)
    count, a share's numerator or its rest (denominator − numerator), named by ``key``
    (stable between publications). ``bins`` holds the published weekday (columns 0–6) and
    hour (7–30) bins of a count with a published breakdown, -1 in every column elsewhere.

    Each contribution (one actor's part of one cell figure) has its true value and bins and
    a ``content`` identity: the same content means the same record key, so the same
    protected value in every publication. ``sums`` (S × cells, coefficients >= 0, named by
    ``sum_keys``) are the published figures *derived* from the cells (``situation``), audited
    as figures of their own; ``constraints`` (R × cells, ``constraint_lo <= L x <=
    constraint_hi`` on the true values) is what is published but *not* derived from the cells,
    which the attacker then knows of the truth. ``d`` is the perturbation table's maximum
    deviation, ``k`` the threshold of the protection interval.
    """

    key: np.ndarray
    published: np.ndarray
    bins: np.ndarray
    contrib_cell: np.ndarray
    contrib_actor: np.ndarray
    contrib_value: np.ndarray
    contrib_bins: np.ndarray
    contrib_content: np.ndarray
    d: int
    k: int
    sums: csr_array | None = None
    sum_keys: np.ndarray | None = None
    constraints: csr_array | None = None
    constraint_lo: np.ndarray | None = None
    constraint_hi: np.ndarray | None = None

    def __post_init__(self) -> None:
        c = len(self.key)
        self.key = np.asarray(self.key, dtype=object)
        self.published = np.asarray(self.published, dtype=np.int64).reshape(c)
        self.bins = np.asarray(self.bins, dtype=np.int64).reshape(c, BINS)
        self.contrib_cell = np.asarray(self.contrib_cell, dtype=np.int64)
        m = len(self.contrib_cell)
        self.contrib_actor = np.asarray(self.contrib_actor, dtype=object).reshape(m)
        self.contrib_value = np.asarray(self.contrib_value, dtype=np.int64).reshape(m)
        self.contrib_bins = np.asarray(self.contrib_bins, dtype=np.int64).reshape(m, BINS)
        self.contrib_content = np.asarray(self.contrib_content, dtype=object).reshape(m)
        self.sums = csr_array((0, c)) if self.sums is None else csr_array(self.sums)
        self.sum_keys = np.asarray(
            [] if self.sum_keys is None else self.sum_keys, dtype=object
        ).reshape(self.sums.shape[0])
        if self.constraints is None:
            self.constraints = csr_array((0, c))
            self.constraint_lo = self.constraint_hi = np.zeros(0)
        self.constraints = csr_array(self.constraints)
        self.constraint_lo = np.asarray(self.constraint_lo, dtype=float)
        self.constraint_hi = np.asarray(self.constraint_hi, dtype=float)
        if (self.sums.data < 0).any():
            raise ValueError("a derived sum adds figures: its coefficients must be >= 0")
        if self.sums.shape[1] != c or self.constraints.shape[1] != c:
            raise ValueError("sums and constraints need one column per cell figure")

    @property
    def truth(self) -> np.ndarray:
        """The true value of every cell figure: the sum of its contributions."""
        return np.bincount(self.contrib_cell, self.contrib_value, minlength=len(self.key)).astype(
            np.int64
        )

    def truth_bins(self) -> np.ndarray:
        out = np.zeros((len(self.key), BINS), dtype=np.int64)
        np.add.at(out, self.contrib_cell, self.contrib_bins)
        return out

    def has_bins(self) -> np.ndarray:
        return self.bins[:, 0] >= 0

    def inconsistencies(self) -> list[str]:
        """What contradicts the method itself (the audit refuses to model it)."""
        out = []
        n = np.bincount(self.contrib_cell, minlength=len(self.key))
        bad = (n == 0) & (self.published != 0)
        if bad.any():
            out.append(f"{int(bad.sum())} figure(s) published above 0 without contributions")
        with_bins = self.has_bins()
        for name, part in (("weekday", WEEKDAY), ("hour", HOUR)):
            off = with_bins & (self.bins[:, part].sum(1) != self.published)
            if off.any():
                out.append(f"{int(off.sum())} {name} breakdown(s) not adding up to the figure")
        if (self.published < 0).any() or (self.bins[with_bins] < 0).any():
            out.append("negative published figures")
        return out
