"""The privacy gate: find personal data in a delivery before anything of it is kept.

The law and the municipality's ethics rules allow only de-identified data (DOMAIN.md): no
names, personnummer, contact details or free text about people. The gate screens the
*file's name*, the *sheet names*, the *column names* and every *cell* of every column (and of
the workbook's other sheets, when the reader hands them over), because personal data also
hides in columns with innocent names. The rules, each in its own module with its limits:

====  ==========================================  ============================================
rule  finds                                        module
====  ==========================================  ============================================
H     a column name announcing personal data      ``headers`` (namn, personnummer, e-post, …)
P     personnummer, samordningsnummer             ``numbers`` (date + Luhn)
E     e-mail addresses, spelled-out forms too     ``contact`` (RE2)
T     telephone numbers, national/international   ``contact`` (``phonenumbers``)
N     names: given + surname, initials, alone     ``names`` (names-dataset lists)
F     free text; words in a reference             ``freetext``
====  ==========================================  ============================================

Every value is first normalised (``cells.normalise``: NFKC, every decimal digit as ASCII,
dashes, spaces and invisible characters folded), so look-alikes do not get around a rule.

**Nothing is echoed.** A problem names the file, the row, the column and the rule, never the
value. When the *file's name* itself holds personal data the problems name the file as
``WITHHELD_FILE`` instead ("the delivered file"), and the pipeline refuses it before reading
(so the name never reaches ``delivery.file_name`` or the delivery log). A personal sheet or
column name is likewise named by its position (``a sheet``, ``column 3``).

Speed: each column's distinct values are screened (a column of weeks or categories has a few);
every rule is an Arrow kernel over them, and Python only looks at the few values a cheap RE2
pre-filter leaves (candidate numbers, phone-shaped runs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from lagesbild_geo.errors import Problem
from lagesbild_geo.ingest.columns import COLUMN_NAMES
from lagesbild_geo.ingest.privacy.cells import (
    LETTER,
    LETTERS,
    SPECIAL,
    arrow_cells,
    contains,
    distinct,
    normalise,
)
from lagesbild_geo.ingest.privacy.contact import (
    ADDRESS_RE2,
    PHONE_RE2,
    address_mask,
    email_mask,
    phone_mask,
)
from lagesbild_geo.ingest.privacy.freetext import (
    CODE_COLUMNS,
    code_text_mask,
    free_text_mask,
)
from lagesbild_geo.ingest.privacy.headers import fold_name, personal_column_reason
from lagesbild_geo.ingest.privacy.names import has_listed_name, name_mask
from lagesbild_geo.ingest.privacy.numbers import CANDIDATE_RE2, personnummer_mask
from lagesbild_geo.ingest.read import RawTable

MAX_ROWS_PER_RULE = 10
"""Rows listed one by one per column and rule; the rest are counted in one summary problem."""
WITHHELD_FILE = "the delivered file"
"""How a file whose name holds personal data is named in every message about it."""

SUSPECT_RE2 = "|".join(
    (
        SPECIAL,  # beyond ASCII and Latin-1 letters: look-alike digits, dashes, spaces, …
        r"[\t\n\r\v\f]",
        CANDIDATE_RE2,
        PHONE_RE2,
        ADDRESS_RE2,
        r"@|(?i)[(\[{<] *(?:at|snabel)|(?i)[a-z] at [a-z]",
        rf"{LETTER}[^{LETTERS}]+{LETTER}",  # two words: names, free text
        rf"^ *{LETTER}{{2,}}(?:-{LETTER}{{2,}})? *$",  # a name alone
        rf"{LETTER}{{21}}",  # a reference of letters
    )
)
"""Any value any rule might find (one cheap RE2 pass); only these are normalised and checked.
Most cells of a big delivery (coordinates, times, codes like ``AR-2026-000123``) are not."""

PERSONNUMMER = "looks like a personnummer or samordningsnummer"
EMAIL = "looks like an e-mail address"
PHONE = "looks like a telephone number"
FREE_TEXT = "looks like free text; only codes and numbers may be delivered"
CODE_TEXT = "looks like free text; a reference is a code into the actor's own system, not words"
NAME = "looks like a person's name"
ADDRESS = "looks like a street address"


#: Every accepted column name: never refused as a personal-looking header.
ACCEPTED_COLUMNS = tuple(name for names in COLUMN_NAMES.values() for name in names)

#: Words that spreadsheet programs and export tools put in file and sheet names, which the name
#: lists also hold ("Sheet" is a surname): never a name alone there.
TOOL_WORDS = ("sheet", "blad", "data", "export", "report", "final", "copy", "kopia", "tabell")

UNKNOWN_PERSONAL_HEADER = (
    "the column name may hold personal data (a name, a number or an address); "
    "name the columns as the README shows"
)


def find_personal_data(raw: RawTable, known: Iterable[str] = ()) -> list[Problem]:
    """Every sign of personal data in ``raw``: its sheet's name, column names and cells, and
    the cells of the workbook's other sheets when the reader offers them (``other_cells``).

    ``known`` are words that are never a name alone here (the catalogue's indicator ids and the
    accepted column names): a column name outside them that looks personal is refused by its
    position, never repeated.
    Returns an empty list when nothing was found; the caller refuses the delivery otherwise.
    """
    known = tuple(known)
    accepted = {fold_name(k).replace("_", "") for k in (*known, *ACCEPTED_COLUMNS)}
    problems: list[Problem] = []
    sheet = getattr(raw, "sheet", None)
    if sheet and screen_text(sheet, file_name=True):
        problems.append(Problem(raw.file, f"a sheet's name {screen_text(sheet, True)[0]}"))
    for position, name in enumerate(raw.frame.columns):
        header = screen_text(str(name))
        if header:  # e.g. a file without header row: the first data row became the names
            label = f"column {position + 1}"
            reason = f"the column name {header[0]}; is the header row missing?"
            problems.append(Problem(raw.file, reason, column=label))
        elif (column_reason := personal_column_reason(str(name))) is not None:
            label = str(name)  # "Namn", "Telefon": the name says what is refused
            problems.append(Problem(raw.file, column_reason, column=label))
        elif fold_name(str(name)).replace("_", "") not in accepted and looks_personal(
            str(name), known
        ):
            # Not a column name a delivery may have, and it looks like a name, a number or an
            # address: refused here, by position, so that no later message repeats it.
            label = f"column {position + 1}"
            problems.append(Problem(raw.file, UNKNOWN_PERSONAL_HEADER, column=label))
        else:
            label = str(name)
        code = fold_name(label) in CODE_COLUMNS
        column = raw.frame.iloc[:, position]
        for mask, why in value_masks(column, code_field=code, known=known):
            problems.extend(_row_problems(raw.file, mask, why, raw.rows, label))
    for number, (other, frame) in enumerate(getattr(raw, "other_cells", ()) or (), start=1):
        problems.extend(screen_sheet(raw.file, other, frame, position=number))
    return problems


def screen_sheet(file: str, sheet: str, frame: pd.DataFrame, position: int) -> list[Problem]:
    """The cells of another sheet of a workbook (as strings, no header): every rule but free
    text, every cell; rows as the sheet numbers them (from 1), columns by their letters."""
    named = screen_text(sheet, file_name=True)
    where = f"{file}, sheet {position}" if named else f"{file}, sheet '{sheet}'"
    problems = [Problem(where, f"the sheet's name {named[0]}")] if named else []
    rows = np.arange(1, len(frame) + 1)
    for index in range(frame.shape[1]):
        for mask, why in value_masks(frame.iloc[:, index]):
            # A notes or instructions sheet holds sentences ("Leverans från polisen, vecka 7"):
            # there the free-text rule would refuse every workbook with a cover sheet, so other
            # sheets are held to the rules for identity numbers, contact details and names.
            if why != FREE_TEXT:
                problems.extend(_row_problems(where, mask, why, rows, _column_letter(index)))
    return problems


def screen_file_name(name: str) -> list[Problem]:
    """Problems when a file's name holds personal data, naming it ``WITHHELD_FILE``.

    >>> [str(p) for p in screen_file_name("rapport_19811218-9876.csv")]
    ["the delivered file: the file's name looks like a personnummer or samordningsnummer; \
rename the file and deliver it again"]
    >>> screen_file_name("skadegorelse_2026-W07.csv")
    []
    """
    stem = name.rsplit(".", 1)[0] if "." in name else name
    # The extension too: "rapport.850412-1230" would otherwise be echoed as an unknown type.
    after = name.split(".", 1)[1] if "." in name else ""
    reasons = dict.fromkeys(screen_text(stem, file_name=True))
    reasons.update(dict.fromkeys(screen_text(after, file_name=True) if after else []))
    return [
        Problem(WITHHELD_FILE, f"the file's name {why}; rename the file and deliver it again")
        for why in reasons
    ]


def screen_text(text: str, file_name: bool = False, known: Iterable[str] = ()) -> list[str]:
    """The rules one text breaks (each reason once). A file or sheet name is not held to the
    free-text rule ("Veckorapport skadegörelse vecka 7" is a fine name); ``_`` separates its
    words. Rule N4 (a capitalised name alone among other words) was dropped: place names are
    surnames too ("Trygghetsrapport Södertälje 2026.xlsx" was refused)."""
    value = text.replace("_", " ") if file_name else text
    if file_name:
        known = (*known, *TOOL_WORDS)
    found = [why for _, why in value_masks(pd.Series([value], dtype="str"), known=known)]
    if file_name:
        found = [why for why in found if why != FREE_TEXT]
        if NAME in found and value == value.lower():
            # Lower-case file names are full of short tokens that the name lists hold ("no",
            # "bom" in utf16le_no_bom.csv): there a name needs words of three letters or more
            # (three, not four: "åsa", "per", "eva" are given names).
            longer = " ".join(w for w in value.split(" ") if len(w) >= 3 or not w.isalpha())
            names = value_masks(pd.Series([longer], dtype="str"), known=known)
            if NAME not in [why for _, why in names]:
                found.remove(NAME)
    return found


def looks_personal(text: str, known: Iterable[str] = ()) -> bool:
    """Whether a value may be personal: any rule, or any word of the name lists (even a common
    word such as "Berg") that is not a word of the ``known`` ids ("brand" in "anlagd_brand").
    Used to decide that a value gets no "did you mean" suggestion.

    >>> looks_personal("Berg"), looks_personal("skadegörelse_x")
    (True, False)
    """
    if screen_text(text, known=known):
        return True
    ignore = {w for k in known for w in re.split(r"[^a-zåäöéü]+", k.casefold()) if w}
    return bool(has_listed_name(normalise(pa.array([text], pa.string())), ignore)[0])


def value_masks(
    column: pd.Series, code_field: bool = False, known: Iterable[str] = ()
) -> list[tuple[np.ndarray, str]]:
    """Boolean masks over ``column`` for each rule that has hits, with the reason.

    Each distinct value is tested once when a column repeats itself (weeks, categories, times);
    the masks are mapped back to the rows.
    """
    cells = arrow_cells(column)
    if len(cells) == 0:
        return []
    values, positions = distinct(cells)
    suspects = np.flatnonzero(contains(values, SUSPECT_RE2))
    if len(suspects) == 0:
        return []
    found = []
    for mask, why in _rule_masks(normalise(values.take(pa.array(suspects))), code_field, known):
        value_mask = np.zeros(len(values), dtype=bool)
        value_mask[suspects[mask]] = True
        found.append((value_mask if positions is None else value_mask[positions], why))
    return found


def _rule_masks(
    values: pa.Array, code_field: bool, known: Iterable[str]
) -> list[tuple[np.ndarray, str]]:
    found: list[tuple[np.ndarray, str]] = []
    words = free_text_mask(values)
    masks = [
        (personnummer_mask(values), PERSONNUMMER),
        (email_mask(values), EMAIL),
        (phone_mask(values), PHONE),
        (address_mask(values), ADDRESS),
        (name_mask(values, known) & ~words, NAME),
        (words, FREE_TEXT),
        (code_text_mask(values) if code_field else None, CODE_TEXT),
    ]
    taken = np.zeros(len(values), dtype=bool)
    for mask, why in masks:  # each value once, by the first rule that finds it
        if mask is None:
            continue
        mask = mask & ~taken
        taken |= mask
        if mask.any():
            found.append((mask, why))
    return found


def _row_problems(
    file: str, mask: np.ndarray, why: str, rows: np.ndarray, column: str
) -> list[Problem]:
    hits = np.flatnonzero(mask)
    problems = [
        Problem(file, why, row=int(rows[i]), column=column) for i in hits[:MAX_ROWS_PER_RULE]
    ]
    if len(hits) > MAX_ROWS_PER_RULE:
        more = len(hits) - MAX_ROWS_PER_RULE
        problems.append(Problem(file, f"{more} more rows: {why}", column=column))
    return problems


def _column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (as Excel names columns)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
