"""``pygeoapi config validate`` on the template and on the configuration the server writes.

pygeoapi checks its configuration against its JSON schema only when asked; a key it does not
know, or a value of the wrong type, otherwise shows up as a 500 on the first request that
reaches it. So both files are validated with pygeoapi's own command, as a deployer would:

* the top-level ``pygeoapi-config.yml`` with every ``${VAR:-default}`` at its default (no
  ``LAGESBILD_*`` variable set), i.e. what pygeoapi run by hand on it would read;
* the file that ``lagesbild serve`` writes into the data folder (``prepare``: extents from the
  data, local web assets), with the variables ``prepare`` hands to the workers.

``prepare`` is called in this process on a database with the deterministic history of
``tests/publish_data.py``: the same file a started server reads, without starting gunicorn.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

from lagesbild_geo.publish import publication as publish
from lagesbild_geo.server.config import CONFIG_NAME, prepare
from lagesbild_geo.settings import Settings
from tests.conftest import PG_PASSWORD, PG_USER, migrated_database
from tests.publish_data import load

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "pygeoapi-config.yml"
K = 5
READER_PASSWORD = "reader-validate-pw"


def _without_lagesbild_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LAGESBILD_")}


def validate(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``pygeoapi config validate -c CONFIG`` from the venv, as a deployer would."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "pygeoapi"), "config", "validate", "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def restored_environ():
    """``prepare`` exports the workers' variables into ``os.environ``; undo that afterwards."""
    saved = os.environ.copy()
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def prepared(pg_server, tmp_path, restored_environ):
    """The data folder after ``prepare`` and the environment it hands to the workers."""
    with migrated_database(pg_server, "lagesbild_config_validate") as url:
        with psycopg.connect(url) as conn:
            load(conn, k=K)
            conn.execute(f"ALTER ROLE {publish.READER_ROLE} LOGIN PASSWORD '{READER_PASSWORD}'")
        public = url.replace(f"{PG_USER}:{PG_PASSWORD}", f"{publish.READER_ROLE}:{READER_PASSWORD}")
        settings = Settings(
            database_url=url,
            public_database_url=public,
            data_dir=tmp_path / "serve",
            k=K,
            pygeoapi_config=TEMPLATE,
        )
        env = prepare(settings)
        yield settings.data_dir, env


def test_every_template_variable_has_a_default():
    """Otherwise pygeoapi refuses the template unless the deployer sets every variable."""
    references = re.findall(r"\$\{([^}]*)\}", TEMPLATE.read_text(encoding="utf-8"))
    body = [r for r in references if r != "VAR:-default"]  # the header comment's example
    assert body, "the template should take its connection values from the environment"
    assert [r for r in body if ":-" not in r] == []


def test_template_validates_with_the_defaults():
    result = validate(TEMPLATE, _without_lagesbild_variables())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration" in result.stdout


def test_validate_refuses_a_broken_configuration(tmp_path):
    """The check can fail: a wrong type in the template is reported, not passed."""
    broken = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    broken["server"]["limits"]["max_items"] = "many"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    result = validate(path, _without_lagesbild_variables())
    assert result.returncode != 0, result.stdout


def test_generated_configuration_validates(prepared):
    data_dir, env = prepared
    written = data_dir / CONFIG_NAME
    assert env["PYGEOAPI_CONFIG"] == str(written)
    result = validate(written, {**_without_lagesbild_variables(), **env})
    assert result.returncode == 0, result.stdout + result.stderr
    text = written.read_text(encoding="utf-8")
    assert READER_PASSWORD not in text and PG_PASSWORD not in text  # ${VAR} references only
    assert "${LAGESBILD_PUBLIC_DB_PASSWORD" in text
