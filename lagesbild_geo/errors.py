"""One root exception and ONE table: each class carries its exit code, HTTP status and OGC code.

The command line exits with ``exit_code``; an HTTP response -- from the middleware, the
feature provider or a process, through :func:`error_response` -- answers with ``http_status``
and ``ogc_code`` in pygeoapi's exception body (``{"code", "type", "description"}``), plus the
class's ``headers`` (``Retry-After`` for a 503). Nothing else decides a status code, so a 404,
409 or 503 raised deep inside an analysis reaches the client as that status. How an error is
logged follows from the same table (:func:`log_error`).

Every error a user can cause says *where* (file, row, column) and *why*, so an actor can fix
the delivery without calling anyone.

This module is pure (no pygeoapi, no Flask): the CLI imports it, and
:mod:`lagesbild_geo.server.errors` wraps it in pygeoapi's exception classes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from http import HTTPStatus

#: Seconds a client is asked to wait before retrying while the database is unreachable.
RETRY_AFTER_S = 5


class LagesbildError(Exception):
    """Root of every error the service raises on purpose."""

    http_status = 500
    #: OGC API exception code (pygeoapi's ``ogc_exception_code``) of the response.
    ogc_code = "NoApplicableCode"
    exit_code = 1
    #: Headers a response to this error carries besides Content-Type.
    headers: tuple[tuple[str, str], ...] = ()


class InputError(LagesbildError):
    """The caller's input is wrong; nothing was changed."""

    http_status = 400
    ogc_code = "InvalidParameterValue"
    exit_code = 2


class PayloadTooLargeError(InputError):
    """A request body above the server's limit (``server/checks.py``: ``MAX_BODY_BYTES``)."""

    http_status = 413
    ogc_code = "PayloadTooLarge"


class NotFoundError(LagesbildError):
    """A delivery, actor, area or indicator that the caller named does not exist."""

    http_status = 404
    ogc_code = "NotFound"
    exit_code = 3


class ConflictError(LagesbildError):
    """The request is valid but clashes with the current state (e.g. approving a withdrawn one).

    OGC API has no code of its own for a conflict; ``Conflict`` names the HTTP status.
    """

    http_status = 409
    ogc_code = "Conflict"
    exit_code = 4


class DatabaseUnavailableError(LagesbildError):
    """PostgreSQL cannot be reached right now; retrying later may succeed.

    Without a message it says so in Swedish and English: the text every client sees, whether
    the middleware, the provider or a process noticed the database was gone.
    """

    http_status = 503
    ogc_code = "ServiceUnavailable"
    exit_code = 5
    headers = (("Retry-After", str(RETRY_AFTER_S)),)
    default_message = (
        "Databasen går inte att nå just nu / the database is not reachable right now; "
        f"retry in {RETRY_AFTER_S} seconds."
    )

    def __init__(self, message: str | None = None, *args):
        super().__init__(message or self.default_message, *args)


@dataclass(frozen=True)
class ErrorResponse:
    """An error as HTTP sends it: status, OGC exception body and headers."""

    status: int
    code: str
    description: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def status_line(self) -> str:
        """``"503 Service Unavailable"``, as WSGI's ``start_response`` wants it."""
        return f"{self.status} {HTTPStatus(self.status).phrase}"

    def body(self) -> bytes:
        """pygeoapi's exception document (``api.get_exception``), as JSON."""
        return json.dumps(
            {"code": self.code, "type": self.code, "description": self.description}
        ).encode()


def error_response(exc: LagesbildError) -> ErrorResponse:
    """The response to ``exc``: its class's status, code and headers, its message.

    >>> r = error_response(DatabaseUnavailableError())
    >>> r.status_line, r.code, r.headers
    ('503 Service Unavailable', 'ServiceUnavailable', (('Retry-After', '5'),))
    >>> error_response(NotFoundError("no delivery 7")).body()
    b'{"code": "NotFound", "type": "NotFound", "description": "no delivery 7"}'
    """
    return ErrorResponse(exc.http_status, exc.ogc_code, str(exc), tuple(exc.headers))


def log_error(logger: logging.Logger, exc: LagesbildError) -> None:
    """Client errors (4xx) at INFO without a traceback: the caller's mistake, told to them.
    Server errors (5xx) at ERROR with one: someone has to look."""
    if exc.http_status < 500:
        logger.info("%s %s: %s", exc.http_status, type(exc).__name__, exc)
    else:
        logger.error("%s %s: %s", exc.http_status, type(exc).__name__, exc, exc_info=exc)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a delivery, located as precisely as the input allows.

    ``row`` is the row number the actor sees in Excel or a text editor (the header is row 1),
    ``None`` when the problem concerns the whole file or a whole column.
    """

    file: str
    reason: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.reason}"


class DeliveryRefusedError(InputError):
    """A delivery was refused as a whole; ``problems`` lists every reason found (up to a limit)."""

    max_listed = 50

    def __init__(self, problems: list[Problem]):
        if not problems:
            raise ValueError("DeliveryRefusedError needs at least one problem")
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[: self.max_listed]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problems")
        super().__init__("Delivery refused, nothing was stored:\n  " + "\n  ".join(shown))
