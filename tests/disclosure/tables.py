"""Generated tables built to be hard for the audit: many small cells, sparse areas, several
contributors per cell, breakdowns, overlapping 4-week sums; protected with the real method
(:mod:`lagesbild_geo.disclosure.protect`), one record key per contribution."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_array

from lagesbild_geo.disclosure import keys, protect
from lagesbild_geo.disclosure.ptable import build, default_d
from lagesbild_geo.disclosure.published import BINS, HOUR, WEEKDAY, Publication

SECRET = b"test-secret"
ACTORS = ("polisen", "vaktbolaget", "bostadsbolaget")


@dataclass
class Truth:
    """The true contributions of a generated table: (area, week, actor) -> value, bins."""

    areas: int
    weeks: int
    values: dict = field(default_factory=dict)  # (area, week, actor) -> (value, bins | None)


def generate(seed: int = 0, areas: int = 6, weeks: int = 12, breakdowns: bool = True) -> Truth:
    rng = np.random.default_rng(seed)
    truth = Truth(areas, weeks)
    for a in range(areas):
        sparse = a % 3 == 2  # every third area nearly empty
        for w in range(weeks):
            for actor in ACTORS:
                if rng.random() < (0.7 if sparse else 0.25):
                    continue
                value = int(rng.poisson(0.6 if sparse else 2.5))
                bins = None
                if breakdowns and actor != "polisen":
                    hours = rng.integers(0, 168, size=value)
                    bins = np.zeros(BINS, dtype=np.int64)
                    np.add.at(bins, hours // 24, 1)
                    np.add.at(bins, 7 + hours % 24, 1)
                truth.values[a, w, actor] = (value, bins)
    return truth


def content(value: int, bins) -> str:
    text = f"{value}:{'' if bins is None else ','.join(map(str, bins))}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def publish(
    truth: Truth, k: int = 5, v: float = 1.0, window: int = 4, cells_of=None
) -> Publication:
    """Protect and publish: one cell per (area, week, kind) where kind groups actors
    (``cells_of``: actor -> kind; default all actors in one kind, so several contributors
    per cell); the derived 4-week sums of every window of every area as ``sums``."""
    d = default_d(k)
    table = build(d, v)
    kind_of = cells_of or (lambda actor: "all")
    cells: dict[tuple, int] = {}
    rows = []  # cell, actor, value, bins, content, protected value, protected bins
    for (a, w, actor), (value, bins) in sorted(truth.values.items()):
        cell = cells.setdefault((a, w, kind_of(actor)), len(cells))
        ident = content(value, bins)
        u = keys.record_keys(SECRET, [f"{a}:{w}:{actor}:{ident}".encode()])[0]
        pv = int(protect.protect_counts(table, np.array([value]), u[:1])[0])
        pb = None
        if bins is not None:
            pb = np.concatenate(
                [
                    protect.protect_breakdown(
                        table, bins[None, WEEKDAY], u[None, 1:8], np.array([pv])
                    )[0],
                    protect.protect_breakdown(
                        table, bins[None, HOUR], u[None, 8:32], np.array([pv])
                    )[0],
                ]
            )
        rows.append((cell, actor, value, bins, ident, pv, pb))
    c = len(cells)
    published = np.zeros(c, dtype=np.int64)
    pbins = np.zeros((c, BINS), dtype=np.int64)
    all_bins = np.ones(c, dtype=bool)
    for cell, _, _, bins, _, pv, pb in rows:
        published[cell] += pv
        if pb is None or (pb < 0).any() or (np.abs(pb - bins) > d).any():
            all_bins[cell] = False
        else:
            pbins[cell] += pb
    pbins[~all_bins] = -1
    keys_ = [f"{a}:{w}:{kind}" for (a, w, kind) in cells]
    sums_r, sums_c, names = [], [], []
    for a in range(truth.areas):
        for start in range(truth.weeks - window + 1):
            r = len(names)
            names.append(f"{a}:{start}+{window}")
            for (ca, cw, _), i in cells.items():
                if ca == a and start <= cw < start + window:
                    sums_r.append(r)
                    sums_c.append(i)
    sums = csr_array((np.ones(len(sums_r)), (sums_r, sums_c)), shape=(len(names), c))
    return Publication(
        key=keys_, published=published, bins=pbins,
        contrib_cell=[r[0] for r in rows], contrib_actor=[r[1] for r in rows],
        contrib_value=[r[2] for r in rows],
        contrib_bins=[np.zeros(BINS, dtype=np.int64) if r[3] is None else r[3] for r in rows],
        contrib_content=[r[4] for r in rows], d=d, k=k, sums=sums, sum_keys=names,
    )  # fmt: skip


def plant_exact_sums(pub: Publication) -> Publication:
    """The planted leak: every derived sum published as the EXACT true sum (not derived)."""
    truth = pub.sums @ pub.truth
    pub.constraints = pub.sums.copy()
    pub.constraint_lo = truth.astype(float)
    pub.constraint_hi = truth.astype(float)
    return pub
