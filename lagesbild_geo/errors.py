"""One root exception, mapped to exit codes (CLI) and HTTP status codes (processes) in one place.

Every error a user can cause says *where* (file, row, column) and *why*, so an actor can fix
the delivery without calling anyone.
"""

from __future__ import annotations

from dataclasses import dataclass


class LagesbildError(Exception):
    """Root of every error the service raises on purpose."""

    http_status = 500
    exit_code = 1


class InputError(LagesbildError):
    """The caller's input is wrong; nothing was changed."""

    http_status = 400
    exit_code = 2


class NotFoundError(LagesbildError):
    """A delivery, actor, area or indicator that the caller named does not exist."""

    http_status = 404
    exit_code = 3


class ConflictError(LagesbildError):
    """The request is valid but clashes with the current state (e.g. approving a withdrawn one)."""

    http_status = 409
    exit_code = 4


class DatabaseUnavailableError(LagesbildError):
    """PostgreSQL cannot be reached right now; retrying later may succeed."""

    http_status = 503
    exit_code = 5


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
