"""The attacker's knowledge as an integer system, and every protected figure's feasible interval.

The model is the cell key method's with the actor's contribution as the record
(``docs/disclosure.md``). A published figure is the sum of its contributions' protected
values; each protected value is within ``D`` of its true value, a true 0 stays 0 and a
positive value never goes below 0. Per *group* of ``n`` contributions whose protected values
the attacker cannot tell apart, with true sum ``X`` and protected sum ``P``:

    X - nD <= P <= X + nD,   P <= (1 + nD) X,   X, P >= 0 integers

(the last row: ``X = 0`` forces ``P = 0``, and ``P >= 1`` forces ``X >= 1``). Each published
figure is the sum of its groups' ``P``; a published breakdown adds the same per bin, with the
bins of each family (weekdays, hours) adding up to ``X`` and to ``P`` per group. The number of
contributors is assumed known (worst case). The groups:

* the public: one group per figure (all its contributors);
* an actor: its own contribution is a group of one with ``X`` (and its bins) known, the
  others one group; what it is audited on is the others' part;
* two publications: a contribution whose content did not change keeps its record key and so
  its protected value: one group in both; a changed, added or withdrawn contribution is a
  group of its own publication (a fresh key).

What is published but not derived from the cells (``Publication.constraints``) is added as
linear rows on the true values; the derived sums (``situation``) are audited as expressions.

The bulk is closed form: a figure in no constraint with one group has the box
``[max(1, p - nD), p + nD]`` (``[0, nD]`` for ``p = 0``), narrowed by its breakdown's boxes
(:func:`chain`); an actor's figure with others and no breakdown the others' box
(:func:`others_box`). Every other figure is solved by HiGHS (:func:`lp.objective_intervals`).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.sparse import csr_array

from lagesbild_geo.disclosure import lp
from lagesbild_geo.disclosure.published import BINS, HOUR, WEEKDAY, Publication

BIN_KINDS = np.array(["weekday"] * 7 + ["hour"] * 24, dtype=object)


def cell_box(published, n, d: int) -> tuple[np.ndarray, np.ndarray]:
    """What one group of ``n`` contributors' published sum ``p`` says of its true sum.

    >>> cell_box(np.array([0, 1, 9, 0]), np.array([1, 1, 2, 0]), 3)
    (array([0, 1, 3, 0]), array([ 3,  4, 15,  0]))
    """
    p, nd = np.asarray(published), np.asarray(n) * d
    return np.where(p == 0, 0, np.maximum(1, p - nd)), np.where(p == 0, nd, p + nd)


def own_range(x, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The protected values a contribution with true value ``x`` can have."""
    x = np.asarray(x)
    return x - np.minimum(x, d), np.where(x > 0, x + d, 0)


def others_box(published, own_lo, own_hi, m, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The others' true part of a figure to an actor whose own protected value is in
    ``[own_lo, own_hi]``, with ``m`` other contributors.

    >>> others_box(np.array([5, 5]), np.array([1, 4]), np.array([7, 6]), np.array([1, 1]), 3)
    (array([0, 0]), array([7, 4]))
    """
    p = np.asarray(published)
    q_lo, q_hi = np.maximum(p - own_hi, 0), p - own_lo
    md = np.asarray(m) * d
    return np.where(q_lo == 0, 0, np.maximum(1, q_lo - md)), q_hi + md


def chain(x_lo, x_hi, bin_lo, bin_hi):
    """A total in ``[x_lo, x_hi]`` whose weekday and hour bins are in their boxes, each family
    adding up to the total: the total's and the bins' intervals (closed form, exact: the
    total takes every value between its bounds, and given it each family is a box and one
    sum)."""
    t_lo = np.maximum.reduce([x_lo, bin_lo[:, WEEKDAY].sum(1), bin_lo[:, HOUR].sum(1)])
    t_hi = np.minimum.reduce([x_hi, bin_hi[:, WEEKDAY].sum(1), bin_hi[:, HOUR].sum(1)])
    b_lo, b_hi = np.empty_like(bin_lo), np.empty_like(bin_hi)
    for part in (WEEKDAY, HOUR):
        b_lo[:, part], b_hi[:, part] = lp.box_sum_intervals(
            bin_lo[:, part], bin_hi[:, part], t_lo, t_hi
        )
    return t_lo, t_hi, b_lo, b_hi


class _Model:
    """Integer unknowns and rows, collected one by one, then one sparse system."""

    def __init__(self) -> None:
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.row_lo: list[float] = []
        self.row_hi: list[float] = []

    def var(self, lo: float = 0.0, hi: float = lp.INFINITE) -> int:
        self.lo.append(lo)
        self.hi.append(hi)
        return len(self.lo) - 1

    def row(self, terms: dict[int, float], lo: float, hi: float) -> None:
        r = len(self.row_lo)
        for col, val in terms.items():
            self.rows.append(r)
            self.cols.append(col)
            self.vals.append(val)
        self.row_lo.append(lo)
        self.row_hi.append(hi)

    def group(self, x: int, p: int, n: int, d: int) -> None:
        nd = n * d
        self.row({p: 1, x: -1}, -lp.INFINITE, nd)
        self.row({x: 1, p: -1}, -lp.INFINITE, nd)
        self.row({p: 1, x: -(1 + nd)}, -lp.INFINITE, 0)

    def system(self) -> lp.System:
        a = csr_array((self.vals, (self.rows, self.cols)), shape=(len(self.row_lo), len(self.lo)))
        return lp.System(a, np.array(self.row_lo), np.array(self.row_hi),
                         np.array(self.lo), np.array(self.hi))  # fmt: skip


class Attack:
    """One attacker on one publication or two consecutive ones (``[N, N + 1]``)."""

    def __init__(
        self, publications: list[Publication], attacker: str | None, highs_only: bool = False
    ) -> None:
        if not 1 <= len(publications) <= 2:
            raise ValueError("the audit models one publication or two consecutive ones")
        for pub in publications:
            problems = pub.inconsistencies()
            if problems:
                raise ValueError("the publication contradicts the method: " + "; ".join(problems))
        self.pubs = publications
        self.attacker = attacker
        self.highs_only = highs_only  # every figure through HiGHS, none in closed form
        self.d = publications[-1].d
        self.solved = 0
        self._contributions()

    def _contributions(self) -> None:
        """Per contribution: own, and kept unchanged in the other publication; per cell:
        counts, own ranges, the truth of the others' part."""
        ident = [
            np.char.add(
                np.char.add(p.key[p.contrib_cell].astype(str), "\x1f"),
                np.char.add(np.char.add(p.contrib_actor.astype(str), "\x1f"),
                            p.contrib_content.astype(str)),
            ) if len(p.contrib_cell) else np.zeros(0, dtype=str)
            for p in self.pubs
        ]  # fmt: skip
        self.ident = ident
        self.kept = [np.zeros(len(i), dtype=bool) for i in ident]
        if len(self.pubs) == 2:
            self.kept[0] = np.isin(ident[0], ident[1])
            self.kept[1] = np.isin(ident[1], ident[0])
        self.own, self.n_own, self.n_other, self.n_kept, self.n = [], [], [], [], []
        self.own_lo, self.own_hi, self.own_value, self.own_bins = [], [], [], []
        for p, kept in zip(self.pubs, self.kept, strict=True):
            c = len(p.key)
            own = p.contrib_actor.astype(str) == str(self.attacker)
            olo, ohi = own_range(p.contrib_value, self.d)

            def count(w, p=p, c=c):
                return np.bincount(p.contrib_cell, w, minlength=c)

            self.own.append(own)
            self.n.append(count(None).astype(np.int64))
            self.n_own.append(count(own.astype(float)).astype(np.int64))
            self.n_other.append(self.n[-1] - self.n_own[-1])
            self.n_kept.append(count(kept.astype(float)).astype(np.int64))
            self.own_lo.append(count(np.where(own, olo, 0)).astype(np.int64))
            self.own_hi.append(count(np.where(own, ohi, 0)).astype(np.int64))
            self.own_value.append(count(np.where(own, p.contrib_value, 0)).astype(np.int64))
            ob = np.zeros((c, BINS), dtype=np.int64)
            np.add.at(ob, p.contrib_cell[own], p.contrib_bins[own])
            self.own_bins.append(ob)

    def _modes(self) -> list[np.ndarray]:
        """Per publication and cell: 'box', 'others', 'known', 'dup' (N's copy of an unchanged
        cell of N + 1) or 'ilp'."""
        modes = []
        for t, p in enumerate(self.pubs):
            m = np.full(len(p.key), "box", dtype=object)
            m[(self.n_own[t] > 0) & (self.n_other[t] > 0)] = "others"
            m[(self.n_own[t] > 0) & p.has_bins() & (self.n_other[t] > 0)] = "ilp"
            m[(self.n_other[t] == 0)] = "known"
            modes.append(m)
        ilp_keys = set()
        for t, p in enumerate(self.pubs):
            linked = np.zeros(len(p.key), dtype=bool)
            assert p.constraints is not None  # Publication.__post_init__ fills it
            linked[p.constraints.indices] = True
            ilp_keys |= set(p.key[linked | (modes[t] == "ilp")].tolist())
        if len(self.pubs) == 2:
            kept, whole = self.n_kept, [self.n_kept[t] == self.n[t] for t in (0, 1)]
            shared = [(kept[t] > 0) & ~whole[t] for t in (0, 1)]
            for t in (0, 1):
                ilp_keys |= set(self.pubs[t].key[shared[t]].tolist())
            # cells whose every contribution is kept: N's figure is N + 1's
            index1 = {k: i for i, k in enumerate(self.pubs[1].key.tolist())}
            for i in np.flatnonzero(whole[0] & (kept[0] > 0)):
                j = index1.get(self.pubs[0].key[i])
                if j is None or not whole[1][j]:
                    ilp_keys.add(self.pubs[0].key[i])
                    continue
                same = self.pubs[0].published[i] == self.pubs[1].published[j] and np.array_equal(
                    self.pubs[0].bins[i], self.pubs[1].bins[j])  # fmt: skip
                if not same:
                    raise ValueError(
                        f"{self.pubs[0].key[i]}: published differently in the two publications "
                        "though none of its contributions changed (the record keys are not "
                        "stable)"
                    )
                modes[0][i] = "dup"
        for t, p in enumerate(self.pubs):
            modes[t][np.isin(p.key, list(ilp_keys))] = "ilp"
            if self.highs_only:
                modes[t][(modes[t] != "dup") & (modes[t] != "known")] = "ilp"
        return modes

    def run(self):
        """(kind, key, publication, truth, lo, hi) of every audited figure."""
        modes = self._modes()
        closed = [self._closed(t, modes[t]) for t in range(len(self.pubs))]
        if len(self.pubs) == 2:  # N's unchanged cells take N + 1's intervals
            index1 = {k: i for i, k in enumerate(self.pubs[1].key.tolist())}
            for i in np.flatnonzero(modes[0] == "dup"):
                j = index1[self.pubs[0].key[i]]
                for a in range(4):
                    closed[0][a][i] = closed[1][a][j]
        exprs, sys_ = self._ilp(modes)
        out = defaultdict(list)
        objectives, owners = [], []
        for t, p in enumerate(self.pubs):
            pub_no = t - len(self.pubs) + 1
            truth = p.truth - self.own_value[t]
            tbins = p.truth_bins() - self.own_bins[t]
            c_lo, c_hi, b_lo, b_hi = closed[t]
            audited = (self.n_other[t] > 0) & (modes[t] != "dup")
            with_bins = audited & p.has_bins()
            for i in np.flatnonzero(audited):
                self._emit(out, "cells", p.key[i], pub_no, truth[i], c_lo[i], c_hi[i])
                if modes[t][i] == "ilp":
                    objectives.append(exprs[t, i, -1])
                    owners.append(len(out["key"]) - 1)
            for i in np.flatnonzero(with_bins):
                for b in range(BINS):
                    name = f"{p.key[i]}:{BIN_KINDS[b]}{b if b < 7 else b - 7}"
                    self._emit(out, BIN_KINDS[b], name, pub_no, tbins[i, b], b_lo[i, b],
                               b_hi[i, b])  # fmt: skip
                    if modes[t][i] == "ilp":
                        objectives.append(exprs[t, i, b])
                        owners.append(len(out["key"]) - 1)
            self._sums(out, t, pub_no, truth, c_lo, c_hi, modes[t], exprs, objectives, owners)
        lo = np.array(out["lo"], dtype=float)
        hi = np.array(out["hi"], dtype=float)
        if objectives:
            width = len(sys_.x_lo)
            rows = [(r, col, v) for r, e in enumerate(objectives) for col, v in e.items()]
            r_, c_, v_ = zip(*rows, strict=True) if rows else ((), (), ())
            obj = csr_array((v_, (r_, c_)), shape=(len(objectives), width))
            o_lo, o_hi = lp.objective_intervals(sys_, obj)
            self.solved = len(objectives)
            np.add.at(lo, owners, o_lo)
            np.add.at(hi, owners, o_hi)
        result = [np.array(out[a], dtype=object) for a in ("kind", "key")]
        result += [np.array(out["pub"], dtype=np.int64), np.array(out["truth"], dtype=np.int64)]
        return self._dedupe(*result, lo + 0.0, hi + 0.0)

    @staticmethod
    def _emit(out, kind, key, pub, truth, lo, hi) -> None:
        out["kind"].append(kind)
        out["key"].append(key)
        out["pub"].append(pub)
        out["truth"].append(int(truth))
        out["lo"].append(float(lo))
        out["hi"].append(float(hi))

    def _sums(self, out, t, pub_no, truth, c_lo, c_hi, modes, exprs, objectives, owners):
        p = self.pubs[t]
        s = p.sums
        for r in range(s.shape[0]):
            cols = s.indices[s.indptr[r] : s.indptr[r + 1]]
            coef = s.data[s.indptr[r] : s.indptr[r + 1]]
            ilp = modes[cols] == "ilp"
            lo = float(coef[~ilp] @ c_lo[cols[~ilp]])
            hi = float(coef[~ilp] @ c_hi[cols[~ilp]])
            self._emit(out, "situation", p.sum_keys[r], pub_no, coef @ truth[cols], lo, hi)
            if ilp.any():
                expr: dict[int, float] = defaultdict(float)
                for col, v in zip(cols[ilp], coef[ilp], strict=True):
                    for var, w in exprs[t, int(col), -1].items():
                        expr[var] += v * w
                objectives.append(expr)
                owners.append(len(out["key"]) - 1)

    def _closed(self, t: int, modes: np.ndarray):
        """Closed-form intervals of every cell figure's others' part and its bins (NaN where
        HiGHS decides; 0 where the attacker knows the whole figure)."""
        p, d = self.pubs[t], self.d
        c = len(p.key)
        lo, hi = cell_box(p.published, self.n[t], d)
        lo, hi = lo.astype(float), hi.astype(float)
        b_lo = np.full((c, BINS), np.nan)
        b_hi = np.full((c, BINS), np.nan)
        box = (modes == "box") & p.has_bins()
        if box.any():
            bl, bh = cell_box(p.bins[box], self.n[t][box, None], d)
            lo[box], hi[box], b_lo[box], b_hi[box] = chain(lo[box], hi[box], bl, bh)
        others = modes == "others"
        lo[others], hi[others] = others_box(
            p.published[others], self.own_lo[t][others], self.own_hi[t][others],
            self.n_other[t][others], d,
        )  # fmt: skip
        known = modes == "known"
        lo[known] = hi[known] = 0
        b_lo[known] = b_hi[known] = 0
        ilp = modes == "ilp"
        lo[ilp] = hi[ilp] = 0  # HiGHS's parts are added to 0
        b_lo[ilp] = b_hi[ilp] = 0
        return lo, hi, b_lo, b_hi

    def _ilp(self, modes):
        """The integer system of every cell HiGHS decides; per (publication, cell, bin or -1
        for the figure) the expression of the others' true part, and of the whole figure
        under (publication, cell, 'all')."""
        model, d = _Model(), self.d
        exprs: dict = {}
        index = [{k: i for i, k in enumerate(p.key.tolist())} for p in self.pubs]
        keys = sorted({k for t, p in enumerate(self.pubs) for k in p.key[modes[t] == "ilp"]})
        by_cell = [defaultdict(list) for _ in self.pubs]
        for t, p in enumerate(self.pubs):
            for m in np.flatnonzero(modes[t][p.contrib_cell] == "ilp"):
                by_cell[t][int(p.contrib_cell[m])].append(int(m))
        for key in keys:
            cells = [index[t].get(key) for t in range(len(self.pubs))]
            groups = self._groups(cells, by_cell)
            self._family(model, d, cells, groups, exprs)
        for t, p in enumerate(self.pubs):
            lc = p.constraints
            for r in range(lc.shape[0]):
                terms: dict[int, float] = defaultdict(float)
                part = slice(lc.indptr[r], lc.indptr[r + 1])
                for col, v in zip(lc.indices[part], lc.data[part], strict=True):
                    for var, w in exprs[t, int(col), "all"].items():
                        terms[var] += v * w
                model.row(terms, p.constraint_lo[r], p.constraint_hi[r])
        return exprs, model.system()

    def _groups(self, cells, by_cell) -> list[dict]:
        """The contributions of one cell in each publication, as the attacker's groups."""
        groups: dict[tuple, dict] = {}
        for t, c in enumerate(cells):
            if c is None:
                continue
            p = self.pubs[t]
            for m in by_cell[t][c]:
                own = bool(self.own[t][m])
                kept = bool(self.kept[t][m])
                pubs = (0, 1) if kept else (t,)
                gkey = (pubs, "own", self.ident[t][m]) if own else (pubs, "others")
                g = groups.setdefault(gkey, {"pubs": pubs, "n": 0, "own": own, "value": 0,
                                             "bins": np.zeros(BINS, dtype=np.int64)})  # fmt: skip
                if kept and t == 1:
                    continue  # counted from publication N
                g["n"] += 1
                g["value"] += int(p.contrib_value[m])
                g["bins"] = g["bins"] + p.contrib_bins[m]
        return list(groups.values())

    def _family(self, model: _Model, d: int, cells, groups, exprs) -> None:
        """One cell's groups in the model, with its breakdowns where published."""
        with_bins = {t for t, c in enumerate(cells) if c is not None and
                     self.pubs[t].has_bins()[c]}  # fmt: skip
        for g in groups:
            known = g["own"]
            g["x"] = model.var(g["value"], g["value"]) if known else model.var()
            g["p"] = model.var()
            model.group(g["x"], g["p"], g["n"], d)
            if not with_bins & set(g["pubs"]):
                continue
            g["xb"] = [model.var(v, v) if known else model.var() for v in g["bins"].tolist()]
            g["pb"] = [model.var() for _ in range(BINS)]
            for b in range(BINS):
                model.group(g["xb"][b], g["pb"][b], g["n"], d)
            for part in (WEEKDAY, HOUR):
                for whole, bins in ((g["x"], g["xb"]), (g["p"], g["pb"])):
                    terms = {v: 1.0 for v in bins[part]}
                    terms[whole] = -1.0
                    model.row(terms, 0, 0)
        for t, c in enumerate(cells):
            if c is None:
                continue
            p = self.pubs[t]
            mine = [g for g in groups if t in g["pubs"]]
            model.row({g["p"]: 1.0 for g in mine}, p.published[c], p.published[c])
            exprs[t, c, -1] = {g["x"]: 1.0 for g in mine if not g["own"]}
            exprs[t, c, "all"] = {g["x"]: 1.0 for g in mine}
            if t in with_bins:
                for b in range(BINS):
                    model.row({g["pb"][b]: 1.0 for g in mine}, p.bins[c, b], p.bins[c, b])
                    exprs[t, c, b] = {g["xb"][b]: 1.0 for g in mine if not g["own"]}

    def _dedupe(self, kind, key, pub, truth, lo, hi):
        """N's figures that N + 1 publishes alike (same name, truth and interval) once."""
        if len(self.pubs) == 1:
            return kind, key, pub, truth, lo, hi
        later = {(k, n, a, b) for k, n, a, b, q in zip(key, truth, lo, hi, pub, strict=True)
                 if q == 0}  # fmt: skip
        keep = np.array([q == 0 or (k, n, a, b) not in later
                         for k, n, a, b, q in zip(key, truth, lo, hi, pub, strict=True)],
                        dtype=bool)  # fmt: skip
        return kind[keep], key[keep], pub[keep], truth[keep], lo[keep], hi[keep]
