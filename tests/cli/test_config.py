"""``lagesbild config``: every setting shown, no secret shown."""

import json

import pytest
from click.testing import CliRunner

from lagesbild_geo.cli.main import main
from lagesbild_geo.settings import Settings

OWNER_PASSWORD = "owner-S3cret-pw"
READER_PASSWORD = "reader-S3cret-pw"


@pytest.fixture
def secrets_set(monkeypatch):
    monkeypatch.setenv(
        "LAGESBILD_DATABASE_URL", f"postgresql://owner:{OWNER_PASSWORD}@db:5432/lagesbild"
    )
    monkeypatch.setenv(
        "LAGESBILD_PUBLIC_DATABASE_URL", f"postgresql://reader:{READER_PASSWORD}@db/lagesbild"
    )
    monkeypatch.setenv("LAGESBILD_K", "7")


def _config(*args):
    result = CliRunner().invoke(main, ["config", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _every_name():
    return [f"LAGESBILD_{name.upper()}" for name in Settings.model_fields]


@pytest.mark.parametrize("args", [(), ("--json",)], ids=["table", "json"])
def test_config_masks_every_secret(secrets_set, args):
    out = _config(*args)
    for secret in (OWNER_PASSWORD, READER_PASSWORD):
        assert secret not in out
    assert "owner:********@db:5432/lagesbild" in out
    assert "reader:********@db/lagesbild" in out


def test_config_table_shows_every_setting_with_its_effective_value(secrets_set):
    lines = {line.split()[0]: line.split(maxsplit=1)[1] for line in _config().splitlines()}
    assert list(lines) == _every_name()
    assert lines["LAGESBILD_K"] == "7"
    assert lines["LAGESBILD_PG_PORT"] == "54329"  # a default is shown too
    assert lines["LAGESBILD_SERVER_URL"] == "(not set)"


def test_config_json_has_every_setting(secrets_set):
    values = json.loads(_config("--json"))
    assert list(values) == _every_name()
    assert values["LAGESBILD_K"] == "7"
    assert values["LAGESBILD_SERVER_URL"] == ""
