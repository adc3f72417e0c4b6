"""The broken-delivery corpus: what a case says, and how "nothing changed" is checked.

A case names a file below ``tests/data`` and what the refusal must say: a piece of the reason,
the row and column of the first problem with that reason, and the values that must appear in
no message (personal data is never echoed, not even in "did you mean"). Each topic keeps its
cases in a module of its own in ``tests/ingest/cases/`` (``CASES = [...]``) and its files in
``tests/data/<topic>/``, made by a reproducible script beside them; the runner
(``tests/ingest/test_broken_inputs.py``) collects every topic.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

TEST_DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class Case:
    """One broken delivery and the refusal it must get."""

    file: str  #: path relative to tests/data
    reason: str  #: a piece of the expected reason
    row: int | None = None  #: row of the first problem with that reason (header = row 1)
    column: str | None = None  #: its column, as the file names it
    hidden: tuple[str, ...] = ()  #: values that no message may contain
    actor: str = "kommunen"  #: who delivers (the municipality may deliver every indicator)
    options: dict = field(default_factory=dict)  #: more keyword arguments of ingest_file
    #: deliveries of the same actor stored first (paths relative to tests/data), e.g. what a
    #: case repeats; "nothing changed" is then measured after them
    before: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.file

    @property
    def path(self) -> Path:
        return TEST_DATA / self.file


def all_cases() -> list[Case]:
    """Every topic's cases, in topic order."""
    from tests.ingest import cases

    found: list[Case] = []
    for info in sorted(pkgutil.iter_modules(cases.__path__), key=lambda i: i.name):
        found.extend(importlib.import_module(f"{cases.__name__}.{info.name}").CASES)
    return found


def database_digest(conn: psycopg.Connection) -> dict[str, str]:
    """A digest of every row of every table in the restricted and the public schema.

    Stronger than row counts: an UPDATE or a replaced row changes it too.
    """
    tables = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema IN ('lagesbild', 'publish') AND table_type = 'BASE TABLE'"
        " ORDER BY 1, 2"
    ).fetchall()
    digests = {}
    for schema, table in tables:
        rows = conn.execute(
            psycopg.sql.SQL("SELECT t::text FROM {}.{} t").format(
                psycopg.sql.Identifier(schema), psycopg.sql.Identifier(table)
            )
        ).fetchall()
        h = hashlib.sha256()
        for (text,) in sorted(rows):
            h.update(text.encode() + b"\n")
        digests[f"{schema}.{table}"] = f"{len(rows)}:{h.hexdigest()[:16]}"
    return digests
