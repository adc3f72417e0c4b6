"""The project's source, read statically: modules, their imports, their strings.

Shared by tests/test_architecture.py and tests/test_schema_writers.py. Nothing of the project is
imported: every fact comes from :mod:`ast` on the files, so the checks are fast and cannot be
changed by import order or by what an import does. An import counts wherever it stands (module
level, inside a function, under ``if TYPE_CHECKING``).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("lagesbild_geo", "processes")


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported module (the longest known module of the import), dotted
    path: str  # importing file, relative to the repository
    line: int
    text: str  # the import statement as written
    in_function: bool

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def source_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project."""
    files = {}
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            files[_module_name(path)] = path
    return files


@cache
def tree(module: str) -> ast.Module:
    path = source_files()[module]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def relative(module: str) -> str:
    return source_files()[module].relative_to(REPO).as_posix()


def area(module: str) -> str:
    """The subpackage (or top-level module) a dotted name belongs to, the key of ALLOWED."""
    parts = module.split(".")
    if parts[0] == "processes":
        return "processes"
    return parts[1] if len(parts) > 1 else parts[0]


def _is_project(name: str) -> bool:
    return name.split(".")[0] in ROOTS


def _resolve(name: str) -> str:
    """The longest prefix of ``name`` that is a module of the project (``name`` if none is)."""
    known = source_files()
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return name


def _function_nodes(module: ast.Module) -> set[int]:
    """ids of nodes that stand inside a function body."""
    inside: set[int] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for child in ast.walk(node):
                if child is not node:
                    inside.add(id(child))
    return inside


@cache
def raw_imports(module: str) -> tuple[tuple[str, int, str, bool], ...]:
    """Every imported dotted name of ``module``: (name, line, statement, in a function).

    ``from a.b import c`` yields ``a.b.c`` (resolved later to ``a.b`` when ``c`` is not a
    module); relative imports are made absolute.
    """
    path = source_files()[module]
    lines = path.read_text(encoding="utf-8").splitlines()
    is_package = path.name == "__init__.py"
    parsed = tree(module)
    inside = _function_nodes(parsed)
    found = []
    for node in ast.walk(parsed):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                package = package if is_package else package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        text = lines[node.lineno - 1].strip()
        for name in names:
            found.append((name.removesuffix(".*"), node.lineno, text, id(node) in inside))
    return tuple(found)


@cache
def project_imports() -> tuple[Import, ...]:
    """Every import of a project module by a project module, self-imports left out."""
    edges = {}
    for module in source_files():
        for name, line, text, in_function in raw_imports(module):
            if not _is_project(name):
                continue
            target = _resolve(name)
            if target == module or (module, target, line) in edges:
                continue
            edges[module, target, line] = Import(
                module, target, relative(module), line, text, in_function
            )
    return tuple(edges.values())


def third_party_imports(module: str) -> list[tuple[str, int, str, bool]]:
    return [
        (name, line, text, in_function)
        for name, line, text, in_function in raw_imports(module)
        if not _is_project(name) and name.split(".")[0] not in sys.stdlib_module_names
    ]
