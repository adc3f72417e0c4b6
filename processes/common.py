"""What the four analysis processes share: inputs, execution, errors, and the job manager.

Each file in ``processes/`` is one pygeoapi process (``PROCESS_METADATA`` + a class); the work
is :func:`lagesbild_geo.analysis.run.run`. Here:

* :data:`INPUTS` -- every input's JSON schema, in Swedish and English; a process picks the
  ones it uses (:func:`metadata`);
* :class:`AnalysisProcessor` -- ``execute``: checks the publish token, runs the analysis on
  the public tables, and turns every mistake of the caller into ``ProcessorExecuteError``
  with a message that says what to change. pygeoapi 0.24 answers any exception raised in
  ``execute`` with HTTP 400 (sync) or a failed job (async) -- never 500 -- and puts the message
  in ``description``;
* :class:`JobManager` -- pygeoapi's PostgreSQL job manager, changed only in how processes are
  named. pygeoapi keys processes and collections in one ``resources`` mapping, so a process
  ``hotspots`` and a collection ``hotspots`` (the saved result layer) cannot both be keys.
  The processes are therefore configured as ``process-hotspots`` etc. and this manager
  serves them as ``/processes/hotspots``. Jobs are kept in ``jobs.jobs``
  (``sql/0003_analysis.sql``), written with the server's reader role.

**Saving a run** (``publish: true``) replaces a layer that the city web map shows. The
processes need no login, so saving also needs the server's analysis token: set
``LAGESBILD_ANALYSIS_TOKEN`` where the server runs and pass the same value as input
``publish_token``. Without the variable no run can be saved over HTTP (``lagesbild analyse``
saves the nightly results without one).
"""

from __future__ import annotations

import hmac
import logging

import psycopg
from pydantic_settings import BaseSettings, SettingsConfigDict
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError
from pygeoapi.process.manager.postgresql import PostgreSQLManager

from lagesbild_geo.analysis import run as analysis
from lagesbild_geo.errors import InputError, LagesbildError

LOGGER = logging.getLogger(__name__)

#: Resource keys of processes in pygeoapi-config.yml start with this; the id is the rest.
PROCESS_KEY_PREFIX = "process-"


class AnalysisSettings(BaseSettings):
    """``LAGESBILD_ANALYSIS_TOKEN``: the shared secret that allows ``publish: true``."""

    model_config = SettingsConfigDict(env_prefix="LAGESBILD_", extra="ignore")

    analysis_token: str | None = None


def _input(title_sv, title_en, description_sv, description_en, schema, min_occurs=0):
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
        "Whose figures are summed. Default: all.",
        {"type": "array", "items": {"type": "string", "enum": list(analysis.ACTOR_KINDS)}}),
    "measure": _input(
        "Mått", "Measure",
        "count: antal; rate: antal per 1 000 invånare (befolkning från områdeslagret).",
        "count; or rate: per 1,000 inhabitants (population from the area layer).",
        {"type": "string", "enum": ["count", "rate"], "default": "count"}),
    "weights": _input(
        "Grannskap", "Neighbourhood",
        "queen: områden som gränsar till varandra; distance_band: centroider inom distance_m; "
        "knn: de k_neighbours närmaste.",
        "queen: areas that touch; distance_band: centroids within distance_m; knn: the "
        "k_neighbours nearest.",
        {"type": "string", "enum": ["queen", "distance_band", "knn"], "default": "queen"}),
    "distance_m": _input(
        "Avstånd (m)", "Distance (m)", "Avståndsband i meter (för distance_band).",
        "Distance band in metres (for distance_band).",
        {"type": "number", "minimum": 1, "maximum": 100000}),
    "k_neighbours": _input(
        "Antal grannar", "Number of neighbours", "k för knn.", "k for knn.",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 8}),
    "permutations": _input(
        "Permutationer", "Permutations",
        "Villkorade permutationer för pseudo-p-värdet (0 = inga).",
        "Conditional permutations for the pseudo p-value (0 = none).",
        {"type": "integer", "minimum": 0, "maximum": analysis.MAX_PERMUTATIONS, "default": 999}),
    "seed": _input(
        "Slumpfrö", "Seed", "Samma frö ger samma resultat.", "The same seed repeats the result.",
        {"type": "integer", "minimum": 0, "default": 20240101}),
    "alpha": _input(
        "Signifikansnivå", "Significance level",
        "Nivå för signifikant (het punkt, trend eller varning).",
        "Level for 'significant' (hot spot, trend or warning).",
        {"type": "number", "minimum": 0.001, "maximum": 0.5}),
    "fdr": _input(
        "FDR-korrigering", "FDR correction",
        "Korrigera för många samtidiga test (Benjamini-Hochberg).",
        "Correct for many simultaneous tests (Benjamini-Hochberg).", {"type": "boolean"}),
    "time_steps": _input(
        "Tidssteg", "Time steps", "Antal tidigare veckor i grannskapet (Esri: time step).",
        "Previous weeks in each bin's neighbourhood (Esri: neighborhood time step).",
        {"type": "integer", "minimum": 0, "maximum": 52, "default": 1}),
    "seasonal": _input(
        "Säsongsjusterad", "Seasonal",
        "Säsongs-Mann-Kendall (jämför samma vecka olika år; minst 104 veckor).",
        "Seasonal Mann-Kendall (same week across years; needs 104 weeks).",
        {"type": "boolean", "default": False}),
    "hamed_rao": _input(
        "Hamed-Rao", "Hamed-Rao", "Korrigera för autokorrelation.",
        "Correct for autocorrelation.", {"type": "boolean", "default": False}),
    "recent_weeks": _input(
        "Senaste veckor", "Recent weeks", "Veckor som testas (1 eller t.ex. 4).",
        "Weeks tested (1, or e.g. 4).",
        {"type": "integer", "minimum": 1, "maximum": 13, "default": 1}),
    "baseline_weeks": _input(
        "Baslinje (veckor)", "Baseline (weeks)", "Veckor som ger den vanliga nivån.",
        "Weeks that give the usual level.",
        {"type": "integer", "minimum": 4, "maximum": 156, "default": 26}),
    "guard_weeks": _input(
        "Skyddsgap (veckor)", "Guard gap (weeks)", "Veckor mellan baslinje och test.",
        "Weeks between baseline and test.",
        {"type": "integer", "minimum": 0, "maximum": 13, "default": 2}),
    "publish": _input(
        "Publicera", "Publish",
        "Spara körningen som aktuellt resultat i lagret hotspots eller trends "
        "(kräver publish_token).",
        "Save the run as the current result in the hotspots or trends layer (needs "
        "publish_token).",
        {"type": "boolean", "default": False}),
    "publish_token": _input(
        "Publiceringsnyckel", "Publish token", "Serverns LAGESBILD_ANALYSIS_TOKEN.",
        "The server's LAGESBILD_ANALYSIS_TOKEN.", {"type": "string"}),
}  # fmt: skip

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
        "inputs": {name: INPUTS[name] for name in inputs},
        "outputs": OUTPUT,
        "example": {"inputs": example},
    }


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

    def execute(self, data: dict, outputs=None):
        process_id = self.metadata["id"]
        try:
            inputs = dict(data or {})
            token = inputs.pop("publish_token", None)
            unknown = sorted(set(inputs) - set(self.metadata["inputs"]))
            if unknown:
                raise InputError(
                    f"Unknown input(s) {', '.join(unknown)} for {process_id}; the inputs are "
                    f"{', '.join(self.metadata['inputs'])}"
                )
            if inputs.get("publish") is True:
                _check_token(token)
            collection = analysis.run(self.conninfo, process_id, inputs)
        except LagesbildError as exc:
            raise ProcessorExecuteError(user_msg=str(exc)) from exc
        except psycopg.OperationalError as exc:
            LOGGER.warning("Analysis database unavailable: %s", exc)
            raise ProcessorExecuteError(
                user_msg="Databasen går inte att nå just nu / the database is not reachable "
                "right now; please retry in a few seconds."
            ) from exc
        return "application/json", collection

    def __repr__(self):
        return f"<{type(self).__name__}> {self.name}"


def _check_token(token) -> None:
    expected = AnalysisSettings().analysis_token
    if not expected:
        raise InputError(
            "Saving a run (publish: true) is switched off on this server: set "
            "LAGESBILD_ANALYSIS_TOKEN where the server runs and pass it as publish_token, or "
            "run 'lagesbild analyse'. Leave publish false to get the result only."
        )
    if not isinstance(token, str) or not hmac.compare_digest(token, expected):
        raise InputError("publish: true needs the server's analysis token as input publish_token")


class JobManager(PostgreSQLManager):
    """pygeoapi's PostgreSQL job manager, serving ``process-<id>`` resources as ``<id>``."""

    def __init__(self, manager_def: dict):
        processes = manager_def.get("processes", {})
        manager_def = dict(
            manager_def,
            processes={
                key.removeprefix(PROCESS_KEY_PREFIX): conf for key, conf in processes.items()
            },
        )
        super().__init__(manager_def)


def install_process_template_lookup() -> None:
    """Let pygeoapi's HTML pages find a process's templates under its ``process-`` key.

    ``describe_processes`` renders HTML with ``API.get_dataset_templates(process_id)``, which
    looks the id up in ``resources``: for ``early-warning`` that raised KeyError (a 500, found
    by schemathesis), and ``hotspots`` silently took the result collection's entry. Called once
    per worker by ``lagesbild_geo.server.app.create_app``.
    """
    from pygeoapi.api import API

    if getattr(API.get_dataset_templates, "lagesbild", False):
        return

    def get_dataset_templates(self, dataset: str) -> dict:
        resources = self.config["resources"]
        key = PROCESS_KEY_PREFIX + dataset
        entry = resources.get(key) if key in resources else resources.get(dataset, {})
        return entry.get("templates") or self.tpl_config["server"]["templates"]

    get_dataset_templates.lagesbild = True
    API.get_dataset_templates = get_dataset_templates
