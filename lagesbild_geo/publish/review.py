"""A review decision and the public layers it changes, in one transaction.

``store.review.set_status`` writes the decision in schema ``lagesbild``; when the set of
approved data changed (an approval, or withdrawing an approved delivery), the public layers are
rebuilt here by ``publish.refresh`` for the weeks the delivery (and the one it replaces)
covers. Both happen in one transaction: the published picture changes exactly when the review
does, never half, and nothing public changes except at a review.
"""

from __future__ import annotations

import psycopg

from lagesbild_geo.store.review import set_status


def change_status(
    conn: psycopg.Connection,
    delivery_id: int,
    action: str,
    *,
    by_whom: str,
    reason: str | None = None,
    actor_id: str | None = None,
    k: int | None = None,
) -> str:
    """Approve, reject or withdraw a delivery and republish what it changed; return its status.

    ``k`` is the suppression threshold (``None``: the k of the last publication). The rules of
    who may do what, and from which status, are ``store.review.set_status``'s.
    """
    with conn.transaction():
        change = set_status(
            conn, delivery_id, action, by_whom=by_whom, reason=reason, actor_id=actor_id
        )
        if change.republish:
            conn.execute(
                "SELECT publish.refresh(%s, min(first_week), max(last_week))"
                " FROM lagesbild.delivery WHERE id = ANY(%s)",
                (k, list(change.republish)),
            )
    return change.status
