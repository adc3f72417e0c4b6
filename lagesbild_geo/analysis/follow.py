"""The result layers follow the picture: recompute ``hotspots`` and ``trends`` after reviews.

A review that changes the publication records a request in its own transaction
(:func:`lagesbild_geo.publish.results.request_analysis`: a row in ``publish.analysis_queue``
and a ``NOTIFY lagesbild_analysis``, both visible only at commit). The follower here listens on
that channel, takes every open request at once (``results.claim_analysis``) and recomputes
the layers of their indicators exactly as ``lagesbild analyse`` does (:func:`recompute`: Gi*
over the newest :data:`HOTSPOT_WEEKS` weeks, Mann-Kendall over the newest
:data:`TREND_WEEKS`), each saved with its run time and the publication version it read.

Why a queue row and a separate process, not a thread after commit or a cron job:

* **after commit, never inside**: recomputing takes seconds (both layers of all 16 demo
  indicators: 16.7 s on 2 cores, 51 s with the machine at load 6; one approval's 6 indicators:
  24 s at load 6; tests/analysis/test_follow.py prints both) and would hold the reviewer's
  transaction, and the ``publish.state`` row it locks, that long; a decision rolled back must
  not trigger anything, and PostgreSQL delivers a notification only at commit;
* **a row, not only a notification**: a notification sent while no follower listens is lost;
  the row stays until a follower (or the next ``lagesbild analyse``) answers it, with the runs
  it saved or the error that stopped it, so "is the layer up to date?" is one query;
* **a process, not a thread in the server**: gunicorn forks its workers from the master, and a
  thread with an open database connection does not survive a fork (the child would close the
  parent's session); the statistics would also take the CPU of a request worker. ``lagesbild
  serve`` starts one follower process beside gunicorn (:func:`spawn`), so a clean ``./run.sh``
  needs no cron; ``lagesbild analyse --follow`` runs the same loop by hand.

A follower that starts puts back requests another one took and never finished
(:func:`~lagesbild_geo.publish.results.release_unfinished`): one follower per database.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg

from lagesbild_geo.errors import InputError
from lagesbild_geo.publish import results
from lagesbild_geo.weeks import iso_week

#: Hot spots over the newest 4 weeks of each indicator (``lagesbild analyse --hotspot-weeks``).
HOTSPOT_WEEKS = 4
#: Trends over the newest 52 weeks (``--trend-weeks``): a year, so no season dominates.
TREND_WEEKS = 52
#: Seconds between looks at the queue when no notification comes (a request written while no
#: follower listened, or by a database restored from a dump).
POLL_S = 30.0


@dataclass
class Recomputed:
    """What one recomputation did: a line per indicator, what was skipped and why, the runs."""

    lines: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0


def recompute(
    read_url: str,
    save_url: str,
    indicators: list[str] | None = None,
    *,
    hotspot_weeks: int = HOTSPOT_WEEKS,
    trend_weeks: int = TREND_WEEKS,
    progress: Callable[[str], None] | None = None,
) -> Recomputed:
    """Save the hotspots and trends layers of ``indicators`` (default: every weekly indicator
    with published data), each window ending at the indicator's newest published week.

    An indicator asked for without published weekly data is skipped and said so (a withdrawal
    can leave none); ``lagesbild analyse`` refuses it before calling this.
    """
    from lagesbild_geo.analysis import run as analysis

    started = time.perf_counter()
    done = Recomputed()
    with psycopg.connect(read_url, autocommit=True) as conn:
        todo = [
            (i, w)
            for i, w in analysis.indicators_with_data(conn)
            if indicators is None or i in indicators
        ]
    for name in sorted(set(indicators or ()) - {i for i, _ in todo}):
        done.skipped.append(f"{name}: no published weekly data")
    for indicator, last in todo:
        end = iso_week(last)
        parts = []
        for process, weeks in (("hotspots", hotspot_weeks), ("trends", trend_weeks)):
            inputs = {
                "indicator": indicator,
                "period_start": iso_week(last - timedelta(weeks=weeks - 1)),
                "period_end": end,
                "publish": True,
            }
            try:
                result = analysis.run(read_url, process, inputs, save=save_url)
            except InputError as exc:
                done.skipped.append(f"{indicator} ({process}): {exc}")
                continue
            done.run_ids.append(result["provenance"]["published_run_id"])
            props = [f["properties"] for f in result["features"]]
            if process == "hotspots":
                hot = sum(p["bin"] >= 2 for p in props)
                cold = sum(p["bin"] <= -2 for p in props)
                parts.append(f"{hot} hot / {cold} cold spots (95 %)")
            else:
                up = sum(p["trend"] == "increasing" for p in props)
                down = sum(p["trend"] == "decreasing" for p in props)
                parts.append(f"{up} increasing / {down} decreasing (FDR 5 %)")
        if parts:
            done.lines.append(f"{indicator:26} up to {end}: {'; '.join(parts)}")
        if progress is not None:
            progress(indicator)
    done.seconds = time.perf_counter() - started
    return done


def drain(read_url: str, save_url: str, **windows) -> Recomputed | None:
    """Answer every open request with one recomputation; ``None`` when there was none.

    The requests are taken before the run and finished after it, so a review that commits
    during the run leaves a new open request and is answered by the next one.
    """
    with psycopg.connect(save_url, autocommit=True) as conn:
        claim = results.claim_analysis(conn)
        if not claim.ids:
            return None
        try:
            done = recompute(read_url, save_url, claim.indicators, **windows)
        except Exception as exc:  # recorded on the requests, then raised: never swallowed
            results.finish_analysis(conn, claim.ids, [], f"{type(exc).__name__}: {exc}")
            raise
        results.finish_analysis(conn, claim.ids, done.run_ids)
    return done


def follow(
    read_url: str,
    save_url: str,
    *,
    stop: threading.Event | None = None,
    poll_s: float = POLL_S,
    report: Callable[[Recomputed], None] | None = None,
    **windows,
) -> None:
    """Listen for reviews and recompute after each, until ``stop`` is set (or the process is
    terminated); ``report`` gets every recomputation."""
    stop = stop or threading.Event()
    with psycopg.connect(save_url, autocommit=True) as listener:
        results.release_unfinished(listener)
        listener.execute(f"LISTEN {results.CHANNEL}")
        while not stop.is_set():
            done = drain(read_url, save_url, **windows)
            if done is not None and report is not None:
                report(done)
            # wake at the first notification (queued while the run went on, too), or after
            # poll_s to look at the queue anyway; a short step keeps ``stop`` responsive
            deadline = time.monotonic() + poll_s
            while not stop.is_set() and time.monotonic() < deadline:
                if any(True for _ in listener.notifies(timeout=min(1.0, poll_s), stop_after=1)):
                    break


def spawn(read_url: str, save_url: str) -> subprocess.Popen:
    """Start a follower process (``python -m lagesbild_geo.analysis.follow``) and return it.

    For ``lagesbild serve``: read with the reader's login, save with ``lagesbild_jobs`` (the
    role that may write the result layers and answer requests). The two connection strings go
    to the child on its standard input, neither on the command line (``ps`` shows it) nor in a
    new ``LAGESBILD_*`` variable (settings are read at the entry points only). The caller
    terminates it when the server stops.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "lagesbild_geo.analysis.follow"], stdin=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None
    proc.stdin.write(f"{read_url}\n{save_url}\n")
    proc.stdin.close()
    return proc


def print_report(done: Recomputed) -> None:
    print(f"Resultatlager omräknade (result layers recomputed) in {done.seconds:.1f} s:",
          file=sys.stderr, flush=True)  # fmt: skip
    for line in done.lines:
        print(f"  {line}", file=sys.stderr, flush=True)
    for line in done.skipped:
        print(f"  skipped {line}", file=sys.stderr, flush=True)


def main() -> None:
    """The process :func:`spawn` starts: its two connections on stdin, then follow until
    SIGTERM/SIGINT."""
    read_url, save_url = sys.stdin.readline().strip(), sys.stdin.readline().strip()
    with contextlib.suppress(KeyboardInterrupt):
        follow(read_url, save_url, report=print_report)


if __name__ == "__main__":
    main()
