"""Save an analysis run as a public result layer: ``publish.hotspots`` or ``publish.trends``.

The analyses read only what is already public, so their saved results live in schema
``publish`` too, written here (``publish/`` is the only writer of that schema). The reader
role the server runs as may write exactly these tables (``db/migrations/0003_analysis.sql``).

Both layers hold one feature per area and indicator, with the run's time (``run_at``) and the
publication it was computed from (``publication_version``): the area's and indicator's names and the
geometry come from the publication itself (``publish.areas``/``indicators``), so only the
computed numbers travel, one array per property (``unnest``). ``LAYERS`` says which
properties each layer keeps; one INSERT serves both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg import sql

from lagesbild_geo import weeks
from lagesbild_geo.db.connection import one
from lagesbild_geo.errors import InputError


@dataclass(frozen=True)
class ResultLayer:
    """A saved result table: where the run's facts go, and the per-feature columns.

    ``run_columns`` map a column to the fact of the run it holds (``process``; ``period``,
    its text; ``start``, its first Monday; ``end``, its last Sunday); ``columns`` map each
    column filled from the feature property of the same name to its SQL type.
    """

    table: str
    run_columns: dict[str, str]
    columns: dict[str, str]


#: Which result layer each process's saved run replaces.
LAYERS = {
    "hotspots": ResultLayer(
        table="hotspots",
        run_columns={
            "process": "process",
            "period": "period",
            "period_start": "start",
            "period_end": "end",
        },
        columns={
            "measure": "text",
            "value": "float8",
            "z": "float8",
            "p": "float8",
            "bin": "int2",
            "label_sv": "text",
            "label_en": "text",
            "pattern": "text",
            "pattern_sv": "text",
        },
    ),
    "trends": ResultLayer(
        table="trends",
        run_columns={"window_text": "period", "window_start": "start", "window_end": "end"},
        columns={
            "weeks": "int4",
            "measure": "text",
            "trend": "text",
            "direction_sv": "text",
            "direction_en": "text",
            "tau": "float8",
            "z": "float8",
            "p": "float8",
            "q": "float8",
            "slope_per_week": "float8",
        },
    ),
}
LAYERS["emerging-hotspots"] = LAYERS["hotspots"]


#: The channel a review notifies at commit (:func:`request_analysis`); the follower listens.
CHANNEL = "lagesbild_analysis"


@dataclass(frozen=True)
class Claim:
    """Open requests a follower took: their ids and the union of their indicators."""

    ids: list[int]
    indicators: list[str]


def request_analysis(
    conn: psycopg.Connection, indicators: list[str], delivery_ids: list[int]
) -> None:
    """Ask for the indicators' result layers to be recomputed once this transaction commits.

    Called in the review's transaction (:func:`lagesbild_geo.publish.review.change_status`):
    the row and the notification become visible together at commit, or not at all when the
    decision is rolled back. The analysis itself runs later, in the follower
    (:mod:`lagesbild_geo.analysis.follow`), outside the reviewer's transaction.
    """
    if not indicators:
        return
    conn.execute(
        "INSERT INTO publish.analysis_queue (indicators, delivery_ids) VALUES (%s, %s)",
        (sorted(indicators), sorted(delivery_ids)),
    )
    conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))


def claim_analysis(conn: psycopg.Connection, indicators: list[str] | None = None) -> Claim:
    """Take every open request (of ``indicators`` only, when given) for one recomputation.

    Requests that pile up while a run is going are answered by one run, not one each: the demo
    history alone makes 260 review decisions. Two followers cannot take the same row (the
    UPDATE locks it and re-checks ``started_at``).
    """
    rows = conn.execute(
        "UPDATE publish.analysis_queue SET started_at = clock_timestamp()"
        " WHERE started_at IS NULL AND (%(only)s::text[] IS NULL OR indicators <@ %(only)s)"
        " RETURNING id, indicators",
        {"only": indicators},
    ).fetchall()
    return Claim(ids=sorted(r[0] for r in rows), indicators=sorted({i for r in rows for i in r[1]}))


def finish_analysis(
    conn: psycopg.Connection, ids: list[int], run_ids: list[int], error: str | None = None
) -> None:
    """Mark claimed requests done, with the saved runs (or the error that stopped them)."""
    conn.execute(
        "UPDATE publish.analysis_queue SET finished_at = clock_timestamp(), run_ids = %s,"
        " error = %s WHERE id = ANY(%s)",
        (run_ids, error, ids),
    )


def release_unfinished(conn: psycopg.Connection) -> int:
    """Put back requests a stopped follower had taken but not finished; return how many.

    A follower calls it when it starts (one follower per database: ``lagesbild serve`` starts
    one), so a run killed half-way is redone rather than lost.
    """
    cur = conn.execute(
        "UPDATE publish.analysis_queue SET started_at = NULL"
        " WHERE started_at IS NOT NULL AND finished_at IS NULL"
    )
    return cur.rowcount


def save_analysis_run(conn: psycopg.Connection, collection: dict) -> int:
    """Save an analysis FeatureCollection as the current result of its indicators; return run id.

    One transaction: the run (with its provenance) is recorded, the indicators' rows in
    ``publish.hotspots`` or ``publish.trends`` are replaced, and the publication's version is
    bumped so that the ETag of the public layers changes. Works with the reader role.
    """
    prov = collection["provenance"]
    process = prov["process"]
    if process not in LAYERS:
        raise InputError(f"Results of {process} are not a published layer")
    layer = LAYERS[process]
    rows = [f["properties"] for f in collection["features"]]
    indicators = sorted({r["indicator"] for r in rows})
    params = prov["parameters"]
    period = f"{params['period_start']}/{params['period_end']}"

    with conn.transaction():
        (run_id, run_at) = one(
            conn,
            "INSERT INTO publish.analysis_runs (process, indicators, period, provenance)"
            " VALUES (%s, %s, %s, %s) RETURNING id, run_at",
            (process, indicators, period, json.dumps(prov, ensure_ascii=False)),
        )
        table = sql.Identifier("publish", layer.table)
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE indicator = ANY(%s)").format(table), (indicators,)
        )
        values = {
            "area": [r.get("area_code") for r in rows],
            "ind": [r.get("indicator") for r in rows],
            "period": period,
            "start": weeks.monday_of(params["period_start"]),
            "end": weeks.monday_of(params["period_end"]) + timedelta(days=6),
            "process": process,
            "run_id": run_id,
            "run_at": run_at,
            "version": prov.get("input", {}).get("publication_version"),
        }
        values |= {name: [r.get(name) for r in rows] for name in layer.columns}
        conn.execute(_insert(layer), values)
        conn.execute(
            "UPDATE publish.state SET version = version + 1, updated_at = clock_timestamp()"
        )
    return run_id


def _insert(layer: ResultLayer) -> sql.Composed:
    """The INSERT of one layer's features: the run's facts, the rows' arrays unnested."""
    names = list(layer.columns)
    return sql.SQL(
        "INSERT INTO {table} (id, area_code, area_name, indicator, indicator_name_sv,"
        " indicator_name_en, {run_columns}, {columns}, run_id, run_at, publication_version,"
        " geom)"
        " SELECT r.area || ':' || r.ind, r.area, a.name, r.ind, i.name_sv, i.name_en,"
        " {run_values}, {row_values}, %(run_id)s, %(run_at)s, %(version)s, a.geom"
        " FROM unnest(%(area)s::text[], %(ind)s::text[], {arrays}) AS r(area, ind, {names})"
        " JOIN publish.areas a ON a.code = r.area"
        " JOIN publish.indicators i ON i.id = r.ind"
    ).format(
        table=sql.Identifier("publish", layer.table),
        run_columns=sql.SQL(", ").join(map(sql.Identifier, layer.run_columns)),
        columns=sql.SQL(", ").join(map(sql.Identifier, names)),
        run_values=sql.SQL(", ").join(map(sql.Placeholder, layer.run_columns.values())),
        row_values=sql.SQL(", ").join(sql.Identifier("r", n) for n in names),
        arrays=sql.SQL(", ").join(
            sql.SQL("{}::{}[]").format(sql.Placeholder(n), sql.SQL(kind))
            for n, kind in layer.columns.items()
        ),
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
    )
