"""The same content delivered again by the same actor (issue 11, item 5): refused, or flagged
for the reviewer, never counted twice in silence."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lagesbild_geo.errors import ConflictError, DeliveryRefusedError
from lagesbild_geo.ingest.pipeline import ingest_file
from lagesbild_geo.publish.review import change_status
from tests.conftest import table_counts

TODAY = date(2026, 11, 20)
HEADER = "område,vecka,indikator,antal\n"


def _deliver(conn, tmp_path, name, body, actor="polisen", **kw):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return ingest_file(conn, path, actor_id=actor, today=TODAY, **kw)


def _refused(conn, tmp_path, name, body, actor="polisen", **kw) -> str:
    before = table_counts(conn)
    with pytest.raises(DeliveryRefusedError) as info:
        _deliver(conn, tmp_path, name, body, actor, **kw)
    assert table_counts(conn) == before
    return str(info.value)


def test_the_same_counts_after_approval_are_refused_and_the_digest_is_stored(ready_conn, tmp_path):
    first = _deliver(ready_conn, tmp_path, "a.csv", HEADER + "1101,2026-W07,ran,4\n")
    change_status(ready_conn, first.delivery_id, "approve", by_whom="anna")
    message = _refused(
        ready_conn, tmp_path, "b.csv", "vecka;antal;område;indikator\n2026-02-11;4;1101;RAN\n"
    )
    assert f"already delivered as delivery {first.delivery_id} (approved)" in message
    (digest,) = ready_conn.execute(
        "SELECT cells_sha256 FROM lagesbild.delivery WHERE id = %s", (first.delivery_id,)
    ).fetchone()
    assert len(digest) == 64


def test_another_actor_may_deliver_the_same_counts(ready_conn, tmp_path):
    body = HEADER + "1101,2026-W07,skadegorelse,4\n"
    _deliver(ready_conn, tmp_path, "a.csv", body, actor="vaktbolaget")
    other = _deliver(ready_conn, tmp_path, "b.csv", body, actor="bostadsbolaget")
    assert other.status == "pending" and not other.overlaps


def test_after_a_withdrawal_the_same_counts_may_come_again(ready_conn, tmp_path):
    first = _deliver(ready_conn, tmp_path, "a.csv", HEADER + "1101,2026-W07,ran,4\n")
    change_status(ready_conn, first.delivery_id, "withdraw", by_whom="polisen", actor_id="polisen")
    again = _deliver(
        ready_conn, tmp_path, "b.csv", "vecka,område,indikator,antal\n2026-W07,1101,ran,4\n"
    )
    assert again.delivery_id != first.delivery_id and again.status == "pending"


def test_a_correction_may_repeat_what_it_corrects_but_not_be_identical(ready_conn, tmp_path):
    old = _deliver(
        ready_conn, tmp_path, "a.csv", HEADER + "1101,2026-W07,ran,4\n1102,2026-W07,ran,1\n"
    ).delivery_id
    with pytest.raises(ConflictError, match="a correction must differ"):
        _deliver(
            ready_conn,
            tmp_path,
            "b.csv",
            HEADER + "1102,2026-W07,ran,1\n1101,2026-W07,ran,4\n",
            replaces=old,
        )
    fixed = _deliver(
        ready_conn,
        tmp_path,
        "c.csv",
        HEADER + "1101,2026-W07,ran,5\n1102,2026-W07,ran,1\n",
        replaces=old,
    )
    assert fixed.status == "pending" and not fixed.overlaps


def test_other_values_for_the_same_cells_are_stored_and_flagged(ready_conn, tmp_path):
    """A corrected count delivered without --replaces: the reviewer decides."""
    first = _deliver(ready_conn, tmp_path, "a.csv", HEADER + "1101,2026-W07,ran,4\n")
    second = _deliver(
        ready_conn, tmp_path, "b.csv", HEADER + "1101,2026-W07,ran,5\n1102,2026-W07,ran,1\n"
    )
    assert second.overlaps == [{"delivery": first.delivery_id, "cells": 1, "same_values": 0}]
    assert "flagged for the reviewer" in second.summary()
    (report,) = ready_conn.execute(
        "SELECT report FROM lagesbild.delivery WHERE id = %s", (second.delivery_id,)
    ).fetchone()
    assert report["overlaps"] == second.overlaps


def test_events_without_references_in_the_same_cell_are_flagged_not_refused(ready_conn, tmp_path):
    """Cells keep the hour, not the minute: two files with one event each, ten minutes apart
    at the same place, make equal cells, yet may be two events. Without the actor's references
    nothing tells them apart, so the reviewer is asked."""
    header = "kategori,datum,tid,x,y\n"
    first = _deliver(
        ready_conn,
        tmp_path,
        "a.csv",
        header + "skadegorelse,2026-03-04,22:05,623007.2,6580818.0\n",
        actor="vaktbolaget",
    )
    second = _deliver(
        ready_conn,
        tmp_path,
        "b.csv",
        header + "skadegorelse,2026-03-04,22:15,623007.2,6580818.0\n",
        actor="vaktbolaget",
    )
    assert second.overlaps == [{"delivery": first.delivery_id, "cells": 1, "same_values": 1}]
    # The very same event (same minute) in another file is the same delivery again.
    message = _refused(
        ready_conn,
        tmp_path,
        "c.csv",
        "x;y;tid;datum;kategori\n623007.2;6580818.0;22:15;2026-03-04;skadegorelse\n",
        actor="vaktbolaget",
    )
    assert f"already delivered as delivery {second.delivery_id}" in message


def test_counts_are_the_same_whatever_references_they_carry(ready_conn, tmp_path):
    """A re-export with new record ids is the same counts; a superset of them too."""
    header = HEADER.replace("\n", ",referens\n")
    first = _deliver(ready_conn, tmp_path, "a.csv", header + "1101,2026-W07,ran,4,P-1\n")
    again = _refused(ready_conn, tmp_path, "b.csv", header + "1101,2026-W07,ran,4,EXPORT-77\n")
    assert f"already delivered as delivery {first.delivery_id}" in again
    more = _refused(
        ready_conn, tmp_path, "c.csv", header + "1101,2026-W07,ran,4,X-1\n1102,2026-W07,ran,1,X-2\n"
    )
    assert (
        f"1 of its 2 counts (area × week × indicator) repeat delivery {first.delivery_id}" in more
    )


@given(st.lists(st.tuples(st.sampled_from(["1101", "1102"]), st.integers(0, 9)), min_size=1))
def test_the_digest_depends_on_the_rows_not_their_order(rows):
    from lagesbild_geo.store.deliveries import content_digest

    frame = pd.DataFrame(rows, columns=["area_code", "numerator"]).astype({"area_code": "str"})
    shuffled = frame.sample(frac=1, random_state=len(rows))
    assert content_digest(frame) == content_digest(shuffled)
    changed = frame.assign(numerator=frame["numerator"] + (frame.index == 0))
    assert content_digest(changed) != content_digest(frame)
