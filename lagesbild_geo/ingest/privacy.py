"""Find personal data in a delivery before anything of it is kept.

The law and the municipality's ethics rules allow only de-identified data (DOMAIN.md): no
names, personnummer, contact details or free text about people. This scan is the gate: it
looks at column *names* (a column called "Namn" is refused even when empty) and at every
*value* in every column, because personal data also hides in columns with innocent names.

The value rules are tuned against false positives on what deliveries legitimately hold: area
codes ("0181C1010", "110104"), ISO weeks, dates, times, coordinates ("6580123.5", "59,1234")
and the actors' own references ("AR-2026-000123", "K123456-26"). A candidate personnummer must
have a valid date (or samordningsnummer day + 60) and pass the Luhn check.

Messages never repeat the personal value itself; they name the column, the row and the reason.
All checks run as regular expressions over whole columns (pyarrow's RE2 through pandas
``.str``), so a million rows take about a second.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.errors import Problem
from lagesbild_geo.ingest.read import RawTable

MAX_ROWS_PER_RULE = 10
"""Rows listed one by one per column and rule; the rest are counted in one summary problem."""

# --- column names --------------------------------------------------------------------------

_NAME_RULES: tuple[tuple[str, str], ...] = (
    # (regex over the folded column name, why it is refused)
    (
        r"person_?n(umme)?r|personnr|^pnr$|_pnr$|^pnr_|samordningsn|^ssn$|personal_?id",
        "a personal identity number",
    ),
    (r"fodelse|birth", "a date of birth"),
    (r"namn(?!are)|(^|_)(first|last|full|user|sur|given)?_?name($|_)|surname", "a person's name"),
    (r"e_?post|e_?mail|(^|_)mail($|_)|mailadress", "an e-mail address"),
    (r"telefon|(^|_)tel(nr)?($|_)|phone|mobil|(^|_)tfn($|_)", "a telephone number"),
    (r"adress|address|(^|_)gata($|_)|postnummer|postnr|(^|_)street", "an address"),
    (r"reg_?nr|registreringsnummer|license_?plate", "a vehicle registration number"),
    (
        r"kommentar|comment|fritext|free_?text|beskrivning|description|(^|_)notes?($|_)"
        r"|anteckning|(^|_)text($|_)|remark|notering|berattelse|meddelande|message",
        "free text",
    ),
)
_NAME_PATTERNS = [(re.compile(rule), what) for rule, what in _NAME_RULES]


def fold_name(name: str) -> str:
    """Lower case, accents removed, anything not a letter or digit as ``_`` ("E-post" → e_post)."""
    decomposed = unicodedata.normalize("NFKD", name.strip().lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def personal_column_reason(name: str) -> str | None:
    """Why a column name suggests personal data, or ``None`` when it does not."""
    folded = fold_name(name)
    for pattern, what in _NAME_PATTERNS:
        if pattern.search(folded):
            return f"the column name suggests {what}; such data may not be delivered"
    return None


# --- values --------------------------------------------------------------------------------

_LETTER = "[A-Za-zÅÄÖåäöÆØæøÉéÈèÜüÁáÍíÓóÚú]"
_PNR_TAIL = r"(?:$|[^0-9.,]|[.,](?:$|[^0-9]))"
_PNR_RE = rf"(?:^|[^0-9.,])(?P<first>(?:18|19|20)?[0-9]{{6}})[-+]?(?P<last>[0-9]{{4}}){_PNR_TAIL}"
_PNR_FIND_RE = rf"(?:^|[^0-9.,])(?:18|19|20)?[0-9]{{6}}[-+]?[0-9]{{4}}{_PNR_TAIL}"
_EMAIL_RE = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_PHONE_RE = (
    r"(?:^|[^0-9A-Za-z+.,])(?:"
    r"(?:\+46|0046)[ -]?(?:\(0\))?[ -]?[1-9](?:[ -]?[0-9]){6,9}"  # international
    r"|07[02369](?:[ -]?[0-9]){7}"  # mobile
    r"|0[1-9][0-9]{0,2}[ ]?[-/ ][ ]?[0-9](?:[ -]?[0-9]){4,7}"  # landline with area code
    r")(?:$|[^0-9])"
)
_DATE_LIKE_RE = r"^\s*[0-9]{1,2}[-/. ][0-9]{1,2}[-/. ][0-9]{2,4}\s*$"
_WORDS_RE = rf"{_LETTER}{{2,}}(?:[,.;:!?)(\"']*\s+[(\"']*{_LETTER}{{2,}}){{3,}}"
_PROSE_RE = rf"{_LETTER}{{2,}}\s+{_LETTER}{{2,}}"
_PERSON_NAME_RE = (
    r"^\s*[A-ZÅÄÖÉ][a-zåäöéü]+(?:-[A-ZÅÄÖÉ][a-zåäöéü]+)?"
    r"(?:\s+[A-ZÅÄÖÉ][a-zåäöéü]+(?:-[A-ZÅÄÖÉ][a-zåäöéü]+)?){1,2}\s*$"
)

_SUSPECT_RE = "|".join((_PNR_FIND_RE, _PHONE_RE, _WORDS_RE, _PROSE_RE, _PERSON_NAME_RE, "@"))
"""Any rule might fire: one pass over a big column instead of one per rule."""
DISTINCT_SAMPLE = 10_000

_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def find_personal_data(raw: RawTable) -> list[Problem]:
    """Every sign of personal data in ``raw``: personal column names and personal-looking values.

    Returns an empty list when nothing was found; the caller refuses the delivery otherwise.
    """
    problems: list[Problem] = []
    for position, name in enumerate(raw.frame.columns):
        header_masks = _value_masks(pd.Series([name], dtype="str"))
        if header_masks:  # e.g. a file without header row: the first data row became the names
            label = f"column {position + 1}"
            why = header_masks[0][1]
            problems.append(
                Problem(
                    raw.file, f"the column name {why}; is the header row missing?", column=label
                )
            )
        else:
            label = name
            reason = personal_column_reason(name)
            if reason is not None:
                problems.append(Problem(raw.file, reason, column=label))
        problems.extend(_scan_column(raw, raw.frame.iloc[:, position], label))
    return problems


def _scan_column(raw: RawTable, column: pd.Series, label: str) -> list[Problem]:
    problems: list[Problem] = []
    for mask, why in _value_masks(column):
        hits = np.flatnonzero(mask)
        for index in hits[:MAX_ROWS_PER_RULE]:
            problems.append(Problem(raw.file, why, row=int(raw.rows[index]), column=label))
        if len(hits) > MAX_ROWS_PER_RULE:
            problems.append(
                Problem(
                    raw.file,
                    f"{len(hits) - MAX_ROWS_PER_RULE} more rows: {why}",
                    column=label,
                )
            )
    return problems


def _value_masks(column: pd.Series) -> list[tuple[np.ndarray, str]]:
    """Boolean masks over ``column`` for each value rule that has hits, with the reason.

    Each distinct value is tested once when a column repeats itself (weeks, categories, times);
    one combined expression then finds the few suspects, and only those get the detailed rules.
    """
    cells = pa.array(column.astype("str"), type=pa.string(), from_pandas=True)
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    if len(cells) == 0:
        return []
    cells = pc.fill_null(cells, "")
    values, positions = _distinct(cells)
    lengths = _as_numpy(pc.utf8_length(values)).astype(np.int64, copy=False)
    if lengths.max() < 6:
        return []  # nothing shorter than "a@b.se" can hold any of the patterns
    suspect = _contains(values, _SUSPECT_RE) | (lengths > 40)
    if not suspect.any():
        return []
    suspects = np.flatnonzero(suspect)
    found: list[tuple[np.ndarray, str]] = []
    for subset_mask, why in _rule_masks(values.take(pa.array(suspects)), lengths[suspects]):
        value_mask = np.zeros(len(values), dtype=bool)
        value_mask[suspects[subset_mask]] = True
        found.append((value_mask if positions is None else value_mask[positions], why))
    return found


def _distinct(cells: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """The distinct values and each row's index into them, when that saves work; else all rows."""
    sample = cells.slice(0, DISTINCT_SAMPLE)
    if pc.count_distinct(sample).as_py() > len(sample) // 10:
        return cells, None
    encoded = pc.dictionary_encode(cells)
    return encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False)


def _rule_masks(values: pa.Array, lengths: np.ndarray) -> list[tuple[np.ndarray, str]]:
    found: list[tuple[np.ndarray, str]] = []
    pnr = _personnummer_mask(values)
    if pnr.any():
        found.append((pnr, "looks like a personnummer or samordningsnummer"))
    email = _contains(values, _EMAIL_RE)
    if email.any():
        found.append((email, "looks like an e-mail address"))
    phone = _contains(values, _PHONE_RE) & ~pnr & ~_contains(values, _DATE_LIKE_RE)
    if phone.any():
        found.append((phone, "looks like a telephone number"))
    words = _contains(values, _WORDS_RE) | ((lengths > 40) & _contains(values, _PROSE_RE))
    if words.any():
        found.append((words, "looks like free text; only codes and numbers may be delivered"))
    names = _contains(values, _PERSON_NAME_RE) & ~words
    if names.any():
        found.append((names, "looks like a person's name"))
    return found


def _as_numpy(array: pa.Array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def _contains(cells: pa.Array, pattern: str) -> np.ndarray:
    """RE2 search over all cells at once (``\\s`` is ASCII white space, ``$`` the very end)."""
    return _as_numpy(pc.match_substring_regex(cells, pattern))


def _personnummer_mask(cells: pa.Array) -> np.ndarray:
    """Cells holding a personnummer or samordningsnummer in any common form.

    A regular expression finds 10 or 12 digits shaped like one (with ``-``, ``+`` or nothing
    before the last four); numpy then checks the date (day + 60 for samordningsnummer) and the
    Luhn digit over the last ten digits, which rules out most codes and references.
    """
    candidates = _contains(cells, _PNR_FIND_RE)
    if not candidates.any():
        return candidates
    index = np.flatnonzero(candidates)
    parts = pc.extract_regex(cells.take(pa.array(index)), _PNR_RE).flatten()
    first = parts[0].to_pylist()
    last = parts[1].to_pylist()
    digits = np.array([list((a[-6:] + b).encode()) for a, b in zip(first, last, strict=True)])
    digits = digits.astype(np.int64) - ord("0")
    century = np.array([int(a[:2]) if len(a) == 8 else -1 for a in first], dtype=np.int64)
    valid = _valid_birth_date(digits, century) & _luhn_valid(digits)
    result = np.zeros(len(cells), dtype=bool)
    result[index[valid]] = True
    return result


def _valid_birth_date(digits: np.ndarray, century: np.ndarray) -> np.ndarray:
    """YYMMDD (day + 60 allowed) is a real date; 29 February only in leap years when known."""
    year = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    day = digits[:, 4] * 10 + digits[:, 5]
    day = np.where(day > 60, day - 60, day)  # samordningsnummer
    ok_month = (month >= 1) & (month <= 12)
    limit = _DAYS_IN_MONTH[np.where(ok_month, month, 0)]
    full_year = century * 100 + year
    leap = (full_year % 4 == 0) & ((full_year % 100 != 0) | (full_year % 400 == 0))
    feb29_ok = ~((month == 2) & (day == 29)) | (century < 0) | leap
    return ok_month & (day >= 1) & (day <= limit) & feb29_ok


def _luhn_valid(digits: np.ndarray) -> np.ndarray:
    doubled = digits[:, 0::2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + digits[:, 1::2].sum(axis=1)
    return total % 10 == 0
