"""The pygeoapi patches: written for the installed version, installed once, each in place."""

from __future__ import annotations

import logging

import pygeoapi
import pytest
from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderQueryError

from lagesbild_geo.server import geojson, parsing, patches


def test_the_patches_were_written_for_the_installed_pygeoapi(caplog):
    assert pygeoapi.__version__.startswith(patches.WRITTEN_FOR)
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        assert patches.check_version() is True
    assert not caplog.records


def test_another_pygeoapi_version_is_a_warning_at_start_up(monkeypatch, caplog):
    monkeypatch.setattr(pygeoapi, "__version__", "0.99.0")
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        assert patches.check_version() is False
    assert "0.99.0" in caplog.text and "patches.py" in caplog.text


@pytest.fixture
def installed(monkeypatch):
    """install() on pygeoapi's modules, undone after the test."""
    import pygeoapi.api
    import pygeoapi.api.itemtypes
    import pygeoapi.crs
    import pygeoapi.process.manager.base

    for module, name in [
        (pygeoapi.api.itemtypes, "to_json"),
        (pygeoapi.api.itemtypes, "parse_cql2_text"),
        (pygeoapi.api, "dateparse"),
        (pygeoapi.crs, "get_crs"),
        (pygeoapi.api.API, "get_dataset_templates"),
        (pygeoapi.process.manager.base, "uuid"),
    ]:
        monkeypatch.setattr(module, name, getattr(module, name))
    monkeypatch.setattr(patches, "_installed", False)
    patches.install()
    yield
    for name in patches._ANSWERING_LOGGERS:
        logging.getLogger(name).removeFilter(patches._CLIENT_ERRORS_AT_INFO)


def test_install_puts_every_replacement_in_place_once(installed):
    import pygeoapi.api
    import pygeoapi.api.itemtypes
    import pygeoapi.crs
    import pygeoapi.process.manager.base

    assert pygeoapi.api.itemtypes.to_json is geojson.to_json
    assert pygeoapi.api.itemtypes.parse_cql2_text is parsing.parse_cql2_text
    assert pygeoapi.api.dateparse is parsing.fast_dateparse
    assert pygeoapi.crs.get_crs is parsing.cached_get_crs
    assert pygeoapi.api.API.get_dataset_templates is patches._dataset_templates
    assert pygeoapi.process.manager.base.uuid.uuid1().version == 4  # job ids not guessable
    patches.install()  # a second call changes nothing
    logger = logging.getLogger("pygeoapi.api")
    assert logger.filters.count(patches._CLIENT_ERRORS_AT_INFO) == 1


def test_a_process_page_finds_its_templates_under_its_process_key():
    class API:
        config = {
            "resources": {
                "hotspots": {"type": "collection", "templates": {"path": "collection"}},
                "process-hotspots": {"type": "process", "templates": {"path": "process"}},
                "process-early-warning": {"type": "process"},
            }
        }
        tpl_config = {"server": {"templates": {"path": "server"}}}

    api = API()
    assert patches._dataset_templates(api, "hotspots") == {"path": "process"}
    assert patches._dataset_templates(api, "early-warning") == {"path": "server"}
    assert patches._dataset_templates(api, "unknown") == {"path": "server"}


def test_pygeoapi_logs_a_client_error_at_info_without_traceback(installed, caplog):
    logger = logging.getLogger("pygeoapi.api")
    caplog.set_level(logging.INFO, logger="pygeoapi.api")
    for exc in (ProviderInvalidQueryError(user_msg="bad filter"), ProviderQueryError()):
        try:
            raise exc
        except Exception as caught:
            logger.error(str(caught), exc_info=True)
    client, server = caplog.records
    assert client.levelno == logging.INFO and client.exc_info is None
    assert server.levelno == logging.ERROR and server.exc_info is not None


def test_a_client_error_is_not_logged_where_pygeoapi_logs_errors_only(installed, caplog):
    logger = logging.getLogger("pygeoapi.api")
    caplog.set_level(logging.ERROR, logger="pygeoapi.api")
    try:
        raise ProviderInvalidQueryError(user_msg="bad filter")
    except Exception:
        logger.error("bad filter", exc_info=True)
    assert not caplog.records
