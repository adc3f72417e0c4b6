"""What a single cell may hold, whatever its column: whole counts, separators, references.

The rules here are the exact ones; a value that does not meet them is refused with the row,
the column and the reason, never with the value itself (it may be personal, and a message is
read by people who may not see it). They are written once so that counts, shares and
coordinates agree on what a number is, and every column on what a character may be.

* **Counts** (``antal``, ``täljare``, ``nämnare``) are written with the digits 0–9 only: no
  sign, no exponent (``1e3``), no hexadecimal, no full-width or other scripts' digits (``１２``,
  ``٣``). Thousands may be grouped by a space, a no-break space (U+00A0, what Swedish Excel
  writes), a narrow no-break space (U+202F) or a thin space (U+2009), in groups of three
  (``1 234``). A decimal comma or point is accepted when only zeros follow (``3,0``, ``3.00``:
  Swedish Excel's decimal commas), but not a single group of three digits after one or three
  digits (``1,000``, ``1.000``), which is a thousand in English and one in Swedish. A count lies
  between 0 and the plausible maximum (``DeliveryLimits.max_count``).
* **Coordinates** accept the same thousands separators, and a decimal comma or point.
* **References** (``referens``) are at most ``DeliveryLimits.max_reference_length``
  characters and never begin like a spreadsheet formula or DDE call (``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return, also after leading spaces or quotes and in their
  full-width forms): OWASP's CSV injection, since references are exported to spreadsheets.
* **No cell** holds a control character (NUL, tab, line break inside, C1 codes) or an
  invisible formatting character (zero-width space, bidirectional overrides, soft hyphen,
  BOM): spaces around a value are trimmed, anything inside is refused.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.ingest.columns import Problems, arrow_strings

THOUSANDS_SEPARATORS = " \u00a0\u202f\u2009"
"""Space, no-break space, narrow no-break space, thin space: how digit groups are separated."""
MINUS_SIGNS = "-\u2212\u2012\u2013\u2014\ufe63\uff0d"
"""Hyphen-minus, minus sign, figure dash, en and em dash, small and full-width hyphen-minus."""
_GROUPS = f"[0-9]{{1,3}}(?:[{THOUSANDS_SEPARATORS}][0-9]{{3}})+"
_COUNT = re.compile(rf"(?P<int>{_GROUPS}|[0-9]+)(?:[.,](?P<frac>[0-9]+))?", re.ASCII)
_DIGITS_LIMIT = 18
"""Digits parsed at most: every int64 has 19, so nothing longer can be a plausible count."""

_CONTROL = r"[\x00-\x1f\x7f-\x9f\p{Cf}\x{2028}\x{2029}]"
"""C0 and C1 controls, DEL, Unicode format characters (zero-width, bidi, BOM, soft hyphen,
tags) and the line and paragraph separators."""
_SUSPICIOUS = np.array(
    [*range(0x20), 0x7F, 0xC2, 0xD8, 0xDB, 0xDC, 0xDD, 0xE0, 0xE1, 0xE2, 0xEF, 0xF0, 0xF3]
)
"""Bytes that begin (or are) a control or format character in UTF-8; see ``_may_hold_control``."""
_FORMULA = (
    r"^[\pZ\s\"'\x{FF02}\x{FF07}\x{2018}\x{2019}\x{201C}\x{201D}]*"
    r"[=+\-@\t\r\x{FF1D}\x{FF0B}\x{FF0D}\x{FF20}\x{FE66}\x{FE62}\x{FE63}\x{2212}]"
)
"""A formula or DDE prefix (OWASP CSV injection), after any spaces and quotes, in ASCII and
full-width/small forms."""
_FORMULA_LEAD = np.array([*b"=+-@\t\r\"'", *range(0x80, 0x100)], dtype=np.uint8)
"""First bytes after which a reference needs the regular expression: formula signs, quotes, and
any non-ASCII lead byte (full-width signs, curly quotes, Unicode spaces)."""


def parse_count(text: str, max_count: int) -> int:
    """A whole count from 0 to ``max_count``, written as the module docstring says.

    Raises ``ValueError`` with the reason (never the value).

    >>> parse_count("1 234", 100_000), parse_count("3,0", 100_000)
    (1234, 3)
    >>> parse_count("2,5", 100_000)
    Traceback (most recent call last):
    ...
    ValueError: not a whole number; counts must be integers
    """
    cleaned = text.strip()
    if cleaned[:1] in MINUS_SIGNS and cleaned[1:2].isdigit():
        raise ValueError("negative count; counts cannot be below 0")
    if cleaned[:1] == "+":
        raise ValueError("a sign before the count; write it with the digits 0-9 only")
    match = _COUNT.fullmatch(cleaned)
    if not match:
        raise ValueError(_why_not_a_count(cleaned))
    whole, fraction = match["int"], match["frac"]
    if fraction is not None and fraction.strip("0"):
        raise ValueError("not a whole number; counts must be integers")
    if fraction is not None and len(fraction) == 3 and whole.isdigit() and len(whole) <= 3:
        raise ValueError(
            "ambiguous: three digits after a comma or point may be a thousand or a decimal; "
            "write 1000 or 1 000 for a thousand"
        )
    digits = re.sub(f"[{THOUSANDS_SEPARATORS}]", "", whole).lstrip("0") or "0"
    if len(digits) > _DIGITS_LIMIT or int(digits) > max_count:
        most = f"{max_count:,}".replace(",", " ")
        raise ValueError(
            f"larger than {most} (LAGESBILD_MAX_COUNT), the most one area may have in a week "
            "for one indicator; check the column"
        )
    return int(digits)


def _why_not_a_count(text: str) -> str:
    """The likeliest reason ``text`` is not a count, in words an actor can act on."""
    if any(ch.isdigit() and not "0" <= ch <= "9" for ch in text):
        return "digits other than 0-9 (full-width or another script); write the count with 0-9"
    if re.fullmatch(r"[0-9]+(?:[.,][0-9]+)?[eE][-+]?[0-9]+", text):
        return "a number in exponent form (like 1e3); write the count as digits"
    if re.fullmatch(r"[0-9]{1,3}(?:([.,])[0-9]{3})(?:\1[0-9]{3})+", text):
        return "thousands separated by a comma or point; write 1234567 or 1 234 567"
    if re.fullmatch(rf"[0-9][0-9{THOUSANDS_SEPARATORS}]*[0-9](?:[.,][0-9]+)?", text):
        return "digits grouped wrongly; group thousands by three (1 234 567) or write none"
    return "not a count; write a whole number with the digits 0-9, like 12"


def coordinate_text(cells: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Coordinates as text a float cast reads, and where they are written as a number may be.

    Trimmed, thousands separators removed where they group digits by three, a decimal comma
    made a point: ``6 580 123,5`` → ``6580123.5``. Returns (text, ok mask).
    """
    cells = pc.utf8_trim_whitespace(cells)
    separators = f"[{_arrow_class(THOUSANDS_SEPARATORS)}]"
    grouped = rf"[0-9]{{1,3}}(?:{separators}[0-9]{{3}})+"
    number = rf"^[-+]?(?:{grouped}|[0-9]+)(?:[.,][0-9]*)?$|^[-+]?[.,][0-9]+$"
    ok = pc.fill_null(pc.match_substring_regex(cells, number), False)
    plain = pc.replace_substring_regex(cells, separators, "")
    return pc.replace_substring(plain, ",", "."), ok


def _arrow_class(chars: str) -> str:
    """Characters as the body of an RE2 character class (``\\x{...}`` escapes)."""
    return "".join(f"\\x{{{ord(ch):04X}}}" for ch in chars)


def refuse_control_characters(
    problems: Problems, frame: pd.DataFrame, columns: dict[str, str]
) -> None:
    """Every cell is one line of visible text: a control or invisible formatting character
    inside any cell is refused by row and column (spaces around a value are only trimmed)."""
    for name in columns.values():
        cells = arrow_strings(frame[name])
        if not _may_hold_control(cells):
            continue  # the usual case, settled by one pass over the bytes
        inner = pc.utf8_trim_whitespace(cells)
        bad = pc.fill_null(pc.match_substring_regex(inner, _CONTROL), False)
        problems.rows(
            bad.to_numpy(zero_copy_only=False),
            name,
            "a control character or an invisible one (such as NUL, a tab or line break, a "
            "zero-width space); a cell holds one line of visible text",
        )


def _may_hold_control(cells: pa.Array) -> bool:
    """Whether any byte could belong to a control or format character: below 0x20, DEL, or a
    lead byte of the non-ASCII ones (0xC2 for C1 and U+00AD; 0xD8/0xDB/0xDC/0xDD/0xE0/0xE1/
    0xE2/0xEF/0xF0/0xF3 for the rest). Swedish letters (0xC3 …) need no closer look."""
    data = cells.buffers()[2]
    if data is None or len(cells) == 0:
        return False
    offsets = np.frombuffer(
        cells.buffers()[1], dtype=np.int32, count=len(cells) + 1, offset=cells.offset * 4
    )
    octets = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    if len(octets) == 0:
        return False
    if octets.min() >= 0x20 and octets.max() < 0x7F:
        return False  # printable ASCII: two reductions settle it
    counts = np.bincount(octets, minlength=256)  # one pass, cheaper than a lookup per byte
    return bool(counts[_SUSPICIOUS].any())


def refuse_bad_references(problems: Problems, column: pd.Series, name: str, max_length: int):
    """References of at most ``max_length`` characters that do not start like a formula."""
    refs = pc.utf8_trim_whitespace(arrow_strings(column))
    offsets = np.frombuffer(
        refs.buffers()[1], dtype=np.int32, count=len(refs) + 1, offset=refs.offset * 4
    )
    long = np.diff(offsets) > max_length  # bytes: a cheap bound on the characters
    if long.any():
        long &= pc.greater(pc.utf8_length(refs), max_length).to_numpy(zero_copy_only=False)
    problems.rows(
        long,
        name,
        f"the reference is longer than {max_length} characters "
        "(LAGESBILD_MAX_REFERENCE_LENGTH); a reference is a short id into the actor's system",
    )
    data = refs.buffers()[2]
    octets = np.frombuffer(data if data is not None else b"", dtype=np.uint8)
    starts = offsets[:-1][np.diff(offsets) > 0]
    if not np.isin(octets[starts], _FORMULA_LEAD).any():
        return  # no reference begins with a formula sign, a quote or a non-ASCII character
    formula = pc.fill_null(pc.match_substring_regex(refs, _FORMULA), False)
    problems.rows(
        formula.to_numpy(zero_copy_only=False) & ~long,
        name,
        "the reference starts like a spreadsheet formula (=, +, -, @); "
        "a reference must start with a letter or digit",
    )
