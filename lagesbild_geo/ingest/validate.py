"""Turn a delivery read as strings into normalised rows, or refuse it with every reason found.

Which of the two shapes (``shapes``) a file is follows from its columns; a file with both an
area column and a position is refused, because the two would be counted twice. This module is
the stage itself: it maps the actor's column names, refuses what no shape may hold, and hands
the file to the checks of its shape (``aggregated``, ``events``); ``validate`` is the one
entry point.

Every check works on whole columns at once: columns that repeat themselves (weeks, dates,
categories, times, codes) are parsed once per distinct value and mapped back, coordinates are
parsed and transformed as arrays. A million events validate in about a second.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime

from lagesbild_geo.ingest.aggregated import validate_aggregated
from lagesbild_geo.ingest.cells import refuse_bad_references, refuse_control_characters
from lagesbild_geo.ingest.columns import Problems
from lagesbild_geo.ingest.events import validate_events
from lagesbild_geo.ingest.read import RawTable
from lagesbild_geo.ingest.shapes import (
    AggregatedDelivery,
    Catalogue,
    EventDelivery,
    canonical_column,
)
from lagesbild_geo.settings import DeliveryLimits

#: The column names as the README shows them, in its order: what a refusal offers instead of
#: an unknown column (each also has an English name, ``columns.COLUMN_NAMES``).
README_COLUMNS = (
    "område",
    "vecka",
    "datum",
    "indikator",
    "kategori",
    "antal",
    "täljare",
    "nämnare",
    "referens",
    "tid",
    "x",
    "y",
    "lat",
    "lon",
    "crs",
)


def validate(
    raw: RawTable,
    *,
    catalogue: Catalogue,
    area_codes: Collection[str],
    today: date,
    default_crs: str = "EPSG:3006",
    limits: DeliveryLimits | None = None,
    coarse_codes: Mapping[str, int] | None = None,
    now: datetime | None = None,
) -> AggregatedDelivery | EventDelivery:
    """Check every row of ``raw`` and return it normalised; refuse with all problems found.

    ``area_codes`` are the municipality's NYKO level-3 codes; finer codes roll up to the
    longest of them that is a prefix (``aggregated``); ``coarse_codes`` (code → level 1 or 2)
    are refused as too coarse. ``today`` decides what lies in the future, and ``now`` (Swedish
    wall-clock time) which events of today; ``limits`` bound counts, dates and references.
    """
    problems = Problems(raw)
    limits = limits or DeliveryLimits()
    # An unknown or doubled column does not stop the checks of the known ones: one refusal
    # says everything there is to fix.
    columns = _map_columns(raw, problems)
    has_area = "area" in columns
    position = {"x", "y", "lat", "lon"} & columns.keys()
    if has_area and position:
        problems.file(
            "mixed shapes: the file has both an area column "
            f"('{columns['area']}') and position columns "
            f"({', '.join(repr(columns[p]) for p in sorted(position))}); "
            "deliver counted rows and single events in separate files"
        )
    elif not has_area and not position:
        problems.file(
            "missing column: neither an area column (område, area, area_code, nyko) "
            "nor a position (x and y, or lat and lon)"
        )
    refuse_control_characters(problems, raw.frame, columns)
    if "source_ref" in columns:
        name = columns["source_ref"]
        refuse_bad_references(problems, raw.frame[name], name, limits.max_reference_length)
    problems.raise_if_any()
    delivery: AggregatedDelivery | EventDelivery
    if has_area:
        delivery = validate_aggregated(
            raw, columns, problems, catalogue, area_codes, today, limits, coarse_codes or {}
        )
    else:
        delivery = validate_events(
            raw, columns, problems, catalogue, today, default_crs, limits, now
        )
    problems.raise_if_any(everything=True)
    return delivery


def likely_shape(raw: RawTable) -> str | None:
    """ "events" or "aggregated" as the column names suggest, before any check (``None``: mixed
    or neither). Lets a caller start preparing for a shape; ``validate`` decides."""
    keys = {canonical_column(name) for name in raw.frame.columns}
    has_area, has_position = "area" in keys, bool({"x", "y", "lat", "lon"} & keys)
    if has_area != has_position:
        return "aggregated" if has_area else "events"
    return None


def _map_columns(raw: RawTable, problems: Problems) -> dict[str, str]:
    """Canonical name -> the actor's column name; unknown and doubled columns are problems."""
    columns: dict[str, str] = {}
    accepted = ", ".join(README_COLUMNS)
    for name in raw.frame.columns:
        key = canonical_column(name)
        if key is None:
            problems.file(
                f"unknown column; only these (or their English names) may be delivered: {accepted}",
                column=name,
                stops=False,
            )
        elif key in columns:
            problems.file(
                f"columns '{columns[key]}' and '{name}' mean the same; keep one",
                column=name,
                stops=False,
            )
        else:
            columns[key] = name
    return columns
