"""Rules E (e-mail) and T (telephone): contact details in the forms people actually type.

E-mail (RE2 over whole columns, after ``cells.normalise``, so ``＠`` is ``@``): a word, then
``@`` with or without spaces around it, then a word; no top-level domain needed
(``anna@example``). The spelled-out forms too: ``anna (at) example.se``, ``anna[at]example.se``,
``anna {snabel-a} example``, and ``anna at example dot se`` / ``anna at example.se``.

Telephone: Google's libphonenumber (the ``phonenumbers`` package) decides. RE2 first picks the
values holding a phone-shaped run (``+`` or ``00`` and a country code, or a ``0`` trunk prefix,
then seven or more digits with spaces, ``-``, ``.``, ``/`` or parentheses between them); each
distinct run is then parsed as a Swedish number (``region="SE"``; international numbers of any
country parse by their prefix) and refused when ``phonenumbers.is_valid_number`` holds: a number
with a real prefix and length. Runs that are part of a code (``AR-0701234567``, ``x_0701…``)
or a decimal number are not candidates, nor are dates written ``01-02-2026`` or ``01.02.26``.
What deliveries legitimately hold stays accepted: area codes (``0181C1010``, ``110104``), weeks,
dates, times, coordinates (``6580123.5``, ``59,1234``), counts and references
(``AR-2026-000123``, ``K123456-26``): ``tests/ingest/test_privacy.py`` holds the list.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import phonenumbers
import pyarrow as pa

from lagesbild_geo.ingest.privacy.cells import LETTER, LETTERS, contains

_LOCAL = rf"[{LETTERS}0-9._%+\-]"
_DOMAIN = rf"[{LETTERS}0-9\-]"
_OPEN, _CLOSE = r"[(\[{<]", r"[)\]}>]"
EMAIL_RE2 = "|".join(
    (
        rf"{_LOCAL} *@+ *{_DOMAIN}",
        # the @ as a web form or a page writes it: %40, &#64;, &commat;
        rf"(?i){_LOCAL} *(?:%40|&#0*64;|&#x0*40;|&commat;) *{_DOMAIN}",
        rf"(?i){_LOCAL} *{_OPEN} *(?:at|snabel-?a) *{_CLOSE} *{_DOMAIN}",
        rf"(?i){_LOCAL}+ +snabel-?a +{_DOMAIN}",
        rf"(?i){_LOCAL}+ +at +{_DOMAIN}+"
        rf"(?: *{_OPEN}? *(?:dot|punkt) *{_CLOSE}? *|\.){LETTER}{{2,}}",
    )
)
"""An e-mail address in any of the forms above (RE2, case-insensitive where spelled out)."""

_RUN = r"(?:\+ ?[1-9]|00 ?[1-9]|\(? ?0 ?[1-9])[0-9 ()./\-]{5,24}[0-9]"
#: Words people write before a number, glued to it or with a mark: ``tel.0701234567``,
#: ``mobil/0701234567``, ``tfn:08-123 456 78``.
_LABEL = r"(?i:tel|tfn|telefon|mobil|mob|mobilnr|telnr|phone|ring)[.:/#]* ?"
#: A Swedish mobile number as a spreadsheet keeps it when typed as a number: the leading 0
#: (or the +) is lost, ``701234567``, ``46701234567``. Only a whole cell of exactly that.
_LOST_ZERO = r"^(?:46|0046)?7[02369][0-9]{7}$"
PHONE_RE2 = rf"(?:^|[^0-9{LETTERS}.,_/\-]|[^0-9{LETTERS}][\-/]){_RUN}|{_LABEL}{_RUN}|{_LOST_ZERO}"
"""A value that may hold a phone number: a run starting with ``+``, ``00`` or ``0``."""
_PHONE_RUN = re.compile(rf"(?:^|(?<=[^0-9\w.,/\-])|(?<=[^0-9\w][\-/])){_RUN}")
_LABEL_RE = re.compile(_LABEL)
_LOST_ZERO_RE = re.compile(_LOST_ZERO)
_DATE_LIKE = re.compile(r"[0-9]{1,2}[-/. ][0-9]{1,2}[-/. ][0-9]{2,4}")
MIN_DIGITS, MAX_DIGITS = 7, 15


#: A street address: a street name (Swedish street words at its end) and a number, e.g.
#: ``Storgatan 12``, ``Björkvägen 3B``, ``Lilla torget 1``. Exact addresses may not be stored
#: (DOMAIN.md); an event's place is delivered as coordinates, which are never stored.
_STREET = (
    r"(?:gatan|gata|vägen|väg|gränd|gränden|torget|torg|stigen|allén|backen|leden|platsen"
    r"|plan|stråket|kajen)"
)
ADDRESS_RE2 = rf"(?i){LETTER}*{_STREET} +[0-9]{{1,4}} ?[A-Za-z]?(?:$|[^0-9{LETTERS}])"
"""A value that holds a street address (RE2)."""


def address_mask(values: pa.Array) -> np.ndarray:
    """Which (normalised) values hold a street address.

    >>> address_mask(pa.array(["Storgatan 12", "lilla torget 1 B", "vägarbete", "2026-W07"]))
    array([ True,  True, False, False])
    """
    return contains(values, ADDRESS_RE2)


def email_mask(values: pa.Array) -> np.ndarray:
    """Which (normalised) values hold an e-mail address.

    >>> email_mask(pa.array(["anna (at) example.se", "anna @ example", "@SUM(A1)"]))
    array([ True,  True, False])
    """
    return contains(values, EMAIL_RE2)


def phone_mask(values: pa.Array) -> np.ndarray:
    """Which (normalised) values hold a valid phone number, as libphonenumber sees it.

    >>> phone_mask(pa.array(["070.123.45.67", "0046 70 123 45 67", "AR-2026-000123"]))
    array([ True,  True, False])
    """
    found = contains(values, PHONE_RE2)
    index = np.flatnonzero(found)
    for i, text in zip(index, values.take(pa.array(index)).to_pylist(), strict=True):
        found[i] = holds_phone_number(text)
    return found


def holds_phone_number(text: str) -> bool:
    """Whether a (normalised) text holds a valid phone number anywhere in it.

    >>> [holds_phone_number(t) for t in ("tel.0701234567", "701234567", "AR-0701234567")]
    [True, True, False]
    """
    if _LOST_ZERO_RE.fullmatch(text.strip()):
        digits = text.strip().removeprefix("00").removeprefix("46")
        return _valid_run("0" + digits)
    for match in _PHONE_RUN.finditer(_LABEL_RE.sub(" ", text)):
        run = match.group().strip(" ()./-")
        if _DATE_LIKE.fullmatch(run):
            continue
        if _valid_run(run):
            return True
    return False


@lru_cache(maxsize=65_536)
def _valid_run(run: str) -> bool:
    digits = re.sub(r"[^0-9]", "", run)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return False
    try:
        number = phonenumbers.parse(run, "SE")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)
