"""The only module that writes to the database.

Every write is one transaction: a delivery is stored whole or not at all, an area import
replaces the layer whole or not at all, a review changes one delivery and logs who and when.
Values are always bound parameters or COPY rows; identifiers are never composed from input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from lagesbild_geo.catalogue import IndicatorCatalogue
from lagesbild_geo.errors import ConflictError, InputError, NotFoundError
from lagesbild_geo.ingest.aggregate import rank_values
from lagesbild_geo.ingest.locate import LOCATOR_FORMAT, AreaLocator
from lagesbild_geo.store import pgcopy
from lagesbild_geo.store import reads as queries

# Status changes a reviewer or owner may make, and the statuses they start from.
TRANSITIONS = {
    "approve": ({"pending"}, "approved"),
    "reject": ({"pending"}, "rejected"),
    "withdraw": ({"pending", "approved"}, "withdrawn"),
}


# -- catalogue and actors ----------------------------------------------------------------------


def sync_catalogue(conn: psycopg.Connection, catalogue: IndicatorCatalogue) -> int:
    """Insert or update actor kinds and indicators from the catalogue; return indicator count.

    Indicators are never deleted: stored observations may refer to them.
    """
    with conn.transaction():
        for kind in catalogue.actor_kinds.values():
            conn.execute(
                "INSERT INTO lagesbild.actor_kind (id, name_sv, name_en) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name_sv = EXCLUDED.name_sv,"
                " name_en = EXCLUDED.name_en",
                (kind.id, kind.name_sv, kind.name_en),
            )
        for ind in catalogue.indicators.values():
            conn.execute(
                "INSERT INTO lagesbild.indicator (id, name_sv, name_en, unit, owner_kind, measure,"
                " est_category, strategic, catalogue_version)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name_sv = EXCLUDED.name_sv,"
                " name_en = EXCLUDED.name_en, unit = EXCLUDED.unit,"
                " owner_kind = EXCLUDED.owner_kind, measure = EXCLUDED.measure,"
                " est_category = EXCLUDED.est_category, strategic = EXCLUDED.strategic,"
                " catalogue_version = EXCLUDED.catalogue_version",
                (
                    ind.id,
                    ind.name_sv,
                    ind.name_en,
                    ind.unit,
                    ind.owner_kind,
                    ind.measure,
                    ind.est_category,
                    ind.strategic,
                    catalogue.version,
                ),
            )
    return len(catalogue.indicators)


def upsert_actor(conn: psycopg.Connection, actor_id: str, kind: str, name: str) -> None:
    with conn.transaction():
        try:
            conn.execute(
                "INSERT INTO lagesbild.actor (id, kind, name) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name",
                (actor_id, kind, name),
            )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise InputError(f"Unknown actor kind {kind!r}; load the catalogue first") from exc
        except psycopg.errors.CheckViolation as exc:
            raise InputError(
                f"Actor id {actor_id!r} must be lower-case letters, digits, '-' or '_'"
            ) from exc


# -- areas -------------------------------------------------------------------------------------


def replace_areas(
    conn: psycopg.Connection,
    levels: Iterable[pd.DataFrame],
    *,
    source: str,
    report: dict,
    k: int | None = None,
) -> int:
    """Replace the whole area layer (all levels) in one transaction; return the level-3 count.

    Each frame has code, name, level, parent_code, population and geometry (EPSG:3006).
    Refused when stored observations refer to a level-3 code the new layer lacks. The public
    layers are rebuilt in the same transaction (``publish.refresh``, with ``k`` or, when
    ``None``, the k of the last publication), so they never show old and new areas mixed.
    """
    frames = [f for f in levels if len(f)]
    new_codes = {str(c) for f in frames for c in f["code"]}
    with conn.transaction():
        used = {r[0] for r in conn.execute("SELECT DISTINCT area_code FROM lagesbild.observation")}
        missing = sorted(used - new_codes)
        if missing:
            raise ConflictError(
                f"The new area layer lacks {len(missing)} codes that stored deliveries use "
                f"(e.g. {', '.join(missing[:5])}); import a layer that keeps them."
            )
        conn.execute("SET CONSTRAINTS ALL DEFERRED")
        conn.execute("DELETE FROM lagesbild.area")
        with conn.cursor().copy(
            "COPY lagesbild.area (code, name, level, parent_code, population, geom) FROM STDIN"
        ) as copy:
            for frame in frames:
                geoms = shapely.to_wkb(
                    shapely.force_2d(frame.geometry.values), hex=True, include_srid=False
                )
                for row, wkb in zip(frame.itertuples(index=False), geoms, strict=True):
                    pop = row.population
                    copy.write_row(
                        (
                            str(row.code),
                            str(row.name),
                            int(row.level),
                            None if pd.isna(row.parent_code) else str(row.parent_code),
                            None if pd.isna(pop) else int(pop),
                            f"SRID=3006;{wkb}",
                        )
                    )
        conn.execute(
            "UPDATE lagesbild.area SET geom = ST_Multi(geom) WHERE GeometryType(geom) = 'POLYGON'"
        )
        conn.execute(
            "INSERT INTO lagesbild.area_import (source, report, locator, locator_format)"
            " VALUES (%s, %s, %s, %s)",
            (
                source,
                json.dumps(report, ensure_ascii=False),
                # built on the geometries as stored: it must answer as PostGIS does
                AreaLocator(*queries.level3_areas(conn)).to_bytes(),
                LOCATOR_FORMAT,
            ),
        )
        (n,) = conn.execute("SELECT count(*) FROM lagesbild.area WHERE level = 3").fetchone()
        conn.execute("SELECT publish.refresh(%s)", (k,))
    return n


# -- deliveries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewDelivery:
    """Everything a delivery stores: the counts, never the rows or positions they came from.

    ``observations`` is an Arrow table with the columns of ``OBSERVATION_COLUMNS`` (the list
    columns may be missing or null: aggregated rows have no event hours), or an iterator of
    such tables in key order (indicator, week, area, no cell in two of them): each part is
    written while the next is computed.
    """

    actor_id: str
    file_name: str
    content_sha256: str
    shape: str  # aggregated | events
    row_count: int
    observations: pa.Table | pd.DataFrame | Iterator[pa.Table]
    replaces_id: int | None = None
    report: dict | None = None


#: Column → Arrow type of the observation table handed to ``save_delivery``.
OBSERVATION_COLUMNS = {
    "area_code": pa.string(),
    "week_start": pa.date32(),
    "indicator": pa.string(),
    "numerator": pa.int64(),
    "denominator": pa.int64(),
    "event_hours": pa.list_(pa.int16()),
    "source_refs": pa.list_(pa.string()),
}


def find_delivery_by_content(
    conn: psycopg.Connection, actor_id: str, content_sha256: str
) -> tuple[int, str] | None:
    row = conn.execute(
        "SELECT id, status FROM lagesbild.delivery WHERE actor_id = %s AND content_sha256 = %s",
        (actor_id, content_sha256),
    ).fetchone()
    return (row[0], row[1]) if row else None


def save_delivery(conn: psycopg.Connection, new: NewDelivery) -> tuple[int, int]:
    """Store a delivery as pending, in one transaction; return (delivery id, double-report flags).

    Double reporting: events of the same indicator in the same area and hour delivered by a
    different actor (in a pending or approved delivery) are flagged for the reviewer.
    """
    if isinstance(new.observations, pa.Table | pd.DataFrame):
        parts: Iterable[pa.Table] = [_observation_table(new.observations)]
    else:
        parts = map(_observation_table, new.observations)
    areas: set[str] = set()
    indicators: set[str] = set()
    seen_weeks: list = []

    def written(parts: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """The parts, checked to follow each other in key order (so no cell is in two)."""
        last = None
        for part in parts:
            if not part.num_rows:
                continue
            first = _cell_key(part, 0)
            if last is not None and not last < first:
                raise InputError(f"The delivery has cells out of order or twice: {first}")
            last = _cell_key(part, part.num_rows - 1)
            areas.update(pc.unique(part["area_code"]).to_pylist())
            indicators.update(pc.unique(part["indicator"]).to_pylist())
            seen_weeks.extend(pc.min_max(part["week_start"]).as_py().values())
            yield part

    with conn.transaction():
        if new.replaces_id is not None:
            _check_replaceable(conn, new.replaces_id, new.actor_id)
        # The cells go first (the table has no foreign key: migration 0005), so that the
        # delivery's first and last week are those of the cells as written.
        (delivery_id,) = conn.execute(
            "SELECT nextval(pg_get_serial_sequence('lagesbild.delivery', 'id'))"
        ).fetchone()
        with conn.cursor().copy(pgcopy.COPY_OBSERVATIONS) as copy:
            pgcopy.write_observations(copy, delivery_id, written(parts))
        conn.execute(
            "INSERT INTO lagesbild.delivery (id, actor_id, file_name, content_sha256, shape,"
            " row_count, first_week, last_week, replaces_id, report)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                delivery_id,
                new.actor_id,
                new.file_name,
                new.content_sha256,
                new.shape,
                new.row_count,
                min(seen_weeks, default=None),
                max(seen_weeks, default=None),
                new.replaces_id,
                json.dumps(new.report or {}, ensure_ascii=False),
            ),
        )
        _check_references(conn, areas, indicators)
        flags = _flag_double_reports(conn, delivery_id) if new.shape == "events" else 0

        _log(conn, delivery_id, "received", new.actor_id, new.file_name)
    return delivery_id, flags


def _cell_key(cells: pa.Table, i: int) -> tuple:
    """(indicator, week start, area code) of row ``i``: the order the cells are stored in."""
    return tuple(cells[name][i].as_py() for name in ("indicator", "week_start", "area_code"))


def _check_references(conn: psycopg.Connection, areas: set[str], indicators: set[str]) -> None:
    """Every stored cell names a level-3 area and a catalogue indicator (one set query over
    the delivery's distinct codes, not its cells)."""
    bad = conn.execute(
        """
        SELECT 'area ' || c FROM unnest(%(areas)s::text[]) AS c
        WHERE NOT EXISTS (SELECT 1 FROM lagesbild.area a WHERE a.code = c AND a.level = 3)
        UNION
        SELECT 'indicator ' || i FROM unnest(%(indicators)s::text[]) AS i
        WHERE NOT EXISTS (SELECT 1 FROM lagesbild.indicator x WHERE x.id = i)
        LIMIT 5
        """,
        {"areas": sorted(areas), "indicators": sorted(indicators)},
    ).fetchall()
    if bad:
        raise InputError(
            "The delivery refers to what the database does not know: "
            + ", ".join(r[0] for r in bad)
        )


def _check_replaceable(conn: psycopg.Connection, old_id: int, actor_id: str) -> None:
    row = conn.execute(
        "SELECT actor_id, status FROM lagesbild.delivery WHERE id = %s FOR UPDATE", (old_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"Delivery {old_id} does not exist; nothing to replace")
    if row[0] != actor_id:
        raise ConflictError(
            f"Delivery {old_id} belongs to another actor; only its owner may replace it"
        )
    if row[1] not in ("pending", "approved"):
        raise ConflictError(
            f"Delivery {old_id} is {row[1]}; only a pending or approved delivery can be replaced"
        )


def _observation_table(observations: pa.Table | pd.DataFrame) -> pa.Table:
    """The cells with the columns and types of ``OBSERVATION_COLUMNS``, sorted by indicator,
    week and area; a repeated cell is refused (the table has no unique index: migration 0009)."""
    obs = observations
    if isinstance(obs, pd.DataFrame):
        obs = pa.Table.from_pandas(obs, preserve_index=False)
    n = obs.num_rows
    obs = pa.table(
        {
            name: (obs[name] if name in obs.column_names else pa.nulls(n, kind)).cast(kind)
            for name, kind in OBSERVATION_COLUMNS.items()
        }
    ).combine_chunks()
    keys = [obs[name] for name in ("indicator", "week_start", "area_code")]
    if any(key.null_count for key in keys):
        return obs.sort_by(
            [("indicator", "ascending"), ("week_start", "ascending"), ("area_code", "ascending")]
        )
    key = np.zeros(n, dtype=np.int64)
    for column in keys:
        rank, distinct = rank_values(column.combine_chunks())
        key = key * max(len(distinct), 1) + rank
    step = np.diff(key)
    if (step < 0).any():
        order = np.argsort(key, kind="stable")
        obs, step = obs.take(pa.array(order)), np.diff(key[order])
    if (step == 0).any():
        i = int(np.flatnonzero(step == 0)[0])
        cell = {name: obs[name][i].as_py() for name in ("area_code", "week_start", "indicator")}
        raise InputError(f"The delivery has the same cell twice: {cell}")
    return obs


#: Other actors' pending or approved event deliveries that cover some of the same weeks.
_OTHER_EVENT_DELIVERIES = """
    SELECT d.id FROM lagesbild.delivery d, lagesbild.delivery me
    WHERE me.id = %(id)s AND d.actor_id <> me.actor_id AND d.shape = 'events'
      AND d.status IN ('pending', 'approved')
      AND d.first_week <= me.last_week AND d.last_week >= me.first_week
"""


def _flag_double_reports(conn: psycopg.Connection, delivery_id: int) -> int:
    (overlapping,) = conn.execute(
        f"SELECT EXISTS ({_OTHER_EVENT_DELIVERIES})", {"id": delivery_id}
    ).fetchone()
    if not overlapping:  # no other actor's events in these weeks: nothing can be doubled
        return 0
    cur = conn.execute(
        f"""
        WITH mine AS (
            SELECT o.area_code, o.indicator_id, o.week_start, h, count(*) AS n
            FROM lagesbild.observation o, unnest(o.event_hours) AS h
            WHERE o.delivery_id = %(id)s
            GROUP BY 1, 2, 3, 4
        ), others AS ({_OTHER_EVENT_DELIVERIES}
        ), theirs AS (  -- their cells (found by delivery: BRIN) in the cells of mine
            SELECT o.delivery_id, o.area_code, o.indicator_id, o.week_start, h, count(*) AS n
            FROM lagesbild.observation o
            JOIN others d ON o.delivery_id = d.id
            JOIN (SELECT DISTINCT indicator_id, week_start, area_code FROM mine) c
              USING (indicator_id, week_start, area_code)
            CROSS JOIN unnest(o.event_hours) AS h
            GROUP BY 1, 2, 3, 4, 5
        )
        INSERT INTO lagesbild.double_report
            (area_code, indicator_id, hour_start, delivery_a, delivery_b, n_a, n_b)
        SELECT m.area_code, m.indicator_id, m.week_start + make_interval(hours => m.h),
               least(%(id)s, t.delivery_id), greatest(%(id)s, t.delivery_id),
               CASE WHEN %(id)s < t.delivery_id THEN m.n ELSE t.n END,
               CASE WHEN %(id)s < t.delivery_id THEN t.n ELSE m.n END
        FROM mine m
        JOIN theirs t USING (area_code, indicator_id, week_start, h)
        ON CONFLICT DO NOTHING
        """,
        {"id": delivery_id},
    )
    return cur.rowcount


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
    """Approve, reject or withdraw a delivery; return its new status.

    Approving a correction marks the delivery it names as ``replaced``, in the same
    transaction, so the picture never shows both or neither. Withdrawing is the owner's
    right: ``actor_id`` must be the delivery's actor.

    When the set of approved data changes (an approval, or withdrawing an approved delivery),
    the public layers are rebuilt in the same transaction by ``publish.refresh`` for the weeks
    the delivery (and the one it replaces) covers: the published picture changes exactly when
    the review does, never half. ``k`` is the suppression threshold (``None``: the k of the
    last publication).
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
                _log(conn, replaces_id, "replaced", by_whom, f"by delivery {delivery_id}")
        _log(conn, delivery_id, new_status, by_whom, reason)
        if action == "approve" or status == "approved":
            # The planner must know how many deliveries are approved (a small table, ~ms):
            # guessing one, it reads the observations delivery by delivery through their
            # BRIN index (migration 0009), ~1 s per review on the demo instead of ~0.1 s.
            conn.execute("ANALYZE lagesbild.delivery")
            conn.execute(
                "SELECT publish.refresh(%s, min(first_week), max(last_week))"
                " FROM lagesbild.delivery WHERE id IN (%s, %s)",
                (k, delivery_id, replaces_id if action == "approve" else delivery_id),
            )
    return new_status


def _log(conn: psycopg.Connection, delivery_id: int, action: str, by_whom: str, detail) -> None:
    conn.execute(
        "INSERT INTO lagesbild.delivery_log (delivery_id, action, by_whom, detail)"
        " VALUES (%s, %s, %s, %s)",
        (delivery_id, action, by_whom, detail),
    )


# -- analysis results (publish.hotspots, publish.trends) ---------------------------------------

#: Which result layer a process's saved run replaces.
ANALYSIS_LAYERS = {"hotspots": "hotspots", "emerging-hotspots": "hotspots", "trends": "trends"}


def save_analysis_run(conn: psycopg.Connection, collection: dict) -> int:
    """Save an analysis FeatureCollection as the current result of its indicators; return run id.

    One transaction: the run (with its provenance) is recorded, the indicators' rows in
    ``publish.hotspots`` or ``publish.trends`` are replaced, and the publication's version is
    bumped so that the ETag of the public layers changes. Area names, indicator names and
    geometries are taken from the publication itself (``publish.areas``/``indicators``), so
    only the computed numbers travel. Works with the reader role, which may write exactly
    these tables (``sql/0003_analysis.sql``).
    """
    from datetime import timedelta  # local: keeps this section self-contained

    prov = collection["provenance"]
    process = prov["process"]
    if process not in ANALYSIS_LAYERS:
        raise InputError(f"Results of {process} are not a published layer")
    rows = [f["properties"] for f in collection["features"]]
    indicators = sorted({r["indicator"] for r in rows})
    params = prov["parameters"]
    period = f"{params['period_start']}/{params['period_end']}"

    def col(name):
        return [r.get(name) for r in rows]

    with conn.transaction():
        (run_id, run_at) = conn.execute(
            "INSERT INTO publish.analysis_runs (process, indicators, period, provenance)"
            " VALUES (%s, %s, %s, %s) RETURNING id, run_at",
            (process, indicators, period, json.dumps(prov, ensure_ascii=False)),
        ).fetchone()
        common = (col("area_code"), col("indicator"), col("measure"))
        if ANALYSIS_LAYERS[process] == "hotspots":
            conn.execute("DELETE FROM publish.hotspots WHERE indicator = ANY(%s)", (indicators,))
            conn.execute(
                """
                INSERT INTO publish.hotspots (id, area_code, area_name, indicator,
                    indicator_name_sv, indicator_name_en, process, period, period_start,
                    period_end, measure, value, z, p, bin, label_sv, label_en, pattern,
                    pattern_sv, run_id, run_at, geom)
                SELECT r.area || ':' || r.ind, r.area, a.name, r.ind, i.name_sv, i.name_en,
                       %(process)s, %(period)s, %(start)s, %(end)s, r.measure, r.value, r.z,
                       r.p, r.bin, r.label_sv, r.label_en, r.pattern, r.pattern_sv,
                       %(run_id)s, %(run_at)s, a.geom
                FROM unnest(%(area)s::text[], %(ind)s::text[], %(measure)s::text[],
                            %(value)s::float8[], %(z)s::float8[], %(p)s::float8[],
                            %(bin)s::int2[], %(label_sv)s::text[], %(label_en)s::text[],
                            %(pattern)s::text[], %(pattern_sv)s::text[])
                     AS r(area, ind, measure, value, z, p, bin, label_sv, label_en, pattern,
                          pattern_sv)
                JOIN publish.areas a ON a.code = r.area
                JOIN publish.indicators i ON i.id = r.ind
                """,
                dict(
                    zip(("area", "ind", "measure"), common, strict=True),
                    process=process,
                    period=period,
                    start=_monday(params["period_start"]),
                    end=_monday(params["period_end"]) + timedelta(days=6),
                    run_id=run_id,
                    run_at=run_at,
                    **{
                        n: col(n)
                        for n in (
                            "value",
                            "z",
                            "p",
                            "bin",
                            "label_sv",
                            "label_en",
                            "pattern",
                            "pattern_sv",
                        )
                    },  # fmt: skip
                ),
            )
        else:
            conn.execute("DELETE FROM publish.trends WHERE indicator = ANY(%s)", (indicators,))
            conn.execute(
                """
                INSERT INTO publish.trends (id, area_code, area_name, indicator,
                    indicator_name_sv, indicator_name_en, window_text, window_start, window_end,
                    weeks, measure, trend, direction_sv, direction_en, tau, z, p,
                    slope_per_week, run_id, run_at, geom)
                SELECT r.area || ':' || r.ind, r.area, a.name, r.ind, i.name_sv, i.name_en,
                       %(period)s, %(start)s, %(end)s, r.weeks, r.measure, r.trend,
                       r.direction_sv, r.direction_en, r.tau, r.z, r.p, r.slope,
                       %(run_id)s, %(run_at)s, a.geom
                FROM unnest(%(area)s::text[], %(ind)s::text[], %(measure)s::text[],
                            %(weeks)s::int4[], %(trend)s::text[], %(direction_sv)s::text[],
                            %(direction_en)s::text[], %(tau)s::float8[], %(z)s::float8[],
                            %(p)s::float8[], %(slope)s::float8[])
                     AS r(area, ind, measure, weeks, trend, direction_sv, direction_en, tau,
                          z, p, slope)
                JOIN publish.areas a ON a.code = r.area
                JOIN publish.indicators i ON i.id = r.ind
                """,
                dict(
                    zip(("area", "ind", "measure"), common, strict=True),
                    period=period,
                    start=_monday(params["period_start"]),
                    end=_monday(params["period_end"]) + timedelta(days=6),
                    run_id=run_id,
                    run_at=run_at,
                    slope=col("slope_per_week"),
                    **{
                        n: col(n)
                        for n in ("weeks", "trend", "direction_sv", "direction_en", "tau", "z", "p")
                    },  # fmt: skip
                ),
            )
        conn.execute(
            "UPDATE publish.state SET version = version + 1, updated_at = clock_timestamp()"
        )
    return run_id


def _monday(iso_week: str):
    from datetime import date

    year, week = iso_week.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)
