"""Check rows already counted per area, ISO week and indicator ("aggregated" deliveries).

Each row names an area (a NYKO level-3 code, or a finer code rolled up to one), a period (an
ISO week, or a date in it), an indicator of the catalogue and a whole count; a share comes as
numerator and denominator. Counts and periods keep to the limits of ``DeliveryLimits`` (the
rules of a count are ``cells``, of a period ``periods``).

An area code is matched exactly after trimming the spaces around it and ignoring case
(``0181c1010`` is ``0181C1010``); spaces inside are not removed. A finer NYKO code rolls up to
the longest level-3 code it begins with when the rest is digits only (``110104`` → ``1101``),
as NYKO's finer levels add digits; anything else after a code (``1101-GAMLA``, ``1101A``) is
not a code under it. A level-1 or level-2 code is refused as too coarse, not as unknown.

Areas, periods and indicators repeat, so each distinct value is parsed once (``columns``); the
same area, week and indicator twice is refused, since the store would not know which count is
meant; so are two finer codes that roll up to the same level-3 area in one week and indicator
(the store keeps one count per level-3 cell).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date

import numpy as np
import pandas as pd

from lagesbild_geo.ingest.cells import parse_count
from lagesbild_geo.ingest.columns import (
    COLUMN_NAMES,
    Problems,
    distinct,
    parse_distinct,
    report_distinct,
    strings,
)
from lagesbild_geo.ingest.periods import period_parser
from lagesbild_geo.ingest.read import RawTable
from lagesbild_geo.ingest.shapes import (
    RATIO_UNITS,
    AggregatedDelivery,
    Catalogue,
    arrow_source_refs,
    indicator_lookup,
    require_columns,
)
from lagesbild_geo.settings import DeliveryLimits

MAX_AREA_CODE_LENGTH = 20
"""Longest area code read (a NYKO code has at most 10 digits, a DeSO code 9 characters)."""


def validate_aggregated(
    raw: RawTable,
    columns: dict[str, str],
    problems: Problems,
    catalogue: Catalogue,
    area_codes: Collection[str],
    today: date,
    limits: DeliveryLimits,
    coarse_codes: Mapping[str, int],
) -> AggregatedDelivery:
    """The checked rows, area codes rolled up to level 3; refuse with every problem found.

    ``columns`` maps canonical names to the actor's (``validate`` made it); ``today`` decides
    which periods lie in the future; ``coarse_codes`` are the level-1 and level-2 codes (code
    → level), refused as too coarse.
    """
    require_columns(columns, ("area", "period", "indicator"), problems)
    problems.raise_if_any()
    frame = raw.frame
    n = len(frame)
    roll_up = area_parser(area_codes, coarse_codes)
    area_codes_, areas, area_errors = parse_distinct(frame[columns["area"]], roll_up)
    report_distinct(problems, area_codes_, area_errors, columns["area"])
    week_codes, weeks, week_errors = parse_distinct(
        frame[columns["period"]], period_parser(limits.earliest_date, today)
    )
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
            numerator, _ = parse_counts(problems, frame, columns["value"], ~is_ratio, limits)
    if is_ratio.any():
        ratio_columns = ("numerator", "denominator")
        require_columns(columns, ratio_columns, problems)
        if all(c in columns for c in ratio_columns):
            num, bad_num = parse_counts(problems, frame, columns["numerator"], is_ratio, limits)
            den, bad_den = parse_counts(problems, frame, columns["denominator"], is_ratio, limits)
            numerator = np.where(is_ratio, num, numerator)
            denominator = den
            checkable = is_ratio & ~bad_num & ~bad_den
            zero = checkable & (den == 0)
            problems.rows(zero, columns["denominator"], "denominator is 0; a share needs one > 0")
            above = checkable & (num > den)
            problems.rows(
                above,
                columns["numerator"],
                "numerator is larger than denominator; a share cannot exceed 1",
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
    # The cell is the level-3 area a code rolls up to: two finer codes under one area in the
    # same week and indicator would be the same cell twice.
    key = pd.DataFrame({"a": rows["area_code"], "w": week_start, "i": rows["indicator"]})
    twice = key.duplicated(keep="first").to_numpy()
    if twice.any():
        first_row = key.reset_index().groupby(["a", "w", "i"])["index"].transform("min").to_numpy()

        def why(i: int) -> str:
            first = first_row[i]
            week = week_start[i].astype("datetime64[D]")
            if given_area[i].upper() != given_area[first].upper():
                return (
                    f"duplicate of row {raw.rows[first]}: both codes roll up to area "
                    f"{rows['area_code'].iat[i]}, week starting {week}, indicator "
                    f"{rows['indicator'].iat[i]}; deliver one count per level-3 area"
                )
            return (
                f"duplicate of row {raw.rows[first]}: the same area {given_area[i]}, week "
                f"starting {week} and indicator {rows['indicator'].iat[i]} appear twice"
            )

        problems.rows(twice, None, why)
        problems.raise_if_any()
    return AggregatedDelivery(file=raw.file, rows=rows)


def _source_refs(frame: pd.DataFrame, columns: dict[str, str]) -> pd.Series:
    """The actor's own reference per row; empty cells become None."""
    refs = arrow_source_refs(frame, columns)
    if refs is None:
        return pd.Series([None] * len(frame), dtype=object)
    return pd.Series(refs.to_numpy(zero_copy_only=False), index=frame.index, dtype=object)


def area_parser(
    area_codes: Collection[str], coarse_codes: Mapping[str, int]
) -> Callable[[str], str]:
    """Parse an area cell to its level-3 code (see the module docstring for the rule)."""
    level3 = {code.strip().upper() for code in area_codes}
    coarse = {code.strip().upper(): level for code, level in coarse_codes.items()}
    lengths = sorted({len(c) for c in level3}, reverse=True)

    def roll_up(text: str) -> str:
        code = text.strip().upper()
        if code in level3:
            return code
        if code in coarse:
            raise ValueError(f"a level-{coarse[code]} code; deliver level 3 or finer")
        if len(code) > MAX_AREA_CODE_LENGTH or not (code.isascii() and code.isalnum()):
            raise ValueError(
                "not an area code: a code is letters A-Z and digits 0-9, without spaces or "
                f"signs, at most {MAX_AREA_CODE_LENGTH} characters"
            )
        for length in lengths:
            if code[:length] in level3 and code[length:].isdigit():
                return code[:length]
        raise ValueError(
            "unknown area code: neither a NYKO level-3 code of the municipality nor a finer "
            "code under one (a level-3 code followed by digits)"
        )

    return roll_up


def parse_counts(
    problems: Problems,
    frame: pd.DataFrame,
    column: str,
    needed: np.ndarray,
    limits: DeliveryLimits,
) -> tuple[np.ndarray, np.ndarray]:
    """Whole counts within the limits where ``needed``; returns values (0 where bad) and bad
    rows."""
    codes, values, errors = parse_distinct(
        frame[column], lambda text: parse_count(text, limits.max_count)
    )
    failed = np.array([e is not None for e in errors], dtype=bool)[codes] & needed
    problems.rows(failed, column, lambda i: errors[codes[i]])
    numbers = np.array([v if v is not None else 0 for v in values], dtype=np.int64)[codes]
    return np.where(failed, 0, numbers), failed
