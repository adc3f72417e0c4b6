"""The two shapes a delivery comes in, the columns each may have, and what validation returns.

Two shapes come in (DOMAIN.md): rows already counted per area, week and indicator
("aggregated"), or single events with category, date, time and position ("events"). Which one
a file is follows from its columns (``validate``); the checks of each shape are in
``aggregated`` and ``events``. What both need is here: the accepted column names, the
catalogue facts, the reading of the indicator and reference columns, and the results.

Only known columns are accepted, so that free text cannot slip in under an unexpected name.
Column names may be Swedish or English, in any case and with or without å/ä/ö.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.ingest.columns import COLUMN_NAMES, Problems, arrow_strings
from lagesbild_geo.ingest.privacy.gate import looks_personal
from lagesbild_geo.ingest.privacy.headers import fold_name

_CANONICAL = {
    fold_name(alias).replace("_", ""): key
    for key, aliases in COLUMN_NAMES.items()
    for alias in aliases
}

RATIO_UNITS = ("share",)
"""Units delivered as numerator and denominator. Counts and rates per 1,000 come as a count
(a rate's denominator is the area's population, which the service knows)."""


def canonical_column(name: str) -> str | None:
    """The canonical name (``area``, ``period``, ...) an actor's column name means, if any."""
    return _CANONICAL.get(fold_name(name).replace("_", ""))


@dataclass(frozen=True)
class Catalogue:
    """The part of the indicator catalogue the validator needs: each indicator's unit."""

    units: dict[str, str]


@dataclass(frozen=True)
class AggregatedDelivery:
    """Rows counted per area, ISO week and indicator, area codes rolled up to NYKO level 3.

    ``rows`` columns: row, area_code, week_start (Monday), indicator, numerator (the count, or
    the share's numerator), denominator (nullable; only for shares and rates), source_ref.
    """

    file: str
    rows: pd.DataFrame


@dataclass(frozen=True)
class EventDelivery:
    """Single events with their week, weekday, hour and position in SWEREF 99 TM (EPSG:3006).

    ``rows`` columns: row, indicator, week_start, weekday (0 = Monday), hour, hour_start (local
    time truncated to the hour), x, y, source_ref, minute (local time, minutes since 1970: what
    the content digest tells events apart by). ``source_refs`` holds the same references
    as an Arrow array (null where empty), for the stages that work in Arrow.
    """

    file: str
    rows: pd.DataFrame
    source_refs: pa.Array | None = field(default=None, repr=False, compare=False)


def require_columns(columns: dict[str, str], needed: tuple[str, ...], problems: Problems) -> None:
    for key in needed:
        if key not in columns:
            problems.file(f"missing column '{key}'; accepted names: {', '.join(COLUMN_NAMES[key])}")


def indicator_lookup(catalogue: Catalogue) -> Callable[[str], str]:
    """Parse an indicator id: case and accents do not matter; unknown ids get suggestions.

    The message never repeats the value (the row and column say where it is): a value may be
    personal data the gate did not recognise. A value that looks personal in any way
    (``privacy.gate.looks_personal``: a rule, or any word of the name lists) gets no "did
    you mean" either, since a suggestion close to it would hint at it.
    """
    known = {fold_name(i): i for i in catalogue.units}
    listed = ", ".join(sorted(catalogue.units))

    def lookup(text: str) -> str:
        found = known.get(fold_name(text))
        if found is not None:
            return found
        if looks_personal(text, known=catalogue.units):
            raise ValueError(
                "unknown indicator; it looks like personal data, so nothing close to it is "
                f"suggested; known indicators: {listed}"
            )
        close = difflib.get_close_matches(fold_name(text), list(known), n=5, cutoff=0.5)
        if close:
            raise ValueError(
                f"unknown indicator; did you mean: {', '.join(known[c] for c in close)}"
            )
        raise ValueError(f"unknown indicator; known indicators: {listed}")

    return lookup


def arrow_source_refs(frame: pd.DataFrame, columns: dict[str, str]) -> pa.Array | None:
    """The references trimmed, empty ones null; ``None`` without a reference column."""
    if "source_ref" not in columns:
        return None
    refs = pc.utf8_trim_whitespace(arrow_strings(frame[columns["source_ref"]]))
    return pc.if_else(pc.equal(refs, ""), pa.scalar(None, pa.string()), refs)
