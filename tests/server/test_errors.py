"""The error table and its one mapping: every class has its status and code, and a process keeps
them (a 404, 409 or 503 raised inside an analysis is not turned into a 400).

The processor and the job manager are exercised without a server (pygeoapi's API answers a
``ProcessorExecuteError`` from ``execute_process`` with its ``http_status_code``,
``api/processes.py``); the 503 over HTTP is tests/server/test_robustness.py's restart test, the
4xx of a wrong input over HTTP tests/server/test_processes.py's ``BAD``.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil

import psycopg
import pytest
from pygeoapi.process.base import ProcessorExecuteError
from pygeoapi.util import JobStatus

import lagesbild_geo
import processes.common
from lagesbild_geo import errors
from lagesbild_geo.db.cluster import ClusterError
from lagesbild_geo.errors import (
    AuditFailedError,
    AuthenticationError,
    ConflictError,
    DatabaseUnavailableError,
    DeliveryRefusedError,
    ForbiddenError,
    InputError,
    LagesbildError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    Problem,
    TooManyRequestsError,
    error_response,
    log_error,
)
from lagesbild_geo.ingest.areas import AreaCodeError, AreaCrsError, AreaFileError, AreaGeometryError
from lagesbild_geo.server.errors import (
    DatabaseUnavailableProviderError,
    database_unavailable,
    processor_error,
    wsgi_error,
)
from lagesbild_geo.store.deliveries import AlreadyDeliveredError
from processes.hotspots import HotSpotsProcessor
from processes.jobs import JobManager

TABLE = [
    (LagesbildError, 500, "NoApplicableCode", 1),
    (InputError, 400, "InvalidParameterValue", 2),
    (DeliveryRefusedError, 400, "InvalidParameterValue", 2),
    (PayloadTooLargeError, 413, "PayloadTooLarge", 2),
    (NotFoundError, 404, "NotFound", 3),
    (ConflictError, 409, "Conflict", 4),
    (DatabaseUnavailableError, 503, "ServiceUnavailable", 5),
    (ClusterError, 500, "NoApplicableCode", 1),
    (AreaFileError, 400, "InvalidParameterValue", 2),
    (AreaCrsError, 400, "InvalidParameterValue", 2),
    (AreaCodeError, 400, "InvalidParameterValue", 2),
    (AreaGeometryError, 400, "InvalidParameterValue", 2),
    (AlreadyDeliveredError, 409, "Conflict", 4),
    (AuditFailedError, 500, "NoApplicableCode", 6),
    (AuthenticationError, 401, "Unauthorized", 7),
    (ForbiddenError, 403, "Forbidden", 7),
    (TooManyRequestsError, 429, "TooManyRequests", 8),
    (MethodNotAllowedError, 405, "MethodNotAllowed", 2),
]


@pytest.mark.parametrize(("cls", "status", "code", "exit_code"), TABLE)
def test_every_error_class_has_its_status_code_and_exit_code(cls, status, code, exit_code):
    assert (cls.http_status, cls.ogc_code, cls.exit_code) == (status, code, exit_code)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _import_every_module() -> None:
    """Import the whole package, so that every error class defined anywhere is known."""
    for info in pkgutil.walk_packages(lagesbild_geo.__path__, "lagesbild_geo."):
        importlib.import_module(info.name)


def test_the_table_covers_every_error_of_the_package():
    _import_every_module()
    listed = {row[0] for row in TABLE}
    found = {c for c in _subclasses(LagesbildError) if c.__module__.startswith("lagesbild_geo")}
    assert found <= listed, sorted(c.__name__ for c in found - listed)


def test_a_response_has_the_status_code_text_and_headers_of_its_class():
    down = error_response(DatabaseUnavailableError())
    assert down.status_line == "503 Service Unavailable"
    assert down.headers == (("Retry-After", str(errors.RETRY_AFTER_S)),)
    body = json.loads(down.body())
    assert body["code"] == body["type"] == "ServiceUnavailable"
    assert "Databasen går inte att nå" in body["description"] and "database" in body["description"]
    refused = error_response(DeliveryRefusedError([Problem("a.csv", "no header", row=1)]))
    assert refused.status_line == "400 Bad Request" and "a.csv, row 1: no header" in (
        refused.description
    )
    assert error_response(ConflictError("withdrawn")).status_line == "409 Conflict"


def test_the_middleware_the_provider_and_a_process_answer_one_503_alike():
    status, headers, [body] = wsgi_error(DatabaseUnavailableError())
    assert status == "503 Service Unavailable"
    assert ("Retry-After", str(errors.RETRY_AFTER_S)) in headers
    assert ("Content-Type", "application/json") in headers
    text = json.loads(body)["description"]
    provider = database_unavailable(OSError("connection refused"))
    assert isinstance(provider, DatabaseUnavailableProviderError)
    assert (provider.http_status_code, provider.ogc_exception_code) == (503, "ServiceUnavailable")
    process = processor_error(DatabaseUnavailableError())
    assert (process.http_status_code, process.ogc_exception_code) == (503, "ServiceUnavailable")
    assert provider.message == process.message == text == DatabaseUnavailableError.default_message


def test_client_errors_are_info_without_traceback_server_errors_error_with_one(caplog):
    logger = logging.getLogger("tests.errors")
    caplog.set_level(logging.INFO, logger="tests.errors")
    for exc in (InputError("bad week"), DatabaseUnavailableError()):
        try:
            raise exc
        except LagesbildError as caught:
            log_error(logger, caught)
    client, server = caplog.records
    assert (
        client.levelno == logging.INFO
        and client.exc_info is None
        and "bad week" in (client.getMessage())
    )
    assert server.levelno == logging.ERROR and server.exc_info is not None


# -- inside a process ------------------------------------------------------------------------


@pytest.fixture
def processor():
    return HotSpotsProcessor({"name": "processes.hotspots.HotSpotsProcessor", "data": {}})


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (InputError("Unknown indicator 'nope'"), 400, "InvalidParameterValue"),
        (NotFoundError("no delivery 7"), 404, "NotFound"),
        (ConflictError("the run was replaced meanwhile"), 409, "Conflict"),
        (DatabaseUnavailableError(), 503, "ServiceUnavailable"),
        (psycopg.OperationalError("connection refused"), 503, "ServiceUnavailable"),
    ],
)
def test_an_error_inside_a_process_keeps_its_status(monkeypatch, processor, raised, status, code):
    def run(conninfo, process, inputs, **connections):
        raise raised

    monkeypatch.setattr(processes.common.analysis, "run", run)
    with pytest.raises(ProcessorExecuteError) as err:
        processor.execute({"indicator": "ran"})
    assert (err.value.http_status_code, err.value.ogc_exception_code) == (status, code)
    if not isinstance(raised, psycopg.Error):
        assert err.value.message == str(raised)


class _MemoryJobManager(JobManager):
    """The job manager's execution without PostgreSQL: jobs are kept in a dict."""

    def __init__(self, processor):
        self.jobs: dict[str, dict] = {}
        self.output_dir = None
        self.is_async = True
        self.supports_subscribing = False
        self._processor = processor

    def get_processor(self, process_id):
        return self._processor

    def add_job(self, job_metadata):
        self.jobs[job_metadata["identifier"]] = dict(job_metadata)
        return job_metadata["identifier"]

    def update_job(self, job_id, update_dict):
        self.jobs[job_id].update(update_dict)
        return True


@pytest.mark.parametrize("raised", [NotFoundError("gone"), ConflictError("clash")])
def test_a_failed_sync_run_raises_its_status_and_keeps_no_job(monkeypatch, processor, raised):
    def run(conninfo, process, inputs, **connections):
        raise raised

    monkeypatch.setattr(processes.common.analysis, "run", run)
    manager = _MemoryJobManager(processor)
    with pytest.raises(ProcessorExecuteError) as err:
        manager.execute_process("hotspots", {"indicator": "ran"})
    assert err.value.http_status_code == raised.http_status
    assert manager.jobs == {}


def test_a_successful_sync_run_is_returned_as_pygeoapi_returns_it(monkeypatch, processor):
    collection = {"type": "FeatureCollection", "features": []}
    monkeypatch.setattr(processes.common.analysis, "run", lambda *args, **kw: collection)
    manager = _MemoryJobManager(processor)
    job_id, mime, outputs, status, _ = manager.execute_process("hotspots", {"indicator": "ran"})
    assert (mime, outputs, status) == ("application/json", collection, JobStatus.successful)
    assert manager.jobs == {}


def test_an_unknown_indicator_in_a_real_analysis_is_a_400(demo_db_url, processor):
    processor.conninfo = demo_db_url
    with pytest.raises(ProcessorExecuteError) as err:
        processor.execute({"indicator": "nope"})
    assert (
        err.value.http_status_code == 400
        and "Unknown indicator (not in the catalogue)" in err.value.message
    )
    with pytest.raises(ProcessorExecuteError) as err:
        processor.execute(
            {"indicator": "skadegorelse", "period_start": "2020-W01", "period_end": "2020-W05"}
        )
    assert err.value.http_status_code == 400 and "has no published data" in err.value.message
