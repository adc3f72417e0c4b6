"""Review, correction and withdrawal: only approved data ever reaches the approved view."""

from datetime import date

import pytest

from lagesbild_geo.errors import ConflictError, InputError, NotFoundError
from lagesbild_geo.ingest.pipeline import ingest_file
from lagesbild_geo.publish.review import change_status

TODAY = date(2026, 11, 20)


def _deliver(conn, tmp_path, name, body, actor="polisen", **kw):
    path = tmp_path / name
    path.write_text("område,vecka,indikator,antal\n" + body, encoding="utf-8")
    return ingest_file(conn, path, actor_id=actor, today=TODAY, **kw).delivery_id


def _approved_total(conn) -> int:
    return conn.execute(
        "SELECT coalesce(sum(numerator), 0) FROM lagesbild.approved_observation"
    ).fetchone()[0]


def test_approve_records_who_and_when_and_publishes(ready_conn, tmp_path):
    d = _deliver(ready_conn, tmp_path, "a.csv", "1101,2026-W07,ran,4\n")
    assert _approved_total(ready_conn) == 0
    change_status(ready_conn, d, "approve", by_whom="granskare.anna")
    status, by, at = ready_conn.execute(
        "SELECT status, reviewed_by, reviewed_at FROM lagesbild.delivery WHERE id = %s", (d,)
    ).fetchone()
    assert (status, by) == ("approved", "granskare.anna") and at is not None
    assert _approved_total(ready_conn) == 4
    log = ready_conn.execute(
        "SELECT action, by_whom FROM lagesbild.delivery_log WHERE delivery_id = %s ORDER BY id",
        (d,),
    ).fetchall()
    assert log == [("received", "polisen"), ("approved", "granskare.anna")]


def test_reject_needs_a_reason_and_never_publishes(ready_conn, tmp_path):
    d = _deliver(ready_conn, tmp_path, "a.csv", "1101,2026-W07,ran,4\n")
    with pytest.raises(InputError, match="reason"):
        change_status(ready_conn, d, "reject", by_whom="anna", reason="  ")
    change_status(ready_conn, d, "reject", by_whom="anna", reason="Fel vecka")
    assert _approved_total(ready_conn) == 0
    with pytest.raises(ConflictError, match="is rejected"):
        change_status(ready_conn, d, "approve", by_whom="anna")


def test_unknown_delivery_is_named(ready_conn):
    with pytest.raises(NotFoundError, match="Delivery 999"):
        change_status(ready_conn, 999, "approve", by_whom="anna")


def test_a_correction_replaces_the_delivery_it_names_when_approved(ready_conn, tmp_path):
    old = _deliver(ready_conn, tmp_path, "a.csv", "1101,2026-W07,ran,4\n1102,2026-W07,ran,1\n")
    change_status(ready_conn, old, "approve", by_whom="anna")
    new = _deliver(
        ready_conn, tmp_path, "b.csv", "1101,2026-W07,ran,5\n1102,2026-W07,ran,1\n", replaces=old
    )
    assert _approved_total(ready_conn) == 5  # the old one shows until the correction is approved
    change_status(ready_conn, new, "approve", by_whom="anna")
    statuses = dict(
        ready_conn.execute("SELECT id, status FROM lagesbild.delivery ORDER BY id").fetchall()
    )
    assert statuses == {old: "replaced", new: "approved"}
    assert _approved_total(ready_conn) == 6


def test_only_the_owner_replaces(ready_conn, tmp_path):
    old = _deliver(ready_conn, tmp_path, "a.csv", "1101,2026-W07,skadegorelse,4\n")
    with pytest.raises(ConflictError, match="another actor"):
        _deliver(
            ready_conn,
            tmp_path,
            "b.csv",
            "1101,2026-W07,skadegorelse,3\n",
            actor="vaktbolaget",
            replaces=old,
        )


def test_withdraw_is_the_owners_right(ready_conn, tmp_path):
    d = _deliver(ready_conn, tmp_path, "a.csv", "1101,2026-W07,ran,4\n")
    change_status(ready_conn, d, "approve", by_whom="anna")
    with pytest.raises(ConflictError, match="only its owner"):
        change_status(ready_conn, d, "withdraw", by_whom="x", actor_id="vaktbolaget")
    assert _approved_total(ready_conn) == 4
    change_status(ready_conn, d, "withdraw", by_whom="polisen", actor_id="polisen")
    assert _approved_total(ready_conn) == 0
    with pytest.raises(ConflictError, match="is withdrawn"):
        change_status(ready_conn, d, "approve", by_whom="anna")


def test_a_correction_identical_to_a_delivery_is_refused(ready_conn, tmp_path):
    old = _deliver(ready_conn, tmp_path, "a.csv", "1101,2026-W07,ran,4\n")
    with pytest.raises(ConflictError, match=f"already delivered as delivery {old}"):
        _deliver(ready_conn, tmp_path, "a.csv", "1101,2026-W07,ran,4\n", replaces=old)
