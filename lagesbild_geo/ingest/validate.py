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

from collections.abc import Collection
from datetime import date

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from lagesbild_geo.ingest.aggregated import validate_aggregated
from lagesbild_geo.ingest.columns import Problems, arrow_strings
from lagesbild_geo.ingest.events import validate_events
from lagesbild_geo.ingest.read import RawTable
from lagesbild_geo.ingest.shapes import (
    AggregatedDelivery,
    Catalogue,
    EventDelivery,
    canonical_column,
)

#: The column names as the README shows them, in its order: what a refusal offers instead of
#: an unknown column (each also has an English name, ``shapes.COLUMN_NAMES``).
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
) -> AggregatedDelivery | EventDelivery:
    """Check every row of ``raw`` and return it normalised; refuse with all problems found.

    ``area_codes`` are the municipality's NYKO level-3 codes; finer codes roll up to the
    longest of them that is a prefix. ``today`` decides what lies in the future.
    """
    problems = Problems(raw)
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
    _refuse_control_characters(problems, raw.frame, columns)
    problems.raise_if_any()
    delivery: AggregatedDelivery | EventDelivery
    if has_area:
        delivery = validate_aggregated(raw, columns, problems, catalogue, area_codes, today)
    else:
        delivery = validate_events(raw, columns, problems, catalogue, today, default_crs)
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


def _refuse_control_characters(
    problems: Problems, frame: pd.DataFrame, columns: dict[str, str]
) -> None:
    """A reference is one line of text: a tab, a line break or another control character in it
    is refused (the store separates a cell's references with one, U+001F)."""
    if "source_ref" not in columns:
        return
    name = columns["source_ref"]
    refs = arrow_strings(frame[name])
    data = refs.buffers()[2]
    octets = np.frombuffer(data or b"", dtype=np.uint8)
    if not ((octets < 0x20) | (octets == 0x7F)).any():
        return  # the usual case, settled without looking at rows
    inner = pc.utf8_trim_whitespace(refs)  # spaces around a reference are only trimmed
    bad = pc.fill_null(pc.match_substring_regex(inner, r"[\x00-\x1f\x7f]"), False)
    problems.rows(
        bad.to_numpy(zero_copy_only=False),
        name,
        "the reference holds a control character (a tab, a line break or similar); "
        "a reference is one line of text",
    )
