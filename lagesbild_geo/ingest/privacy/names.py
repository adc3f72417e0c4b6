"""Rule N (names): a person's name, by lists of the given names and surnames people here have.

The lists (``data/``, built by ``data/make_names.py``): the given names and surnames that the
names-dataset package (Apache-2.0) ranks for Sweden and for the countries most residents born
abroad come from, 34,693 given names and 45,973 surnames, case-folded; and the 3,256 of them
that are also an ordinary Swedish word in the hunspell-sv dictionary (LGPL-3.0): "rosa", "berg",
"lund", "sten", "ek", "björk", "per", "bo".

A value is split into its words (runs of letters; hyphens, dots, commas and digits separate
them, so ``Öberg-Lind``, ``A.Svensson`` and ``Svensson,Anna`` are words side by side) and
refused when

* **N1, given name and surname**: two neighbouring words are a given name and a surname, in
  either order (``Anna Svensson``, ``anna svensson``, ``Svensson, Anna``, ``Anna-Karin Ek``),
  except when the value has no capital letter and both are common words, or one is a common
  word of two letters (``rosa berg`` and ``en dash`` are taken for words, ``Rosa Berg`` and
  ``Bo Ek`` for names);
* **N2, initial and surname**: a single letter beside a surname (``A. Svensson``, ``Svensson
  A``), when the surname is not a common word or the value holds nothing else;
* **N3, a name alone**: the value is one word or two joined by a hyphen, letters only, every
  word a given name or surname, none a common word, and the value is not a known word (the
  catalogue's indicator ids, passed by the caller): ``Svensson`` in the category column is
  refused; ``Rosa``, ``Berg`` and ``Stenkastning`` are not.

File and sheet names are held to N1–N3 too (a lower-case name there needs words of three
letters or more: ``utf16le_no_bom.csv``). An earlier rule N4 (a capitalised name alone among
other words, ``rapport_Svensson.csv``) was dropped: place names are surnames too, and it refused
``Trygghetsrapport Södertälje 2026.xlsx``; a surname alone beside other words is not refused.

The words of all distinct values are looked up at once (Arrow's hash ``is_in`` against the
lists), so the cost is one pass over the distinct words, not a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lagesbild_geo.ingest.privacy.cells import LETTER, LETTERS, as_numpy, contains

_WORD_SPLIT = rf"[^{LETTERS}]+"
_NAME_ONLY = rf"^ *{LETTER}{{2,}}(?:-{LETTER}{{2,}})? *$"


@cache
def name_lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The given names, the surnames and the common words among them (case-folded)."""
    folder = resources.files("lagesbild_geo.ingest.privacy") / "data"
    given, surnames, common = (
        frozenset((folder / f).read_text(encoding="utf-8").split())
        for f in ("given_names.txt", "surnames.txt", "common_words.txt")
    )
    return given, surnames, common


_GLUED = "([a-zåäöéü])([A-ZÅÄÖÉÜ])"
_GLUED_INITIAL = "^([A-ZÅÄÖÉÜ])([A-ZÅÄÖÉÜ][a-zåäöéü])"


def split_glued(values: pa.Array) -> pa.Array:
    """Names written together apart: ``AnnaSvensson`` → ``Anna Svensson``, ``ASvensson`` →
    ``A Svensson`` (a lower-case letter before a capital, or an initial before a name).

    >>> split_glued(pa.array(["AnnaSvensson", "ASvensson", "AR-2026", "skadegörelse"])).to_pylist()
    ['Anna Svensson', 'A Svensson', 'AR-2026', 'skadegörelse']
    """
    if contains(values, _GLUED).any():
        values = pc.replace_substring_regex(values, _GLUED, r"\1 \2")
    if contains(values, _GLUED_INITIAL).any():
        values = pc.replace_substring_regex(values, _GLUED_INITIAL, r"\1 \2")
    return values


def _words(values: pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """The words of each value, lower case: (the value each word is from, the distinct words,
    each word's index into them). Empty words (from leading separators) are left out."""
    words = pc.split_pattern_regex(pc.utf8_lower(values), _WORD_SPLIT)
    parent = as_numpy(pc.list_parent_indices(words))
    flat = pc.list_flatten(words)
    keep = as_numpy(pc.greater(pc.utf8_length(flat), 0))
    encoded = pc.dictionary_encode(flat.filter(pa.array(keep)))
    return parent[keep], encoded.dictionary, as_numpy(encoded.indices)


def _in(words: pa.Array, index: np.ndarray, listed: frozenset[str]) -> np.ndarray:
    """Set lookups on the distinct words only, mapped back to every word."""
    return np.array([w in listed for w in words.to_pylist()], dtype=bool)[index]


def name_mask(values: pa.Array, known: Iterable[str] = ()) -> np.ndarray:
    """Which (normalised) values look like a person's name by rules N1-N3.

    >>> name_mask(pa.array(["Svensson, Anna", "A. Svensson", "Svensson", "Rosa", "rosa berg"]))
    array([ True,  True,  True, False, False])
    """
    n = len(values)
    found = np.zeros(n, dtype=bool)
    if n == 0:
        return found
    values = split_glued(values)
    lower = pc.utf8_lower(values)
    parent, words, index = _words(values)
    if len(parent) == 0:
        return found
    given_set, surname_set, common_set = name_lists()
    given = _in(words, index, given_set)
    surname = _in(words, index, surname_set)
    common = _in(words, index, common_set)
    initial = as_numpy(pc.equal(pc.utf8_length(words), 1))[index]
    count = np.bincount(parent, minlength=n)
    no_capitals = as_numpy(pc.equal(lower, values))

    # N1 and N2: neighbouring words of the same value.
    same = parent[:-1] == parent[1:]
    a, b = slice(None, -1), slice(1, None)
    pair = same & ((given[a] & surname[b]) | (surname[a] & given[b]))
    lower_case = no_capitals[parent[a]]
    short = as_numpy(pc.less(pc.utf8_length(words), 3))[index]
    words_only = lower_case & ((common[a] & common[b]) | (common & short)[a] | (common & short)[b])
    alone = count[parent[a]] == 2
    with_initial = same & (
        (initial[a] & surname[b] & (~common[b] | alone))
        | (surname[a] & initial[b] & (~common[a] | alone))
    )
    found[parent[a][(pair & ~words_only) | with_initial]] = True

    # N3: a name alone.
    is_name = (given | surname) & ~common
    not_name = np.bincount(parent, weights=~is_name, minlength=n) > 0
    single = contains(values, _NAME_ONLY) & ~not_name & (count > 0)
    known_words = {w.casefold() for w in known}
    if known_words and single.any():
        at = np.flatnonzero(single)
        for i, value in zip(at, lower.take(pa.array(at)).to_pylist(), strict=True):
            single[i] = value.strip() not in known_words
    return found | single


def has_listed_name(values: pa.Array, ignore: Iterable[str] = ()) -> np.ndarray:
    """Which values hold any word of the name lists but ``ignore``, common words included (a
    wider net than ``name_mask``, for deciding whether a value may get a suggestion)."""
    parent, words, index = _words(values)
    given_set, surname_set, _ = name_lists()
    listed = _in(words, index, given_set) | _in(words, index, surname_set)
    listed &= ~_in(words, index, frozenset(ignore))
    return np.bincount(parent, weights=listed, minlength=len(values)) > 0
