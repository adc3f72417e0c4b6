"""Static checks of ``docker/`` (no Docker engine runs here, so nothing is built or started).

What can be known without an engine: the compose file parses and wires the services as the
README says; every path the Dockerfile copies and the compose file mounts or builds from exists
and is not excluded by ``.dockerignore``; the commands are real ``lagesbild`` commands; every
``LAGESBILD_`` variable handed to the service is one the service reads; the image does not run
as root. ``hadolint`` and ``docker compose config`` are used when installed, never faked.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from lagesbild_geo.cli.main import main as cli_main
from lagesbild_geo.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yml"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        lines.append(current)
        current = ""
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def _exec_form(args: str) -> list[str]:
    args = args.strip()
    return yaml.safe_load(args) if args.startswith("[") else shlex.split(args)


def _dockerignore() -> list[str]:
    path = REPO / ".dockerignore"
    return [
        ln.strip().rstrip("/")
        for ln in path.read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]


def _ignored(rel: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatch(rel, p) or rel.startswith(p + "/") or fnmatch.fnmatch(rel, p + "/*")
        for p in patterns
    )


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _lagesbild_commands(argv: list[str]) -> list[list[str]]:
    """The ``lagesbild ...`` invocations in an exec-form command (also inside ``sh -c``)."""
    if argv[:2] == ["sh", "-c"]:
        parts = re.split(r"&&|;|\|\|", argv[2])
        argv_list = [shlex.split(p.strip().removeprefix("exec ").strip()) for p in parts]
    else:
        argv_list = [argv]
    return [a[1:] for a in argv_list if a and a[0] == "lagesbild"]


def _assert_is_cli_command(args: list[str]) -> None:
    group: click.Command = cli_main
    path = []
    for word in args:
        if word.startswith("-"):
            break
        assert isinstance(group, click.Group), f"lagesbild {' '.join(path)} takes no subcommand"
        assert word in group.commands, f"`lagesbild {' '.join([*path, word])}` does not exist"
        group = group.commands[word]
        path.append(word)
    assert not isinstance(group, click.Group), f"`lagesbild {' '.join(path)}` needs a subcommand"


# -- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_base_image_and_non_root_user(dockerfile):
    froms = [a for i, a in dockerfile if i == "FROM"]
    assert froms == ["python:3.12-slim-bookworm"]
    users = [a.strip() for i, a in dockerfile if i == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    # the user is created before it is switched to
    run = " ".join(a for i, a in dockerfile if i == "RUN")
    assert "useradd" in run and users[-1] in run


def test_dockerfile_copies_only_existing_paths_not_ignored(dockerfile):
    patterns = _dockerignore()
    copies = [a for i, a in dockerfile if i in ("COPY", "ADD")]
    assert copies
    for args in copies:
        words = [w for w in _exec_form(args) if not w.startswith("--")]
        for source in words[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not _ignored(source.rstrip("/"), patterns), f"COPY {source}: in .dockerignore"


def test_dockerfile_installs_the_project_and_serves_on_all_interfaces(dockerfile):
    run = " ".join(a for i, a in dockerfile if i == "RUN")
    assert re.search(r"pip install (-e )?\.", run)
    env = " ".join(a for i, a in dockerfile if i == "ENV")
    assert "LAGESBILD_HOST=0.0.0.0" in env
    assert any(i == "HEALTHCHECK" for i, _ in dockerfile)
    (cmd,) = [a for i, a in dockerfile if i == "CMD"]
    commands = _lagesbild_commands(_exec_form(cmd))
    assert commands == [["serve"]]
    for args in commands:
        _assert_is_cli_command(args)
    assert not [a for i, a in dockerfile if i == "ENTRYPOINT"]


def test_dockerignore_keeps_the_environment_out():
    patterns = _dockerignore()
    for private in (".venv", "var", ".git", "docker/.env"):
        assert _ignored(private, patterns), private


# -- compose -----------------------------------------------------------------------------------


def test_compose_services_ports_healthchecks_and_order(compose):
    services = compose["services"]
    assert set(services) == {"postgis", "lagesbild"}
    db, app = services["postgis"], services["lagesbild"]
    assert db["image"] == "postgis/postgis:15-3.4"
    assert any(v.split(":")[0] in compose["volumes"] for v in db["volumes"])  # named volume
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["depends_on"]["postgis"]["condition"] == "service_healthy"
    assert any(str(p).endswith(":5000") for p in app["ports"])
    assert app["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")


def test_compose_build_and_mounts_point_at_existing_files(compose):
    build = compose["services"]["lagesbild"]["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == REPO
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), volume


def test_compose_commands_are_lagesbild_commands(compose):
    commands = _lagesbild_commands(compose["services"]["lagesbild"]["command"])
    assert commands == [["db", "migrate"], ["serve"]]
    for args in commands:
        _assert_is_cli_command(args)


def _variables_the_service_reads() -> set[str]:
    names = {f"LAGESBILD_{name.upper()}" for name in Settings.model_fields}
    for module in sorted((REPO / "lagesbild_geo" / "server").glob("*.py")):  # app, config, ...
        names |= set(re.findall(r"environ(?:\.get\(|\[)\"(LAGESBILD_\w+)\"", module.read_text()))
    config = (REPO / "pygeoapi-config.yml").read_text()
    names |= set(re.findall(r"\$\{(LAGESBILD_\w+)", config))
    return names


def test_compose_passes_only_variables_the_service_reads(compose):
    known = _variables_the_service_reads()
    env = compose["services"]["lagesbild"]["environment"]
    assert {"LAGESBILD_DATABASE_URL", "LAGESBILD_PUBLIC_DATABASE_URL"} <= set(env)
    unknown = sorted(set(env) - known)
    assert not unknown, f"compose passes variables nothing reads: {unknown}"
    assert env["LAGESBILD_HOST"] == "0.0.0.0" and str(env["LAGESBILD_PORT"]) == "5000"


def test_compose_defaults_are_the_services_own(compose):
    """A setting passed as ``${VAR:-default}`` gets the service's own default when the deployer
    sets nothing; an empty default only where the service's is empty or unset (for those an
    empty value means unset). The server's address is the one deliberate difference."""
    env = compose["services"]["lagesbild"]["environment"]
    for key, value in env.items():
        match = re.fullmatch(rf"\$\{{{key}:-([^}}$]*)\}}", str(value))
        name = key.removeprefix("LAGESBILD_").lower()
        if not match or name not in Settings.model_fields or key == "LAGESBILD_SERVER_URL":
            continue
        default = Settings.model_fields[name].default
        if match[1] == "":
            assert default in (None, ""), key
        else:
            assert match[1] == str(default), key


def test_compose_holds_no_secrets(compose):
    """Passwords are required from the environment (``${VAR:?...}``), never written down."""
    db_env = compose["services"]["postgis"]["environment"]
    for key in (
        "POSTGRES_PASSWORD",
        "LAGESBILD_READER_PASSWORD",
        "LAGESBILD_SERVER_PASSWORD",
        "LAGESBILD_JOBS_PASSWORD",
    ):
        assert re.fullmatch(r"\$\{LAGESBILD_\w+:\?[^}]*\}", db_env[key]), key
    for url in (
        "LAGESBILD_DATABASE_URL",
        "LAGESBILD_PUBLIC_DATABASE_URL",
        "LAGESBILD_SERVER_DATABASE_URL",
        "LAGESBILD_JOBS_DATABASE_URL",
    ):
        value = compose["services"]["lagesbild"]["environment"][url]
        assert value.startswith(f"${{{url}:-") and ":${LAGESBILD_" in value


def test_login_roles_script_matches_the_migrations():
    """The script makes every login of access/logins.py, and the migrations keep a role that
    exists (the server's NOINHERIT as well)."""
    script = (DOCKER / "initdb" / "20_lagesbild_logins.sh").read_text()
    from lagesbild_geo.access.logins import LOGINS

    for role, _file, _setting in LOGINS.values():
        assert f"CREATE ROLE {role} LOGIN" in script, role
    assert "CREATE ROLE lagesbild_server LOGIN NOINHERIT" in script
    migrations = REPO / "lagesbild_geo" / "db" / "migrations"
    assert "rolname = 'lagesbild_reader'" in (migrations / "0002_publish.sql").read_text()
    audiences = (migrations / "0020_audiences.sql").read_text()
    assert "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)" in audiences
