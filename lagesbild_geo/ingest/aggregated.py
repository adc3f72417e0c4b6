"""Check rows already counted per area, ISO week and indicator ("aggregated" deliveries).

Each row names an area (a NYKO level-3 code, or a finer code rolled up to one), a period (an
ISO week, or a date in it), an indicator of the catalogue and a whole count; a share comes as
numerator and denominator. Areas, periods and indicators repeat, so each distinct value is
parsed once (``columns``); the same area, week and indicator twice is refused, since the
store would not know which count is meant.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

import numpy as np
import pandas as pd

from lagesbild_geo.ingest.columns import (
    Problems,
    distinct,
    parse_distinct,
    report_distinct,
    short,
    strings,
)
from lagesbild_geo.ingest.periods import parse_period
from lagesbild_geo.ingest.read import RawTable
from lagesbild_geo.ingest.shapes import (
    COLUMN_NAMES,
    RATIO_UNITS,
    AggregatedDelivery,
    Catalogue,
    arrow_source_refs,
    indicator_lookup,
    require_columns,
)


def validate_aggregated(
    raw: RawTable,
    columns: dict[str, str],
    problems: Problems,
    catalogue: Catalogue,
    area_codes: Collection[str],
    today: date,
) -> AggregatedDelivery:
    """The checked rows, area codes rolled up to level 3; refuse with every problem found.

    ``columns`` maps canonical names to the actor's (``validate`` made it); ``today`` decides
    which periods lie in the future.
    """
    require_columns(columns, ("area", "period", "indicator"), problems)
    problems.raise_if_any()
    frame = raw.frame
    n = len(frame)
    level3 = {code.strip().upper() for code in area_codes}
    lengths = sorted({len(c) for c in level3}, reverse=True)

    def roll_up(text: str) -> str:
        code = text.upper()
        for length in lengths:
            if code[:length] in level3:
                return code[:length]
        raise ValueError(
            f"unknown area code '{short(text)}': neither a NYKO level-3 code of the "
            "municipality nor a finer code under one"
        )

    area_codes_, areas, area_errors = parse_distinct(frame[columns["area"]], roll_up)
    report_distinct(problems, area_codes_, area_errors, columns["area"])
    week_codes, weeks, week_errors = parse_distinct(frame[columns["period"]], parse_period)
    for k, monday in enumerate(weeks):
        if monday is not None and monday > today:
            week_errors[k] = f"the period {monday.isoformat()} (week start) lies in the future"
    report_distinct(problems, week_codes, week_errors, columns["period"])
    ind_codes, indicators, ind_errors = parse_distinct(
        frame[columns["indicator"]], indicator_lookup(catalogue)
    )
    report_distinct(problems, ind_codes, ind_errors, columns["indicator"])

    units = np.array([catalogue.units.get(i, "count") if i else "count" for i in indicators])
    is_ratio = np.isin(units, RATIO_UNITS)[ind_codes] if len(units) else np.zeros(n, dtype=bool)
    numerator = np.zeros(n, dtype=np.int64)
    denominator = np.zeros(n, dtype=np.int64)
    if (~is_ratio).any():
        if "value" not in columns:
            problems.file(
                f"missing column 'value' for counts; accepted names: "
                f"{', '.join(COLUMN_NAMES['value'])}"
            )
        else:
            numerator, _ = parse_counts(problems, frame, columns["value"], ~is_ratio)
    if is_ratio.any():
        ratio_columns = ("numerator", "denominator")
        require_columns(columns, ratio_columns, problems)
        if all(c in columns for c in ratio_columns):
            num, bad_num = parse_counts(problems, frame, columns["numerator"], is_ratio)
            den, bad_den = parse_counts(problems, frame, columns["denominator"], is_ratio)
            numerator = np.where(is_ratio, num, numerator)
            denominator = den
            checkable = is_ratio & ~bad_num & ~bad_den
            zero = checkable & (den == 0)
            problems.rows(zero, columns["denominator"], "denominator is 0; a share needs one > 0")
            above = checkable & (num > den)
            problems.rows(
                above,
                columns["numerator"],
                lambda i: (
                    f"numerator {num[i]} is larger than denominator {den[i]}; "
                    "a share cannot exceed 1"
                ),
            )
    problems.raise_if_any()

    week_start = np.array(weeks, dtype="datetime64[D]")[week_codes].astype("datetime64[s]")
    given_area = np.array(distinct(frame[columns["area"]])[1], dtype=object)[area_codes_]
    rows = pd.DataFrame(
        {
            "row": raw.rows.astype(np.int64),
            "area_code": strings(areas, area_codes_),
            "week_start": week_start,
            "indicator": strings(indicators, ind_codes),
            "numerator": numerator,
            "denominator": pd.array(np.where(is_ratio, denominator, 0), dtype="Int64"),
            "source_ref": _source_refs(frame, columns),
        }
    )
    rows.loc[~is_ratio, "denominator"] = pd.NA
    key = pd.DataFrame(
        {"a": [a.upper() for a in given_area], "w": week_start, "i": rows["indicator"]}
    )
    twice = key.duplicated(keep="first").to_numpy()
    if twice.any():
        first_row = key.reset_index().groupby(["a", "w", "i"])["index"].transform("min").to_numpy()
        problems.rows(
            twice,
            None,
            lambda i: (
                f"duplicate of row {raw.rows[first_row[i]]}: the same area "
                f"{given_area[i]}, week starting {week_start[i].astype('datetime64[D]')} and "
                f"indicator {rows['indicator'].iat[i]} appear twice"
            ),
        )
        problems.raise_if_any()
    return AggregatedDelivery(file=raw.file, rows=rows)


def _source_refs(frame: pd.DataFrame, columns: dict[str, str]) -> pd.Series:
    """The actor's own reference per row; empty cells become None."""
    refs = arrow_source_refs(frame, columns)
    if refs is None:
        return pd.Series([None] * len(frame), dtype=object)
    return pd.Series(refs.to_numpy(zero_copy_only=False), index=frame.index, dtype=object)


def parse_count(text: str) -> int:
    """A non-negative whole number; "3,0" and "1 234" are fine, "2,5" and "-1" are not."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    match = re.fullmatch(r"([-+]?)(\d+)(?:\.(\d+))?", cleaned)
    if not match:
        raise ValueError(f"'{short(text)}' is not a number")
    if match[3] and int(match[3]) != 0:
        raise ValueError(f"'{short(text)}' is not a whole number; counts must be integers")
    if match[1] == "-" and int(match[2]) != 0:
        raise ValueError(f"negative count {short(text)}; counts cannot be below 0")
    return int(match[2])


def parse_counts(
    problems: Problems, frame: pd.DataFrame, column: str, needed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whole non-negative numbers where ``needed``; returns values (0 where bad) and bad rows."""
    codes, values, errors = parse_distinct(frame[column], parse_count)
    failed = np.array([e is not None for e in errors], dtype=bool)[codes] & needed
    problems.rows(failed, column, lambda i: errors[codes[i]])
    numbers = np.array([v if v is not None else 0 for v in values], dtype=np.int64)[codes]
    return np.where(failed, 0, numbers), failed
