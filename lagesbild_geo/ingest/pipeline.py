"""The whole ingest, in one function: read → refuse personal data → validate → locate →
aggregate → store.

Each stage is its own module; this one only wires them, so the data flow can be read here top
to bottom. Nothing is written unless every stage succeeded, and then in one transaction.
The area layer the events are placed in comes in the same way (``import_areas``): checked
areas → the locator built on them → store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.catalogue import IndicatorCatalogue, load_catalogue
from lagesbild_geo.db.connection import one
from lagesbild_geo.errors import ConflictError, DeliveryRefusedError, Problem
from lagesbild_geo.ingest.aggregate import count_cells
from lagesbild_geo.ingest.columns import Problems, parse_distinct
from lagesbild_geo.ingest.locate import LOCATOR_FORMAT, AreaLocator
from lagesbild_geo.ingest.periods import local_now
from lagesbild_geo.ingest.privacy.gate import find_personal_data, screen_file_name
from lagesbild_geo.ingest.read import RawTable, read_table
from lagesbild_geo.ingest.shapes import (
    AggregatedDelivery,
    Catalogue,
    EventDelivery,
    canonical_column,
    indicator_lookup,
)
from lagesbild_geo.ingest.validate import likely_shape, validate
from lagesbild_geo.settings import DeliveryLimits
from lagesbild_geo.store import areas as store_areas
from lagesbild_geo.store import deliveries as store
from lagesbild_geo.store import reads as queries

MAX_UNPLACED_LISTED = 50
#: What a delivery holds, per shape: the validated columns its content digest is made of
#: (``store.content_digest``), so that the same counts or events in another file are found.
COUNTED_CONTENT = ("area_code", "week_start", "indicator", "numerator", "denominator")
EVENT_CONTENT = ("indicator", "minute", "x", "y")
#: Single events are counted in about this many parts, so that storing starts early.
CELL_PARTS = 8

Progress = Callable[[str], None]


@dataclass
class IngestResult:
    delivery_id: int
    status: str
    shape: str
    rows: int
    observations: int
    double_reports: int = 0
    already_delivered: bool = False
    unplaced_rows: list[int] = field(default_factory=list)
    #: Live deliveries of the same actor with cells of the same area, week and indicator but
    #: other values, flagged for the reviewer: ``[{"delivery": id, "cells": n}]``.
    overlaps: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        if self.already_delivered:
            return (
                f"This file was already delivered as delivery {self.delivery_id} "
                f"({self.status}); nothing new was stored."
            )
        text = (
            f"Delivery {self.delivery_id} stored as {self.status}: {self.rows} rows "
            f"({self.shape}) → {self.observations} area × week × indicator counts."
        )
        if self.double_reports:
            text += f" {self.double_reports} possible double reports flagged for the reviewer."
        if self.unplaced_rows:
            text += f" {len(self.unplaced_rows)} events outside every area were left out."
        for overlap in self.overlaps:
            text += (
                f" {overlap['cells']:,} counts have the area, week and indicator of counts in "
                f"delivery {overlap['delivery']} with other values: flagged for the reviewer "
                f"(a correction of delivery {overlap['delivery']} is delivered with --replaces)."
            )
        return text


class _LocatorCache:
    """One AreaLocator per area layer version, so repeated ingests don't load it again.

    The locator saved with the area import is loaded in the background (``prepare``) while the
    delivery is being checked; without one (an import older than migration 0010) it is built
    there from the stored areas. The database is read on the caller's thread.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._locator: Future[AreaLocator] | None = None

    def prepare(self, conn: psycopg.Connection, pool: Executor) -> Future[AreaLocator]:
        key = one(conn, "SELECT count(*), max(id) FROM lagesbild.area_import") + (
            conn.info.dbname,
            conn.info.host,
            conn.info.port,
        )
        failed = self._locator is not None and self._locator.done() and self._locator.exception()
        if self._locator is None or key != self._key or failed:
            blob = queries.stored_locator(conn, LOCATOR_FORMAT)
            if blob is not None:
                self._locator = pool.submit(AreaLocator.from_bytes, blob)
            else:
                self._locator = pool.submit(AreaLocator, *queries.level3_areas(conn))
            self._key = key
        return self._locator


_locators = _LocatorCache()


def import_areas(
    conn: psycopg.Connection,
    levels: Iterable[pd.DataFrame],
    *,
    source: str,
    report: dict,
) -> int:
    """Replace the area layer (all levels, checked by ``ingest.areas``); return the level-3
    count. The locator saved with it is built here, on the areas as the store wrote them, so
    that the next ingest loads it instead of building it (``store.areas.replace_areas``)."""
    return store_areas.replace_areas(
        conn, levels, source=source, report=report, index=_locator_bytes
    )


def _locator_bytes(codes: list[str], geoms: np.ndarray) -> tuple[bytes, int]:
    return AreaLocator(codes, geoms).to_bytes(), LOCATOR_FORMAT


def ingest_file(
    conn: psycopg.Connection,
    path: str | Path,
    *,
    actor_id: str,
    crs: str | None = None,
    sheet: str | None = None,
    replaces: int | None = None,
    allow_unplaced: bool = False,
    today: date | None = None,
    now: datetime | None = None,
    limits: DeliveryLimits | None = None,
    catalogue: IndicatorCatalogue | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest one delivery file for ``actor_id``; it is stored as pending review, or refused.

    The same file (same bytes) from the same actor is stored once: a second delivery returns
    the first one's id. ``replaces`` names the delivery this one corrects; the correction takes
    its place when approved. Events outside every area refuse the delivery (each row listed)
    unless ``allow_unplaced``, when they are left out and counted in the delivery's report.

    ``limits`` (the settings' ``delivery_limits()``; their defaults when ``None``) bound counts,
    dates and references. What lies in the future is judged by ``now`` in Swedish time (the
    clock when neither ``now`` nor ``today`` is given); ``today`` alone (for tests) accepts
    every time of that day. ``sheet`` names the workbook sheet to read (see :func:`read_table`).
    """
    path = Path(path)
    say = progress or (lambda _msg: None)
    catalogue = catalogue or load_catalogue()
    if today is None or now is not None:
        now = local_now(now)
        today = today or now.date()

    # A file's name is screened before anything else: a personnummer in it must reach neither
    # a message (the problems name it WITHHELD_FILE) nor delivery.file_name and the log.
    named = screen_file_name(path.name)
    if named:
        raise DeliveryRefusedError(named)
    kind = queries.actor_kind(conn, actor_id)
    say("reading")
    with ThreadPoolExecutor(max_workers=1) as hasher:  # the fingerprint beside the parsing
        fingerprint = hasher.submit(_sha256, path)
        raw = read_table(path, sheet=sheet, screen=find_personal_data)
        digest = fingerprint.result()
    existing = store.find_delivery_by_content(conn, actor_id, digest)
    if existing is not None:
        return _already_delivered(*existing, replaces)

    # What only reads the delivery runs side by side: the privacy scan beside validation, and
    # for single events loading the area locator beside both. Every stage's problems are
    # collected and refused together (issue 11: one run says everything there is to fix),
    # the personal data first and nothing that could repeat it (``_all_problems``).
    with ThreadPoolExecutor(max_workers=1) as pool:  # one helper: the scan, then the locator
        say("checking for personal data")
        privacy = pool.submit(find_personal_data, raw, catalogue.indicators)
        locator = _locators.prepare(conn, pool) if likely_shape(raw) == "events" else None
        say("validating")
        delivery: AggregatedDelivery | EventDelivery | None = None
        try:
            delivery = validate(
                raw,
                catalogue=Catalogue(units=catalogue.units()),
                area_codes=set(queries.area_codes(conn)),
                today=today,
                default_crs=crs or "EPSG:3006",
                limits=limits,
                coarse_codes={
                    code: level for level in (1, 2) for code in queries.area_codes(conn, level)
                },
                now=now,
            )
            invalid: list[Problem] = []
        except DeliveryRefusedError as exc:
            invalid = exc.problems
        except BaseException:
            _refuse_personal_data(privacy)
            raise
        personal = privacy.result()
        invalid += _ownership_problems(raw, catalogue, kind, actor_id)
        if personal:
            raise DeliveryRefusedError(_all_problems(raw, personal, invalid))
        del raw  # the validated rows are all that is needed from here on
        if delivery is None:
            raise DeliveryRefusedError(invalid)
        row_count = len(delivery.rows)

        report: dict = {}
        unplaced: list[int] = []
        if isinstance(delivery, EventDelivery):
            say("placing events in areas")
            rows = delivery.rows
            located = (locator or _locators.prepare(conn, pool)).result()
            codes = located.codes
            area = located.locate(rows["x"].to_numpy(), rows["y"].to_numpy())
            outside = area < 0
            if outside.any():
                unplaced = rows["row"].to_numpy()[outside].tolist()
                if not allow_unplaced or outside.all():
                    invalid += _unplaced_problems(delivery.file, unplaced)
                report["unplaced_rows"] = unplaced
            if invalid:
                raise DeliveryRefusedError(invalid)
            content = store.content_digest(rows[list(EVENT_CONTENT)])
            # Counted part by part while the store writes the previous part.
            sizes: list[int] = []
            observations = _counted(_event_cell_parts(delivery, codes, area), sizes)
            shape = "events"
            del rows
        else:
            if invalid:
                raise DeliveryRefusedError(invalid)
            content = store.content_digest(delivery.rows[list(COUNTED_CONTENT)])
            observations = _aggregated_table(delivery.rows)
            sizes = [observations.num_rows]
            shape = "aggregated"
        del delivery  # the rows are not stored, and need not be held while storing

    say("counting and storing" if shape == "events" else "storing")
    try:
        delivery_id, flags = store.save_delivery(
            conn,
            store.NewDelivery(
                actor_id=actor_id,
                file_name=path.name,
                content_sha256=digest,
                shape=shape,
                row_count=row_count,
                observations=observations,
                replaces_id=replaces,
                report=report,
                cells_sha256=content,
            ),
        )
    except store.AlreadyDeliveredError as exc:  # the same file, stored a moment ago
        return _already_delivered(exc.delivery_id, exc.status, replaces)
    overlaps = queries.delivery_report(conn, delivery_id).get("overlaps", [])
    return IngestResult(
        delivery_id,
        "pending",
        shape,
        row_count,
        sum(sizes),
        flags,
        unplaced_rows=unplaced,
        overlaps=overlaps,
    )


def _already_delivered(delivery_id: int, status: str, replaces: int | None) -> IngestResult:
    """The same file again: the first delivery's id (a correction must differ from it)."""
    if replaces is not None:
        raise ConflictError(
            f"This exact file was already delivered as delivery {delivery_id} "
            f"({status}); a correction must differ from it."
        )
    return IngestResult(delivery_id, status, "", 0, 0, already_delivered=True)


def _counted(parts: Iterator[pa.Table], sizes: list[int]) -> Iterator[pa.Table]:
    """``parts`` as they come, each one's row count appended to ``sizes``."""
    for part in parts:
        sizes.append(part.num_rows)
        yield part


def _sha256(path: Path) -> str:
    """The file's fingerprint, read in chunks (a large delivery is not held twice)."""
    digest = hashlib.sha256()
    if path.exists():
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _refuse_personal_data(scan: Future[list[Problem]]) -> None:
    problems = scan.result()
    if problems:
        raise DeliveryRefusedError(problems)


def _ownership_problems(
    raw: RawTable, catalogue: IndicatorCatalogue, kind: str, actor_id: str
) -> list[Problem]:
    """An actor delivers its own indicators and the shared EST categories, nothing else.

    Read from the file's indicator column itself, not from the validated rows, so that it is
    reported whatever else validation found (a duplicate row does not hide a thousand rows of
    another actor kind's indicator); values that are no indicator are validation's to report.
    """
    names = [name for name in raw.frame.columns if canonical_column(name) == "indicator"]
    if not names:
        return []
    codes, parsed, _ = parse_distinct(
        raw.frame[names[0]], indicator_lookup(Catalogue(units=catalogue.units()))
    )
    problems = Problems(raw)
    for k, indicator in enumerate(parsed):
        if indicator is not None and not catalogue.may_deliver(kind, indicator):
            owner = catalogue.indicators[indicator].owner_kind
            problems.rows(
                codes == k,
                names[0],
                f"indicator '{indicator}' is delivered by {owner}; actor '{actor_id}' is {kind}",
            )
    return problems.listed()


def _all_problems(raw: RawTable, personal: list[Problem], others: list[Problem]) -> list[Problem]:
    """The personal data found, then the other problems that cannot repeat any of it.

    Other checks quote values in their reasons ("unknown area code …", "duplicate of row 2:
    the same area …"), so beside personal data only those are kept that concern a column the
    scan found nothing in; rows without a column (duplicates name several values) are left
    out, as is everything about a column whose name itself looked personal.
    """
    flagged = {p.column for p in personal if p.column is not None}
    names = list(raw.frame.columns)
    for label in list(flagged):  # a personal-looking header is labelled by its position
        position = label.removeprefix("column ")
        if position.isdigit() and 0 < int(position) <= len(names):
            flagged.add(str(names[int(position) - 1]))
    kept = [
        p
        for p in others
        if p.column not in flagged and not (p.row is not None and p.column is None)
    ]
    return personal + kept


def _unplaced_problems(file: str, rows: list[int]) -> list[Problem]:
    why = "the position is outside every area of the municipality (or in a gap)"
    problems = [Problem(file, why, row=r) for r in rows[:MAX_UNPLACED_LISTED]]
    if len(rows) > MAX_UNPLACED_LISTED:
        problems.append(
            Problem(file, f"{len(rows) - MAX_UNPLACED_LISTED} more rows like this: {why}")
        )
    return problems


def _event_cell_parts(
    delivery: EventDelivery, codes: np.ndarray, area: np.ndarray, parts: int = CELL_PARTS
) -> Iterator[pa.Table]:
    """Events → one row per area × week × indicator: the count, the hour of the week of each
    event (the weekday and hour-of-day distributions are derived from it, and double reports
    are found with it) and the actor's own references (so it can link back to its records).

    ``area`` indexes each event's area in ``codes`` (-1: unplaced, left out). The cells come
    in the order the store writes them (indicator, week, area), in about ``parts`` tables cut
    between weeks: the store writes one while the next is counted.
    """
    rows = delivery.rows
    indicator = pa.array(rows["indicator"].array)
    if isinstance(indicator, pa.ChunkedArray):
        indicator = indicator.combine_chunks()
    ind_rank, ind_names = store.rank_values(indicator)
    ind_names = ind_names.to_numpy(zero_copy_only=False)
    refs = delivery.source_refs
    if refs is None:
        refs = pa.array(rows["source_ref"].to_numpy(), pa.string(), from_pandas=True)
    refs = pc.fill_null(refs, "") if refs.null_count < len(refs) else None
    by_code = np.argsort(codes)
    rank = np.empty(len(codes), dtype=np.int64)
    rank[by_code] = np.arange(len(codes))
    weekday = rows["weekday"].to_numpy()
    hour = rows["hour"].to_numpy()
    days = rows["week_start"].to_numpy().astype("datetime64[D]").view(np.int64)

    # The placed events in cell-key order (indicator, week), then cut where the key changes.
    placed = np.flatnonzero(area >= 0)
    first = int(days.min()) if len(days) else 0
    key = ind_rank[placed] * ((int(days.max()) - first) // 7 + 1) + (days[placed] - first) // 7
    if len(key) and key.max() < 1 << 16:
        key = key.astype(np.uint16)  # a stable sort of 16-bit keys is a radix sort
    order = np.argsort(key, kind="stable")
    events, key = placed[order], key[order]
    wanted = np.linspace(0, len(events), parts + 1)[1:-1].astype(np.int64)
    cuts: np.ndarray | list[int] = (
        np.unique(np.searchsorted(key, key[wanted])) if len(events) else []
    )
    for lo, hi in pairwise([0, *(c for c in cuts if c > 0), len(events)]):
        sel = events[lo:hi]
        cells = count_cells(
            # from_codes makes the categories an Index anyway; pandas-stubs take only that
            pd.Categorical.from_codes(rank[area[sel]], pd.Index(codes[by_code])),
            pd.Categorical.from_codes(ind_rank[sel], pd.Index(ind_names)),
            days[sel].astype("datetime64[D]"),
            weekday[sel],
            hour[sel],
            order=("indicator", "week_start", "area_code"),
        )
        columns = {
            "area_code": pa.array(cells.area_code, pa.string()),
            "week_start": pa.array(cells.week_start, pa.date32()),
            "indicator": pa.array(cells.indicator, pa.string()),
            "numerator": pa.array(cells.count),
            "event_hours": cells.per_cell(
                weekday[sel].astype(np.int16) * 24 + hour[sel].astype(np.int16)
            ),
        }
        if refs is not None:
            columns["source_refs"] = cells.per_cell(refs, among=sel)
        yield pa.table(columns)


def _aggregated_table(rows: pd.DataFrame) -> pa.Table:
    """Counted rows as delivered (already rolled up to level 3 and checked)."""
    refs = pa.array(rows["source_ref"].to_numpy(dtype=object), pa.string())
    offsets = pa.array(np.arange(len(rows) + 1, dtype=np.int32))
    return pa.table(
        {
            "area_code": pa.array(rows["area_code"].to_numpy(dtype=object), pa.string()),
            "week_start": pa.array(
                rows["week_start"].to_numpy().astype("datetime64[D]"), pa.date32()
            ),
            "indicator": pa.array(rows["indicator"].to_numpy(dtype=object), pa.string()),
            "numerator": pa.array(rows["numerator"].to_numpy(dtype=np.int64)),
            "denominator": pa.array(rows["denominator"], pa.int64(), from_pandas=True),
            "source_refs": pa.ListArray.from_arrays(offsets, refs, mask=refs.is_null()),
        }
    )
