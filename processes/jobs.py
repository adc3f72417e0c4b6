"""The job manager: pygeoapi 0.24's PostgreSQL manager, connected as ``lagesbild_jobs``.

What is kept, for whom, how long: :mod:`lagesbild_geo.analysis.jobs`. Fitted into pygeoapi
(``process/manager/base.py``, ``postgresql.py``): ``process-<id>`` resources are served as
``<id>`` (a process and its result collection, both ``hotspots``, cannot share a key). A
synchronous run is no job (pygeoapi records and writes every run and answers any failure
400): run here, its result only in the response, its error's status the request's. An
asynchronous run is the caller's job, admitted within the bounds after the expired ones are
removed, run in a thread given the caller's context (a new thread starts with an empty one:
as the public). ``check_inputs(data, asynchronous)`` of a processor is asked before either,
so its refusal is the request's 4xx. Another's job is a 404 for listing, results, dismissal.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import uuid
from pathlib import Path

from pygeoapi.process.base import JobNotFoundError
from pygeoapi.process.manager.postgresql import PostgreSQLManager
from pygeoapi.util import JobStatus, RequestedProcessExecutionMode, RequestedResponse
from sqlalchemy import BigInteger, Boolean, Column, MetaData, String, Table, insert, or_
from sqlalchemy.orm import Session

from lagesbild_geo.access import identity
from lagesbild_geo.analysis import jobs
from lagesbild_geo.errors import LagesbildError
from lagesbild_geo.server.errors import processor_error
from lagesbild_geo.server.patches import PROCESS_KEY_PREFIX
from lagesbild_geo.settings import Settings
from processes.common import run_now

ASYNC = RequestedProcessExecutionMode.respond_async
WAIT = RequestedProcessExecutionMode.wait


@functools.cache
def _owned(table: Table) -> Table:
    """pygeoapi's model of ``jobs.jobs`` with the columns of migrations 0020 and 0024."""
    return Table(
        table.name,
        MetaData(),
        *(column._copy() for column in table.columns),
        Column("owner", String),
        Column("bytes", BigInteger),
        Column("municipality", Boolean),
        schema=table.schema,
    )


class JobManager(PostgreSQLManager):
    """pygeoapi's PostgreSQL job manager with owned, bounded, expiring jobs (module docstring)."""

    #: pygeoapi's model of the job table (set by its constructor), then :func:`_owned`'s
    table_model: Table

    def __init__(self, manager_def: dict):
        named = manager_def.get("processes", {}).items()
        processes = {key.removeprefix(PROCESS_KEY_PREFIX): conf for key, conf in named}
        super().__init__(dict(manager_def, processes=processes))
        self.table_model: Table = _owned(self.table_model)
        self.c = self.table_model.c
        # pygeoapi builds the manager in each worker: an entry point of our code.
        self.limits = jobs.JobLimits.from_settings(Settings())

    def _visible(self):
        """The jobs the caller may see: its own; a municipality principal's, every one of the
        municipality's (what an analyst runs is visible to municipality roles only)."""
        caller = identity.current()
        own = self.c.owner == caller.owner
        return or_(own, self.c.municipality.is_(True)) if caller.is_municipality else own

    def prune(self) -> jobs.Pruned:
        """Remove expired jobs and their files (committed before anything else is done)."""
        with self._engine.begin() as conn:
            return jobs.prune(conn.connection.cursor(), self.limits.retention_s, self.output_dir)

    def get_jobs(self, status=None, limit=None, offset=None) -> dict:
        """The caller's jobs (and the municipality's, for its principals); the public's are
        never listed: an address may be shared behind a proxy (docs/access.md)."""
        self.prune()
        if identity.current().is_public:
            return {"jobs": [], "numberMatched": 0}
        with Session(self._engine) as session:
            query = session.query(self.table_model).filter(self._visible())
            if status is not None:
                query = query.filter(self.c.status == status.value)
            listed = [r._asdict() for r in query.order_by(self.c.created.desc()).all()]
        return {"jobs": listed, "numberMatched": len(listed)}

    def get_job(self, job_id: str) -> dict:
        """The caller's job; another's is not found (pygeoapi's results and dismissal ask
        here first, so they answer 404 too)."""
        with Session(self._engine) as session:
            mine = session.query(self.table_model).filter(self._visible())
            found = mine.filter(self.c.identifier == job_id).first()
        if found is None:
            raise JobNotFoundError()
        return found._asdict()

    def add_job(self, job_metadata: dict) -> str:
        """Record the caller's job, within the bounds (429 otherwise)."""
        self.prune()
        caller = identity.current()
        row = job_metadata | {"owner": caller.owner, "municipality": caller.is_municipality}
        with self._engine.begin() as conn:
            jobs.admit(conn.connection.cursor(), caller.owner, self.limits)
            conn.execute(insert(self.table_model).values(**row))
        return job_metadata["identifier"]

    def update_job(self, job_id: str, update_dict: dict) -> bool:
        """pygeoapi's update, with the size of a finished job's result file."""
        location = update_dict.get("location")
        if update_dict.get("status") == JobStatus.successful.value and location:
            update_dict = update_dict | {"bytes": Path(location).stat().st_size}
        return super().update_job(job_id, update_dict)

    def execute_process(self, process_id, data_dict, execution_mode=None, **kwargs):
        """A job when the caller asks for one (``Prefer: respond-async``), else a run now."""
        processor = self.get_processor(process_id)
        options = processor.metadata.get("jobControlOptions", [])
        asynchronous = (
            self.is_async
            and "async-execute" in options
            and (execution_mode == ASYNC or "sync-execute" not in options)
        )
        if hasattr(processor, "check_inputs"):
            processor.check_inputs(data_dict, asynchronous)
        if asynchronous:
            try:
                return super().execute_process(process_id, data_dict, execution_mode, **kwargs)
            except LagesbildError as exc:  # admit's 429
                raise processor_error(exc) from exc
        mime, outputs = run_now(processor, data_dict, kwargs.get("requested_outputs"))
        if kwargs.get("requested_response") == RequestedResponse.document.value:
            outputs = {"outputs": [outputs]}
        headers = None if execution_mode == WAIT else {"Preference-Applied": WAIT.value}
        return str(uuid.uuid4()), mime, outputs, JobStatus.successful, headers

    def _execute_handler_async(self, *args, **kwargs):
        """pygeoapi's background run (a thread), in a copy of the request's context: the
        job runs as its caller, not as the public a new thread would be."""
        run = contextvars.copy_context().run
        threading.Thread(
            target=run, args=(self._execute_handler_sync, *args), kwargs=kwargs
        ).start()
        return "application/json", None, JobStatus.accepted
