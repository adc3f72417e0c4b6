"""The command line on a fresh migrated database, as the tests of its groups call it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from lagesbild_geo.cli.main import main


@pytest.fixture
def cli(pg_url, monkeypatch):
    """``cli(*args, ok=True)``: run ``lagesbild ARGS`` against a migrated database; with ``ok``
    it must exit 0, and it never shows a traceback."""
    monkeypatch.setenv("LAGESBILD_DATABASE_URL", pg_url)
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, [str(a) for a in args])
        if ok:
            assert result.exit_code == 0, result.output + str(result.exception or "")
        assert "Traceback" not in result.output
        return result

    run("db", "migrate")
    return run
