"""Reads of the restricted schema that the CLI and the pipeline need.

Kept apart from the writers (``catalogue``, ``areas``, ``deliveries``, ``review``), so that
each module that writes to schema ``lagesbild`` stays small enough to review.
"""

from __future__ import annotations

import numpy as np
import psycopg
import shapely

from lagesbild_geo.errors import NotFoundError


def list_deliveries(conn: psycopg.Connection, status: str | None = None) -> list[dict]:
    rows = conn.execute(
        """
        SELECT d.id, d.actor_id, a.kind, d.file_name, d.shape, d.status, d.row_count,
               d.first_week, d.last_week, d.received_at, d.reviewed_by, d.reviewed_at,
               d.review_reason, d.replaces_id,
               (SELECT count(*) FROM lagesbild.double_report r
                 WHERE d.id IN (r.delivery_a, r.delivery_b)) AS double_reports
        FROM lagesbild.delivery d JOIN lagesbild.actor a ON a.id = d.actor_id
        WHERE %(status)s::text IS NULL OR d.status = %(status)s
        ORDER BY d.id
        """,
        {"status": status},
    )
    assert rows.description is not None  # a SELECT always describes its columns
    names = [c.name for c in rows.description]
    return [dict(zip(names, r, strict=True)) for r in rows]


def level3_areas(conn: psycopg.Connection) -> tuple[list[str], np.ndarray]:
    """Codes and geometries (shapely, exactly as stored) of the level-3 areas, by code."""
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM lagesbild.area WHERE level = 3 ORDER BY code"
    ).fetchall()
    return [r[0] for r in rows], shapely.from_wkb([bytes(r[1]) for r in rows])


def stored_locator(conn: psycopg.Connection, locator_format: int) -> bytes | None:
    """The area locator saved with the latest area import, if it has this format."""
    row = conn.execute(
        "SELECT CASE WHEN locator_format = %s THEN locator END FROM lagesbild.area_import"
        " ORDER BY id DESC LIMIT 1",
        (locator_format,),
    ).fetchone()
    return None if row is None or row[0] is None else bytes(row[0])


def area_codes(conn: psycopg.Connection, level: int = 3) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT code FROM lagesbild.area WHERE level = %s ORDER BY code", (level,)
        )
    ]


def actor_kind(conn: psycopg.Connection, actor_id: str) -> str:
    row = conn.execute("SELECT kind FROM lagesbild.actor WHERE id = %s", (actor_id,)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT id FROM lagesbild.actor ORDER BY id")]
        raise NotFoundError(
            f"Unknown actor {actor_id!r}; known actors: {', '.join(known) or '(none yet)'}. "
            "Add one with 'lagesbild actors add'."
        )
    return row[0]


def delivery_report(conn: psycopg.Connection, delivery_id: int) -> dict:
    """What the store recorded about a delivery for its reviewer (unplaced rows, overlaps)."""
    row = conn.execute(
        "SELECT report FROM lagesbild.delivery WHERE id = %s", (delivery_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"Delivery {delivery_id} does not exist")
    return row[0]
