"""Rule F (free text): words where only codes and numbers belong.

Free text about people is personal data the back way ("the boy in the red jacket at the
kiosk"), and no column of a delivery holds text: indicators are catalogue ids, areas codes,
references codes into the actor's own system. Two limits:

* **F1, any cell**: four or more words of two or more letters in a row (``Ungdomar samlades
  vid skolan``), or two such words in a cell longer than ``MAX_PROSE_LENGTH`` characters;
* **F2, a code field** (the reference column, ``CODE_COLUMNS``): ``MAX_CODE_WORDS`` words of
  three or more letters separated by white space (``Bråk vid skolan``, ``stökiga ungdomar``),
  or more than ``MAX_CODE_LETTERS`` letters in all (a sentence without spaces). ``AR-2026-000123``,
  ``K123456-26``, ``STORM 2026/1234`` and ``Ärende nr 123`` stay references.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.ingest.privacy.cells import LETTER, LETTERS, as_numpy, contains

MAX_PROSE_LENGTH = 40
MAX_CODE_WORDS = 2
"""Words of three or more letters, separated by white space, that refuse a reference."""
MAX_CODE_LETTERS = 20
"""Letters in a reference beyond which it is text, not a code."""
CODE_COLUMNS = frozenset({"referens", "ref", "source_ref", "reference", "kallreferens"})
"""Folded names of the reference column (as ``columns.COLUMN_NAMES["source_ref"]``)."""

_WORD = rf"[(\"'«»”]*{LETTER}{{2,}}[,.;:!?)\"'«»”]*"
WORDS_RE2 = rf"{_WORD}(?: +{_WORD}){{3,}}"
PROSE_RE2 = rf"{LETTER}{{2,}} +{LETTER}{{2,}}"
_CODE_WORD = rf"[(\"'«»”]*{LETTER}{{3,}}[,.;:!?)\"'«»”]*"
CODE_WORDS_RE2 = (
    rf"(?:^| ){_CODE_WORD}" + rf"(?: (?:.* )?){_CODE_WORD}" * (MAX_CODE_WORDS - 1) + "(?: |$)"
)


def free_text_mask(values: pa.Array) -> np.ndarray:
    """Rule F1 over (normalised) values.

    >>> free_text_mask(pa.array(["Bråk, stök och skrik vid kiosken", "skadegorelse"]))
    array([ True, False])
    """
    long = as_numpy(pc.greater(pc.utf8_length(values), MAX_PROSE_LENGTH))
    return contains(values, WORDS_RE2) | (long & contains(values, PROSE_RE2))


def code_text_mask(values: pa.Array) -> np.ndarray:
    """Rule F2 over the (normalised) values of a code field.

    >>> code_text_mask(pa.array(["Bråk vid skolan", "AR-2026-000123", "Ärende nr 123"]))
    array([ True, False, False])
    """
    many_letters = rf"(?:{LETTER}[^{LETTERS}]*){{{MAX_CODE_LETTERS + 1}}}"
    return contains(values, CODE_WORDS_RE2) | contains(values, many_letters)
