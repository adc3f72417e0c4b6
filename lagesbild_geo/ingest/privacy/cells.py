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

import unicodedata

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
_INVISIBLE = "[\u200b-\u200d\u2060\ufeff\u00ad\u180e]"
_DASHES = "[\u2010-\u2015\u2212\ufe58]"
_SPACES = r"[\p{Z}\t\v\f\r\n]"


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

    >>> cells = pa.array(["１９８５０４１２–１２３４", "٨١١٢١٨\u00a09876", "a\u200bb"])
    >>> normalise(cells).to_pylist()
    ['19850412-1234', '811218 9876', 'ab']
    """
    if len(values) == 0:
        return values
    values = pc.utf8_normalize(values, "NFKC")
    if contains(values, r"[^\x00-\x7f]").any():
        digits = contains(pc.replace_substring_regex(values, "[0-9]", ""), r"\p{Nd}")
        if digits.any():
            index = np.flatnonzero(digits)
            fixed = [_ascii_digits(v) for v in values.take(pa.array(index)).to_pylist()]
            merged = np.array(values.to_pylist(), dtype=object)
            merged[index] = fixed
            values = pa.array(merged, type=pa.string())
        values = pc.replace_substring_regex(values, _INVISIBLE, "")
        values = pc.replace_substring_regex(values, _DASHES, "-")
    return pc.replace_substring_regex(values, _SPACES, " ")


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
