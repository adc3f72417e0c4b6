"""The whole ingest, in one function: read → refuse personal data → validate → locate →
aggregate → store.

Each stage is its own module; this one only wires them, so the data flow can be read here top
to bottom. Nothing is written unless every stage succeeded, and then in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import shapely

from . import store
from .aggregate import count_cells
from .catalogue import IndicatorCatalogue, load_catalogue
from .errors import DeliveryRefusedError, Problem
from .locate import AreaLocator
from .privacy import find_personal_data
from .read import read_table
from .validate import AggregatedDelivery, Catalogue, EventDelivery, validate

MAX_UNPLACED_LISTED = 50

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
    """One AreaLocator per area layer version, so repeated ingests don't rebuild the grid."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._locator: AreaLocator | None = None

    def get(self, conn: psycopg.Connection) -> AreaLocator:
        key = conn.execute("SELECT count(*), max(id) FROM lagesbild.area_import").fetchone() + (
            conn.info.dbname,
            conn.info.host,
            conn.info.port,
        )
        if self._locator is None or key != self._key:
            codes, wkbs = store.level3_areas(conn)
            self._locator = AreaLocator(codes, shapely.from_wkb(wkbs))
            self._key = key
        return self._locator


_locators = _LocatorCache()


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

    digest = _sha256(path)
    kind = store.actor_kind(conn, actor_id)
    existing = store.find_delivery_by_content(conn, actor_id, digest)
    if existing is not None and replaces is None:
        return IngestResult(existing[0], existing[1], "", 0, 0, already_delivered=True)

    say("reading")
    raw = read_table(path)
    say("checking for personal data")
    problems = find_personal_data(raw)
    if problems:
        raise DeliveryRefusedError(problems)

    say("validating")
    area_codes = set(store.area_codes(conn))
    delivery = validate(
        raw,
        catalogue=Catalogue(units=catalogue.units()),
        area_codes=area_codes,
        today=today,
        default_crs=crs or "EPSG:3006",
    )
    del raw  # the validated rows are all that is needed from here on
    _check_ownership(delivery, catalogue, kind, actor_id)

    report: dict = {}
    unplaced: list[int] = []
    if isinstance(delivery, EventDelivery):
        say("placing events in areas")
        rows = delivery.rows
        locator = _locators.get(conn)
        idx = locator.locate(rows["x"].to_numpy(), rows["y"].to_numpy())
        outside = idx < 0
        if outside.any():
            unplaced = rows["row"].to_numpy()[outside].tolist()
            if not allow_unplaced:
                raise DeliveryRefusedError(_unplaced_problems(delivery.file, unplaced))
            report["unplaced_rows"] = unplaced
        say("counting")
        observations = _event_cells_table(rows, locator.codes[idx[~outside]], ~outside)
        shape = "events"
    else:
        observations = _aggregated_table(delivery.rows)
        shape = "aggregated"

    say("storing")
    delivery_id, flags = store.save_delivery(
        conn,
        store.NewDelivery(
            actor_id=actor_id,
            file_name=path.name,
            content_sha256=digest,
            shape=shape,
            row_count=len(delivery.rows),
            observations=observations,
            replaces_id=replaces,
            report=report,
        ),
    )
    return IngestResult(
        delivery_id,
        "pending",
        shape,
        len(delivery.rows),
        len(observations),
        flags,
        unplaced_rows=unplaced,
    )


def _sha256(path: Path) -> str:
    """The file's fingerprint, read in chunks (a large delivery is not held twice)."""
    digest = hashlib.sha256()
    if path.exists():
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


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


def _event_cells_table(rows: pd.DataFrame, area: np.ndarray, keep: np.ndarray) -> pa.Table:
    """Events → one row per area × week × indicator: the count, the weekday and hour
    distributions, the hour of the week of each event (for double-report checks) and the
    actor's own references (so it can link back to its records).

    ``keep`` masks out unplaced events column by column (no copy of the whole frame).
    """
    weekday = rows["weekday"].to_numpy()[keep].astype(np.int16)
    hour = rows["hour"].to_numpy()[keep].astype(np.int16)
    cells = count_cells(
        area,
        rows["indicator"].to_numpy()[keep],
        rows["week_start"].to_numpy()[keep],
        weekday,
        hour,
    )
    refs = rows["source_ref"][keep]
    columns = {
        "area_code": pa.array(cells.area_code, pa.string()),
        "week_start": pa.array(cells.week_start, pa.date32()),
        "indicator": pa.array(cells.indicator, pa.string()),
        "numerator": pa.array(cells.count),
        "by_weekday": _matrix_lists(cells.by_weekday),
        "by_hour": _matrix_lists(cells.by_hour),
        "event_hours": cells.per_cell(weekday * 24 + hour),
    }
    if refs.notna().any():
        columns["source_refs"] = cells.per_cell(pa.array(refs.fillna(""), pa.string()))
    return pa.table(columns)


def _matrix_lists(matrix: np.ndarray) -> pa.ListArray:
    rows, width = matrix.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix.reshape(-1)))


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
