"""Build the name lists of the privacy gate from two PyPI packages' data (run by hand).

    pip download --no-deps names-dataset==3.3.1 hunspell-sv==2026.10.25
    python lagesbild_geo/ingest/privacy/data/make_names.py \
        names_dataset-3.3.1-py3-none-any.whl hunspell_sv-2026.10.25-py3-none-any.whl

Writes, beside this script, one name a line, case-folded and sorted (the bytes are
reproducible from the same two wheels):

* ``given_names.txt`` and ``surnames.txt``: every name that names-dataset 3.3.1 (Philippe
  Remy; Apache-2.0 by its LICENSE file, MIT by its metadata; first and last names of the 2021
  dump of 533 million Facebook profiles, by country; only the bare names are kept) ranks for Sweden
  (5,664 given names, 12,961 surnames), and the ``TOP`` most common names of the countries
  most residents born abroad come from (``ORIGINS``). The dataset keeps a name's rank in its
  ten main countries only, so "Sara", "Elsa" or "Mohammed" have no Swedish rank: the other
  countries bring them in;
* ``common_words.txt``: those names that are also an ordinary Swedish word, a lower-case
  stem of the hunspell-sv 2026.10.25 dictionary (Göran Andersson, LGPL-3.0): "rosa", "berg",
  "sten", "per". Such a word alone in a cell is not taken for a name (``names.py``).

Nothing is imported from either package: the wheels are read as zip files.
"""

from __future__ import annotations

import gzip
import pickle
import sys
import unicodedata
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORIGINS = (
    "NO", "DK", "FI", "DE", "PL", "GB", "US", "IQ", "SY", "IR", "TR", "AF", "RS", "HR",
    "ET", "LB", "EG", "MA", "CL", "TH", "IN", "PK", "RU", "SO", "ER", "BA",
)  # fmt: skip
"""Countries of birth common among residents of Sweden (SCB); the dataset lacks a few."""
TOP = 2000


def fold(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold().strip()


def sweden(wheel: zipfile.ZipFile, member: str) -> set[str]:
    with wheel.open(member) as raw, gzip.open(raw) as data:
        table = pickle.load(data)  # the package's own data, read as the package reads it
    found = set()
    for name, info in table.items():
        rank = info.get("rank", {})
        if "SE" in rank or any(rank.get(country, TOP + 1) <= TOP for country in ORIGINS):
            found.add(fold(name))
    return found


def main(names_wheel: str, hunspell_wheel: str) -> None:
    with zipfile.ZipFile(names_wheel) as wheel:
        given = sweden(wheel, "names_dataset/v3/first_names.pkl.gz")
        surnames = sweden(wheel, "names_dataset/v3/last_names.pkl.gz")
    with zipfile.ZipFile(hunspell_wheel) as wheel:
        member = next(n for n in wheel.namelist() if n.endswith("/hunspell/sv_SE.dic"))
        lines = wheel.read(member).decode("utf-8").splitlines()[1:]
    stems = {line.split("/")[0] for line in lines}
    words = {fold(s) for s in stems if s and s == s.lower()}
    common = (given | surnames) & words
    for file, names in (
        ("given_names.txt", given),
        ("surnames.txt", surnames),
        ("common_words.txt", common),
    ):
        (HERE / file).write_text("".join(f"{n}\n" for n in sorted(names)), encoding="utf-8")
        print(f"{file}: {len(names)} names")


if __name__ == "__main__":
    main(*sys.argv[1:3])
