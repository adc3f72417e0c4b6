"""Store a delivery in schema ``lagesbild``: its cells, and the double reports it makes.

A delivery is stored whole or not at all, as pending review, in one transaction. Only counts
are stored (per area, week and indicator, with each event's hour of the week and the actor's
references), never the rows or positions they came from. Cells go in by binary COPY
(``pgcopy``) in the order (indicator, week, area); the ingest hands them over in that order,
part by part, and ``rank_values`` is the order's definition both use.
Values are always bound parameters or COPY rows; identifiers are never composed from input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.db.connection import one
from lagesbild_geo.errors import (
    ConflictError,
    DeliveryRefusedError,
    InputError,
    NotFoundError,
    Problem,
)
from lagesbild_geo.store import pgcopy

#: First key of the advisory lock that serialises one actor's deliveries (the second key is
#: the actor id's hash): two copies of a file stored at the same moment would otherwise both
#: pass the "already delivered?" look-up, and the second end in a UniqueViolation.
DELIVERY_LOCK_ID = 741_2027
#: Statuses whose cells count (or will, once approved): a repeat of these is counted twice.
LIVE_STATUSES = ("pending", "approved")


class AlreadyDeliveredError(ConflictError):
    """The same file (same bytes) from the same actor is stored already: ``delivery_id``."""

    def __init__(self, delivery_id: int, status: str):
        super().__init__(f"This file was already delivered as delivery {delivery_id} ({status})")
        self.delivery_id = delivery_id
        self.status = status


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
    #: What was delivered, whatever file it came in (``content_digest``); ``None``: not known.
    cells_sha256: str | None = None


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

    Repeats by the same actor (issue 11), decided under a lock per actor so that two copies
    stored at the same moment are told apart like two in a row:

    * the same file again (same bytes): :class:`AlreadyDeliveredError`, nothing stored;
    * the same cells in another file (``cells_sha256``, or every cell repeated exactly) as a
      pending or approved delivery: refused, "already delivered as delivery N";
    * some cells repeated exactly (same area, week, indicator and counts; for events also the
      same hours and the same references, so not two events that only share an hour):
      refused, since they would be counted twice; a correction (``replaces_id``) may repeat
      the cells of the delivery it corrects, but not be identical to it;
    * cells with the same area, week and indicator as a live delivery but other values (a
      corrected count delivered without ``replaces_id``, or events added to a week already
      delivered): stored, and flagged for the reviewer in ``report["overlaps"]``.
    """
    if isinstance(new.observations, pa.Table | pd.DataFrame):
        parts: Iterable[pa.Table] = [_observation_table(new.observations)]
    else:
        parts = map(_observation_table, new.observations)
    areas: set[str] = set()
    indicators: set[str] = set()
    seen_weeks: list = []
    cell_count = 0

    def written(parts: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """The parts, checked to follow each other in key order (so no cell is in two)."""
        nonlocal cell_count
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
            cell_count += part.num_rows
            yield part

    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (DELIVERY_LOCK_ID, new.actor_id)
        )
        existing = find_delivery_by_content(conn, new.actor_id, new.content_sha256)
        if existing is not None:
            raise AlreadyDeliveredError(*existing)
        if new.replaces_id is not None:
            _check_replaceable(conn, new.replaces_id, new.actor_id)
        # The cells go first (the table has no foreign key: migration 0005), so that the
        # delivery's first and last week are those of the cells as written.
        (delivery_id,) = one(
            conn, "SELECT nextval(pg_get_serial_sequence('lagesbild.delivery', 'id'))"
        )
        _write_cells(conn, delivery_id, written(parts))
        weeks = (min(seen_weeks, default=None), max(seen_weeks, default=None))
        report = dict(new.report or {})
        overlaps = _refuse_repeats(conn, new, delivery_id, cell_count, weeks)
        if overlaps:
            report["overlaps"] = overlaps
        conn.execute(
            "INSERT INTO lagesbild.delivery (id, actor_id, file_name, content_sha256, shape,"
            " row_count, first_week, last_week, replaces_id, report, cells_sha256)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                delivery_id,
                new.actor_id,
                new.file_name,
                new.content_sha256,
                new.shape,
                new.row_count,
                *weeks,
                new.replaces_id,
                json.dumps(report, ensure_ascii=False),
                new.cells_sha256,
            ),
        )
        _check_references(conn, areas, indicators)
        flags = _flag_double_reports(conn, delivery_id) if new.shape == "events" else 0

        log_action(conn, delivery_id, "received", new.actor_id, new.file_name)
    return delivery_id, flags


def _write_cells(conn: psycopg.Connection, delivery_id: int, parts: Iterable[pa.Table]) -> None:
    """COPY the cells into ``lagesbild.observation``; through a temporary table when the
    caller is subject to row-level security (an actor delivering over HTTP), since PostgreSQL
    refuses ``COPY FROM`` into a table with policies. The detour costs one more pass over the
    cells, so the owner (the CLI) copies straight in."""
    (restricted,) = one(conn, "SELECT row_security_active('lagesbild.observation')")
    if not restricted:
        with conn.cursor().copy(pgcopy.COPY_OBSERVATIONS) as copy:
            pgcopy.write_observations(copy, delivery_id, parts)
        return
    conn.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS observation_in"
        " (LIKE lagesbild.observation INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    with conn.cursor().copy(pgcopy.COPY_OBSERVATIONS_STAGED) as copy:
        pgcopy.write_observations(copy, delivery_id, parts)
    conn.execute("INSERT INTO lagesbild.observation SELECT * FROM pg_temp.observation_in")
    conn.execute("TRUNCATE pg_temp.observation_in")


def content_digest(rows: pd.DataFrame) -> str:
    """SHA-256 of what a delivery holds, whatever file it came in: of its rows as validated
    (normalised values: the file's column order, encoding, format and row order do not
    matter). The pipeline digests counted rows as area, week, indicator and counts, single
    events as category, minute and position; stored as ``delivery.cells_sha256`` (migration
    0015). References are left out: the same counts re-exported with new record ids are the
    same counts (and a million distinct references would cost ~1 s to hash; the columns
    digested repeat themselves, or are numbers: ~0.05 s per million events).

    >>> a = pd.DataFrame({"area": ["1101", "1102"], "n": [3, 1]})
    >>> content_digest(a) == content_digest(a.iloc[::-1]) != content_digest(a.assign(n=[3, 2]))
    True
    """
    combined = np.zeros(len(rows), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in rows.columns:
            column = rows[name]
            if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufM":
                hashed = pd.util.hash_array(column.to_numpy())  # numbers and datetimes
            else:  # text and nullable numbers: hash each distinct value once
                codes, distinct = pd.factorize(column, use_na_sentinel=False)
                hashed = pd.util.hash_array(np.asarray(distinct, dtype=object))[codes]
            combined = combined * np.uint64(0x100000001B3) ^ hashed
    hashes = np.sort(combined)
    header = "\x1f".join(map(str, rows.columns)).encode()
    return hashlib.sha256(header + b"\n" + hashes.astype("<u8").tobytes()).hexdigest()


#: Per pending or approved delivery of the same actor in the same weeks: how many of its
#: cells have the area, week and indicator of one of the new delivery's (shared), how many of
#: those have the same values (repeated: counts; for events also their hours and references,
#: in any order), how many of these are certain repeats (counted rows, or events with the
#: actor's references: the same record ids again), and its number of cells.
_SHARED_CELLS = """
    WITH live AS (
        SELECT d.id, d.status FROM lagesbild.delivery d
        WHERE d.actor_id = %(actor)s AND d.status = ANY(%(live)s)
          AND d.first_week <= %(last)s AND d.last_week >= %(first)s
    ), mine AS (
        SELECT * FROM lagesbild.observation WHERE delivery_id = %(id)s
    ), pairs AS (
        SELECT o.delivery_id, l.status,
               o.numerator = m.numerator
               AND o.denominator IS NOT DISTINCT FROM m.denominator
               AND lagesbild.sorted_hours(o.event_hours)
                   IS NOT DISTINCT FROM lagesbild.sorted_hours(m.event_hours)
               AND (m.event_hours IS NULL OR lagesbild.sorted_refs(o.source_refs)
                    IS NOT DISTINCT FROM lagesbild.sorted_refs(m.source_refs)) AS same,
               m.event_hours IS NULL OR m.source_refs IS NOT NULL AS certain
        FROM live l
        JOIN lagesbild.observation o ON o.delivery_id = l.id
        JOIN mine m USING (indicator_id, week_start, area_code)
    )
    SELECT delivery_id, status, count(*), count(*) FILTER (WHERE same),
           count(*) FILTER (WHERE same AND certain),
           (SELECT count(*) FROM lagesbild.observation x WHERE x.delivery_id = p.delivery_id)
    FROM pairs p
    GROUP BY delivery_id, status
    ORDER BY delivery_id
"""


def _refuse_repeats(
    conn: psycopg.Connection, new: NewDelivery, delivery_id: int, cell_count: int, weeks: tuple
) -> list[dict]:
    """Refuse what the actor delivered already (see ``save_delivery``); return the overlaps
    to flag for the reviewer: ``[{"delivery": id, "cells": n}]``."""
    if new.cells_sha256 is not None:
        same = conn.execute(
            "SELECT id, status FROM lagesbild.delivery WHERE actor_id = %s"
            " AND cells_sha256 = %s AND status = ANY(%s) ORDER BY id LIMIT 1",
            (new.actor_id, new.cells_sha256, list(LIVE_STATUSES)),
        ).fetchone()
        if same is not None:
            _refuse_identical(new, *same)
    if weeks[0] is None:
        return []
    (any_live,) = one(
        conn,
        "SELECT EXISTS (SELECT 1 FROM lagesbild.delivery WHERE actor_id = %s"
        " AND status = ANY(%s) AND first_week <= %s AND last_week >= %s)",
        (new.actor_id, list(LIVE_STATUSES), weeks[1], weeks[0]),
    )
    if not any_live:  # nothing of this actor in these weeks: nothing can repeat
        return []
    params = {"actor": new.actor_id, "live": list(LIVE_STATUSES), "id": delivery_id}
    params.update(first=weeks[0], last=weeks[1])
    overlaps = []
    for other, status, shared, repeated, certain, theirs in conn.execute(_SHARED_CELLS, params):
        if certain == cell_count == theirs:
            _refuse_identical(new, other, status)
        if other == new.replaces_id:
            continue  # a correction repeats most of what it corrects
        if certain:
            raise DeliveryRefusedError(
                [
                    Problem(
                        new.file_name,
                        f"{_how_many(certain, cell_count)} counts (area × week × indicator) "
                        f"repeat delivery {other} ({status}) exactly and would be counted "
                        f"twice; deliver only what is new, or correct delivery {other} with "
                        f"--replaces {other}",
                    )
                ]
            )
        overlaps.append({"delivery": other, "cells": shared, "same_values": repeated})
    return overlaps


def _how_many(part: int, whole: int) -> str:
    return f"all {whole:,} of its" if part == whole else f"{part:,} of its {whole:,}"


def _refuse_identical(new: NewDelivery, other: int, status: str) -> None:
    if other == new.replaces_id:
        raise ConflictError(
            f"This delivery has the same counts as delivery {other} ({status}), which it "
            "would correct; a correction must differ from it."
        )
    raise DeliveryRefusedError(
        [
            Problem(
                new.file_name,
                f"already delivered as delivery {other} ({status}): the same counts for every "
                "area, week and indicator, in another file; nothing new was stored (a "
                f"correction of it is delivered with --replaces {other})",
            )
        ]
    )


def rank_values(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Each value's rank among the distinct values, and those values sorted (Arrow's order:
    code point order for strings, as Python's and PostgreSQL's ``COLLATE "C"``)."""
    encoded = pc.dictionary_encode(values)
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[encoded.indices.to_numpy()], encoded.dictionary.take(pa.array(order))


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


def _flag_double_reports(conn: psycopg.Connection, delivery_id: int) -> int:
    """Flag the new delivery's events that another actor delivered in the same area and hour.

    The comparison reads other actors' deliveries, which an actor delivering over HTTP may not
    read: ``lagesbild.flag_double_reports`` (db/functions/92_deliveries.sql) does it as the
    owner and returns only the number of flags, which are the municipality's to read.
    """
    (flags,) = one(conn, "SELECT lagesbild.flag_double_reports(%s)", (delivery_id,))
    return flags


def log_action(
    conn: psycopg.Connection, delivery_id: int, action: str, by_whom: str, detail
) -> None:
    """Append to the delivery's log (who did what, when); every write that changes a
    delivery's status records itself here, in the caller's transaction."""
    conn.execute(
        "INSERT INTO lagesbild.delivery_log (delivery_id, action, by_whom, detail)"
        " VALUES (%s, %s, %s, %s)",
        (delivery_id, action, by_whom, detail),
    )
