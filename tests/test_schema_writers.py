"""One writer per database schema, read from the SQL text of every module.

The design (docs/architecture.md): ``store/`` is the only writer to schema ``lagesbild`` (the
exact, restricted counts), ``publish/`` the only writer to schema ``publish`` (what the public
may see), pygeoapi's job manager the only writer to ``jobs``; ``db/`` changes schemas (the
numbered migrations and the repeatable functions). ``demo/`` writes only through ingest/store.
A write is an INSERT/UPDATE/DELETE/MERGE, a ``COPY ... FROM``, a TRUNCATE, DDL on a table of
the schema, or a call of an SQL function (defined in db/) that writes it.
"""

from __future__ import annotations

import ast
import re
from functools import cache

import pytest

from tests.sources import REPO, area, relative, source_files, tree

#: Schema -> the subpackages whose SQL may write it (INSERT/UPDATE/DELETE/COPY FROM/TRUNCATE,
#: DDL, or a call of an SQL function that writes it). db/ applies migrations and the repeatable
#: functions; jobs.* is written by pygeoapi's own job manager, so by none of our modules.
WRITERS: dict[str, set[str]] = {
    # access writes the credentials only (lagesbild.api_key; the access log is written by
    # the SQL function lagesbild.log_access, from whichever stage acts)
    "lagesbild": {"store", "db", "access"},
    "publish": {"publish", "db"},
    # the job manager's rules (retention, bounds) are analysis/jobs.py's
    "jobs": {"db", "analysis"},
}


# -- one writer per schema ---------------------------------------------------------------------

SCHEMAS = "|".join(WRITERS)
WRITE = re.compile(
    r"\b(?P<verb>INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(?:\s+TABLE)?|MERGE\s+INTO"
    r"|(?:CREATE(?:\s+OR\s+REPLACE)?|ALTER|DROP)\s+(?:TABLE|(?:MATERIALIZED\s+)?VIEW|FUNCTION"
    r"|PROCEDURE|SEQUENCE|INDEX))"
    r"\s+(?:ONLY\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?\"?(?P<schema>" + SCHEMAS + r")\"?\s*\."
    r"\"?(?P<name>\w+)"
)
COPY_TO = re.compile(r"\bTO\s+(?:STDOUT|'|PROGRAM)")
SQL_FUNCTION = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+(?P<schema>\w+)\.(?P<name>\w+)"
    r".*?(?P<quote>\$\w*\$)(?P<body>.*?)(?P=quote)",
    re.DOTALL,
)


@cache
def writing_functions() -> dict[str, set[str]]:
    """``schema.function`` -> the schemas its body writes, for every SQL function in db/.

    A function counts as writing what the functions it calls write (``publish.refresh`` ->
    ``publish._refresh_observations``), so calling it from Python is a write too.
    """
    bodies: dict[str, str] = {}
    for path in sorted((REPO / "lagesbild_geo").rglob("*.sql")):
        for match in SQL_FUNCTION.finditer(path.read_text(encoding="utf-8")):
            name = f"{match['schema']}.{match['name']}"
            bodies[name] = bodies.get(name, "") + match["body"]
    writes = {
        name: {m["schema"] for m in WRITE.finditer(body) if m["verb"] != "COPY"}
        for name, body in bodies.items()
    }
    changed = True
    while changed:
        changed = False
        for name, body in bodies.items():
            for other, schemas in writes.items():
                calls = other != name and re.search(rf"\b{re.escape(other)}\s*\(", body)
                if calls and not schemas <= writes[name]:
                    writes[name] |= schemas
                    changed = True
    return {name: schemas for name, schemas in writes.items() if schemas}


def _sql_strings(module: str) -> list[tuple[int, str]]:
    """Every string of ``module`` that is not a docstring, f-string fields as ``{}``."""
    parsed = tree(module)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(parsed)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    inside_fstring = {
        id(part) for node in ast.walk(parsed) if isinstance(node, ast.JoinedStr)
        for part in node.values
    }  # fmt: skip
    strings = []
    for node in ast.walk(parsed):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
            strings.append((node.lineno, text))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and id(node) not in inside_fstring
        ):
            strings.append((node.lineno, node.value))
    return strings


def schema_writes(module: str) -> list[tuple[int, str, str]]:
    """(line, schema, statement) for each write to a project schema in ``module``'s SQL."""
    found = []
    calls = writing_functions()
    for line, text in _sql_strings(module):
        for match in WRITE.finditer(text):
            if match["verb"] == "COPY" and COPY_TO.search(text, match.end()):
                continue  # COPY ... TO STDOUT reads
            found.append((line, match["schema"], " ".join(match[0].split())))
        for function, schemas in calls.items():
            if re.search(rf"\b{re.escape(function)}\s*\(", text):
                found += [(line, schema, f"{function}(...)") for schema in sorted(schemas)]
    return found


def test_the_writer_scan_sees_the_known_writers():
    """The scan itself: it must find today's writers, or the rule below proves nothing."""
    assert {"publish"} <= writing_functions().get("publish.refresh", set())
    found = {
        (area(m), schema) for m in source_files() for _, schema, _ in schema_writes(m)
    }  # fmt: skip
    assert ("store", "lagesbild") in found
    assert ("publish", "publish") in found


def test_one_writer_per_schema():
    wrong = [
        f"{relative(m)}:{line}: {statement}  ({schema} is written by "
        f"{sorted(WRITERS[schema])} only, not {area(m)})"
        for m in source_files()
        for line, schema, statement in sorted(set(schema_writes(m)))
        if area(m) not in WRITERS[schema]
    ]
    assert not wrong, "writes outside the schema's writer:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INSERT INTO lagesbild.actor (id) VALUES (%s)",
         [("lagesbild", "INSERT INTO lagesbild.actor")]),
        ('DELETE FROM "publish".hotspots WHERE id = %s',
         [("publish", 'DELETE FROM "publish".hotspots')]),
        ("COPY lagesbild.area (code) FROM STDIN", [("lagesbild", "COPY lagesbild.area")]),
        ("COPY publish.areas TO STDOUT", []),
        ("SELECT 1 FROM lagesbild.delivery WHERE id = %s FOR UPDATE", []),
        ("INSERT INTO x ON CONFLICT (id) DO UPDATE SET name = 1", []),
        ("TRUNCATE publish.trends", [("publish", "TRUNCATE publish.trends")]),
    ],
)  # fmt: skip
def test_write_pattern(text, expected):
    found = []
    for match in WRITE.finditer(text):
        if match["verb"] == "COPY" and COPY_TO.search(text, match.end()):
            continue
        found.append((match["schema"], " ".join(match[0].split())))
    assert found == expected
