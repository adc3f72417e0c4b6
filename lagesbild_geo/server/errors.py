"""The error table (:mod:`lagesbild_geo.errors`) in pygeoapi's and WSGI's terms.

pygeoapi answers an exception raised by a provider or a processor with the status and code the
exception carries (``http_status_code``, ``ogc_exception_code``: ``api/itemtypes.py`` catches
``ProviderGenericError``, ``api/processes.py`` catches ``ProcessorExecuteError``). The functions
here fill those two attributes from the project's table, so the provider, the processes and the
middleware (:func:`wsgi_error`) answer one error with one status, one code and one text.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from pygeoapi.process.base import ProcessorExecuteError
from pygeoapi.provider.base import ProviderConnectionError

from lagesbild_geo.errors import DatabaseUnavailableError, LagesbildError, error_response, log_error

LOGGER = logging.getLogger(__name__)


class DatabaseUnavailableProviderError(ProviderConnectionError):
    """PostgreSQL cannot be reached; the request may be retried shortly (the table's 503).

    A subclass of pygeoapi's connection error, so that pygeoapi's own handling of a provider
    that cannot connect (at construction too) applies.
    """

    ogc_exception_code = DatabaseUnavailableError.ogc_code
    http_status_code = HTTPStatus(DatabaseUnavailableError.http_status)
    default_msg = DatabaseUnavailableError.default_message


def database_unavailable(exc: Exception) -> DatabaseUnavailableProviderError:
    """The provider's 503 for a lost or refused connection (logged: the database is down)."""
    LOGGER.warning("Database unavailable: %s", exc)
    return DatabaseUnavailableProviderError(user_msg=DatabaseUnavailableError.default_message)


def processor_error(exc: LagesbildError) -> ProcessorExecuteError:
    """``exc`` as pygeoapi's processor error, with the table's status and code (logged by it).

    pygeoapi 0.24 reads ``http_status_code`` and ``ogc_exception_code`` of a
    ``ProcessorExecuteError`` that reaches ``execute_process``; :class:`processes.common.JobManager`
    lets it reach there from a synchronous run (pygeoapi's handler would make it a 400).
    """
    log_error(LOGGER, exc)
    response = error_response(exc)
    error = ProcessorExecuteError(user_msg=response.description)
    error.http_status_code = HTTPStatus(response.status)
    error.ogc_exception_code = response.code
    return error


def wsgi_error(exc: LagesbildError) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """``exc`` as a WSGI response of the middleware: status line, headers, body."""
    response = error_response(exc)
    body = response.body()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return response.status_line, headers + list(response.headers), [body]
