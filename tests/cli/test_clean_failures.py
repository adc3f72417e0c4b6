"""Failures a user can only watch happen: PostgreSQL lost in the middle of an ingest.

The ingest runs as the command a user types, in a process of its own, against a test
database; another connection ends its backend with ``pg_terminate_backend`` while the cells
stream in by COPY. The command must say "Cannot reach PostgreSQL", exit 5 (the error table's
code for DatabaseUnavailableError) without a traceback, and leave nothing stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from lagesbild_geo.catalogue import load_catalogue
from tests.conftest import REPO, table_counts

#: Counted rows of the generated delivery: enough that storing them takes a while (~170,000
#: cells of the 60 demo areas × 28 count indicators × 100 weeks).
WEEKS = [f"{2024 + (w >= 52)}-W{(w % 52) + 1:02d}" for w in range(100)]


def _big_delivery(path: Path, areas: list[str]) -> int:
    indicators = sorted(i.id for i in load_catalogue().indicators.values() if i.unit == "count")
    lines = ["område,vecka,indikator,antal"]
    lines += [f"{a},{w},{i},{n % 7}" for n, (a, w, i) in enumerate(
        (a, w, i) for a in areas for w in WEEKS for i in indicators
    )]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def _copy_backend(conn: psycopg.Connection, dbname: str) -> int | None:
    row = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
        " AND query LIKE 'COPY lagesbild.observation%%'",
        (dbname,),
    ).fetchone()
    return row[0] if row else None


def test_postgresql_lost_mid_ingest_exits_5_with_the_message_and_stores_nothing(
    ready_conn, pg_url, tmp_path
):
    areas = [r[0] for r in ready_conn.execute("SELECT code FROM lagesbild.area WHERE level = 3")]
    rows = _big_delivery(tmp_path / "stor.csv", areas)
    assert rows > 150_000
    ready_conn.commit()
    before = table_counts(ready_conn)
    env = os.environ | {"LAGESBILD_DATABASE_URL": pg_url, "PYTHONPATH": str(REPO)}
    ingest = subprocess.Popen(
        [sys.executable, "-c", "from lagesbild_geo.cli.main import main; main()", "ingest",
         str(tmp_path / "stor.csv"), "--actor", "kommunen"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    dbname = ready_conn.info.dbname
    terminated = None
    with psycopg.connect(pg_url, autocommit=True) as watcher:
        deadline = time.monotonic() + 120
        while ingest.poll() is None and time.monotonic() < deadline:
            pid = _copy_backend(watcher, dbname)
            if pid is not None:
                (terminated,) = watcher.execute(
                    "SELECT pg_terminate_backend(%s)", (pid,)
                ).fetchone()
                break
            time.sleep(0.005)
    out, err = ingest.communicate(timeout=120)
    assert terminated, f"the COPY was never seen running: {out}{err}"
    assert ingest.returncode == 5, out + err
    assert "Cannot reach PostgreSQL" in err and "nothing was stored" in err
    assert "Traceback" not in err + out
    assert table_counts(ready_conn) == before


def test_the_same_counts_in_another_file_exit_2_naming_the_delivery(ready_conn, pg_url, tmp_path):
    from click.testing import CliRunner

    from lagesbild_geo.cli.main import main

    ready_conn.commit()
    first, second = tmp_path / "polis.csv", tmp_path / "polis.xlsx.csv"
    first.write_text("område,vecka,indikator,antal\n1101,2026-W07,ran,4\n", encoding="utf-8")
    second.write_text("antal;indikator;vecka;område\r\n4;ran;2026-W07;1101\r\n", encoding="cp1252")
    runner = CliRunner()
    env = {"LAGESBILD_DATABASE_URL": pg_url}
    stored = runner.invoke(main, ["ingest", str(first), "--actor", "polisen"], env=env)
    assert stored.exit_code == 0 and "stored as pending" in stored.output
    again = runner.invoke(main, ["ingest", str(first), "--actor", "polisen"], env=env)
    assert again.exit_code == 0 and "already delivered as delivery 1" in again.output
    copy = runner.invoke(main, ["ingest", str(second), "--actor", "polisen"], env=env)
    assert copy.exit_code == 2 and "already delivered as delivery 1 (pending)" in copy.output
    assert "Traceback" not in copy.output
