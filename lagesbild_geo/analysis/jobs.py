"""The jobs of the processes: whose they are, how long they stay, how many a caller may keep.

pygeoapi's job manager keeps every execution forever, synchronous ones too, and lists them to
anyone (measured before issue 13: 37 MB of result files from one series of test runs, and
every caller's inputs under ``GET /jobs``). What :class:`processes.jobs.JobManager` keeps
instead, decided here so that the server and ``lagesbild jobs prune`` apply the same rules:

* only asynchronous executions are jobs (a synchronous result is in its response);
* a job belongs to its caller (``jobs.jobs.owner``: the principal, or ``anonymous@<address>``
  for the public); jobs of the municipality's principals are shared among them
  (``jobs.jobs.municipality``: the huvudman is one organisation, and what an analyst runs is
  the municipality's), nobody else sees another's job; the public's are never listed (an
  address is shared behind a proxy), only reached by their id;
* a job and its result file are removed :attr:`JobLimits.retention_s` after it was created
  (:func:`prune`: lazily before each new job, and by the command);
* a caller may keep :attr:`JobLimits.per_caller` jobs and :attr:`JobLimits.bytes_per_caller`
  bytes of results, the server :attr:`JobLimits.total` and :attr:`JobLimits.bytes_total`
  (:func:`admit`): beyond, a 429 whose ``Retry-After`` is when the oldest job that counts
  expires.

The functions take a DBAPI cursor (psycopg's, or psycopg2's under pygeoapi's SQLAlchemy
engine): both bind ``%(name)s``.
"""

from __future__ import annotations

import contextlib
import math
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from lagesbild_geo.errors import LagesbildError, TooManyRequestsError

#: Serialises admission across the server's workers (two workers admitting a caller's 20th
#: job at once would both see 19).
ADVISORY_LOCK = 1_302_024


@dataclass(frozen=True)
class JobLimits:
    """Retention and bounds of stored jobs (the ``LAGESBILD_JOB*`` settings)."""

    retention_s: int = 86_400
    per_caller: int = 20
    bytes_per_caller: int = 50_000_000
    total: int = 500
    bytes_total: int = 1_000_000_000

    @classmethod
    def from_settings(cls, settings) -> JobLimits:
        return cls(
            settings.job_retention_s,
            settings.jobs_per_caller,
            settings.job_bytes_per_caller,
            settings.jobs_total,
            settings.job_bytes_total,
        )


@dataclass(frozen=True)
class Pruned:
    """What :func:`prune` removed."""

    records: int
    files: int
    bytes: int


#: Jobs older than the retention: pygeoapi writes ``created`` as UTC without a zone.
_EXPIRED = "created < (now() AT TIME ZONE 'UTC') - make_interval(secs => %(retention)s)"


def prune(cursor, retention_s: int, output_dir: Path | None) -> Pruned:
    """Remove the jobs created more than ``retention_s`` ago and their result files, and
    result files in ``output_dir`` that no job names and that are as old (left by a worker
    that stopped, or by the job manager before issue 13, which kept every run)."""
    cursor.execute(
        f"DELETE FROM jobs.jobs WHERE {_EXPIRED} RETURNING location", {"retention": retention_s}
    )
    locations = [row[0] for row in cursor.fetchall()]
    removed = [n for n in map(_unlink, locations) if n is not None]
    if output_dir is not None and output_dir.is_dir():
        cursor.execute("SELECT location FROM jobs.jobs WHERE location IS NOT NULL")
        named = {str(row[0]) for row in cursor.fetchall()}
        cursor.execute("SELECT extract(epoch FROM now())::float8 - %s", (retention_s,))
        (cutoff,) = cursor.fetchone()
        for path in output_dir.iterdir():
            with contextlib.suppress(OSError):
                if path.is_file() and str(path) not in named and path.stat().st_mtime < cutoff:
                    removed.append(_unlink(str(path)) or 0)
    return Pruned(len(locations), len(removed), sum(removed))


def _unlink(location: str | None) -> int | None:
    """Remove a result file; its size, or None when there was none."""
    if not location or location == "None":  # pygeoapi writes str(None) for a failed job
        return None
    path = Path(location)
    try:
        size = path.stat().st_size
        path.unlink()
    except OSError:
        return None
    return size


#: The error a process answered in this request with headers of its own (the 429's
#: ``Retry-After``, the 401's ``WWW-Authenticate``): pygeoapi answers a processor error with
#: its status and message but drops its headers; the middleware gives them back
#: (:func:`response_headers`).
ANSWERED: ContextVar[LagesbildError | None] = ContextVar("lagesbild_answered", default=None)


def remember(exc: LagesbildError) -> None:
    """Keep ``exc`` for :func:`response_headers` when it has headers pygeoapi would drop."""
    if exc.headers:
        ANSWERED.set(exc)


_LEFT = "+ make_interval(secs => %(retention)s) - (now() AT TIME ZONE 'UTC')"


def admit(cursor, owner: str, limits: JobLimits) -> None:
    """Raise the 429 when one more job of ``owner`` would exceed a bound; call in the
    transaction that inserts the job, after :func:`prune`."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK,))
    cursor.execute(
        "SELECT count(*) FILTER (WHERE owner = %(owner)s),"
        " coalesce(sum(bytes) FILTER (WHERE owner = %(owner)s), 0), count(*),"
        " coalesce(sum(bytes), 0),"
        f" extract(epoch FROM min(created) FILTER (WHERE owner = %(owner)s) {_LEFT}),"
        f" extract(epoch FROM min(created) {_LEFT})"
        " FROM jobs.jobs",
        {"owner": owner, "retention": limits.retention_s},
    )
    mine, my_bytes, total, total_bytes, my_wait, wait = cursor.fetchone()
    refusal = None
    if mine >= limits.per_caller or my_bytes >= limits.bytes_per_caller:
        refusal = TooManyRequestsError(
            f"You keep {mine} jobs with {my_bytes} bytes of results; a caller may keep "
            f"{limits.per_caller} jobs and {limits.bytes_per_caller} bytes "
            "(LAGESBILD_JOBS_PER_CALLER, LAGESBILD_JOB_BYTES_PER_CALLER). Dismiss one "
            "(DELETE /jobs/{jobId}), run synchronously, or retry when your oldest job expires.",
            _seconds(my_wait),
        )
    elif total >= limits.total or total_bytes >= limits.bytes_total:
        refusal = TooManyRequestsError(
            f"The server keeps {total} jobs with {total_bytes} bytes of results, its limit "
            "(LAGESBILD_JOBS_TOTAL, LAGESBILD_JOB_BYTES_TOTAL). Run synchronously, or retry "
            "when the oldest job expires.",
            _seconds(wait),
        )
    if refusal is not None:
        remember(refusal)
        raise refusal


def _seconds(left) -> int:
    """Whole seconds until a job expires, at least 1 (``Retry-After`` of the 429)."""
    return max(1, math.ceil(float(left or 0)))


def response_headers(status: str, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers of a response as the job rules want them; the middleware calls this for
    every response (so that nothing carries over to the next request of the thread):

    * the headers of the error a process answered in this request (:data:`ANSWERED`) when
      the response has its status (the 429's ``Retry-After``, the 401's ``WWW-Authenticate``);
    * without pygeoapi's ``Location: /jobs/<id>`` on a synchronous run's 200: it was no job.
    """
    answered = ANSWERED.get()
    ANSWERED.set(None)
    if status.startswith("200"):
        headers = [h for h in headers if not (h[0].lower() == "location" and "/jobs/" in h[1])]
    if answered is None or not status.startswith(str(answered.http_status)):
        return headers
    present = {name.lower() for name, _ in headers}
    return headers + [h for h in answered.headers if h[0].lower() not in present]
