"""Rule H (headers): a column *name* that announces personal data refuses the column, even empty.

A column called "Namn", "Personnummer" or "Kommentar" is refused before any of its cells is
looked at; the cells themselves are screened by the value rules (``gate``). Names are folded
(``fold_name``) so that case, accents and separators do not matter.
"""

from __future__ import annotations

import re
import unicodedata

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
