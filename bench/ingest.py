"""Benchmark: one million single events, the project's ingest against a plain geopandas route.

Usage::

    .venv/bin/python bench/ingest.py [--events 1000000] [--seed 20261122]

Generates (seeded, cached in ``bench/out/``) a CSV of single events over the 1,287 DeSO areas
of Stockholms län (``../shared/areas/deso2018_stockholms_lan.gpkg``), most of them inside an
area, weighted by population, a few anywhere in the county's bounding box (gaps, water,
outside). Then, each in a fresh subprocess so that peak memory (``ru_maxrss``) belongs to one
route only, and timed from after the imports:

``project``
    ``lagesbild_geo.ingest.pipeline.ingest_file``: read, personal-data check, validate, locate
    (exact PostGIS ``ST_Covers`` semantics), aggregate, store in PostGIS (committed).
    The area locator is loaded inside the timing, as in any new process (it is built once,
    when the areas are imported: migration 0010).
``geopandas``
    ``pd.read_csv`` → ``gpd.points_from_xy`` → ``gpd.sjoin(predicate="within")`` →
    ``groupby([area, week, indicator]).size()``; not stored. Note that ``sjoin`` counts an event
    in an overlap once per area, and drops events on a boundary (``within``).
``place``
    Placing alone on the same points: ``AreaLocator`` (grid build + ``locate``) against
    ``points_from_xy`` + ``sjoin``, wall and CPU time, and a check that every event ``sjoin``
    puts in exactly one area gets that area from ``locate`` too.

Timings on a shared machine are noisy (the same route varies by ±20 % from run to run here):
each route runs ``--repeat`` times (default 3, each time in a fresh scratch database) and the
run with the median wall time is reported, with the range; compare the CPU seconds as well.
"CPU s" is the benchmark process only; for the project route the PostgreSQL server process
does the COPY work, shown as "server CPU s" when the server runs on this machine.

The database: ``LAGESBILD_DATABASE_URL`` if set, else the embedded cluster (``lagesbild db
up``). A scratch database ``lagesbild_bench_<pid>`` is created there (needs CREATEDB),
migrated, loaded with the areas, and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AREAS = REPO.parent / "shared" / "areas" / "deso2018_stockholms_lan.gpkg"
OUT = REPO / "bench" / "out"
ACTOR = ("bench_vaktbolag", "security", "Vaktbolaget (benchmark)")
INDICATORS = ("skadegorelse", "narkotika", "klotter", "nedskrapning", "otrygg_plats")
SHARE_ANYWHERE = 0.01
"""Share of events placed uniformly over the county's bounding box instead of in an area."""
TODAY = date(2026, 11, 20)


# --------------------------------------------------------------------------- data


def generate(path: Path, n: int, seed: int) -> None:
    """Write ``n`` seeded events: kategori,datum,tid,x,y,referens."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    rng = np.random.default_rng(seed)
    areas = gpd.read_file(AREAS)
    weight = areas["pop_2023"].to_numpy(dtype=float)
    weight /= weight.sum()
    geoms = areas.geometry.to_numpy()
    bounds = shapely.bounds(geoms)
    owner = rng.choice(len(areas), n, p=weight)
    x, y = np.empty(n), np.empty(n)
    todo = np.arange(n)
    while len(todo):  # rejection sampling inside each event's area
        a = owner[todo]
        tx, ty = rng.uniform(bounds[a, 0], bounds[a, 2]), rng.uniform(bounds[a, 1], bounds[a, 3])
        ok = shapely.contains_xy(geoms[a], tx, ty)
        x[todo[ok]], y[todo[ok]] = tx[ok], ty[ok]
        todo = todo[~ok]
    anywhere = rng.random(n) < SHARE_ANYWHERE
    xmin, ymin, xmax, ymax = areas.total_bounds
    x[anywhere] = rng.uniform(xmin, xmax, anywhere.sum())
    y[anywhere] = rng.uniform(ymin, ymax, anywhere.sum())
    seconds = rng.integers(0, 300 * 86400, n)  # 2026-01-01 .. late October
    when = np.datetime64("2026-01-01T00:00") + seconds.astype("timedelta64[s]")
    frame = pd.DataFrame(
        {
            "kategori": np.array(INDICATORS)[rng.integers(0, len(INDICATORS), n)],
            "datum": np.datetime_as_string(when, unit="D"),
            "tid": pd.Series(np.datetime_as_string(when, unit="m")).str[11:],
            "x": np.round(x, 2),
            "y": np.round(y, 2),
            "referens": [f"VB-{i:07d}" for i in range(n)],
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


# --------------------------------------------------------------------------- database


def server_url() -> str:
    from lagesbild_geo.db.connection import database_url
    from lagesbild_geo.settings import Settings

    return database_url(Settings())


def create_scratch(url: str) -> str:
    """A fresh, migrated database with the areas, catalogue and one actor; return its URL."""
    import psycopg
    from psycopg import sql

    name = f"lagesbild_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    scratch = psycopg.conninfo.make_conninfo(url, dbname=name)
    try:
        _load(scratch)
    except BaseException:
        drop_scratch(url, scratch)
        raise
    return scratch


def _load(scratch: str) -> None:
    import geopandas as gpd
    import psycopg
    import shapely

    from lagesbild_geo.catalogue import load_catalogue
    from lagesbild_geo.db.connection import migrate
    from lagesbild_geo.ingest.pipeline import import_areas
    from lagesbild_geo.publish import publication
    from lagesbild_geo.store.catalogue import sync_catalogue, upsert_actor

    with psycopg.connect(scratch) as conn:
        migrate(conn)
        sync_catalogue(conn, load_catalogue())
        areas = gpd.read_file(AREAS)
        level3 = gpd.GeoDataFrame(
            {
                "code": areas["deso_code"],
                "name": areas["name"],
                "level": 3,
                "parent_code": None,
                "population": areas["pop_2023"],
            },
            geometry=[shapely.MultiPolygon([g]) for g in areas.geometry],  # as stored
            crs=areas.crs,
        )
        import_areas(conn, [level3], source=str(AREAS.name), report={})
        publication.refresh(conn)
        upsert_actor(conn, *ACTOR)
        conn.commit()


def drop_scratch(url: str, scratch: str) -> None:
    import psycopg
    from psycopg import sql

    name = psycopg.conninfo.conninfo_to_dict(scratch)["dbname"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --------------------------------------------------------------------------- the routes


def route_project(csv: Path, dsn: str) -> dict:
    import psycopg

    from lagesbild_geo.ingest.pipeline import ingest_file

    start = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        server_before = _backend_cpu(conn)
        result = ingest_file(conn, csv, actor_id=ACTOR[0], allow_unplaced=True, today=TODAY)
        conn.commit()
        server_after = _backend_cpu(conn)
    seconds = time.perf_counter() - start
    out = {
        "seconds": seconds,
        "cells": result.observations,
        "unplaced": len(result.unplaced_rows),
    }
    if server_before is not None and server_after is not None:
        out["server_cpu_s"] = server_after - server_before
    return out


def _backend_cpu(conn) -> float | None:
    """CPU seconds of the connection's server process, when the server runs on this machine
    and its process can be read (the embedded cluster); else ``None``."""
    try:
        with open(f"/proc/{conn.info.backend_pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def route_geopandas(csv: Path, dsn: str) -> dict:
    import geopandas as gpd
    import pandas as pd

    start = time.perf_counter()
    frame = pd.read_csv(csv)
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs="EPSG:3006"
    )
    areas = gpd.read_file(AREAS)[["deso_code", "geometry"]]
    joined = gpd.sjoin(points, areas, predicate="within", how="inner")
    day = pd.to_datetime(joined["datum"])
    joined["week"] = (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.date
    counts = joined.groupby(["deso_code", "week", "kategori"]).size()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "cells": len(counts),
        "unplaced": int(len(frame) - joined.index.nunique()),
        "counted_twice": int(joined.index.duplicated().sum()),
    }


def route_place(csv: Path, dsn: str) -> dict:
    """Placing alone, same points: AreaLocator (build + locate) against points_from_xy + sjoin."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from lagesbild_geo.ingest.locate import AreaLocator

    frame = pd.read_csv(csv, usecols=["x", "y"])
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    areas = gpd.read_file(AREAS)[["deso_code", "geometry"]]
    clock = _Clock()
    locator = AreaLocator(areas["deso_code"].to_numpy(), areas.geometry.to_numpy())
    build = clock.lap()
    idx = locator.locate(x, y)
    locate = clock.lap()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=areas.crs)
    joined = gpd.sjoin(points, areas, predicate="within", how="inner")
    sjoin = clock.lap()
    single = joined[~joined.index.duplicated(keep=False)]
    ours = np.where(idx >= 0, locator.codes[np.maximum(idx, 0)], "")
    return {
        "seconds": build[0] + locate[0],
        "cpu_s": build[1] + locate[1],
        "build_s": build[0],
        "build_cpu_s": build[1],
        "locate_s": locate[0],
        "locate_cpu_s": locate[1],
        "sjoin_s": sjoin[0],
        "sjoin_cpu_s": sjoin[1],
        "single": len(single),
        "agree": int((ours[single.index.to_numpy()] == single["deso_code"].to_numpy()).sum()),
    }


class _Clock:
    """Wall and CPU seconds since the last lap."""

    def __init__(self) -> None:
        self._last = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), usage.ru_utime + usage.ru_stime

    def lap(self) -> tuple[float, float]:
        now = self._now()
        lap = (now[0] - self._last[0], now[1] - self._last[1])
        self._last = now
        return lap


ROUTES = {
    "project": route_project,
    "geopandas": route_geopandas,
    "place": route_place,
}


def child(route: str, csv: Path, dsn: str) -> None:
    import geopandas  # noqa: F401  imports are not part of the timing
    import psycopg  # noqa: F401

    import lagesbild_geo.ingest.pipeline  # noqa: F401

    before = resource.getrusage(resource.RUSAGE_SELF)
    result = ROUTES[route](csv, dsn)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result.setdefault("cpu_s", cpu)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def run_child(route: str, csv: Path, dsn: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", route, "--csv", str(csv), "--dsn", dsn],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    lines = (proc.stderr or proc.stdout or "no output").strip().splitlines()
    return {"error": lines[-1]}


# --------------------------------------------------------------------------- report


def report(n: int, results: dict[str, dict]) -> str:
    labels = {
        "project": "Lägesbild ingest_file (read, validate, locate, count, store)",
        "geopandas": "geopandas read_csv → points_from_xy → sjoin → groupby",
        "place": "placing only: AreaLocator build + locate (same points)",
    }
    lines = [
        f"Ingest of {n:,} single events, Stockholms län (1,287 DeSO areas)",
        "",
        "| route | wall s (median) | all runs, wall s | CPU s | server CPU s | events/s (wall) "
        "| peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for route, res in results.items():
        if "error" in res:
            lines.append(f"| {labels[route]} | failed: {res['error'][:80]} | | | | | |")
            continue
        server = f"{res['server_cpu_s']:.2f}" if "server_cpu_s" in res else "–"
        low, high, runs = res.get("range", (res["seconds"], res["seconds"], 1))
        lines.append(
            f"| {labels[route]} | {res['seconds']:.2f} | {low:.2f}–{high:.2f} ({runs}) "
            f"| {res['cpu_s']:.2f} | {server} "
            f"| {n / res['seconds']:,.0f} | {res['peak_rss_mb']:.0f} |"
        )
    base = results.get("geopandas", {})
    lines.append("")
    for route in ("project",):
        res = results.get(route, {})
        if "seconds" in res and "seconds" in base:
            lines.append(
                f"- geopandas time / {route} time: {base['seconds'] / res['seconds']:.2f} (wall), "
                f"{base['cpu_s'] / res['cpu_s']:.2f} (CPU)"
            )
    place = results.get("place", {})
    if "locate_s" in place:
        lines.append(
            f"- placing alone: AreaLocator {place['locate_s']:.2f} s "
            f"(+ {place['build_s']:.2f} s to build the grid) vs points_from_xy + sjoin "
            f"{place['sjoin_s']:.2f} s; CPU {place['locate_cpu_s'] + place['build_cpu_s']:.2f} s "
            f"vs {place['sjoin_cpu_s']:.2f} s; {place['agree']:,} of {place['single']:,} events "
            "that sjoin puts in exactly one area are placed identically"
        )
    if "counted_twice" in base:
        lines.append(
            f"- geopandas counted {base['counted_twice']:,} events twice (overlaps); "
            "Lägesbild places each event in exactly one area."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--routes", default="project,geopandas,place")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each route; the median run is reported"
    )
    parser.add_argument("--child", choices=sorted(ROUTES), help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.csv, args.dsn)
        return

    csv = OUT / f"events-{args.events}-{args.seed}.csv"
    if not csv.exists():
        print(f"generating {csv.name} ...", flush=True)
        generate(csv, args.events, args.seed)
    url = server_url()
    runs: dict[str, list[dict]] = {}
    routes = args.routes.split(",")
    for rep in range(args.repeat):
        scratch = create_scratch(url)  # a fresh database each time: the same file is stored once
        try:
            for route in routes if rep == 0 else [r for r in routes if r != "place"]:
                print(f"run {rep + 1}/{args.repeat}: {route} ...", flush=True)
                runs.setdefault(route, []).append(run_child(route, csv, scratch))
                print("  " + json.dumps(runs[route][-1]), flush=True)
        finally:
            drop_scratch(url, scratch)
    print()
    print(report(args.events, {route: median_run(done) for route, done in runs.items()}))


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time, with the range of all runs' wall times."""
    done = sorted((r for r in runs if "seconds" in r), key=lambda r: r["seconds"])
    if not done:
        return runs[0]  # every run failed: show the first error
    middle = dict(done[len(done) // 2])
    middle["range"] = (done[0]["seconds"], done[-1]["seconds"], len(done))
    return middle


if __name__ == "__main__":
    main()
