"""Hot spots: the Getis-Ord Gi* statistic per area, with confidence bins.

Gi* asks, for every area, whether the area *together with its neighbours* has a sum that is
higher (hot spot) or lower (cold spot) than chance would give if the same values were
scattered at random over the map.  It is the statistic behind ArcGIS "Hot Spot Analysis" and
PySAL's ``esda.G_Local(star=True)``; results here equal esda's on the same weights (the test
suite checks 1e-9 on Stockholms län).

What an analyst gets per area (:class:`HotSpotResult`):

* ``z`` -- the Gi* z-score (Getis & Ord 1992; Ord & Getis 1995) with binary weights and the
  area itself included (``star``).  This is ArcGIS's ``GiZScore`` and esda's
  ``G_Local(y, w, transform="B", star=True).Zs``.
* ``p`` -- the **two-sided** normal p-value ``2·(1 − Φ(|z|))``.  A hot spot is a departure in
  either direction from "no clustering", so the ArcGIS bins ±3/±2/±1 are the two-sided
  99/95/90 % levels (|z| > 2.58, 1.96, 1.65).  esda's ``p_norm`` is the *one-sided*
  ``1 − Φ(|z|)``, half of ``p``; it is kept as ``p_norm`` for comparison.
* ``p_sim`` / ``p_sim_two_sided`` -- conditional-permutation pseudo p-values (the area's own
  value stays, the others are shuffled).  ``p_sim`` uses esda's default ("directed") rule,
  one-sided towards the observed side; ``p_sim_two_sided`` doubles the smaller tail.
* ``bin`` -- −3…+3, optionally after a False Discovery Rate correction (``fdr=True``), as
  ArcGIS "Optimized Hot Spot Analysis" does: with 1,287 areas tested at 90 %, about 129
  areas would be "significant" by chance alone.  Benjamini & Hochberg (1995) q-values are
  binned instead of p-values, which controls the expected share of false hot/cold spots among
  those shown at each level.

On esda's default ``transform="R"``: for ``star=True`` esda row-standardises the weights, and
its variance formula then treats every row as if it held a single weight, so the z-score
reduces to ``(local mean − global mean) / s`` without the neighbourhood-size factor: areas with
many neighbours are not given the extra confidence their larger sample deserves, and z-scores
come out roughly ``sqrt(k + 1)`` times smaller than ArcGIS's.  The default here is therefore
the binary form (``transform="B"``); ``transform="R"`` reproduces esda's default value exactly
for anyone comparing with a PySAL notebook.  The permutation p-values do not depend on this
choice (both transforms rank the permuted sums identically).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # imported lazily: Gi* itself needs no geometry libraries (cold start)
    from lagesbild_geo.stats.weights import SpatialWeights

#: Permutations for the pseudo p-value (esda's default; p-values resolve to 1/1000).
DEFAULT_PERMUTATIONS = 999
#: Fixed default seed: a published map must not change between two runs on the same data.
DEFAULT_SEED = 20_240_101
#: (bin, two-sided significance level), strictest first: the ArcGIS Gi_Bin levels.
CONFIDENCE_LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))
#: ArcGIS warns below 30 features: the normal approximation of Gi* is then unreliable.
MIN_RELIABLE_AREAS = 30


@dataclass(frozen=True)
class HotSpotResult:
    """Gi* per area; every array is aligned with ``ids``.

    Attributes
    ----------
    ids : tuple of str
    z : ndarray
        Gi* z-score.
    p : ndarray
        Two-sided normal p-value (what the bins use unless ``bin_on="permutation"``).
    p_norm : ndarray
        One-sided normal p-value, esda's ``p_norm`` (= ``p / 2``).
    p_sim : ndarray
        esda-compatible one-sided permutation p-value (NaN without permutations).
    p_sim_two_sided : ndarray
        Two-sided permutation p-value (NaN without permutations).
    q : ndarray
        Benjamini-Hochberg q-value of the p-value the bins use (islands excluded: NaN).
    bin : ndarray of int8
        Confidence bin: ±3, ±2, ±1 for 99/95/90 % hot (+) or cold (−) spots, 0 otherwise.
    fdr : bool
        Whether ``bin`` was computed from ``q`` (False Discovery Rate) or from p.
    permutations : int
    islands : tuple of str
        Areas without neighbours: their Gi* is their own standardised value, not a cluster,
        so their bin is always 0.
    warnings : tuple of str
        Human-readable cautions (few areas, islands, no variation); empty when all is well.
    """

    ids: tuple[str, ...]
    z: np.ndarray
    p: np.ndarray
    p_norm: np.ndarray
    p_sim: np.ndarray
    p_sim_two_sided: np.ndarray
    q: np.ndarray
    bin: np.ndarray
    fdr: bool
    permutations: int
    islands: tuple[str, ...]
    warnings: tuple[str, ...]


def rates_per_1000(counts, population) -> np.ndarray:
    """Counts per 1,000 inhabitants, the usual way to compare areas of different size.

    Hot spots of raw counts mostly find where many people live; rates ask whether the events
    are more frequent *per inhabitant*.  Areas without inhabitants have no rate: drop them
    before the analysis (a zero-population area would otherwise get an infinite rate).

    >>> rates_per_1000([3, 0, 10], [1500, 800, 2000])
    array([2., 0., 5.])
    """
    counts = np.asarray(counts, dtype=float)
    population = np.asarray(population, dtype=float)
    if counts.shape != population.shape:
        raise ValueError(
            f"{counts.size} counts but {population.size} population figures; give one of each "
            "per area"
        )
    bad = np.flatnonzero(~(population > 0))
    if bad.size:
        raise ValueError(
            f"{bad.size} area(s) have no population (positions {bad[:10].tolist()}); drop them "
            "or analyse counts instead of rates"
        )
    return counts / population * 1000.0


def fdr_qvalues(p) -> np.ndarray:
    """Benjamini-Hochberg q-values (step-up adjusted p-values); NaN stays NaN.

    Rejecting every test with ``q <= alpha`` controls the false discovery rate at ``alpha``.
    Used for the hot spot bins, emerging hot spots and the early-warning flags.

    >>> fdr_qvalues([0.01, 0.04, 0.03, 0.5])
    array([0.04      , 0.05333333, 0.05333333, 0.5       ])
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = np.flatnonzero(~np.isnan(flat))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(flat[ok], kind="stable")]
    ranked = flat[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = q.ravel()
    out[order] = np.minimum(ranked, 1.0)
    return out.reshape(p.shape)


def confidence_bins(z, p) -> np.ndarray:
    """ArcGIS-style bins: ``sign(z) × 3/2/1`` where ``p`` ≤ 0.01/0.05/0.10, else 0.

    >>> confidence_bins([3.1, -2.0, 1.7, 0.4], [0.002, 0.045, 0.09, 0.69])
    array([ 3, -2,  1,  0], dtype=int8)
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    level = np.zeros(z.shape, dtype=np.int8)
    for value, alpha in reversed(CONFIDENCE_LEVELS):
        level[p <= alpha] = value
    return (np.sign(z) * level).astype(np.int8)


def star_z_scores(local_sum, n_weights, n: int, mean: float, std: float) -> np.ndarray:
    """Gi* z-scores from neighbourhood sums, for binary weights.

    ``z = (L − k·x̄) / (s·sqrt(k·(n − k)/(n − 1)))`` with ``L`` the sum over the ``k`` members
    of the neighbourhood (the area itself included), ``x̄`` and ``s`` (divisor ``n``) over all
    ``n`` observations.  Shared by :func:`gi_star` and the space-time version in
    :mod:`lagesbild_geo.stats.emerging`.  With no variation at all (``s == 0``) every z is 0.
    """
    local_sum = np.asarray(local_sum, dtype=float)
    k = np.asarray(n_weights, dtype=float)
    if std <= 0:
        return np.zeros(np.broadcast_shapes(local_sum.shape, k.shape))
    denom = std * np.sqrt(k * (n - k) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (local_sum - k * mean) / denom
    # k == n (the neighbourhood is the whole map): the sum is fixed, there is nothing to test.
    return np.where(denom > 0, z, 0.0)


def two_sided_p(z) -> np.ndarray:
    """Two-sided standard normal p-value ``2·(1 − Φ(|z|)) = erfc(|z| / √2)``.

    ``math.erfc`` keeps the import light (``scipy.special`` alone costs a few tenths of a
    second on a cold start) and is exact to the last digits.

    >>> two_sided_p([0.0, 1.959963984540054, -2.5758293035489004])
    array([1.  , 0.05, 0.01])
    """
    z = np.asarray(z, dtype=float)
    erfc = np.frompyfunc(lambda v: math.erfc(abs(v) / math.sqrt(2.0)), 1, 1)
    return erfc(z).astype(float)


def _binary_matrix(weights) -> tuple[sp.csr_array, tuple[str, ...]]:
    if hasattr(weights, "matrix") and hasattr(weights, "ids"):  # a SpatialWeights
        return weights.matrix, weights.ids
    if sp.issparse(weights):
        # scipy-stubs accept a sparse arg1 only with dtype=None; scipy converts it to dtype
        m = sp.csr_array(weights, dtype=float)  # type: ignore[call-overload]
        m.setdiag(0)
        m.eliminate_zeros()
        m.data[:] = 1.0
        return m, tuple(str(i) for i in range(m.shape[0]))
    raise TypeError("weights must be a SpatialWeights or a scipy.sparse matrix")


def _ordered_samples(rng: np.random.Generator, n: int, size: int, rows: int) -> np.ndarray:
    """``rows`` independent uniform ordered samples of ``size`` distinct ints from ``0..n-1``."""
    if size * size <= n:
        # Rejection: draw with replacement and redraw rows that repeat an index.  Accepting only
        # duplicate-free rows leaves exactly the uniform distribution over ordered samples.
        out = rng.integers(0, n, size=(rows, size))
        todo = np.arange(rows)
        while todo.size:
            s = np.sort(out[todo], axis=1)
            todo = todo[(s[:, 1:] == s[:, :-1]).any(axis=1)]
            out[todo] = rng.integers(0, n, size=(todo.size, size))
        return out
    keys = rng.random((rows, n))
    part = np.argpartition(keys, size - 1, axis=1)[:, :size]
    order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1)
    return np.take_along_axis(part, order, axis=1)


def _permutation_counts(y, neighbour_sum, cardinality, permutations, seed):
    """Counts of permuted neighbour sums ≥ and ≤ the observed one, per area.

    Conditional randomisation as in esda: the area keeps its own value, and its ``c``
    neighbours' values are replaced by ``c`` values drawn without replacement from the other
    ``n − 1`` areas.  Vectorised over all areas at once: each permutation draws one random
    ordered sample of ``max(c) + 1`` areas, and area *i* takes the first ``c_i`` of them,
    skipping itself if it is among them (hence the ``+ 1``).  All areas with the same ``c``
    then share one column of cumulative sums, so each area's count is a binary search in
    that sorted column; only the few (permutation, area) pairs where the area drew itself are
    corrected afterwards.  The work is about ``permutations × max(c)``, not
    ``permutations × n``.
    """
    n = y.size
    kmax = int(cardinality.max())
    rng = np.random.default_rng(seed)
    sample = _ordered_samples(rng, n, min(kmax + 1, n), permutations)
    width = sample.shape[1]
    cum = np.zeros((permutations, width + 1))
    np.cumsum(y[sample], axis=1, out=cum[:, 1:])
    tol = 1e-12 * max(1.0, float(np.abs(y).sum()))
    low = neighbour_sum - tol
    high = neighbour_sum + tol
    ge = np.zeros(n)
    le = np.zeros(n)
    for c in np.unique(cardinality):
        sites = np.flatnonzero(cardinality == c)
        column = np.sort(cum[:, c])
        ge[sites] = permutations - np.searchsorted(column, low[sites], side="left")
        le[sites] = np.searchsorted(column, high[sites], side="right")
    # Where area s is itself among the first c_s drawn, it skips itself and takes one more.
    rows, slot = np.nonzero(np.arange(width)[None, :] < cardinality[sample])
    site = sample[rows, slot]
    c = cardinality[site]
    drawn = cum[rows, c]
    fixed = cum[rows, c + 1] - y[site]
    ge += np.bincount(
        site, weights=(fixed >= low[site]).astype(float) - (drawn >= low[site]), minlength=n
    )
    le += np.bincount(
        site, weights=(fixed <= high[site]).astype(float) - (drawn <= high[site]), minlength=n
    )
    return np.rint(ge).astype(np.int64), np.rint(le).astype(np.int64)


def gi_star(
    y,
    weights: SpatialWeights | sp.sparray | sp.spmatrix,
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int | None = DEFAULT_SEED,
    transform: str = "B",
    fdr: bool = False,
    bin_on: str = "analytical",
) -> HotSpotResult:
    """Getis-Ord Gi* per area: z-score, p-values and a confidence bin.

    Parameters
    ----------
    y : array_like, shape (n,)
        One value per area, in the order of ``weights.ids``: counts, or rates from
        :func:`rates_per_1000`.
    weights : SpatialWeights or scipy.sparse matrix
        Binary neighbours without the area itself (it is added here).  Islands are allowed.
    permutations : int
        Conditional permutations for ``p_sim``; 0 skips them.
    seed : int or None
        Seed for ``numpy.random.default_rng``; the default is fixed so that results repeat.
    transform : {"B", "R"}
        "B" (default): binary weights, the ArcGIS / Ord & Getis z-score.  "R": esda's default
        row-standardised variant, see the module docstring.
    fdr : bool
        Bin on Benjamini-Hochberg q-values instead of p-values (ArcGIS "Optimized Hot Spot
        Analysis").
    bin_on : {"analytical", "permutation"}
        Which two-sided p-value the bins (and ``q``) use.

    Returns
    -------
    HotSpotResult

    Examples
    --------
    A 6 × 6 grid (rook neighbours) with high counts in one corner:

    >>> import scipy.sparse as sp
    >>> line = sp.diags([1.0, 1.0], [-1, 1], shape=(6, 6))
    >>> grid = sp.kron(line, sp.eye(6)) + sp.kron(sp.eye(6), line)
    >>> y = np.ones(36)
    >>> y[[0, 1, 6, 7]] = 9
    >>> r = gi_star(y, grid, permutations=99, seed=1)
    >>> np.round(r.z[[0, 7, 35]], 3)
    array([ 5.045,  3.696, -0.631])
    >>> r.bin[[0, 7, 35]]
    array([3, 3, 0], dtype=int8)
    >>> float(r.p_sim[0])
    0.01
    """
    m, ids = _binary_matrix(weights)
    y = np.asarray(y, dtype=float)
    n = m.shape[0]
    if y.ndim != 1 or y.size != n:
        raise ValueError(f"{y.size} values for {n} areas; give exactly one value per area")
    if not np.isfinite(y).all():
        raise ValueError(
            "values contain NaN or infinity; fill or drop those areas before the analysis"
        )
    if transform not in ("B", "R"):
        raise ValueError(
            f'transform must be "B" (binary) or "R" (row-standardised), not {transform!r}'
        )
    if bin_on not in ("analytical", "permutation"):
        raise ValueError(f'bin_on must be "analytical" or "permutation", not {bin_on!r}')
    if bin_on == "permutation" and permutations < 1:
        raise ValueError('bin_on="permutation" needs permutations > 0; e.g. permutations=999')
    if n < 2:
        raise ValueError(f"Gi* needs at least 2 areas, got {n}")

    cardinality = np.diff(m.indptr)
    island = cardinality == 0
    neighbour_sum = m @ y
    k = cardinality + 1.0
    mean = float(y.mean())
    std = float(np.sqrt(np.mean((y - mean) ** 2)))
    if transform == "B":
        z = star_z_scores(y + neighbour_sum, k, n, mean, std)
    else:
        z = np.zeros(n) if std == 0 else ((y + neighbour_sum) / k - mean) / std
    p = two_sided_p(z)

    p_sim = np.full(n, np.nan)
    p_sim2 = np.full(n, np.nan)
    if permutations > 0:
        ge, le = _permutation_counts(y, neighbour_sum, cardinality, permutations, seed)
        larger = np.where(permutations - ge < ge, permutations - ge, ge)
        p_sim = (larger + 1.0) / (permutations + 1.0)
        p_sim2 = np.minimum(1.0, 2.0 * (np.minimum(ge, le) + 1.0) / (permutations + 1.0))
        p_sim[island] = 1.0
        p_sim2[island] = 1.0

    p_used = p if bin_on == "analytical" else p_sim2
    q = fdr_qvalues(np.where(island, np.nan, p_used))
    bins = confidence_bins(z, q if fdr else p_used)
    bins[island] = 0

    notes = []
    if n < MIN_RELIABLE_AREAS:
        notes.append(
            f"only {n} areas: Gi* needs at least {MIN_RELIABLE_AREAS} for reliable results; "
            "read the hot spots as indicative"
        )
    if island.any():
        notes.append(
            f"{int(island.sum())} area(s) have no neighbours and cannot be part of a hot or "
            "cold spot (bin 0); a larger distance band or k nearest neighbours avoids this"
        )
    if std == 0:
        notes.append("all areas have the same value: there are no hot or cold spots")
    return HotSpotResult(
        ids=ids,
        z=z,
        p=p,
        p_norm=p / 2.0,
        p_sim=p_sim,
        p_sim_two_sided=p_sim2,
        q=q,
        bin=bins,
        fdr=fdr,
        permutations=int(permutations),
        islands=tuple(ids[i] for i in np.flatnonzero(island)),
        warnings=tuple(notes),
    )
