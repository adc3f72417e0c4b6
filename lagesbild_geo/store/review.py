"""Change a delivery's status in schema ``lagesbild``: approve, reject, withdraw.

A review changes one delivery (and the one a correction replaces) and logs who and when. The
public layers follow in the same transaction, but not from here: ``publish.review`` calls
:func:`set_status` and then rebuilds what the change touched, because ``publish/`` is the
only writer to schema ``publish``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from lagesbild_geo.errors import ConflictError, InputError, NotFoundError
from lagesbild_geo.store.deliveries import log_action

# Status changes a reviewer or owner may make, and the statuses they start from.
TRANSITIONS = {
    "approve": ({"pending"}, "approved"),
    "reject": ({"pending"}, "rejected"),
    "withdraw": ({"pending", "approved"}, "withdrawn"),
}


@dataclass(frozen=True)
class StatusChange:
    """What a status change did: the new status, and the deliveries whose weeks the public
    layers must be rebuilt for (empty when the set of approved data did not change)."""

    status: str
    republish: tuple[int, ...] = ()


def set_status(
    conn: psycopg.Connection,
    delivery_id: int,
    action: str,
    *,
    by_whom: str,
    reason: str | None = None,
    actor_id: str | None = None,
) -> StatusChange:
    """Approve, reject or withdraw a delivery, in schema ``lagesbild`` only.

    Approving a correction marks the delivery it names as ``replaced``, in the same
    transaction, so the picture never shows both or neither. Withdrawing is the owner's
    right: ``actor_id`` must be the delivery's actor. The caller rebuilds the public layers
    for :attr:`StatusChange.republish` in the same transaction (``publish.review``).
    """
    if action not in TRANSITIONS:
        raise InputError(f"Unknown action {action!r}; use approve, reject or withdraw")
    allowed_from, new_status = TRANSITIONS[action]
    if action == "reject" and not (reason and reason.strip()):
        raise InputError("A rejection needs a reason the actor can act on (--reason)")
    if not by_whom.strip():
        raise InputError("Say who you are (--by): reviews record who and when")
    with conn.transaction():
        row = conn.execute(
            "SELECT actor_id, status, replaces_id FROM lagesbild.delivery WHERE id = %s FOR UPDATE",
            (delivery_id,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"Delivery {delivery_id} does not exist")
        owner, status, replaces_id = row
        if action == "withdraw" and actor_id != owner:
            raise ConflictError(
                f"Delivery {delivery_id} belongs to {owner}; only its owner may withdraw it"
            )
        if status not in allowed_from:
            raise ConflictError(
                f"Delivery {delivery_id} is {status}; {action} needs it to be "
                f"{' or '.join(sorted(allowed_from))}"
            )
        if action == "withdraw":
            conn.execute(
                "UPDATE lagesbild.delivery SET status = 'withdrawn' WHERE id = %s", (delivery_id,)
            )
        else:
            conn.execute(
                "UPDATE lagesbild.delivery SET status = %s, reviewed_by = %s,"
                " reviewed_at = now(), review_reason = %s WHERE id = %s",
                (new_status, by_whom, reason, delivery_id),
            )
        if action == "approve" and replaces_id is not None:
            replaced = conn.execute(
                "UPDATE lagesbild.delivery SET status = 'replaced' WHERE id = %s"
                " AND status IN ('pending', 'approved') RETURNING id",
                (replaces_id,),
            ).fetchone()
            if replaced:
                log_action(conn, replaces_id, "replaced", by_whom, f"by delivery {delivery_id}")
        log_action(conn, delivery_id, new_status, by_whom, reason)
        if action == "approve" or status == "approved":
            # The planner must know how many deliveries are approved (a small table, ~ms):
            # guessing one, it reads the observations delivery by delivery through their
            # BRIN index (migration 0009), ~1 s per review on the demo instead of ~0.1 s.
            conn.execute("ANALYZE lagesbild.delivery")
            touched = (delivery_id, replaces_id) if action == "approve" else (delivery_id,)
            return StatusChange(new_status, tuple(i for i in touched if i is not None))
    return StatusChange(new_status)
