"""Cells as the rules see them: distinct values, Unicode look-alikes folded to ASCII first.

Every rule of the gate runs on the *normalised* distinct values of a column, so that a
personnummer in full-width digits (``１９８５０４１２－１２３４``), Arabic-Indic digits, with an
en dash, a minus sign, a no-break space or a zero-width space between its digits is the same
personnummer as ``19850412-1234``. The normalisation, in this order:

1. NFKC (Unicode compatibility): full-width digits and letters, ``＠``, ligatures, no-break and
   thin spaces become their plain forms;
2. every other decimal digit (Arabic-Indic, Devanagari, …) becomes its ASCII digit
   (``unicodedata.digit``);
3. dashes and minus signs (U+2010–U+2015, U+2212, U+FE58) become ``-``, any other white space
   a plain space, and invisible characters (zero-width spaces and joiners, word joiner, BOM,
   soft hyphen) are removed.

Steps 1 and 3 are Arrow kernels over the whole array; step 2 is Python, but only on the
values that still hold a non-ASCII character after step 1, which real deliveries rarely have.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DISTINCT_SAMPLE = 10_000
"""Rows looked at to decide whether a column repeats itself enough to be encoded first."""

LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u0600-\u06ff"
"""Latin (with Latin-1 and Extended-A/B), Greek, Cyrillic and Arabic letters, for RE2 classes.

RE2 compiles ``\\pL`` (every letter of Unicode) into a large automaton each time a kernel
runs, 15-25 ms per expression and column; these ranges cost a fraction of a millisecond."""
LETTER = f"[{LETTERS}]"
SPECIAL = r"[^\x00-\x7f\x{c0}-\x{ff}]"
"""A character beyond ASCII and the Latin-1 letters: only such values need normalising."""
_INVISIBLE = "[\u200b-\u200d\u2060\ufeff\u00ad\u180e]"
_CYRILLIC_OR_GREEK = "[\u0370-\u03ff\u0400-\u04ff]"
#: Cyrillic and Greek letters that look like Latin ones (Unicode's confusables, the common ones):
#: folded only in a value that also has Latin letters, where they can only be a disguise.
_LOOK_ALIKES = str.maketrans(
    "АВЕКМНОРСТХаеорсухіјѕԁԛԝΑΒΕΗΙΚΜΝΟΡΤΥΧαοριυνκ",
    "ABEKMHOPCTXaeopcyxijsdqwABEHIKMNOPTYXaopiuvk",
)
_DASHES = "[\u02d7\u2010-\u2015\u2212\ufe58\ufe63\uff0d]"
_SPACES = r"[\p{Z}\t\v\f\r\n]"


@cache
def _digit_class() -> str:
    """Every decimal digit beyond ASCII, as an RE2 class of explicit ranges (``\\p{Nd}``
    matches 40 times slower over a million values)."""
    ranges: list[list[int]] = []
    for code in range(0x80, sys.maxunicode + 1):
        if unicodedata.category(chr(code)) == "Nd":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "[" + "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]"


def arrow_cells(column: pd.Series) -> pa.Array:
    """A column as one Arrow string array, empty cells as ``""``."""
    cells = pa.array(column.astype("str"), type=pa.string(), from_pandas=True)
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    return pc.fill_null(cells, "")


def distinct(cells: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """The distinct values and each row's index into them, when that saves work; else all rows."""
    sample = cells.slice(0, DISTINCT_SAMPLE)
    if pc.count_distinct(sample).as_py() > len(sample) // 10:
        return cells, None
    encoded = pc.dictionary_encode(cells)
    return encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)


def normalise(values: pa.Array) -> pa.Array:
    """``values`` with look-alike digits, dashes and spaces folded (see the module docstring).

    Only values with a character beyond ASCII and the Latin-1 letters (which NFKC leaves as
    they are) are normalised; "Ärende-0001234" in every row of a million costs one RE2 pass.

    >>> cells = pa.array(["１９８５０４１２–１２３４", "٨١١٢١٨\u00a09876", "a\u200bb", "Åsa\\tÖ"])
    >>> normalise(cells).to_pylist()
    ['19850412-1234', '811218 9876', 'ab', 'Åsa Ö']
    """
    if len(values) == 0:
        return values
    special = contains(values, SPECIAL)
    if special.any():
        index = pa.array(np.flatnonzero(special))
        subset = pc.utf8_normalize(values.take(index), "NFKC")
        digits = contains(subset, _digit_class())
        if digits.any():
            pairs = zip(subset.to_pylist(), digits, strict=True)
            fixed = [_ascii_digits(v) if d else v for v, d in pairs]
            subset = pa.array(fixed, type=pa.string())
        mixed = contains(subset, _CYRILLIC_OR_GREEK) & contains(subset, "[A-Za-z]")
        if mixed.any():  # Latin letters beside look-alikes: "Аnna Svеnsson" with Cyrillic А, е
            pairs = zip(subset.to_pylist(), mixed, strict=True)
            subset = pa.array(
                [v.translate(_LOOK_ALIKES) if m else v for v, m in pairs], pa.string()
            )
        subset = pc.replace_substring_regex(subset, _INVISIBLE, "")
        subset = pc.replace_substring_regex(subset, _DASHES, "-")
        subset = pc.replace_substring_regex(subset, _SPACES, " ")
        values = pc.replace_with_mask(values, pa.array(special), subset)
    if contains(values, r"[\t\n\v\f\r]").any():
        values = pc.replace_substring_regex(values, r"[\t\n\v\f\r]", " ")
    return values


def _ascii_digits(text: str) -> str:
    return "".join(
        str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch for ch in text
    )


def as_numpy(array: pa.Array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def contains(values: pa.Array, pattern: str) -> np.ndarray:
    """RE2 search over all values at once (``\\s`` is ASCII white space, ``$`` the very end)."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    return as_numpy(pc.fill_null(pc.match_substring_regex(values, pattern), False))
