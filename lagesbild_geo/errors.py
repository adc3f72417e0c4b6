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
import re
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


class MethodNotAllowedError(InputError):
    """A method the resource does not answer (a POST to a page, a DELETE of the log)."""

    http_status = 405
    ogc_code = "MethodNotAllowed"

    def __init__(self, message: str, allowed: str):
        super().__init__(message)
        self.headers = (("Allow", allowed),)


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


class AuthenticationError(LagesbildError):
    """Credentials that were sent but are not valid: an unknown, expired, revoked or forged
    key or token (never treated as anonymous). Says which scheme, never why in detail."""

    http_status = 401
    ogc_code = "Unauthorized"
    exit_code = 7
    headers = (("WWW-Authenticate", 'Bearer realm="lagesbild", ApiKey realm="lagesbild"'),)


class ForbiddenError(LagesbildError):
    """A valid caller asking for what its role may not do (an actor approving, the public
    posting a delivery without credentials is a 401 instead)."""

    http_status = 403
    ogc_code = "Forbidden"
    exit_code = 7


class TooManyRequestsError(LagesbildError):
    """A caller's (or the server's) bound on stored jobs or their disk use is reached."""

    http_status = 429
    ogc_code = "TooManyRequests"
    exit_code = 8

    def __init__(self, message: str, retry_after_s: int = 60):
        super().__init__(message)
        self.headers = (("Retry-After", str(int(retry_after_s))),)


class AuditFailedError(LagesbildError):
    """The attacker's audit found a figure recovered or narrowed below the protection
    interval, or a public figure not derived from the published cells (``lagesbild audit``).
    Only the command line raises it: no request can start an audit."""

    exit_code = 6


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
    """A delivery was refused as a whole; ``problems`` lists every reason found (up to a limit).

    ``problems`` is the machine-readable form, one :class:`Problem` per row listed (each check
    lists its first rows and counts the rest in one "N more rows like this: ..." problem).
    The message groups them by reason (:func:`grouped_problems`): a reason that a thousand rows
    share is one line with the count and the first rows, not a thousand lines.
    """

    max_listed = 50

    def __init__(self, problems: list[Problem]):
        if not problems:
            raise ValueError("DeliveryRefusedError needs at least one problem")
        self.problems = list(problems)
        super().__init__(
            "Delivery refused, nothing was stored:\n  " + "\n  ".join(self.lines(self.max_listed))
        )

    def lines(self, limit: int | None = None) -> list[str]:
        """One line per group of problems (:func:`grouped_problems`), at most ``limit``."""
        groups = grouped_problems(self.problems)
        shown = [str(g) for g in groups[:limit]]
        if limit is not None and len(groups) > limit:
            rest = groups[limit:]
            shown.append(
                f"... and {len(rest)} more kinds of problem ({sum(g.count for g in rest):,} rows "
                "or columns)"
            )
        return shown


#: A check's summary of the rows it did not list one by one ("12 more rows like this: why").
_MORE_ROWS = re.compile(r"(\d+) more rows(?: like this)?: (.+)", re.DOTALL)
#: Rows named in a group's line; the count says how many there are in all.
ROWS_NAMED = 10


@dataclass
class ProblemGroup:
    """Problems with one reason in one file: in one column (rows), or over columns (names)."""

    file: str
    reason: str
    column: str | None
    rows: list[int]
    columns: list[str]
    count: int

    def __str__(self) -> str:
        if self.count == 1 and len(self.rows) <= 1:
            row = self.rows[0] if self.rows else None
            column = self.column if self.column is not None or not self.columns else self.columns[0]
            return str(Problem(self.file, self.reason, row=row, column=column))
        where = [self.file]
        if self.columns:
            where.append(
                ("columns " if len(self.columns) > 1 else "column ")
                + ", ".join(f"'{c}'" for c in self.columns)
            )
        elif self.column is not None:
            where.append(f"column '{self.column}'")
        if not self.rows:
            return f"{', '.join(where)}: {self.reason}"
        named = ", ".join(str(r) for r in self.rows[:ROWS_NAMED])
        if self.count > min(len(self.rows), ROWS_NAMED):
            named += ", …"
        return f"{', '.join(where)}: {self.count:,} rows: {self.reason} — rows {named}"


def grouped_problems(problems: list[Problem]) -> list[ProblemGroup]:
    """``problems`` grouped by file, column and reason, in the order they first appear.

    Rows with the same reason in the same column make one group (with its count, counting a
    check's "N more rows like this" summary in); problems of whole columns with the same reason
    make one group naming the columns, so that a list of accepted names is said once.

    >>> p = [Problem("a.csv", "negative count", row=r, column="antal") for r in (3, 4)]
    >>> p.append(Problem("a.csv", "1058 more rows like this: negative count", column="antal"))
    >>> print(grouped_problems(p)[0])
    a.csv, column 'antal': 1,060 rows: negative count — rows 3, 4, …
    """
    groups: dict[tuple, ProblemGroup] = {}
    for p in problems:
        more = _MORE_ROWS.fullmatch(p.reason) if p.row is None else None
        reason = more[2] if more else p.reason
        if p.row is None and not more:  # a whole column or the whole file
            key: tuple = (p.file, reason, "columns")
            group = groups.setdefault(key, ProblemGroup(p.file, reason, None, [], [], 0))
            if p.column is not None:
                group.columns.append(p.column)
            group.count += 1
            continue
        group = groups.setdefault(
            (p.file, reason, "rows", p.column), ProblemGroup(p.file, reason, p.column, [], [], 0)
        )
        if more:
            group.count += int(more[1])
        else:
            group.rows.append(p.row)  # type: ignore[arg-type]
            group.count += 1
    return list(groups.values())
