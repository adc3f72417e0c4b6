"""Small tables for the limit tests: counted rows and events as ``read_table`` gives them."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from lagesbild_geo.errors import DeliveryRefusedError, Problem
from lagesbild_geo.ingest.read import RawTable
from lagesbild_geo.ingest.shapes import AggregatedDelivery, Catalogue, EventDelivery
from lagesbild_geo.ingest.validate import validate

TODAY = date(2026, 11, 22)  # a Sunday: 2026-W47 started on the 16th
CATALOGUE = Catalogue(units={"skadegorelse": "count", "ofullstandiga_betyg_ak9": "share"})
AREAS = ["1101", "1102", "1201", "0181C1010"]
COARSE = {"1": 1, "11": 2, "12": 2}
POINT = ("623007.2", "6580818.0")
MOST = "the most one area may have in a week for one indicator"


def frame(columns: list[str], *rows: list[str], name: str = "t.csv") -> RawTable:
    data = pd.DataFrame([list(r) for r in rows], columns=columns, dtype="str")
    return RawTable(file=name, frame=data, rows=np.arange(2, len(rows) + 2))


def counted(*rows: tuple[str, str, str], column: str = "antal", ref: bool = False) -> RawTable:
    """Counted rows of (area, week, count[, ref])."""
    header = ["område", "vecka", "indikator", column] + (["referens"] if ref else [])
    return frame(header, *[[r[0], r[1], "skadegorelse", *r[2:]] for r in rows])


def events(*rows: tuple[str, ...], time_column: bool = True) -> RawTable:
    """Events of (date[, time]) at a point in area 1101."""
    header = ["kategori", "datum", *(["tid"] if time_column else []), "x", "y"]
    return frame(header, *[["skadegorelse", *r, *POINT] for r in rows])


def check(raw: RawTable, **kwargs) -> AggregatedDelivery | EventDelivery:
    options = {
        "catalogue": CATALOGUE,
        "area_codes": AREAS,
        "coarse_codes": COARSE,
        "today": TODAY,
    } | kwargs
    return validate(raw, **options)


def refused(raw: RawTable, **kwargs) -> list[Problem]:
    with pytest.raises(DeliveryRefusedError) as caught:
        check(raw, **kwargs)
    return caught.value.problems


def only(raw: RawTable, hidden: str = "", **kwargs) -> tuple[int | None, str | None, str]:
    """The one problem of ``raw``, checked not to repeat ``hidden``."""
    problems = refused(raw, **kwargs)
    assert len(problems) == 1, problems
    (p,) = problems
    if len(hidden.strip()) > 1:
        assert hidden.strip() not in p.reason and hidden.strip() not in str(p), p
    return p.row, p.column, p.reason


def located(problems: list[Problem]) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.reason) for p in problems]
