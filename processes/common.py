"""What the four analysis processes share: inputs, execution, errors, who may do what.

Each file in ``processes/`` is one pygeoapi process (``PROCESS_METADATA`` + a class); the work
is :func:`lagesbild_geo.analysis.run.run`. Here:

* :data:`INPUTS` -- every input's title and description, in Swedish and English; a process
  picks the ones it uses (:func:`metadata`), and the schemas of the checked inputs come from
  :mod:`lagesbild_geo.analysis.params` for that process, so the OpenAPI document states the
  same limits and defaults that are applied;
* :class:`AnalysisProcessor` -- ``check_inputs`` (asked before a job is accepted) and
  ``execute``: checks the inputs and the caller's roles, runs the analysis, and turns every
  project error into a ``ProcessorExecuteError`` with the status and code of the error table
  (:mod:`lagesbild_geo.errors`: a wrong input is a 400, a missing role a 401 or 403, an
  unreachable database a 503, ...) and a message that says what to change. The job manager is
  :class:`processes.jobs.JobManager`.

**Who may do what** (docs/access.md). Anyone may run an analysis on the published, protected
cells (``source: published``). ``source: exact`` reads the exact counts through row-level
security (:func:`lagesbild_geo.server.restricted_db.connection`): an analyst the whole
picture, an actor its own deliveries only; nobody else. Saving a run (``publish: true``)
replaces a layer the city web map shows: it needs the analyst role, is written as
``lagesbild_jobs`` (the processes' ``data.save`` connection), and is refused for a run on
exact data (a public layer is made from public data only). pygeoapi builds a processor for
every execution, itself: the constructor is pygeoapi's entry point into this code.
"""

from __future__ import annotations

import functools
import logging

import psycopg
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from lagesbild_geo.access import identity
from lagesbild_geo.analysis import jobs, params
from lagesbild_geo.analysis import run as analysis
from lagesbild_geo.errors import (
    AuthenticationError,
    DatabaseUnavailableError,
    ForbiddenError,
    InputError,
    LagesbildError,
)
from lagesbild_geo.server.errors import processor_error

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
    "source": _input(
        "Underlag", "Source",
        "published: de publicerade, skyddade cellerna (alla). exact: de exakta antalen "
        "(analytiker: hela bilden; aktör: bara egna leveranser; kräver inloggning).",
        "published: the published, protected cells (anyone). exact: the exact counts "
        "(analyst: the whole picture; actor: its own deliveries only; needs a login)."),
    "publish": _input(
        "Publicera", "Publish",
        "Spara körningen som aktuellt resultat i lagret hotspots eller trends (kräver "
        "rollen analytiker; bara för source published).",
        "Save the run as the current result in the hotspots or trends layer (needs the "
        "analyst role; source published only)."),
}  # fmt: skip

#: Groups of inputs that several processes take, in the order they are listed.
PERIOD_INPUTS = ("period_start", "period_end", "actor_kinds", "source")
#: What the two hot-spot processes (Gi*, emerging) share: one indicator, its period and
#: actors, the measure and the spatial neighbourhood.
HOT_SPOT_INPUTS = (
    "indicator", *PERIOD_INPUTS, "measure", "weights", "distance_m", "k_neighbours"
)  # fmt: skip
#: Saving the run as the current result layer.
PUBLISH_INPUTS = ("publish",)

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


def conninfo(data: dict) -> str:
    """libpq connection string from a process's ``data`` block (the reader role), or from its
    ``save`` member (``lagesbild_jobs``)."""
    return psycopg.conninfo.make_conninfo(
        host=str(data.get("host", "127.0.0.1")),
        port=str(data.get("port", 5432)),
        dbname=str(data.get("dbname", "")),
        user=str(data.get("user", "")),
        password=str(data.get("password") or ""),
        application_name="lagesbild-analysis",
        connect_timeout="5",
    )


def exact_role(caller: identity.Identity) -> str:
    """The role an exact read runs as: the analyst's whole picture, else the actor's own;
    401 for the public, 403 for another role."""
    for role in ("analyst", "actor"):
        if caller.has(role):
            return role
    if caller.is_public:
        raise AuthenticationError(
            "source 'exact' reads the exact counts: send an analyst's or an actor's API key "
            "(X-API-Key) or token (Authorization: Bearer), or use source 'published'"
        )
    raise ForbiddenError(
        "source 'exact' needs the analyst role (the whole picture) or the actor role (its own "
        "deliveries); use source 'published'"
    )


def check_saving(caller: identity.Identity) -> None:
    """Saving a run as a public layer is the analyst's: 401 for the public, 403 otherwise."""
    if caller.has("analyst"):
        return
    message = (
        "Saving a run (publish: true) replaces a public layer and needs the analyst role; "
        "leave publish false to get the result only"
    )
    if caller.is_public:
        raise AuthenticationError(message + ", or send an analyst's API key or token")
    raise ForbiddenError(message)


def run_now(processor, data: dict, requested_outputs):
    """A synchronous run (:class:`processes.jobs.JobManager`): the processor's result, or its
    error with the error table's status. Anything else it raises is a bug: logged with its
    traceback, answered without its text."""
    extra = {"outputs": requested_outputs} if processor.supports_outputs else {}
    try:
        return processor.execute(data, **extra)
    except ProcessorExecuteError:
        raise
    except Exception as exc:
        LOGGER.exception("Process %s failed", processor.metadata.get("id"))
        raise ProcessorExecuteError(user_msg="Error executing process") from exc


class AnalysisProcessor(BaseProcessor):
    """One analysis process; subclasses set ``PROCESS_METADATA`` (and nothing else)."""

    PROCESS_METADATA: dict = {}

    def __init__(self, processor_def: dict):
        super().__init__(processor_def, self.PROCESS_METADATA)
        data = processor_def.get("data") or {}
        self.conninfo = conninfo(data)
        self.save_conninfo = conninfo(data["save"]) if data.get("save") else None

    def check_inputs(self, data: dict, asynchronous: bool) -> None:
        """Asked by :class:`processes.jobs.JobManager` before a job is accepted: a wrong input
        or a missing role is the request's 4xx, never a failed job."""
        self._checked(lambda: self._authorised(dict(data or {})))

    def execute(self, data: dict, outputs=None):
        def run():
            inputs = dict(data or {})
            role = self._authorised(inputs)
            exact = None
            if role is not None:
                from lagesbild_geo.server import restricted_db

                exact = functools.partial(restricted_db.connection, identity.current(), role)
            return analysis.run(
                self.conninfo, self.metadata["id"], inputs, exact=exact, save=self.save_conninfo
            )

        return "application/json", self._checked(run)

    def _authorised(self, inputs: dict) -> str | None:
        """Check the inputs and the caller's roles; the role of an exact read (None for a
        published one)."""
        process_id = self.metadata["id"]
        unknown = sorted(set(inputs) - set(self.metadata["inputs"]))
        if unknown:
            raise InputError(
                f"Unknown input(s) {', '.join(unknown)} for {process_id}; the inputs are "
                f"{', '.join(self.metadata['inputs'])}"
            )
        checked = params.parse_params(process_id, inputs)
        caller = identity.current()
        if checked.publish:
            check_saving(caller)
        return exact_role(caller) if checked.source == "exact" else None

    def _checked(self, run):
        """``run()``, its project errors as the error table's processor errors (their headers
        kept for the middleware: pygeoapi drops them)."""
        try:
            return run()
        except LagesbildError as exc:
            jobs.remember(exc)
            raise processor_error(exc) from exc
        except psycopg.OperationalError as exc:
            LOGGER.warning("Analysis database unavailable: %s", exc)
            raise processor_error(DatabaseUnavailableError()) from exc

    def __repr__(self):
        return f"<{type(self).__name__}> {self.name}"
