"""Benchmark of the analysis statistics beside the reference tools (esda, pymannkendall).

Run with ``.venv/bin/python bench/analysis.py``.  Uses the 1,287 DeSO areas of Stockholms län
from ``../shared/areas`` and seeded synthetic counts; prints each figure as it is measured and
ends with a Markdown table for the README.

Warm figures are the median of several calls after one warm-up call (esda's first call also
compiles its numba kernels, which is reported separately).  Cold figures are the wall time of a
fresh ``python`` process from start to result, imports included.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
AREAS = REPO.parent / "shared" / "areas" / "deso2018_stockholms_lan.gpkg"
PERMUTATIONS = 999
WEEKS = 104
INDICATORS = 20
PYMK_SUBSET = 400  # series timed with pymannkendall; the full loop is extrapolated
SEED = 2024

sys.path.insert(0, str(REPO))


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cold(script: str) -> float:
    """Wall time of a fresh interpreter running ``script`` (interpreter start included)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO)
    return time.perf_counter() - start


def main() -> None:
    import geopandas as gpd

    from lagesbild_geo.stats.early_warning import early_warning
    from lagesbild_geo.stats.emerging import emerging_hot_spots
    from lagesbild_geo.stats.hotspots import gi_star
    from lagesbild_geo.stats.trends import mann_kendall, seasonal_mann_kendall
    from lagesbild_geo.stats.weights import queen_weights

    rows: list[tuple[str, str, str, str]] = []
    areas = gpd.read_file(AREAS)
    t_queen, w = timed(lambda: queen_weights(areas, ids=areas["deso_code"]), repeat=3)
    print(f"queen weights, 1,287 areas: {t_queen * 1000:.0f} ms ({w.matrix.nnz // 2} pairs)")
    rng = np.random.default_rng(SEED)
    y = rng.poisson(areas["pop_2023"].to_numpy() / 500.0).astype(float)

    # --- Gi* warm --------------------------------------------------------------------------
    gi_star(y, w, permutations=PERMUTATIONS)
    t_ours, _ = timed(lambda: gi_star(y, w, permutations=PERMUTATIONS, seed=1), repeat=15)
    print(f"Gi* ours, {PERMUTATIONS} permutations, warm: {t_ours * 1000:.1f} ms")

    import esda
    import libpysal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lw = libpysal.weights.W(w.neighbour_lists(), id_order=list(w.ids))

        def run_esda(jobs):
            return esda.G_Local(
                y,
                lw,
                transform="B",
                star=True,
                permutations=PERMUTATIONS,
                seed=1,
                n_jobs=jobs,
                alternative="directed",
            )

        t_first, _ = timed(lambda: run_esda(1))
        run_esda(-1)
        t_esda1, _ = timed(lambda: run_esda(1), repeat=5)
        t_esda, _ = timed(lambda: run_esda(-1), repeat=5)
    print(f"Gi* esda first call in this process (numba compile): {t_first:.2f} s")
    print(
        f"Gi* esda warm, n_jobs=-1 (default): {t_esda * 1000:.0f} ms; "
        f"n_jobs=1: {t_esda1 * 1000:.0f} ms"
    )
    best_esda = min(t_esda, t_esda1)
    print(f"  -> ours is {best_esda / t_ours:.0f}x faster than esda's faster setting (goal >= 10x)")
    rows.append(
        (
            f"Gi* + {PERMUTATIONS} permutations, 1,287 areas, warm",
            f"{t_ours * 1000:.1f} ms",
            f"{best_esda * 1000:.0f} ms (esda, best of n_jobs=1/-1)",
            f"{best_esda / t_ours:.0f}x",
        )
    )

    # --- Gi* cold --------------------------------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "gi.npz"
        coo = w.matrix.tocoo()
        np.savez(data, row=coo.row, col=coo.col, y=y, n=w.n)
        load = textwrap.dedent(
            f"""
            import numpy as np
            d = np.load({str(data)!r})
            """
        )
        ours_script = load + textwrap.dedent(
            f"""
            import scipy.sparse as sp
            from lagesbild_geo.stats.hotspots import gi_star
            m = sp.csr_array((np.ones(d["row"].size), (d["row"], d["col"])), shape=(d["n"],) * 2)
            gi_star(d["y"], m, permutations={PERMUTATIONS})
            """
        )
        esda_script = load + textwrap.dedent(
            f"""
            import warnings
            warnings.simplefilter("ignore")
            import scipy.sparse as sp, libpysal, esda
            m = sp.csr_array((np.ones(d["row"].size), (d["row"], d["col"])), shape=(d["n"],) * 2)
            w = libpysal.weights.WSP(sp.csr_matrix(m)).to_W()
            esda.G_Local(d["y"], w, transform="B", star=True, permutations={PERMUTATIONS},
                         alternative="directed")
            """
        )
        full_script = textwrap.dedent(
            f"""
            import numpy as np, geopandas as gpd
            from lagesbild_geo.stats.weights import queen_weights
            from lagesbild_geo.stats.hotspots import gi_star
            a = gpd.read_file({str(AREAS)!r})
            y = np.random.default_rng(1).poisson(a["pop_2023"].to_numpy() / 500.0)
            gi_star(y, queen_weights(a), permutations={PERMUTATIONS})
            """
        )
        bare = cold("pass")
        c_ours = statistics.median(cold(ours_script) for _ in range(3))
        c_full = statistics.median(cold(full_script) for _ in range(3))
        c_esda = cold(esda_script)
    print(f"empty python process: {bare:.2f} s")
    print(
        f"Gi* ours COLD (fresh process, imports + weights from .npz + call): {c_ours:.2f} s "
        "(goal < 2 s)"
    )
    print(f"Gi* ours COLD incl. reading the GeoPackage and queen weights: {c_full:.2f} s")
    print(f"Gi* esda COLD (fresh process, imports + numba compile + call): {c_esda:.2f} s")
    rows.append(
        (
            "Gi* first call in a fresh process (imports included)",
            f"{c_ours:.2f} s",
            f"{c_esda:.2f} s (esda)",
            f"{c_esda / c_ours:.0f}x",
        )
    )
    rows.append(("... plus reading the GeoPackage and queen weights", f"{c_full:.2f} s", "", ""))

    # --- Emerging hot spots ----------------------------------------------------------------
    rate = (areas["pop_2023"].to_numpy() / 1000.0)[:, None] * np.ones(WEEKS)
    rate[:100] *= np.linspace(1.0, 3.0, WEEKS)
    cube = rng.poisson(rate).astype(float)
    t_em_first, em = timed(lambda: emerging_hot_spots(cube, w))
    t_em, em = timed(lambda: emerging_hot_spots(cube, w), repeat=5)
    found = int((em.pattern != "No Pattern Detected").sum())
    print(
        f"emerging hot spots, 1,287 areas x {WEEKS} weeks: {t_em:.2f} s warm, "
        f"{t_em_first:.2f} s first call ({found} areas with a pattern; goal < 5 s)"
    )
    rows.append(
        (f"Emerging hot spots, 1,287 areas x {WEEKS} weeks", f"{t_em:.2f} s", "", "goal < 5 s")
    )

    # --- Mann-Kendall + Theil-Sen ----------------------------------------------------------
    import pymannkendall as mk

    trend = np.linspace(0.8, 1.5, WEEKS)
    level = rng.uniform(0.2, 6.0, size=(areas.shape[0], INDICATORS, 1))
    series = rng.poisson(level * trend).astype(float)
    n_series = series.shape[0] * series.shape[1]
    mann_kendall(series[:10])
    t_mk, mk_result = timed(lambda: mann_kendall(series), repeat=3)
    flat = series.reshape(-1, WEEKS)
    subset = flat[rng.choice(n_series, PYMK_SUBSET, replace=False)]

    def loop():
        return [mk.original_test(x) for x in subset]

    t_sub, _ = timed(loop)
    t_loop = t_sub / PYMK_SUBSET * n_series
    print(
        f"Mann-Kendall + Theil-Sen, {n_series:,} series x {WEEKS} weeks: ours {t_mk:.2f} s; "
        f"pymannkendall.original_test loop {t_loop:.0f} s (timed on {PYMK_SUBSET} series, "
        f"{t_sub / PYMK_SUBSET * 1000:.2f} ms each, extrapolated linearly) -> "
        f"{t_loop / t_mk:.0f}x (goal >= 50x)"
    )
    rows.append(
        (
            f"Mann-Kendall + Theil-Sen, {n_series:,} series x {WEEKS} weeks",
            f"{t_mk:.2f} s",
            f"{t_loop:.0f} s (pymannkendall loop, extrapolated from {PYMK_SUBSET})",
            f"{t_loop / t_mk:.0f}x",
        )
    )
    t_hr, _ = timed(lambda: mann_kendall(series, hamed_rao=True))
    t_seas, _ = timed(lambda: seasonal_mann_kendall(series))
    print(f"  Hamed-Rao variant: {t_hr:.2f} s; seasonal (period 52): {t_seas:.2f} s")
    rows.append(("... with Hamed-Rao correction", f"{t_hr:.2f} s", "", ""))
    rows.append(("... seasonal Mann-Kendall (period 52)", f"{t_seas:.2f} s", "", ""))

    # --- Early warning ---------------------------------------------------------------------
    t_ew, ew = timed(lambda: early_warning(series), repeat=3)
    print(f"early warning, {n_series:,} series: {t_ew * 1000:.0f} ms ({int(ew.flag.sum())} flags)")
    rows.append((f"Early warning, {n_series:,} series", f"{t_ew * 1000:.0f} ms", "", ""))

    print("\n| task | Lägesbild | reference | speed-up |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    print(
        f"\nMachine: {cores} cores; "
        f"Python {sys.version.split()[0]}, numpy {np.__version__}, esda {esda.__version__}, "
        f"pymannkendall {getattr(mk, '__version__', '?')}."
    )


if __name__ == "__main__":
    main()
