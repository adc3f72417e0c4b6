"""Rule P (personnummer): a personal identity or coordination number, in any form people type.

A candidate is 10 or 12 digits shaped like ``[CC]YYMMDD`` + separator + ``NNNN`` after the
normalisation of ``cells`` (so full-width and Arabic-Indic digits, en dashes and minus signs
are already plain). The separator is nothing, ``-``, ``+`` (over 100 years old), or up to two
spaces around either; with the century (12 digits) also ``.``, and the date may then be
written ``1985-04-12`` or ``1985.04.12``. A dot between a 6-digit date and the last four is
*not* a separator: ``670412.1234`` is an easting with four decimals.

A candidate counts only with a valid date (day + 60 for a samordningsnummer; 29 February only
in leap years when the century is known) and a valid Luhn digit over the last ten digits, which
rules out nine in ten random digit runs of the right shape. Every candidate in a cell is
checked, not only the first (a decoy before the real number does not hide it).

An RE2 expression finds the few candidate values over the whole column; only those are taken
apart in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.ingest.privacy.cells import contains

_BEFORE = r"(?:^|[^0-9.,]|[^0-9][.,])"
_AFTER = r"(?:$|[^0-9.,]|[.,](?:$|[^0-9]))"
#: Between the date and the last four: nothing, ``-``, ``+`` and the other marks people (and
#: tools) put there, ``/ _ : ~``, with up to two spaces around; the date's own groups may be
#: written apart (``85 04 12-1230``, ``1985/04/12-1230``).
_SEP = r" {0,2}[-+/_:~]? {0,2}"
_GROUP = r"[-/_ ]?"
_SHORT = rf"[0-9]{{2}}{_GROUP}[0-9]{{2}}{_GROUP}[0-9]{{2}}{_SEP}[0-9]{{4}}"
_LONG = r"(?:18|19|20)[0-9]{2}[-./_ ]?[0-9]{2}[-./_ ]?[0-9]{2} {0,2}[-+./_:~]? {0,2}[0-9]{4}"
_FLOAT_RE2 = r"^((?:[0-9]{2})?[0-9]{10})[.,]0+$"
CANDIDATE_RE2 = rf"{_BEFORE}(?:{_LONG}|{_SHORT}){_AFTER}|{_FLOAT_RE2}"
"""Any value that may hold a personnummer (RE2, over whole columns)."""

_CANDIDATE = re.compile(rf"(?<![0-9])(?<![0-9][.,])(?={_LONG}|{_SHORT})")
_LONG_AT = re.compile(_LONG + r"(?![0-9])(?![.,][0-9])")
_SHORT_AT = re.compile(_SHORT + r"(?![0-9])(?![.,][0-9])")
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def personnummer_mask(values: pa.Array) -> np.ndarray:
    """Which (normalised) values hold a valid personnummer or samordningsnummer.

    >>> personnummer_mask(pa.array(["19850412 1234", "811218-9876", "811218-9875", "AR-1"]))
    array([False,  True, False, False])
    """
    # A number typed into a spreadsheet comes back as a float: 8504121230.0
    if contains(values, _FLOAT_RE2).any():
        values = pc.replace_substring_regex(values, _FLOAT_RE2, r"\1")
    found = contains(values, CANDIDATE_RE2)
    for index in np.flatnonzero(found):
        found[index] = holds_personnummer(values[int(index)].as_py())
    return found


def holds_personnummer(text: str) -> bool:
    """Whether ``text`` (normalised) holds a valid personnummer or samordningsnummer anywhere.

    >>> holds_personnummer("ärende 19811218-9876 avslutat"), holds_personnummer("2026-02-10")
    (True, False)
    """
    for start in _CANDIDATE.finditer(text):
        for shape in (_LONG_AT, _SHORT_AT):
            match = shape.match(text, start.start())
            if match and _valid(re.sub(r"[^0-9]", "", match.group()), shape is _LONG_AT):
                return True
    return False


def _valid(digits: str, with_century: bool) -> bool:
    century = int(digits[:2]) if with_century else None
    ten = digits[2:] if with_century else digits
    return _valid_date(ten[:6], century) and _luhn(ten)


def _valid_date(yymmdd: str, century: int | None) -> bool:
    year, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if day > 60:
        day -= 60  # samordningsnummer
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month]:
        return False
    if month == 2 and day == 29 and century is not None:
        full = century * 100 + year
        return full % 4 == 0 and (full % 100 != 0 or full % 400 == 0)
    return True


def _luhn(ten: str) -> bool:
    total = 0
    for position, char in enumerate(ten):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0
