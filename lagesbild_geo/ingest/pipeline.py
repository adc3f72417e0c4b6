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
from datetime import date
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
from lagesbild_geo.ingest.locate import LOCATOR_FORMAT, AreaLocator
from lagesbild_geo.ingest.privacy.gate import find_personal_data, screen_file_name
from lagesbild_geo.ingest.read import read_table
from lagesbild_geo.ingest.shapes import AggregatedDelivery, Catalogue, EventDelivery
from lagesbild_geo.ingest.validate import likely_shape, validate
from lagesbild_geo.store import areas as store_areas
from lagesbild_geo.store import deliveries as store
from lagesbild_geo.store import reads as queries

MAX_UNPLACED_LISTED = 50
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
    replaces: int | None = None,
    allow_unplaced: bool = False,
    today: date | None = None,
    catalogue: IndicatorCatalogue | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest one delivery file for ``actor_id``; it is stored as pending review, or refused.

    The same file (same bytes) from the same actor is stored once: a second delivery returns
    the first one's id. ``replaces`` names the delivery this one corrects; the correction takes
    its place when approved. Events outside every area refuse the delivery (each row listed)
    unless ``allow_unplaced``, when they are left out and counted in the delivery's report.
    """
    path = Path(path)
    say = progress or (lambda _msg: None)
    catalogue = catalogue or load_catalogue()
    today = today or date.today()

    # A file's name is screened before anything else: a personnummer in it must reach neither
    # a message (the problems name it WITHHELD_FILE) nor delivery.file_name and the log.
    named = screen_file_name(path.name)
    if named:
        raise DeliveryRefusedError(named)
    kind = queries.actor_kind(conn, actor_id)
    say("reading")
    with ThreadPoolExecutor(max_workers=1) as hasher:  # the fingerprint beside the parsing
        fingerprint = hasher.submit(_sha256, path)
        raw = read_table(path)
        digest = fingerprint.result()
    existing = store.find_delivery_by_content(conn, actor_id, digest)
    if existing is not None:
        if replaces is not None:
            raise ConflictError(
                f"This exact file was already delivered as delivery {existing[0]} "
                f"({existing[1]}); a correction must differ from it."
            )
        return IngestResult(existing[0], existing[1], "", 0, 0, already_delivered=True)

    # What only reads the delivery runs side by side: the privacy scan beside validation, and
    # for single events loading the area locator beside both. The scan still decides first:
    # its problems refuse the delivery whatever validation found.
    with ThreadPoolExecutor(max_workers=1) as pool:  # one helper: the scan, then the locator
        say("checking for personal data")
        privacy = pool.submit(find_personal_data, raw, catalogue.indicators)
        locator = _locators.prepare(conn, pool) if likely_shape(raw) == "events" else None
        say("validating")
        try:
            delivery = validate(
                raw,
                catalogue=Catalogue(units=catalogue.units()),
                area_codes=set(queries.area_codes(conn)),
                today=today,
                default_crs=crs or "EPSG:3006",
            )
        except BaseException:
            _refuse_personal_data(privacy)
            raise
        _refuse_personal_data(privacy)
        del raw  # the validated rows are all that is needed from here on
        _check_ownership(delivery, catalogue, kind, actor_id)
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
                    raise DeliveryRefusedError(_unplaced_problems(delivery.file, unplaced))
                report["unplaced_rows"] = unplaced
            # Counted part by part while the store writes the previous part.
            sizes: list[int] = []
            observations = _counted(_event_cell_parts(delivery, codes, area), sizes)
            shape = "events"
            del rows
        else:
            observations = _aggregated_table(delivery.rows)
            sizes = [observations.num_rows]
            shape = "aggregated"
        del delivery  # the rows are not stored, and need not be held while storing

    say("counting and storing" if shape == "events" else "storing")
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
        ),
    )
    return IngestResult(
        delivery_id,
        "pending",
        shape,
        row_count,
        sum(sizes),
        flags,
        unplaced_rows=unplaced,
    )


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


def _check_ownership(
    delivery: AggregatedDelivery | EventDelivery,
    catalogue: IndicatorCatalogue,
    kind: str,
    actor_id: str,
) -> None:
    """An actor delivers its own indicators and the shared EST categories, nothing else."""
    rows = delivery.rows
    problems = []
    for indicator in pd.unique(rows["indicator"]):
        if not catalogue.may_deliver(kind, indicator):
            first = int(rows.loc[rows["indicator"] == indicator, "row"].iloc[0])
            owner = catalogue.indicators[indicator].owner_kind
            problems.append(
                Problem(
                    delivery.file,
                    f"indicator '{indicator}' is delivered by {owner}; actor '{actor_id}' is "
                    f"{kind}",
                    row=first,
                )
            )
    if problems:
        raise DeliveryRefusedError(problems)


def _unplaced_problems(file: str, rows: list[int]) -> list[Problem]:
    problems = [
        Problem(file, "the position is outside every area of the municipality (or in a gap)", row=r)
        for r in rows[:MAX_UNPLACED_LISTED]
    ]
    if len(rows) > MAX_UNPLACED_LISTED:
        problems.append(
            Problem(file, f"{len(rows) - MAX_UNPLACED_LISTED} more rows outside every area")
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
