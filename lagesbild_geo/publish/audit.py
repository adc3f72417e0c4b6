"""The attacker's audit of the publication: read what is public and the truth behind it, and
hand both to :mod:`lagesbild_geo.disclosure.audit`.

Run as the database owner (the truth is in schema ``lagesbild``). What the public sees:

* ``publish.observations``: every weekly cell figure (a count's count, a rate's numerator, a
  share's numerator and its rest, denominator − numerator) and published breakdowns;
* ``publish.situation``: each figure is checked to equal its derivation from the published
  cells (within its published rounding). A derived figure is audited as a sum of cell figures;
  one that is *not* derived is added to the attacker's knowledge as an exact linear constraint
  on the truth (worst case), so a leak there shows as recovered or narrowed figures;
* ``publish.observation_counts`` and ``publish.indicators``: checked to be what the
  observations give (they carry no number of their own); a mismatch is reported;
* ``publish.situation_by_indicator`` (the per-indicator layers ``situation-<id>``): checked
  to hold exactly the figures of ``publish.situation``, one row per area and indicator (it
  carries no number of its own, so the situation's audit covers it); a mismatch is reported.

The truth: ``lagesbild.approved_observation`` grouped into contributions (one actor's part of
one cell), with the content that makes its record key (``publish._contribution_digest``),
hashed without the secret: the same content is the same key in every publication.

Two publications: :func:`save_snapshot` writes the audit's inputs (public figures and truth:
restricted, so the file is 0600) and :func:`load_snapshot` reads them back to be audited with
the next publication.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql
from scipy.sparse import csr_array

from lagesbild_geo.disclosure.published import BINS, Publication
from lagesbild_geo.errors import InputError, NotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BIN_COLUMNS = [f"by_weekday_{d}" for d in WEEKDAYS] + [f"by_hour_{h:02d}" for h in range(24)]
#: Decimals each situation figure is published with (None: a whole count, exact).
DECIMALS: dict[str, dict[str, int | None]] = {
    "last4": {"count": None, "rate_per_1000": 2, "share": 1},
    "prev12_mean": {"count": 2, "rate_per_1000": 3, "share": 1},
}
#: Relative slack when comparing a published rounded figure with its derivation.
EPS = 1e-9


@dataclass
class Reading:
    """One publication as the audit read it, and what did not check out."""

    publication: Publication
    version: int
    mismatches: list[str] = field(default_factory=list)
    derived: int = 0
    not_derived: int = 0


def _cells(conn: psycopg.Connection):
    cols = ", ".join(BIN_COLUMNS)
    return conn.execute(
        "SELECT id, area_code, week_start, indicator, unit, value, numerator, denominator,"
        f" breakdown_status, {cols} FROM publish.observations ORDER BY id"
    ).fetchall()


def _contributions(conn: psycopg.Connection):
    """One row per contribution, as publish._refresh_begin collects them."""
    return conn.execute(
        "SELECT g.area_code || ':' || to_char(g.week_start, 'IYYY-\"W\"IW') || ':' ||"
        " g.indicator_id || ':' || g.actor_kind, g.actor_id, g.num, g.den, g.wd, g.hr,"
        " md5(concat_ws('|', g.actor_id, g.area_code, g.week_start::text, g.indicator_id,"
        "  g.actor_kind, g.num::text, coalesce(g.den::text, ''), coalesce(g.wd::text, ''),"
        "  coalesce(g.hr::text, '')))"
        " FROM (SELECT o.actor_id, o.area_code, o.week_start, o.indicator_id, o.actor_kind,"
        "  sum(o.numerator) AS num, sum(o.denominator) AS den,"
        "  CASE WHEN count(*) = count(o.by_weekday) THEN publish.array_sum(o.by_weekday) END"
        "   AS wd,"
        "  CASE WHEN count(*) = count(o.by_hour) THEN publish.array_sum(o.by_hour) END AS hr"
        "  FROM lagesbild.approved_observation o"
        "  WHERE o.area_version IS NOT DISTINCT FROM lagesbild.current_area_version()"
        "  GROUP BY o.actor_id, o.area_code, o.week_start, o.indicator_id, o.actor_kind) g"
    ).fetchall()


def read_publication(conn: psycopg.Connection) -> Reading:
    """The current publication and its truth, with the derived figures checked."""
    state = conn.execute("SELECT version, k, ckm_d FROM publish.state").fetchone()
    if state is None or state[2] is None:
        raise NotFoundError("Nothing is published yet: run 'lagesbild publish refresh' first")
    version, k, d = state
    keys: list[str] = []
    published: list[int] = []
    bins: list[list[int]] = []
    index: dict[str, int] = {}
    cell_rows = []  # (cell id, area, week, indicator, unit, figure indices)
    for row in _cells(conn):
        cid, area, week, ind, unit, value, num, den, bstatus = row[:9]
        if unit == "share":
            parts = [(":n", int(num)), (":r", int(den) - int(num))]
        elif unit == "count":
            parts = [(":n", int(round(value)))]
        else:
            parts = [(":n", int(num))]
        figs = []
        for suffix, p in parts:
            index[cid + suffix] = len(keys)
            figs.append(len(keys))
            keys.append(cid + suffix)
            published.append(p)
            show = suffix == ":n" and bstatus == "published"
            bins.append([int(b) for b in row[9:]] if show else [-1] * BINS)
        cell_rows.append((area, week, ind, unit, figs))
    reading = Reading(publication=None, version=version)  # type: ignore[arg-type]
    c_cell, c_actor, c_value, c_bins, c_content = [], [], [], [], []
    orphans = 0
    for cid, actor, num, den, wd, hr, content in _contributions(conn):
        share = den is not None and (cid + ":r") in index
        parts = [(":n", int(num))] + ([(":r", int(den) - int(num))] if share else [])
        for suffix, value in parts:
            i = index.get(cid + suffix)
            if i is None:
                orphans += 1
                continue
            c_cell.append(i)
            c_actor.append(actor)
            c_value.append(value)
            c_bins.append(list(wd) + list(hr) if wd is not None and hr is not None and
                          suffix == ":n" else [0] * BINS)  # fmt: skip
            c_content.append(content)
    if orphans:
        reading.mismatches.append(f"{orphans} approved contribution(s) have no published cell")
    sums, sum_keys, lc, l_lo, l_hi = _situation(conn, cell_rows, published, reading)
    reading.publication = Publication(
        key=np.asarray(keys, dtype=object), published=np.asarray(published),
        bins=np.asarray(bins), contrib_cell=np.asarray(c_cell),
        contrib_actor=np.asarray(c_actor, dtype=object), contrib_value=np.asarray(c_value),
        contrib_bins=np.array(c_bins).reshape(-1, BINS),
        contrib_content=np.asarray(c_content, dtype=object), d=d, k=k, sums=sums,
        sum_keys=sum_keys, constraints=lc, constraint_lo=l_lo, constraint_hi=l_hi,
    )  # fmt: skip
    _check_counts(conn, reading)
    _check_situation_by_indicator(conn, reading)
    return reading


def _close(published, derived, decimals: int | None) -> bool:
    if published is None or derived is None:
        return published is None and derived is None
    if decimals is None:
        return abs(float(published) - float(derived)) <= EPS * max(1.0, abs(float(derived)))
    half = 0.5 * 10.0**-decimals
    return abs(float(published) - float(derived)) <= half + EPS * max(1.0, abs(float(derived)))


def _situation(conn, cell_rows, published: list[int], reading: Reading):
    """Every situation figure: derived (a sum to audit) or not (a constraint on the truth)."""
    refs = dict(
        conn.execute("SELECT indicator, max(week_start) FROM publish.observations GROUP BY 1")
    )
    groups: dict[tuple, dict] = defaultdict(lambda: {"4": [], "12": [], "w4": set(),
                                                     "w12": set()})  # fmt: skip
    units = {}
    for area, week, ind, unit, figs in cell_rows:
        ref = refs[ind]
        if ref - timedelta(days=28) < week <= ref:
            part = "4"
        elif ref - timedelta(days=112) < week <= ref - timedelta(days=28):
            part = "12"
        else:
            continue
        g = groups[area, ind]
        g[part].append(figs)
        g["w" + part].add(week)
        units[ind] = unit
    cur = conn.execute("SELECT * FROM publish.situation")
    names = [c.name for c in cur.description]
    rows_s: list[int] = []
    cols_s: list[int] = []
    vals_s: list[float] = []
    sum_keys: list[str] = []
    rows_l: list[int] = []
    cols_l: list[int] = []
    vals_l: list[float] = []
    l_lo: list[float] = []
    l_hi: list[float] = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        area, pop = rec["area_code"], rec["population"]
        for ind, unit in units.items():
            grp = groups.get((area, ind))
            if grp is None:
                continue
            _check_week_and_change(rec, ind, unit, grp, refs[ind], published, reading)
            for part, column in (("4", "last4"), ("12", "prev12_mean")):
                figs = grp[part]
                if not figs:
                    continue
                weeks = len(grp["w" + part])
                name = f"{area}:{ind}_{column}"
                derived, linear = _derivation(unit, column, figs, weeks, pop, published)
                value = rec.get(f"{ind}_{column}")
                ok = _close(value, derived, DECIMALS[column][unit])
                targets = [[f[0] for f in figs]] + ([[f[1] for f in figs]] if unit == "share"
                                                    else [])  # fmt: skip
                for t, members in enumerate(targets):
                    sum_keys.append(name + ("" if t == 0 else ":rest"))
                    r = len(sum_keys) - 1
                    rows_s += [r] * len(members)
                    cols_s += members
                    vals_s += [1.0] * len(members)
                if ok:
                    reading.derived += 1
                    continue
                reading.not_derived += 1
                reading.mismatches.append(f"situation {name} = {value} is not derived from the "
                                          f"published cells ({derived})")  # fmt: skip
                if value is None:
                    continue
                for coefs, lo, hi in linear(float(value)):
                    r = len(l_lo)
                    for col, v in coefs.items():
                        rows_l.append(r)
                        cols_l.append(col)
                        vals_l.append(v)
                    l_lo.append(lo)
                    l_hi.append(hi)
    n = len(published)
    sums = csr_array((vals_s, (rows_s, cols_s)), shape=(len(sum_keys), n))
    lc = csr_array((vals_l, (rows_l, cols_l)), shape=(len(l_lo), n))
    return sums, np.array(sum_keys, dtype=object), lc, np.array(l_lo), np.array(l_hi)


def _check_week_and_change(rec, ind, unit, grp, ref, published, reading: Reading) -> None:
    """``<ind>_week`` is the indicator's newest published week and ``<ind>_change_pct`` the
    change of the weekly means (shares: of the pooled shares) of the published cells. They
    are functions of figures already audited; one that is not is a mismatch (a failure),
    since a change published from the exact figures would leak their ratio."""
    name = f"{rec['area_code']}:{ind}"
    if rec.get(f"{ind}_week") != ref.strftime("%G-W%V"):
        reading.mismatches.append(f"situation {name}_week is not the newest published week")
    derived = None
    four, twelve = grp["4"], grp["12"]
    if four and twelve:
        n4 = sum(published[f[0]] for f in four)
        n12 = sum(published[f[0]] for f in twelve)
        if unit == "share":
            d4 = n4 + sum(published[f[1]] for f in four)
            d12 = n12 + sum(published[f[1]] for f in twelve)
            if d4 > 0 and d12 > 0 and n12 > 0:
                derived = 100.0 * ((n4 / d4) / (n12 / d12) - 1)
        elif n12 > 0 and (unit != "rate_per_1000" or rec["population"]):
            derived = 100.0 * ((n4 / len(grp["w4"])) / (n12 / len(grp["w12"])) - 1)
    value = rec.get(f"{ind}_change_pct")
    if _close(value, derived, 1):
        reading.derived += 1
    else:
        reading.not_derived += 1
        reading.mismatches.append(
            f"situation {name}_change_pct = {value} is not derived from the published cells"
            f" ({derived})"
        )


def _derivation(unit, column, figs, weeks, pop, published):
    """The figure from the published cells, and its constraints on the truth if published
    otherwise: ``linear(value)`` gives rows (coefficients per cell figure, lo, hi)."""
    num = sum(published[f[0]] for f in figs)
    rest = sum(published[f[1]] for f in figs) if unit == "share" else 0
    nums = {f[0]: 1.0 for f in figs}
    if unit == "share":
        den = num + rest
        derived = 100.0 * num / den if den > 0 else None

        def linear(v):  # (v - .05)/100 <= num / (num + rest) <= (v + .05)/100
            lo_r, hi_r = (v - 0.05) / 100, (v + 0.05) / 100
            up = {f[0]: 1 - hi_r for f in figs} | {f[1]: -hi_r for f in figs}
            down = {f[0]: 1 - lo_r for f in figs} | {f[1]: -lo_r for f in figs}
            return [(up, -math.inf, 0.0), (down, 0.0, math.inf)]

        return derived, linear
    scale, decimals = 1.0, 2
    if unit == "rate_per_1000":
        if not pop:
            return None, lambda v: []
        scale = 1000.0 / pop
        decimals = 2 if column == "last4" else 3
    per = 1.0 if column == "last4" else 1.0 / weeks
    exact = unit == "count" and column == "last4"
    derived = num if exact else num * scale * per
    half = 0.0 if exact else 0.5 * 10.0**-decimals

    def linear(v):  # the truth's sum in [(v - half), (v + half)] / (scale * per)
        return [(nums, (v - half) / (scale * per), (v + half) / (scale * per))]

    return derived, linear


def _check_counts(conn, reading: Reading) -> None:
    """observation_counts and indicators' weeks are what publish.observations gives."""
    diff = conn.execute(
        "SELECT count(*) FROM ((SELECT iso_week, indicator, actor_kind, value, value_status,"
        " has_breakdown, n FROM publish.observation_counts EXCEPT ALL"
        " SELECT iso_week, indicator, actor_kind, value, value_status, has_breakdown, count(*)"
        " FROM publish.observations GROUP BY 1, 2, 3, 4, 5, 6) UNION ALL"
        " (SELECT iso_week, indicator, actor_kind, value, value_status, has_breakdown,"
        " count(*) FROM publish.observations GROUP BY 1, 2, 3, 4, 5, 6 EXCEPT ALL"
        " SELECT iso_week, indicator, actor_kind, value, value_status, has_breakdown, n"
        " FROM publish.observation_counts)) d"
    ).fetchone()[0]
    if diff:
        reading.mismatches.append(f"{diff} row(s) of observation_counts not derived")
    weeks = conn.execute(
        "SELECT count(*) FROM publish.indicators i LEFT JOIN (SELECT indicator,"
        " min(week_start) AS lo, max(week_start) AS hi FROM publish.observations GROUP BY 1) o"
        " ON o.indicator = i.id WHERE i.first_week IS DISTINCT FROM o.lo"
        " OR i.last_week IS DISTINCT FROM o.hi"
    ).fetchone()[0]
    if weeks:
        reading.mismatches.append(f"{weeks} indicator(s) whose weeks are not the published ones")


def _check_situation_by_indicator(conn, reading: Reading) -> None:
    """situation_by_indicator is the wide situation's figures, one row per area × indicator."""
    indicators = [i for (i,) in conn.execute("SELECT id FROM lagesbild.indicator ORDER BY 1")]
    expected = conn.execute("SELECT count(*) FROM publish.areas").fetchone()[0] * len(indicators)
    rows = conn.execute("SELECT count(*) FROM publish.situation_by_indicator").fetchone()[0]
    if rows != expected:
        reading.mismatches.append(
            f"situation_by_indicator has {rows} rows, not one per area and indicator ({expected})"
        )
    for indicator in indicators:
        column = {
            s: sql.Identifier(f"{indicator}_{s}")
            for s in ("last4", "prev12_mean", "change_pct", "week")
        }
        differ = sql.SQL(
            "SELECT l.area_code FROM publish.situation_by_indicator l"
            " LEFT JOIN publish.situation s ON s.area_code = l.area_code"
            " WHERE l.indicator = %s AND (s.area_code IS NULL"
            " OR l.last4 IS DISTINCT FROM s.{last4}"
            " OR l.prev12_mean IS DISTINCT FROM s.{prev12_mean}"
            " OR l.change_pct IS DISTINCT FROM s.{change_pct}"
            " OR l.reference_week IS DISTINCT FROM s.{week})"
        ).format(**column)
        for (area,) in conn.execute(differ, (indicator,)):
            reading.mismatches.append(
                f"situation_by_indicator {area}:{indicator} is not the situation's figures"
            )


def save_snapshot(reading: Reading, path: Path) -> Path:
    """The audit's inputs of this publication, for the next one's joint audit. They hold the
    truth, so the file is written 0600 (created so, never readable by others)."""
    pub = reading.publication
    arrays = {
        "version": np.array(reading.version), "d": np.array(pub.d), "k": np.array(pub.k),
        "key": pub.key.astype(str), "published": pub.published, "bins": pub.bins,
        "contrib_cell": pub.contrib_cell, "contrib_actor": pub.contrib_actor.astype(str),
        "contrib_value": pub.contrib_value, "contrib_bins": pub.contrib_bins,
        "contrib_content": pub.contrib_content.astype(str),
        "sum_keys": np.asarray(pub.sum_keys, dtype=str),
        "constraint_lo": pub.constraint_lo, "constraint_hi": pub.constraint_hi,
    }  # fmt: skip
    for name in ("sums", "constraints"):
        m = csr_array(getattr(pub, name))
        arrays |= {f"{name}_data": m.data, f"{name}_indices": m.indices,
                   f"{name}_indptr": m.indptr, f"{name}_shape": np.array(m.shape)}  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    return path


def load_snapshot(path: Path) -> Reading:
    """A publication saved by :func:`save_snapshot`."""
    try:
        z = np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not an audit snapshot ({exc})") from None
    with z:
        try:
            mats = {
                name: csr_array(
                    (z[f"{name}_data"], z[f"{name}_indices"], z[f"{name}_indptr"]),
                    shape=tuple(z[f"{name}_shape"]),
                )  # fmt: skip
                for name in ("sums", "constraints")
            }
            pub = Publication(
                key=z["key"], published=z["published"], bins=z["bins"],
                contrib_cell=z["contrib_cell"], contrib_actor=z["contrib_actor"],
                contrib_value=z["contrib_value"], contrib_bins=z["contrib_bins"],
                contrib_content=z["contrib_content"], d=int(z["d"]), k=int(z["k"]),
                sums=mats["sums"], sum_keys=z["sum_keys"], constraints=mats["constraints"],
                constraint_lo=z["constraint_lo"], constraint_hi=z["constraint_hi"],
            )  # fmt: skip
        except KeyError as exc:
            raise InputError(f"{path}: not an audit snapshot (no {exc})") from None
        return Reading(publication=pub, version=int(z["version"]))
