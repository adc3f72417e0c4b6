"""What the four analysis processes share: inputs, execution, errors, and the job manager.

Each file in ``processes/`` is one pygeoapi process (``PROCESS_METADATA`` + a class); the work
is :func:`lagesbild_geo.analysis.run.run`. Here:

* :data:`INPUTS` -- every input's title and description, in Swedish and English; a process
  picks the ones it uses (:func:`metadata`), and the schemas of the checked inputs come from
  :mod:`lagesbild_geo.analysis.params` for that process, so the OpenAPI document states the
  same limits and defaults that are applied;
* :class:`AnalysisProcessor` -- ``execute``: checks the publish token, runs the analysis on
  the public tables, and turns every project error into a ``ProcessorExecuteError`` with the
  status and code of the error table (:mod:`lagesbild_geo.errors`: a wrong input is a 400, an
  unreachable database a 503, ...) and a message that says what to change;
* :class:`JobManager` -- pygeoapi's PostgreSQL job manager, changed in three places. How
  processes are named: pygeoapi keys processes and collections in one ``resources`` mapping,
  so a process ``hotspots`` and a collection ``hotspots`` (the saved result layer) cannot
  both be keys; the processes are therefore configured as ``process-hotspots`` etc. and this
  manager serves them as ``/processes/hotspots``. And the status of a synchronous run that
  failed: pygeoapi 0.24's handler answers every exception from ``execute`` with a 400 (a
  failed job), whatever the exception says; here the job is recorded as failed all the same,
  and the response has the error's own status. (An asynchronous run stays a failed job.) And a
  processor with ``check_inputs`` (``k-anonymity``) is asked before any job is accepted, so
  that its refusal is the request's 4xx in both modes.
  Jobs are kept in ``jobs.jobs`` (``sql/0003_analysis.sql``), written with the reader role.

**Saving a run** (``publish: true``) replaces a layer that the city web map shows. The
processes need no login, so saving also needs the server's analysis token: set
``LAGESBILD_ANALYSIS_TOKEN`` where the server runs and pass the same value as input
``publish_token``. Without the variable no run can be saved over HTTP (``lagesbild analyse``
saves the nightly results without one). pygeoapi builds a processor for every execution,
itself: the processor's constructor is pygeoapi's entry point into this code, so that is
where :class:`~lagesbild_geo.settings.Settings` is built (not at import time).
"""

from __future__ import annotations

import logging
import secrets

import psycopg
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError
from pygeoapi.process.manager.postgresql import PostgreSQLManager
from pygeoapi.util import JobStatus, RequestedProcessExecutionMode

from lagesbild_geo.analysis import params
from lagesbild_geo.analysis import run as analysis
from lagesbild_geo.errors import DatabaseUnavailableError, InputError, LagesbildError
from lagesbild_geo.server.errors import processor_error
from lagesbild_geo.server.patches import PROCESS_KEY_PREFIX
from lagesbild_geo.settings import Settings

LOGGER = logging.getLogger(__name__)


def _input(title_sv, title_en, description_sv, description_en, schema=None, min_occurs=0):
    """One input's description; ``schema`` None: the limits and defaults of
    :mod:`lagesbild_geo.analysis.params` for each process (:func:`metadata`)."""
    return {
        "title": {"sv": title_sv, "en": title_en},
        "description": {"sv": description_sv, "en": description_en},
        "schema": schema,
        "minOccurs": min_occurs,
        "maxOccurs": 1,
    }


_WEEK = {"type": "string", "pattern": r"^\d{4}-W\d{2}$", "examples": ["2026-W30"]}

INPUTS = {
    "indicator": _input(
        "Indikator", "Indicator",
        "Indikatorns id i katalogen (/collections/indicators), t.ex. skadegorelse.",
        "The indicator's id in the catalogue (/collections/indicators), e.g. skadegorelse.",
        {"type": "string"}, 1),
    "indicators": _input(
        "Indikatorer", "Indicators",
        "En eller flera indikatorer (id i katalogen).",
        "One or more indicators (catalogue ids).",
        {"type": "array", "items": {"type": "string"}, "minItems": 1}, 1),
    "period_start": _input(
        "Första vecka", "First week",
        "ISO-vecka, t.ex. 2026-W30. Standard: räknas bakåt från sista veckan.",
        "ISO week, e.g. 2026-W30. Default: counted back from the last week.", _WEEK),
    "period_end": _input(
        "Sista vecka", "Last week",
        "ISO-vecka. Standard: den senaste veckan med publicerade uppgifter.",
        "ISO week. Default: the newest week with published data.", _WEEK),
    "actor_kinds": _input(
        "Aktörstyper", "Actor kinds",
        "Vilka aktörers uppgifter som summeras. Standard: alla.",
        "Whose figures are summed. Default: all."),
    "measure": _input(
        "Mått", "Measure",
        "count: antal; rate: antal per 1 000 invånare (befolkning från områdeslagret).",
        "count; or rate: per 1,000 inhabitants (population from the area layer)."),
    "weights": _input(
        "Grannskap", "Neighbourhood",
        "queen: områden som gränsar till varandra; distance_band: centroider inom distance_m; "
        "knn: de k_neighbours närmaste.",
        "queen: areas that touch; distance_band: centroids within distance_m; knn: the "
        "k_neighbours nearest."),
    "distance_m": _input(
        "Avstånd (m)", "Distance (m)", "Avståndsband i meter (för distance_band).",
        "Distance band in metres (for distance_band)."),
    "k_neighbours": _input(
        "Antal grannar", "Number of neighbours", "k för knn.", "k for knn."),
    "permutations": _input(
        "Permutationer", "Permutations",
        "Villkorade permutationer för pseudo-p-värdet (0 = inga).",
        "Conditional permutations for the pseudo p-value (0 = none)."),
    "seed": _input(
        "Slumpfrö", "Seed", "Samma frö ger samma resultat.", "The same seed repeats the result."),
    "alpha": _input(
        "Signifikansnivå", "Significance level",
        "Nivå för signifikant (het punkt, trend eller varning).",
        "Level for 'significant' (hot spot, trend or warning)."),
    "fdr": _input(
        "FDR-korrigering", "FDR correction",
        "Korrigera för många samtidiga test (Benjamini-Hochberg).",
        "Correct for many simultaneous tests (Benjamini-Hochberg)."),
    "time_steps": _input(
        "Tidssteg", "Time steps", "Antal tidigare veckor i grannskapet (Esri: time step).",
        "Previous weeks in each bin's neighbourhood (Esri: neighborhood time step)."),
    "seasonal": _input(
        "Säsongsjusterad", "Seasonal",
        "Säsongs-Mann-Kendall (jämför samma vecka olika år; minst 104 veckor).",
        "Seasonal Mann-Kendall (same week across years; needs 104 weeks)."),
    "hamed_rao": _input(
        "Hamed-Rao", "Hamed-Rao", "Korrigera för autokorrelation.",
        "Correct for autocorrelation."),
    "recent_weeks": _input(
        "Senaste veckor", "Recent weeks", "Veckor som testas (1 eller t.ex. 4).",
        "Weeks tested (1, or e.g. 4)."),
    "baseline_weeks": _input(
        "Baslinje (veckor)", "Baseline (weeks)", "Veckor som ger den vanliga nivån.",
        "Weeks that give the usual level."),
    "guard_weeks": _input(
        "Skyddsgap (veckor)", "Guard gap (weeks)", "Veckor mellan baslinje och test.",
        "Weeks between baseline and test."),
    "publish": _input(
        "Publicera", "Publish",
        "Spara körningen som aktuellt resultat i lagret hotspots eller trends "
        "(kräver publish_token).",
        "Save the run as the current result in the hotspots or trends layer (needs "
        "publish_token)."),
    "publish_token": _input(
        "Publiceringsnyckel", "Publish token", "Serverns LAGESBILD_ANALYSIS_TOKEN.",
        "The server's LAGESBILD_ANALYSIS_TOKEN.", {"type": "string"}),
}  # fmt: skip

#: Groups of inputs that several processes take, in the order they are listed.
PERIOD_INPUTS = ("period_start", "period_end", "actor_kinds")
#: What the two hot-spot processes (Gi*, emerging) share: one indicator, its period and
#: actors, the measure and the spatial neighbourhood.
HOT_SPOT_INPUTS = (
    "indicator", *PERIOD_INPUTS, "measure", "weights", "distance_m", "k_neighbours"
)  # fmt: skip
#: Saving the run as the current result layer.
PUBLISH_INPUTS = ("publish", "publish_token")

OUTPUT = {
    "result": {
        "title": {"sv": "Områden med resultat", "en": "Areas with results"},
        "description": {
            "sv": "GeoJSON FeatureCollection (CRS84) med resultat per område, varningar "
            "(warnings) och proveniens (provenance: parametrar, frö, programversioner, "
            "leveranser, publiceringsversion, antal imputerade celler).",
            "en": "GeoJSON FeatureCollection (CRS84) with results per area, warnings and a "
            "provenance block (parameters, seed, software versions, deliveries, publication "
            "version, imputed-cell count).",
        },
        "schema": {"type": "object", "contentMediaType": "application/geo+json"},
    }
}


def metadata(process_id: str, title: dict, description: dict, inputs: list[str], example):
    """``PROCESS_METADATA`` of one analysis process."""
    return {
        "version": "1.0.0",
        "id": process_id,
        "title": title,
        "description": description,
        "jobControlOptions": ["sync-execute", "async-execute"],
        "keywords": ["lägesbild", "EST", process_id],
        "links": [
            {
                "type": "text/html",
                "rel": "about",
                "title": "docs/analysis.md",
                "href": "https://github.com/lagesbild/lagesbild/blob/main/docs/analysis.md",
                "hreflang": "sv",
            }
        ],
        "inputs": {name: _described(name, process_id) for name in inputs},
        "outputs": OUTPUT,
        "example": {"inputs": example},
    }


def _described(name: str, process_id: str) -> dict:
    """``INPUTS[name]``, its schema filled from the parameter checks of ``process_id``."""
    described = INPUTS[name]
    if described["schema"] is None:
        described = described | {"schema": params.input_schema(name, process_id)}
    return described


def conninfo(processor_def: dict) -> str:
    """libpq connection string from the process's ``data`` block (the reader role)."""
    data = processor_def.get("data") or {}
    return psycopg.conninfo.make_conninfo(
        host=str(data.get("host", "127.0.0.1")),
        port=str(data.get("port", 5432)),
        dbname=str(data.get("dbname", "")),
        user=str(data.get("user", "")),
        password=str(data.get("password") or ""),
        application_name="lagesbild-analysis",
        connect_timeout="5",
    )


class AnalysisProcessor(BaseProcessor):
    """One analysis process; subclasses set ``PROCESS_METADATA`` (and nothing else)."""

    PROCESS_METADATA: dict = {}

    def __init__(self, processor_def: dict):
        super().__init__(processor_def, self.PROCESS_METADATA)
        self.conninfo = conninfo(processor_def)
        # pygeoapi builds the processor (per execution): this is the entry point of our code.
        self.analysis_token = Settings().analysis_token
        #: The error the last ``execute`` raised, for :class:`JobManager`.
        self.error: ProcessorExecuteError | None = None

    def execute(self, data: dict, outputs=None):
        try:
            return "application/json", self._run(dict(data or {}))
        except LagesbildError as exc:
            self.error = processor_error(exc)
            raise self.error from exc
        except psycopg.OperationalError as exc:
            LOGGER.warning("Analysis database unavailable: %s", exc)
            self.error = processor_error(DatabaseUnavailableError())
            raise self.error from exc

    def _run(self, inputs: dict) -> dict:
        process_id = self.metadata["id"]
        token = inputs.pop("publish_token", None)
        unknown = sorted(set(inputs) - set(self.metadata["inputs"]))
        if unknown:
            raise InputError(
                f"Unknown input(s) {', '.join(unknown)} for {process_id}; the inputs are "
                f"{', '.join(self.metadata['inputs'])}"
            )
        if inputs.get("publish") is True:
            self._check_token(token)
        return analysis.run(self.conninfo, process_id, inputs)

    def _check_token(self, token) -> None:
        expected = self.analysis_token
        if expected is None or not expected.get_secret_value():
            raise InputError(
                "Saving a run (publish: true) is switched off on this server: set "
                "LAGESBILD_ANALYSIS_TOKEN where the server runs and pass it as publish_token, "
                "or run 'lagesbild analyse'. Leave publish false to get the result only."
            )
        if not isinstance(token, str) or not secrets.compare_digest(
            token.encode(), expected.get_secret_value().encode()
        ):
            raise InputError(
                "publish: true needs the server's analysis token as input publish_token"
            )

    def __repr__(self):
        return f"<{type(self).__name__}> {self.name}"


#: Processes whose jobs /jobs does not list (their inputs and results are the caller's).
PRIVATE_PROCESSES = frozenset({"k-anonymity"})


class JobManager(PostgreSQLManager):
    """pygeoapi's PostgreSQL job manager, serving ``process-<id>`` resources as ``<id>`` and
    answering a failed synchronous run with its error's status (see the module docstring)."""

    def __init__(self, manager_def: dict):
        processes = manager_def.get("processes", {})
        manager_def = dict(
            manager_def,
            processes={
                key.removeprefix(PROCESS_KEY_PREFIX): conf for key, conf in processes.items()
            },
        )
        super().__init__(manager_def)

    def get_jobs(self, status=None, limit=None, offset=None) -> dict:
        """pygeoapi's job list without the jobs of a process whose results are the caller's
        alone (``k-anonymity``: a municipality's table): such a job is reached only through
        the unguessable URL its submitter got (``Location``), never by listing /jobs."""
        listed = super().get_jobs(status, limit, offset)
        jobs = [j for j in listed["jobs"] if j.get("process_id") not in PRIVATE_PROCESSES]
        return {"jobs": jobs, "numberMatched": len(jobs)}

    def execute_process(self, process_id, data_dict, *args, **kwargs):
        """pygeoapi's execution (which records a failed run as a failed job), then the
        processor's error raised again when a synchronous run failed: pygeoapi's API answers a
        ``ProcessorExecuteError`` from here with its ``http_status_code`` and
        ``ogc_exception_code``, where its own answer to a failed run is always a 400. An
        asynchronous run has been accepted by then and stays a failed job, unless the
        processor has ``check_inputs(data, asynchronous)``: it is asked before any job is
        accepted, so that its refusal (``k-anonymity``: a malformed table, or one too large
        for a synchronous run) is the 4xx of the request in both modes."""
        check = getattr(self.get_processor(process_id), "check_inputs", None)
        if check is not None:
            mode = kwargs.get("execution_mode", args[0] if args else None)
            check(data_dict, self.is_async and mode == RequestedProcessExecutionMode.respond_async)
        result = super().execute_process(process_id, data_dict, *args, **kwargs)
        if not getattr(self.processor, "keep_results", True) and result[3] != JobStatus.accepted:
            # a synchronous run's result is in its response: nothing of it stays on the
            # server, where /jobs would show it to anyone (k-anonymity's secret, its statuses)
            self.delete_job(result[0])
        error = getattr(self.processor, "error", None)
        if result[3] == JobStatus.failed and isinstance(error, ProcessorExecuteError):
            raise error
        return result
