"""The JSON documents of ``/deliveries``: a delivery, its summary and its double reports.

Read as the caller (``restricted_db.connection``): the row-level security of migration 0020
decides which deliveries exist for whom, so an actor's query simply finds no row for another
actor's delivery and the answer is the same 404 as for an id that was never used. Double
reports name another actor's delivery: only the municipality's reviewer and analyst read them
(the table's grants); an actor learns how many its own delivery raised when it posts it.
"""

from __future__ import annotations

from typing import Any

import psycopg

from lagesbild_geo.weeks import iso_week

#: The roles that read lagesbild.double_report (db/functions/90_access.sql).
DOUBLE_REPORT_READERS = ("reviewer", "analyst")
#: The largest id PostgreSQL's bigint holds; a larger one names no delivery.
MAX_ID = 2**63 - 1

_DELIVERIES = """
    SELECT d.id, d.actor_id, a.kind AS actor_kind, d.file_name, d.shape, d.status,
           d.received_at, d.row_count, d.first_week, d.last_week, d.replaces_id AS replaces,
           d.reviewed_by, d.reviewed_at, d.review_reason
    FROM lagesbild.delivery d JOIN lagesbild.actor a ON a.id = d.actor_id
    WHERE (%(id)s::bigint IS NULL OR d.id = %(id)s)
      AND (%(status)s::text IS NULL OR d.status = %(status)s)
    ORDER BY d.id
"""

_WEEKS_AREAS = """
    SELECT delivery_id, count(DISTINCT week_start), count(DISTINCT area_code)
    FROM lagesbild.observation WHERE delivery_id = ANY(%s) GROUP BY delivery_id
"""

_DOUBLE_REPORTS = """
    SELECT r.area_code, ar.name, r.indicator_id, r.hour_start,
           CASE WHEN r.delivery_a = %(id)s THEN r.delivery_b ELSE r.delivery_a END,
           oa.kind,
           CASE WHEN r.delivery_a = %(id)s THEN r.n_a ELSE r.n_b END,
           CASE WHEN r.delivery_a = %(id)s THEN r.n_b ELSE r.n_a END
    FROM lagesbild.double_report r
    JOIN lagesbild.delivery od
      ON od.id = CASE WHEN r.delivery_a = %(id)s THEN r.delivery_b ELSE r.delivery_a END
    JOIN lagesbild.actor oa ON oa.id = od.actor_id
    LEFT JOIN lagesbild.area ar ON ar.code = r.area_code
    WHERE %(id)s IN (r.delivery_a, r.delivery_b)
    ORDER BY r.hour_start, r.area_code, r.indicator_id
"""


def deliveries(
    conn: psycopg.Connection,
    role: str,
    *,
    delivery_id: int | None = None,
    status: str | None = None,
    details: bool = True,
) -> list[dict[str, Any]]:
    """The deliveries the caller may see (one when ``delivery_id``), as documents; with their
    summary, and for the reviewer and analyst their double reports, when ``details``."""
    cur = conn.execute(_DELIVERIES, {"id": delivery_id, "status": status})
    assert cur.description is not None  # a SELECT always describes its columns
    names = [c.name for c in cur.description]
    docs = [_document(dict(zip(names, row, strict=True))) for row in cur]
    if not docs:
        return docs
    ids = [d["id"] for d in docs]
    summaries = _summaries(conn, ids)
    for doc in docs:
        doc["summary"] = summaries.get(doc["id"], {"weeks": 0, "areas": 0, "indicators": []})
        doc["summary"]["total"] = sum(i["total"] for i in doc["summary"]["indicators"])
        if role in DOUBLE_REPORT_READERS:
            flags = _double_reports(conn, doc["id"]) if details else None
            doc["double_reports"] = flags if flags is not None else []
            doc["double_report_count"] = _double_report_count(conn, doc["id"])
        doc["links"] = links(doc, role)
    return docs


def links(doc: dict[str, Any], role: str) -> list[dict[str, str]]:
    """The delivery itself, and the decisions the caller's role may take on it now."""
    href = f"/deliveries/{doc['id']}"
    out = [{"rel": "self", "href": href, "type": "application/json"}]
    if doc.get("replaces") is not None:
        out.append({"rel": "replaces", "href": f"/deliveries/{doc['replaces']}"})
    if role == "actor" and doc["status"] in ("pending", "approved"):
        out.append({"rel": "withdraw", "href": href + "/withdraw", "method": "POST"})
    if role == "reviewer" and doc["status"] == "pending":
        out.append({"rel": "approve", "href": href + "/approve", "method": "POST"})
        out.append({"rel": "reject", "href": href + "/reject", "method": "POST"})
    return out


def _document(row: dict[str, Any]) -> dict[str, Any]:
    for week in ("first_week", "last_week"):
        row[week] = iso_week(row[week]) if row[week] is not None else None
    for moment in ("received_at", "reviewed_at"):
        row[moment] = row[moment].isoformat() if row[moment] is not None else None
    return row


def _summaries(conn: psycopg.Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {
        delivery: {"weeks": weeks, "areas": areas, "indicators": []}
        for delivery, weeks, areas in conn.execute(_WEEKS_AREAS, (ids,))
    }
    rows = conn.execute(
        "SELECT o.delivery_id, o.indicator_id, i.name_sv, count(*), sum(o.numerator)"
        " FROM lagesbild.observation o JOIN lagesbild.indicator i ON i.id = o.indicator_id"
        " WHERE o.delivery_id = ANY(%s)"
        " GROUP BY o.delivery_id, o.indicator_id, i.name_sv ORDER BY 1, 2",
        (ids,),
    )
    for delivery, indicator, name_sv, cells, total in rows:
        out[delivery]["indicators"].append(
            {"id": indicator, "name_sv": name_sv, "cells": cells, "total": int(total)}
        )
    return out


def _double_reports(conn: psycopg.Connection, delivery_id: int) -> list[dict[str, Any]]:
    return [
        {
            "area_code": area_code,
            "area_name": area_name,
            "indicator": indicator,
            "hour_start": hour_start.isoformat(),
            "other_delivery": other,
            "other_actor_kind": other_kind,
            "n_this": n_this,
            "n_other": n_other,
        }
        for (area_code, area_name, indicator, hour_start, other, other_kind, n_this, n_other) in (
            conn.execute(_DOUBLE_REPORTS, {"id": delivery_id})
        )
    ]


def _double_report_count(conn: psycopg.Connection, delivery_id: int) -> int:
    (count,) = conn.execute(
        "SELECT count(*) FROM lagesbild.double_report WHERE %s IN (delivery_a, delivery_b)",
        (delivery_id,),
    ).fetchone() or (0,)
    return int(count)
