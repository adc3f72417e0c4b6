"""Check a delivery column by column: parse each distinct value once, collect the problems.

Columns repeat themselves (a delivery has few distinct weeks, dates, categories or codes), so
the helpers here parse each distinct value once and map the result back to the rows; that is
what keeps a million rows to about a second. ``Problems`` collects what is wrong, a few rows
listed per check and the rest counted, so that one refusal says everything an actor must fix.

Nothing here knows what a column means; the parsers of weeks and dates (``periods``), of
positions (``positions``) and the checks of each delivery shape (``validate``) build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.ingest.read import RawTable

MAX_ROWS_PER_CHECK = 20
"""Rows listed one by one per check; the rest are counted in a single summary problem."""


#: The column names a delivery may have, by their meaning (the README's Swedish names first
#: where they are the usual ones); the privacy gate never takes one of them for a name.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    # canonical name -> accepted names; matching ignores case, accents and "-", " ", "_"
    "area": ("område", "area", "area_code", "nyko", "nyckelkod", "områdeskod"),
    "period": ("period", "vecka", "week", "datum", "date"),
    "indicator": ("indikator", "indicator", "kategori", "category"),
    "value": ("värde", "value", "antal", "count"),
    "numerator": ("täljare", "numerator"),
    "denominator": ("nämnare", "denominator"),
    "source_ref": ("referens", "ref", "source_ref", "reference", "källreferens"),
    "time": ("tid", "klockslag", "time", "kl"),
    "x": ("x", "e", "easting", "östkoordinat"),
    "y": ("y", "n", "northing", "nordkoordinat"),
    "crs": ("crs", "epsg", "koordinatsystem", "srid"),
    "lat": ("lat", "latitud", "latitude"),
    "lon": ("lon", "lng", "longitud", "longitude"),
}


class Problems:
    """Collects problems; each check lists a few rows and counts the rest.

    A check reports every row it finds (``rows``); the refusal's message groups them by reason
    (``errors.grouped_problems``), so a reason shared by many rows is said once.
    """

    def __init__(self, raw: RawTable):
        self.raw = raw
        self.items: list[Problem] = []
        self.summaries: list[Problem] = []
        #: Problems that do not stop the checks after them (an unknown column does not keep
        #: the known ones from being checked); ``raise_if_any(everything=True)`` includes them.
        self.deferred: list[Problem] = []

    def file(self, reason: str, column: str | None = None, *, stops: bool = True) -> None:
        """A problem of the whole file or a whole column; ``stops=False``: the checks go on
        (it is reported with everything else at the end)."""
        (self.items if stops else self.deferred).append(
            Problem(self.raw.file, reason, column=column)
        )

    def rows(self, mask: np.ndarray, column: str | None, reason: str | Callable[[int], str]):
        """One problem per row where ``mask`` holds; ``reason(i)`` may depend on the row."""
        hits = np.flatnonzero(mask)
        for i in hits[:MAX_ROWS_PER_CHECK]:
            why = reason(int(i)) if callable(reason) else reason
            self.items.append(Problem(self.raw.file, why, row=int(self.raw.rows[i]), column=column))
        if len(hits) > MAX_ROWS_PER_CHECK:
            first = int(hits[MAX_ROWS_PER_CHECK])
            why = reason(first) if callable(reason) else reason
            more = len(hits) - MAX_ROWS_PER_CHECK
            self.summaries.append(
                Problem(self.raw.file, f"{more} more rows like this: {why}", column=column)
            )

    def listed(self) -> list[Problem]:
        """Everything found so far: whole-file and column problems, then rows in file order,
        then each check's count of the rows it did not list."""
        ordered = sorted(self.deferred + self.items, key=lambda p: (p.row is not None, p.row or 0))
        return ordered + self.summaries

    def raise_if_any(self, *, everything: bool = False) -> None:
        """Refuse if a check found something that keeps the next checks from running (with
        ``everything``: if anything at all was found)."""
        if self.items or self.summaries or (everything and self.deferred):
            raise DeliveryRefusedError(self.listed())


def short(text: str, limit: int = 30) -> str:
    """``text`` cut to ``limit`` characters, so that a quoted cell keeps a message readable."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def distinct(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the list of distinct (trimmed) values: parse once, map back."""
    cells = arrow_strings(column)
    encoded = pc.dictionary_encode(cells)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    values = [v.strip() for v in encoded.dictionary.to_pylist()]
    if len(set(values)) == len(values):
        return codes, values
    merged: dict[str, int] = {}
    remap = np.array([merged.setdefault(v, len(merged)) for v in values], dtype=np.int64)
    return remap[codes], list(merged)


def strings(values: Sequence[str | None], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values[codes]`` as a pandas string array, built in Arrow (10x faster than objects)."""
    return pd.array(pa.array(values, type=pa.string()).take(pa.array(codes)), dtype="str")


def arrow_strings(column: pd.Series) -> pa.Array:
    """A column as one Arrow string array, empty cells as ""."""
    cells = pa.array(column.astype("str"), type=pa.string(), from_pandas=True)
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    return pc.fill_null(cells, "") if cells.null_count else cells


def parse_distinct[T](
    column: pd.Series, parse: Callable[[str], T]
) -> tuple[np.ndarray, list[T | None], list[str | None]]:
    """Parse each distinct value once: (row codes, parsed values, error per value or None)."""
    codes, values = distinct(column)
    parsed: list[T | None] = []
    errors: list[str | None] = []
    for value in values:
        if not value:
            parsed.append(None)
            errors.append("empty cell; a value is required")
            continue
        try:
            parsed.append(parse(value))
            errors.append(None)
        except ValueError as exc:
            parsed.append(None)
            errors.append(str(exc))
    return codes, parsed, errors


def report_distinct(
    problems: Problems, codes: np.ndarray, errors: list[str | None], column: str
) -> np.ndarray:
    """Report rows whose value failed to parse; returns the mask of bad rows."""
    bad_values = np.array([e is not None for e in errors], dtype=bool)
    if not bad_values.any():
        return np.zeros(len(codes), dtype=bool)
    bad = bad_values[codes]
    problems.rows(bad, column, lambda i: errors[codes[i]])
    return bad
