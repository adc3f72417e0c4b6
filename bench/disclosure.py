"""Benchmark: the protected publication on Stockholms län (issue 12, *Performance*).

Usage::

    .venv/bin/python bench/disclosure.py [--rebuild] [--no-full] [--profile] [--sql FILE]

The data: ``bench/serve.py``'s cube (the same database ``lagesbild_bench_serve``, built by
its code when missing: 1,287 DeSO areas × 20 count indicators × 104 weeks = 2,676,960 cells
from four actors, k = 5). The figures printed:

* **full refresh**: ``publication.refresh`` from scratch (contributions, their keys, the
  cell key method, every public layer) — what ``lagesbild publish refresh`` and a change of k
  do;
* **one approval**: the security company delivers the week after the cube (10 indicators ×
  1,287 areas, stored through ``store.deliveries.save_delivery`` as any delivery is), and the
  reviewer approves it through ``publish.review.change_status`` — the time the reviewer
  waits, protection and republication included (goal < 10 s);
* with ``--profile``, both refreshes with every SQL statement over 50 ms inside them
  (``auto_explain`` with nested statements, reported to the client) and the refresh's Python
  steps; ``--sql FILE`` runs a candidate change (a new 20_refresh.sql, an index) first in
  each timed transaction;
* **utility** (``publish.utility.measure``) on the cube;
* **audit**: ``lagesbild audit`` on the cube when the command exists (goal < 10 min on
  2 cores).

The approval and the full refresh each run in a transaction that is rolled back, so the
database is left as ``bench/serve.py`` expects it (then vacuumed: a rolled-back refresh
leaves its pages not all-visible); the utility is measured on the cube as built. Wall times
vary ±15 % on this 2-core machine, and more when other work shares it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import serve as cube  # bench/serve.py builds the cube

APPROVING_ACTOR = "bench_vaktbolaget"
PROFILE_MIN_MS = 50


def new_week_delivery(conn) -> int:
    """The security company's delivery of the week after the cube, stored as pending."""
    import numpy as np
    import pandas as pd

    from lagesbild_geo.store import deliveries as store

    week = cube.FIRST_WEEK + timedelta(weeks=cube.N_WEEKS)
    indicators = next(d[2] for d in cube.DELIVERIES if d[0] == APPROVING_ACTOR)
    codes = [r[0] for r in conn.execute("SELECT code FROM lagesbild.area WHERE level = 3")]
    rng = np.random.default_rng(cube.SEED + 1)
    rows = [
        {"area_code": code, "week_start": week, "indicator": ind, "numerator": int(n)}
        for ind, mean in indicators.items()
        for code, n in zip(codes, rng.poisson(mean, len(codes)), strict=True)
    ]
    name = f"{APPROVING_ACTOR}-{week.isoformat()}.csv"
    delivery_id, _ = store.save_delivery(
        conn,
        store.NewDelivery(
            actor_id=APPROVING_ACTOR,
            file_name=name,
            content_sha256=hashlib.sha256(name.encode()).hexdigest(),
            shape="aggregated",
            row_count=len(rows),
            observations=pd.DataFrame(rows),
        ),
    )
    return delivery_id


def approve(conn, delivery_id: int) -> float:
    from lagesbild_geo.publish.review import change_status

    t = time.perf_counter()
    change_status(conn, delivery_id, "approve", by_whom="bench")
    return time.perf_counter() - t


def profile(conn, run) -> list[tuple[float, str]]:
    """``run()`` with its slow SQL statements (auto_explain, nested ones included, over
    ``PROFILE_MIN_MS``) and the refresh's Python steps timed, slowest first."""
    from lagesbild_geo.publish import publication

    notes: list[str] = []
    conn.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
    conn.execute("LOAD 'auto_explain'")
    for setting, value in (
        ("log_min_duration", f"{PROFILE_MIN_MS}ms"),
        ("log_nested_statements", "on"),
        ("log_analyze", "off"),
        ("log_level", "notice"),
    ):
        conn.execute(f"SET auto_explain.{setting} = '{value}'")
    steps: list[tuple[float, str]] = []
    originals = {}
    for name in ("_write_ptable", "_protect_contributions"):
        originals[name] = getattr(publication, name)

        def timed(*args, _name=name, **kwargs):
            t = time.perf_counter()
            out = originals[_name](*args, **kwargs)
            steps.append((time.perf_counter() - t, f"python: publication.{_name}"))
            return out

        setattr(publication, name, timed)
    try:
        t = time.perf_counter()
        run()
        total = time.perf_counter() - t
    finally:
        for name, func in originals.items():
            setattr(publication, name, func)
        conn.execute("SET auto_explain.log_min_duration = -1")
    steps.append((total, "in all"))
    for note in notes:
        # "duration: 1234.567 ms  plan:\nQuery Text: ..."
        if not note.startswith("duration:"):
            continue
        ms = float(note.split()[1])
        text = note.split("Query Text:", 1)[-1].split("\n")[0:6]
        steps.append((ms / 1000, "sql: " + " ".join(" ".join(text).split())[:160]))
    return sorted(steps, reverse=True)


def run_audit(url: str) -> tuple[float | None, str]:
    """Time ``lagesbild audit`` on the cube, when the command exists."""
    env = {**os.environ, "LAGESBILD_DATABASE_URL": cube._as_url(url), "LAGESBILD_K": str(cube.K)}
    lagesbild = str(cube.BIN / "lagesbild")
    check = subprocess.run([lagesbild, "audit", "--help"], env=env, capture_output=True)
    if check.returncode != 0:
        return None, "`lagesbild audit` does not exist on this branch yet"
    t = time.perf_counter()
    done = subprocess.run([lagesbild, "audit"], env=env, capture_output=True, text=True)
    took = time.perf_counter() - t
    return took, f"exit {done.returncode}\n{done.stdout[-3000:]}{done.stderr[-1000:]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cube's database")
    parser.add_argument("--no-full", action="store_true", help="skip the full refresh")
    parser.add_argument("--profile", action="store_true", help="profile the refreshes")
    parser.add_argument("--no-audit", action="store_true", help="skip the audit")
    parser.add_argument(
        "--sql",
        type=Path,
        help="SQL run first in each timed transaction (rolled back with it), e.g. a candidate "
        "20_refresh.sql or an index, to measure a change before making it",
    )
    args = parser.parse_args()

    import psycopg

    from lagesbild_geo.publish import publication, utility

    print(f"Database {cube.DB_NAME}: 1,287 DeSO areas × 20 indicators × {cube.N_WEEKS} weeks "
          f"(seed {cube.SEED}), k = {cube.K}; {os.cpu_count()} cores", flush=True)  # fmt: skip
    url, _ = cube.bench_database(args.rebuild)
    figures: dict[str, float] = {}

    def timed(conn, name: str, run) -> None:
        if args.profile:
            steps = profile(conn, run)
            figures[name] = next(s for s, what in steps if what == "in all")
            print(f"{name}: {figures[name]:.1f} s; statements over {PROFILE_MIN_MS} ms and the "
                  "Python steps:", flush=True)  # fmt: skip
            for seconds, what in steps:
                print(f"  {seconds:7.2f} s  {what}")
        else:
            t = time.perf_counter()
            run()
            figures[name] = time.perf_counter() - t
            print(f"{name}: {figures[name]:.1f} s", flush=True)

    with psycopg.connect(url) as conn:
        conn.execute("SET work_mem = '256MB'")
        try:
            if args.sql:
                conn.execute(args.sql.read_text())
            t = time.perf_counter()
            delivery_id = new_week_delivery(conn)
            figures["storing the new week (not part of the approval)"] = time.perf_counter() - t
            timed(conn, "one approval (goal < 10 s)", lambda: approve(conn, delivery_id))
        finally:
            conn.rollback()  # the cube stays as bench/serve.py built it
        t = time.perf_counter()
        rows = utility.measure(conn)
        figures["utility measure"] = time.perf_counter() - t
        conn.rollback()
        print(f"\nutility of the publication ({figures['utility measure']:.1f} s to measure):")
        print(utility.table(rows), flush=True)
        if not args.no_full:
            try:
                if args.sql:
                    conn.execute(args.sql.read_text())
                timed(conn, "full refresh", lambda: publication.refresh(conn))
            finally:
                conn.rollback()
    if not args.no_full:
        # The rolled-back refresh cleared the visibility map of every page it touched: vacuum,
        # so the next run's approval reads the cube as bench/serve.py left it.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE publish.observations, publish.observation_counts")
    if not args.no_audit:
        took, out = run_audit(url)
        if took is None:
            print(f"\naudit: {out}")
        else:
            figures["audit"] = took
            print(f"\naudit: {took:.0f} s (goal < 600 s)\n{out}")
    print("\n| step | seconds |\n|---|---:|")
    for name, seconds in figures.items():
        print(f"| {name} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
