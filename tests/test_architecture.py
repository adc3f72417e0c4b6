"""The shape of the package, checked statically so that it stays as docs/architecture.md says.

Every rule here is read from the source files (:mod:`tests.sources`, with :mod:`ast`): nothing
of the project is imported or executed, so the whole module runs in about a second and cannot
be fooled by import order. An import counts wherever it stands (module level, inside a
function, under ``if TYPE_CHECKING``): a cycle through a function-level import is still a cycle
of the design, only one that Python happens to tolerate.

The rules (issue 10, items 1, 2 and 4):

* no import cycles between the project's modules (``lagesbild_geo`` and ``processes``);
* every module under :data:`MAX_LINES` lines, a process adapter under :data:`MAX_PROCESS_LINES`;
* dependencies between subpackages point one way, as written in :data:`ALLOWED`;
* only ``server/`` and ``processes/`` import the web framework (:data:`FRAMEWORK`), and nobody
  imports pygeoapi's application modules at module level (they read ``PYGEOAPI_CONFIG`` on
  import, which would break ``--doctest-modules`` collection and every plain import);
* (one writer per database schema: tests/test_schema_writers.py);
* only ``settings.py`` (and the server's own worker hand-off) touches ``LAGESBILD_*`` variables;
* no re-export hubs.

A failure message names the offending file, line and import, so that it can be fixed without
reading this file.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from tests.sources import (
    area,
    project_imports,
    relative,
    source_files,
    third_party_imports,
    tree,
)

MAX_LINES = 500  # "every module under 500 lines" (issue 10, item 2)
MAX_PROCESS_LINES = 150  # processes/ are thin adapters; processes/common.py is their one helper

#: The lowest layer: small modules that every subpackage may use (except ``stats``, which stays
#: free of the project). Each may import only those before it in this order.
FOUNDATION = ("errors", "settings", "weeks", "catalogue")

#: Subpackage (or top-level module) -> the other subpackages it may import. A name missing
#: here is a new room: add it with the reason for its place. ``lagesbild_geo`` is the package's
#: ``__init__``, ``processes`` the pygeoapi adapters beside the package.
ALLOWED: dict[str, set[str]] = {
    # The root __init__ only names the version: importing any subpackage must not drag in
    # the others.
    "lagesbild_geo": set(),
    # errors: the one table of project errors and their HTTP status; raised everywhere, so it
    # can depend on nothing.
    "errors": set(),
    # settings: the one LAGESBILD_* model; read at the entry points and passed down. It may
    # raise a project error, nothing more.
    "settings": {"errors"},
    # weeks: ISO week <-> date, one definition for ingest, SQL parameters, processes and CLI.
    "weeks": {"errors"},
    # catalogue: indicators and actor kinds, the facts every stage shares.
    "catalogue": {"errors", "settings", "weeks"},
    # stats: pure numpy/scipy on arrays (weights, hot spots, emerging, trends, early warning).
    # It imports nothing else of the project, so it can be tested and reused alone:
    # stats <- analysis <- server.
    "stats": set(),
    # disclosure: pure numpy/scipy too: the cell key method (perturbation table, record keys,
    # protection of counts and breakdowns), the attacker's feasible intervals (HiGHS) and the
    # protection of a posted table. publish applies it to the store; the k-anonymity process
    # and the audit use it. Like stats it imports nothing else of the project.
    "disclosure": set(),
    # db: connections, the embedded cluster, migrations and repeatable SQL functions.
    "db": {*FOUNDATION},
    # access: who is asking (identity, API keys, OpenID Connect tokens), the database
    # session as the caller, the server's logins and the access log. Below the HTTP layer,
    # so that the CLI (keys, the log) and the server share it.
    "access": {*FOUNDATION, "db"},
    # store: the only writer to schema lagesbild (exact, restricted counts). It never imports
    # ingest: ingest -> store, so the store takes what the pipeline computed, not the reverse.
    "store": {*FOUNDATION, "db"},
    # ingest: read -> privacy -> validate -> locate -> aggregate, then hands the result to
    # the store (ingest -> store is the one way data travels into the database).
    "ingest": {*FOUNDATION, "db", "store"},
    # publish: the only writer to schema publish (protection, views per audience). It reads
    # the restricted data through store/db, never the ingest code.
    "publish": {*FOUNDATION, "db", "store", "disclosure"},
    # analysis: public cube -> stats -> results + provenance. It reads the publication and
    # saves runs through publish/ (publish/results.py), never the restricted store.
    "analysis": {*FOUNDATION, "db", "stats", "publish"},
    # server: everything that imports pygeoapi or gunicorn. It serves the publication and
    # describes the processes (limits from analysis); the statistics go through analysis.
    # Deliveries over HTTP go through the same pipeline as the command line (ingest ->
    # store), decisions through publish; the caller comes from access.
    "server": {
        *FOUNDATION,
        "db",
        "access",
        "ingest",
        "store",
        "publish",
        "analysis",
        "styles",
    },  # fmt: skip
    # processes: thin pygeoapi adapters, loaded by pygeoapi by name from the configuration:
    # they call analysis and use the server's error mapping and job manager glue; the
    # caller (whose job, which data) comes from access.
    "processes": {*FOUNDATION, "access", "analysis", "server", "disclosure"},
    # styles: the SLD/QML files and the classes the HTML maps share, generated from the
    # catalogue; pure text, no database: the server serves them, the CLI writes them.
    "styles": {*FOUNDATION},
    # demo: builds a demo history and loads it the way a real delivery travels: through
    # ingest/store (and publish to refresh), never by writing tables itself.
    "demo": {*FOUNDATION, "db", "ingest", "store", "publish"},
    # cli: the entry point; one module per command group, each may call any stage. Nothing
    # imports the CLI back.
    "cli": {
        *FOUNDATION,
        "access",
        "db",
        "ingest",
        "store",
        "publish",
        "stats",
        "disclosure",
        "analysis",
        "server",
        "demo",
        "styles",
    },
}

#: The web framework and the WSGI server: only the HTTP layer may import them.
FRAMEWORK = ("pygeoapi", "gunicorn", "flask", "werkzeug")
FRAMEWORK_USERS = ("server", "processes")

#: pygeoapi modules that call ``get_config()`` when imported (flask_app.py:55, starlette_app.py:67,
#: django_app.py:55, django_/settings.py:170 in pygeoapi 0.24): import them inside a function.
CONFIG_AT_IMPORT = ("pygeoapi.flask_app", "pygeoapi.starlette_app", "pygeoapi.django_app",
                    "pygeoapi.django_")  # fmt: skip

#: Third-party packages ``stats`` may use: it is pure array computation (shapely only for the
#: contiguity of area geometries in stats/weights.py).
STATS_THIRD_PARTY = {"numpy", "scipy", "shapely"}

#: Modules that may read and write LAGESBILD_* variables in os.environ: the settings model, and
#: the server's worker hand-off (the gunicorn master writes what the workers read back; only
#: the variables it wrote itself) once it lives in server/config.py.
ENVIRONMENT_READERS = {"lagesbild_geo/settings.py", "lagesbild_geo/server/config.py"}


# -- imports -------------------------------------------------------------------------------------


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def test_no_import_cycles():
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in project_imports():
        graph[imp.source].add(imp.target)
    messages = []
    for component in _cycles(graph):
        members = set(component)
        inner = [
            imp.where() + ("  (in a function)" if imp.in_function else "")
            for imp in project_imports()
            if imp.source in members and imp.target in members
        ]
        messages.append(
            "import cycle between " + ", ".join(component) + ":\n    " + "\n    ".join(inner)
        )
    assert not messages, "\n".join(messages)


def test_every_area_has_a_rule():
    """A new subpackage or top-level module needs its row in ALLOWED (and in the docs)."""
    unknown = sorted({area(m) for m in source_files()} - set(ALLOWED))
    assert not unknown, f"no import rule for {unknown}: add them to ALLOWED with the reason"


def test_allowed_table_points_one_way():
    """The table itself has no cycle, so following it can never build one between areas."""
    assert not _cycles({k: set(v) for k, v in ALLOWED.items()})
    for i, name in enumerate(FOUNDATION):
        assert ALLOWED[name] <= set(FOUNDATION[:i]), f"{name} may only import {FOUNDATION[:i]}"


def test_dependencies_point_one_way():
    wrong = []
    for imp in project_imports():
        source, target = area(imp.source), area(imp.target)
        if source == target or source not in ALLOWED:
            continue
        if target not in ALLOWED[source]:
            wrong.append(
                f"{imp.where()}\n    {source} must not import {target} "
                f"({imp.target}); {source} may import {sorted(ALLOWED[source]) or 'nothing'}"
            )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_stats_is_pure_computation():
    wrong = [
        f"{relative(m)}:{line}: {text}  ({name.split('.')[0]} is not one of "
        f"{sorted(STATS_THIRD_PARTY)})"
        for m in source_files()
        if area(m) in ("stats", "disclosure")
        for name, line, text, _ in third_party_imports(m)
        if name.split(".")[0] not in STATS_THIRD_PARTY
    ]
    assert not wrong, "stats/ or disclosure/ import beyond numpy/scipy:\n" + "\n".join(wrong)


def test_only_the_http_layer_imports_the_framework():
    wrong = [
        f"{relative(m)}:{line}: {text}  ({area(m)} is not one of {FRAMEWORK_USERS})"
        for m in source_files()
        if area(m) not in FRAMEWORK_USERS
        for name, line, text, _ in third_party_imports(m)
        if name.split(".")[0] in FRAMEWORK
    ]
    assert not wrong, "framework imports outside server/ and processes/:\n" + "\n".join(wrong)


def test_pygeoapi_applications_are_imported_inside_functions():
    """Importing pygeoapi's app modules reads PYGEOAPI_CONFIG: only in a worker, on demand."""
    wrong = [
        f"{relative(m)}:{line}: {text}  (reads PYGEOAPI_CONFIG on import; import it inside the "
        "function that needs it)"
        for m in source_files()
        for name, line, text, in_function in third_party_imports(m)
        if not in_function and any(name == c or name.startswith(c + ".") for c in CONFIG_AT_IMPORT)
    ]
    assert not wrong, "\n".join(wrong)


def test_processes_are_thin():
    """A process is PROCESS_METADATA and a class; the work is in lagesbild_geo.analysis."""
    long = [
        f"{relative(m)}: {n} lines (at most {MAX_PROCESS_LINES})"
        for m, path in source_files().items()
        if area(m) == "processes" and path.name not in ("common.py", "__init__.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_PROCESS_LINES
    ]
    assert not long, "\n".join(long)


def test_modules_are_short():
    long = [
        f"{relative(m)}: {n} lines"
        for m, path in source_files().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) >= MAX_LINES
    ]
    assert not long, f"modules of {MAX_LINES} lines or more (split them):\n" + "\n".join(long)


# -- no re-export hubs ---------------------------------------------------------------------------

NOQA_F401 = re.compile(r"#\s*noqa\b[^#\n]*\bF401\b")


def test_no_reexport_hubs():
    """Import a name where it is defined; a module never imports names to hand them on.

    Three ways of hiding a re-export from ruff's F401: ``# noqa: F401``, the redundant alias
    ``from x import y as y``, and an imported name listed in ``__all__``. Package
    ``__init__`` modules import nothing of the project (importing one subpackage must not load
    its siblings).
    """
    wrong = []
    for m, path in source_files().items():
        name = relative(m)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if NOQA_F401.search(line):
                wrong.append(f"{name}:{number}: {line.strip()}  (noqa: F401 hides a re-export)")
        imported = {}
        for node in ast.walk(tree(m)):
            if isinstance(node, ast.ImportFrom | ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    imported[bound] = node.lineno
                    if alias.asname and alias.asname == alias.name.split(".")[-1]:
                        wrong.append(f"{name}:{node.lineno}: `as {alias.asname}` re-exports")
        for node in tree(m).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                and isinstance(node.value, ast.List | ast.Tuple)
            ):
                for element in node.value.elts:
                    if isinstance(element, ast.Constant) and element.value in imported:
                        wrong.append(
                            f"{name}:{node.lineno}: __all__ re-exports {element.value!r} "
                            f"(imported at line {imported[element.value]})"
                        )
        if path.name == "__init__.py":
            wrong += [
                f"{imp.where()}  (a package __init__ imports nothing of the project)"
                for imp in project_imports()
                if imp.source == m
            ]
    assert not wrong, "\n".join(wrong)


# -- environment ---------------------------------------------------------------------------------

ENV_ATTRIBUTES = {"environ", "environb", "getenv", "putenv", "unsetenv"}


def _environment_uses(module: str) -> list[tuple[int, str]]:
    """(line, source line) for each use of the process environment that may concern LAGESBILD_*.

    Allowed everywhere: a whole copy for a child process (``{**os.environ, ...}``,
    ``os.environ.copy()``, ``dict(os.environ)``) and a literal key that is not a
    ``LAGESBILD_`` one (``PATH``, ``PGPASSWORD``). Anything else -- a LAGESBILD_ key, a computed
    key, ``update``, an alias such as ``env = os.environ`` -- is reported.
    """
    parsed = tree(module)
    os_names = {"os"}
    direct = set()  # names bound by `from os import environ` etc.
    for node in ast.walk(parsed):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            direct |= {a.asname or a.name for a in node.names if a.name in ENV_ATTRIBUTES}
    parents = {id(c): p for p in ast.walk(parsed) for c in ast.iter_child_nodes(p)}

    def is_env(node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute) and node.attr in ENV_ATTRIBUTES:
            return isinstance(node.value, ast.Name) and node.value.id in os_names
        return isinstance(node, ast.Name) and node.id in direct

    def literal_key(node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return None

    uses = []
    for node in ast.walk(parsed):
        if not is_env(node):
            continue
        parent = parents.get(id(node))
        key: str | None = None
        if isinstance(parent, ast.Dict) and any(
            k is None and v is node for k, v in zip(parent.keys, parent.values, strict=True)
        ):
            continue  # {**os.environ, ...}: the whole environment for a child process
        if isinstance(parent, ast.Call) and parent.func is node:
            key = literal_key(parent.args[0] if parent.args else None)  # os.getenv("X")
        elif isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name):
            if parent.func.id == "dict" and parent.args == [node]:
                continue  # dict(os.environ)
        elif isinstance(parent, ast.Subscript) and parent.value is node:
            key = literal_key(parent.slice)  # os.environ["X"]
        elif isinstance(parent, ast.Attribute) and parent.value is node:
            call = parents.get(id(parent))
            if parent.attr == "copy" and isinstance(call, ast.Call) and not call.args:
                continue  # os.environ.copy()
            if isinstance(call, ast.Call) and call.func is parent:
                key = literal_key(call.args[0] if call.args else None)  # .get/.pop("X")
        elif (
            isinstance(parent, ast.Compare) and parent.comparators and parent.comparators[0] is node
        ):
            key = literal_key(parent.left)  # "X" in os.environ
        if key is not None and not key.startswith("LAGESBILD_"):
            continue
        uses.append(node.lineno)
    lines = source_files()[module].read_text(encoding="utf-8").splitlines()
    return [(line, lines[line - 1].strip()) for line in sorted(set(uses))]


def test_only_settings_reads_lagesbild_variables():
    wrong = []
    for m in source_files():
        name = relative(m)
        if name in ENVIRONMENT_READERS:
            continue
        for line, text in _environment_uses(m):
            wrong.append(f"{name}:{line}: {text}")
        for line, text in sorted(
            {(line, text) for imported, line, text, _ in third_party_imports(m)
             if imported.split(".")[0] == "pydantic_settings"}
        ):  # fmt: skip
            wrong.append(f"{name}:{line}: {text}  (a BaseSettings reads os.environ itself)")
    assert not wrong, (
        "LAGESBILD_* variables are fields of lagesbild_geo/settings.py, read at the entry points "
        "and passed down:\n" + "\n".join(wrong)
    )
