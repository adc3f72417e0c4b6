"""What an area import may take for granted: level prefixes, and the stored names and populations.

Two defaults used to change a layer silently. ``--level-prefixes 1,2`` made DeSO codes
("0181C1010") roll up to areas ``0`` and ``01``; and a re-import without
``--population-field`` cleared every stored population. Here a default is used only when it
is certain: the level prefixes are guessed only from codes that can only be DeSO codes
(:data:`DESO_CODE`), and a field the import does not give keeps its stored value for the
codes that stay, unless the caller asks to clear it. Pure functions; nothing is read here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: SCB's DeSO code: municipality (4 digits), DeSO type (A, B or C), number (4 digits); ASCII
#: digits only (``\d`` would take full-width and other Unicode digits too).
DESO_CODE = re.compile(r"^[0-9]{4}[ABC][0-9]{4}$")
#: DeSO's levels: the municipality (4 characters) and the municipality with the DeSO type (5).
DESO_PREFIXES = (4, 5)
#: What ``read_area_file`` is given to guess the level prefixes from the codes.
GUESS = "guess"


def guess_level_prefixes(codes: Iterable[str]) -> tuple[int, int] | None:
    """DeSO's (4, 5) when every code is a DeSO code, else None (the codes do not say).

    Examples
    --------
    >>> guess_level_prefixes(["0181C1010", "0181A0020"])
    (4, 5)
    >>> guess_level_prefixes(["0181C1010", "1101"]) is None
    True
    """
    listed = [str(c) for c in codes]
    if listed and all(DESO_CODE.fullmatch(c) for c in listed):
        return DESO_PREFIXES
    return None


def level_prefixes_message(field: str) -> str:
    """Why an import without ``--level-prefixes`` is refused (the codes say nothing)."""
    return (
        f"the codes in field '{field}' are not DeSO codes (9 characters such as 0181C1010), "
        "so how they roll up to level 1 and level 2 cannot be told from them: give "
        "--level-prefixes N,M (how many leading characters make the level-1 and the level-2 "
        "code, e.g. 1,2 for NYKO) or --level-field"
    )


def keep_stored_fields[Frame: pd.DataFrame](
    frame: Frame,
    stored: pd.DataFrame,
    *,
    names: bool,
    population: bool,
) -> tuple[Frame, list[str]]:
    """The new level-3 frame with the stored name and population of the codes that stay.

    ``names`` / ``population`` say which fields the import did not give (and was not asked to
    clear): for those, a code present in ``stored`` takes its stored value; a new code has
    none (its name is its code). Returns the frame and a note per field kept, for the report.

    Examples
    --------
    >>> new = pd.DataFrame({"code": ["a", "b"], "name": ["a", "b"],
    ...                     "population": pd.array([None, None], dtype="Int64")})
    >>> old = pd.DataFrame({"code": ["a"], "name": ["Centrum"],
    ...                     "population": pd.array([1200], dtype="Int64")})
    >>> out, notes = keep_stored_fields(new, old, names=True, population=True)
    >>> out["name"].tolist(), out["population"].tolist()
    (['Centrum', 'b'], [1200, <NA>])
    """
    out = frame.copy()
    notes: list[str] = []
    by_code = stored.set_index("code")
    codes = out["code"].astype(str)
    staying = codes.isin(by_code.index).to_numpy()
    if names and staying.any():
        old = by_code["name"].reindex(codes).to_numpy(dtype=object)
        kept = staying & (old != codes.to_numpy())
        if kept.any():
            out["name"] = np.where(kept, old, out["name"].to_numpy(dtype=object))
            notes.append(
                f"names kept from the stored layer for {int(kept.sum())} areas (no --name-field "
                "given; --clear-names names them by their codes)"
            )
    if population and staying.any():
        old_pop = by_code["population"].reindex(codes).astype("Int64").array
        kept = staying & ~pd.isna(old_pop)
        if kept.any():
            new_pop = out["population"].astype("Int64").array.copy()
            new_pop[kept] = old_pop[kept]
            out["population"] = new_pop
            notes.append(
                f"population kept from the stored layer for {int(kept.sum())} areas (no "
                "--population-field given; --clear-population clears it)"
            )
    return out, notes
