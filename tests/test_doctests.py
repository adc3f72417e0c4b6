"""The docstring examples are tests: pytest collects them from the package itself.

They used to run only through hand-written ``doctest.testmod`` calls in five statistics tests,
so the examples in ``ingest/aggregate.py`` and the area layer's (now
``ingest/area_geometry.py``) never ran (issue 10, item 7).
Now ``--doctest-modules`` with ``lagesbild_geo`` among the test paths (pyproject.toml) makes
every example a test item, ``lagesbild_geo/stats/hotspots.py::...gi_star`` and so on. This file
keeps what the removed calls asserted: the modules still carry examples, and the configuration
still runs them, so that neither can be dropped silently.
"""

from __future__ import annotations

import doctest
import importlib
import tomllib

import pytest

from tests.sources import REPO

#: Modules whose examples are part of their tests (the five had hand-written runners before).
WITH_EXAMPLES = [
    "lagesbild_geo.stats.weights",
    "lagesbild_geo.stats.hotspots",
    "lagesbild_geo.stats.emerging",
    "lagesbild_geo.stats.trends",
    "lagesbild_geo.stats.early_warning",
    "lagesbild_geo.ingest.aggregate",
    "lagesbild_geo.ingest.area_geometry",
]


def test_pytest_runs_the_package_doctests():
    options = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    pytest_options = options["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in pytest_options["addopts"].split()
    assert "lagesbild_geo" in pytest_options["testpaths"]


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_module_has_examples(name):
    tests = doctest.DocTestFinder().find(importlib.import_module(name))
    assert sum(len(t.examples) for t in tests) > 0, f"{name} lost its docstring examples"
