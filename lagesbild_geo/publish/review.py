"""A review decision and the public layers it changes, in one transaction.

``store.review.set_status`` writes the decision in schema ``lagesbild``; when the set of
approved data changed (an approval, or withdrawing an approved delivery), the public layers are
rebuilt here by ``publication.refresh`` for the cells the delivery (and the one it replaces) is
part of: its weeks, indicators and actor kind. Both happen in one transaction: the published
picture changes exactly when the review does, never half, and nothing public changes except at
a review.

The saved result layers (``publish.hotspots``, ``publish.trends``) are computed from the
publication, so they follow it too, but not in this transaction (an analysis takes seconds): the
decision's transaction only records a request (``results.request_analysis``: a row in
``publish.analysis_queue`` and a notification, both visible at commit), and the follower
(``lagesbild_geo.analysis.follow``) recomputes the layers of the changed indicators after it.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from lagesbild_geo.db.connection import one
from lagesbild_geo.publish.publication import refresh
from lagesbild_geo.publish.results import request_analysis
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
    before_refresh: Callable[[psycopg.Connection], None] | None = None,
) -> str:
    """Approve, reject or withdraw a delivery and republish what it changed; return its status.

    ``k`` is the suppression threshold (``None``: the k of the last publication). The rules of
    who may do what, and from which status, are ``store.review.set_status``'s.
    ``before_refresh`` runs in the transaction just before the rebuild: the server takes the
    publisher's role there (``SET LOCAL ROLE lagesbild_publisher``), since the reviewer or actor
    who decided may not read the approved data nor write schema publish.
    """
    with conn.transaction():
        change = set_status(
            conn, delivery_id, action, by_whom=by_whom, reason=reason, actor_id=actor_id
        )
        if change.republish:
            lo, hi, inds, kinds = one(
                conn,
                "SELECT min(d.first_week), max(d.last_week),"
                " ARRAY(SELECT DISTINCT o.indicator_id FROM lagesbild.observation o"
                "       WHERE o.delivery_id = ANY(%s)),"
                " array_agg(DISTINCT a.kind)"
                " FROM lagesbild.delivery d JOIN lagesbild.actor a ON a.id = d.actor_id"
                " WHERE d.id = ANY(%s)",
                (list(change.republish), list(change.republish)),
            )
            # Only the cells these deliveries are part of change: their weeks, indicators
            # and actor kind (the other cells' contributions, and so their keys, are as they
            # were).
            if before_refresh is not None:
                before_refresh(conn)
            refresh(conn, k, lo=lo, hi=hi, indicators=inds, actor_kinds=kinds)
            request_analysis(conn, inds, list(change.republish))
    return change.status
