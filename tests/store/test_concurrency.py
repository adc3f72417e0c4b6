"""Two deliveries of the same content at the same moment: one is stored, the other is told so.

Each delivery runs in a process of its own with its own connection, as two ``lagesbild
ingest`` would. A barrier placed in front of the store makes both pass the "already
delivered?" look-up before either writes, the moment that used to end the second in a
UniqueViolation traceback; the store's lock per actor decides them one after the other.
"""

from __future__ import annotations

import multiprocessing
from datetime import date
from pathlib import Path

import psycopg
import pytest

from lagesbild_geo.errors import LagesbildError

TODAY = date(2026, 11, 20)


def _deliver(url: str, path: str, barrier, results) -> None:
    """In a child process: ingest ``path`` for the police, waiting at ``barrier`` just before
    the store; report the outcome (or the error's class and message)."""
    from lagesbild_geo.ingest import pipeline

    save = pipeline.store.save_delivery

    def save_together(conn, new):
        barrier.wait(timeout=60)
        return save(conn, new)

    pipeline.store.save_delivery = save_together
    try:
        with psycopg.connect(url) as conn:
            result = pipeline.ingest_file(conn, path, actor_id="polisen", today=TODAY)
        results.put(("stored", result.delivery_id, result.already_delivered, result.summary()))
    except LagesbildError as exc:
        results.put((type(exc).__name__, None, False, str(exc)))
    except Exception as exc:  # what must not happen: reported to the test, not lost
        results.put((type(exc).__name__, None, False, repr(exc)))


def _at_once(url: str, first: Path, second: Path) -> list[tuple]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(target=_deliver, args=(url, str(p), barrier, results)) for p in (first, second)
    ]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    return sorted(outcomes, key=lambda o: o[2])


@pytest.mark.parametrize("copy", ["the same file", "the same counts in another file"])
def test_the_same_delivery_twice_at_the_same_moment_is_stored_once(
    ready_conn, pg_url, tmp_path, copy
):
    ready_conn.commit()
    first = tmp_path / "polis.csv"
    first.write_text("område,vecka,indikator,antal\n1101,2026-W07,ran,2\n1102,2026-W07,ran,1\n")
    second = first
    if copy != "the same file":
        second = tmp_path / "polis.txt.csv"
        second.write_text(
            "antal;indikator;vecka;område\r\n1;ran;2026-W07;1102\r\n2;ran;2026-W07;1101\r\n",
            encoding="cp1252",
        )
    stored, other = _at_once(pg_url, first, second)
    (delivery_id,) = ready_conn.execute("SELECT id FROM lagesbild.delivery").fetchone()
    assert stored[0] == "stored" and stored[1] == delivery_id and not stored[2]
    if copy == "the same file":  # as one after the other: the first delivery's id, exit 0
        assert other[:3] == ("stored", delivery_id, True), other
        assert f"already delivered as delivery {delivery_id}" in other[3]
    else:
        assert other[0] == "DeliveryRefusedError", other
        assert f"already delivered as delivery {delivery_id}" in other[3]
    (cells,) = ready_conn.execute("SELECT count(*) FROM lagesbild.observation").fetchone()
    assert cells == 2
