"""Process ``k-anonymity``: protect a table of counts before the municipality releases it.

The computation is :func:`lagesbild_geo.disclosure.table.protect` (the methods, the audit
and why); the inputs and their limits are :mod:`lagesbild_geo.disclosure.request`. This
adapter checks the inputs before a job is accepted (``check_inputs``, asked by the job
manager, which knows the mode), refuses a synchronous run of a table above
:data:`~lagesbild_geo.disclosure.request.SYNC_CELLS` with a 413 that asks for
``Prefer: respond-async``, and answers every
mistake with the error table's status and a message that says what to change. It reads no
database: the table comes with the request, and nothing of the publication is used (its
secret least of all).
"""

from __future__ import annotations

from pygeoapi.process.base import BaseProcessor

from lagesbild_geo.disclosure.request import (
    INPUT_TEXTS,
    MAX_CELLS,
    REQUIRED,
    SUPPRESSION_SECONDS,
    SYNC_CELLS,
    TableError,
    TableTooLargeError,
    input_schema,
    parse_request,
)
from lagesbild_geo.disclosure.table import protect
from lagesbild_geo.errors import InputError, LagesbildError, PayloadTooLargeError
from lagesbild_geo.server.errors import processor_error

_SCHEMA = input_schema()


_LIMITS = ", ".join(f"{m} {SYNC_CELLS[m]:,} ({MAX_CELLS[m]:,})" for m in SYNC_CELLS)

PROCESS_METADATA = {
    "version": "1.0.0",
    "id": "k-anonymity",
    "title": {"sv": "Skydda en tabell (k-anonymitet)", "en": "Protect a table (k-anonymity)"},
    "description": {
        "sv": "Skyddar en tabell med antal innan den lämnas ut (allmän handling, rapport, "
        "forskare): cell key-metoden (som publiceringen) eller undertryckning med exakta "
        "värden, och revisionen: per cell status och det intervall allmänheten kan räkna "
        "fram. Lämna ut value, behåll status och secret. Största tabell (celler) synkront "
        f"och med Prefer: respond-async: {_LIMITS}.",
        "en": "Protects a table of counts before it is released (records request, report, "
        "researcher): the cell key method (as the publication) or suppression with exact "
        "figures, and the audit: per cell its status and the interval the public can solve "
        "for it. Release value; keep status and secret. Largest table (cells) synchronous "
        f"and with Prefer: respond-async: {_LIMITS}.",
    },
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["lägesbild", "röjandekontroll", "disclosure control", "k-anonymity"],
    "links": [
        {
            "type": "text/html",
            "rel": "about",
            "title": "docs/disclosure.md",
            "hreflang": "sv",
            "href": "https://github.com/lagesbild/lagesbild/blob/main/docs/disclosure.md",
        }
    ],  # fmt: skip
    "inputs": {
        name: {
            "title": {"sv": texts[0], "en": texts[1]},
            "description": {"sv": texts[2], "en": texts[3]},
            "schema": _SCHEMA[name],
            "minOccurs": int(name in REQUIRED),
            "maxOccurs": 1,
        }
        for name, texts in INPUT_TEXTS.items()
    },  # fmt: skip
    "outputs": {
        "result": {
            "title": {"sv": "Skyddad tabell", "en": "Protected table"},
            "description": {
                "sv": "cells och margins (dims, value, status, interval), summary, secret.",
                "en": "cells and margins (dims, value, status, interval), summary, secret.",
            },
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    },
    "example": {
        "inputs": {
            "table": "area;week;count\nA;2026-W01;3\nA;2026-W02;12\nB;2026-W01;0\nB;2026-W02;7",
            "margins": [["area"], ["week"], []],
            "k": 5,
            "method": "suppression",
        }
    },
}


class KAnonymityProcessor(BaseProcessor):
    """Protect a posted table (:func:`lagesbild_geo.disclosure.table.protect`)."""

    def __init__(self, processor_def: dict):
        super().__init__(processor_def, PROCESS_METADATA)

    def check_inputs(self, data: dict, asynchronous: bool) -> None:
        """Asked by :class:`processes.jobs.JobManager` before a job is accepted: the
        table's form, and its size for the mode (above SYNC_CELLS only asynchronously)."""
        request = self._checked(lambda: parse_request(dict(data or {})))
        limit = SYNC_CELLS[request.method]
        if not asynchronous and request.cells > limit:
            self._checked(lambda: self._too_large_for_sync(request.cells, request.method))
        if asynchronous and request.secret is None:
            self._checked(lambda: self._secret_for_async())

    def execute(self, data: dict, outputs=None):
        return "application/json", self._checked(
            lambda: protect(parse_request(dict(data or {})), SUPPRESSION_SECONDS)
        )

    def _checked(self, run):
        """``run()``, its errors as the error table's processor errors."""
        try:
            return run()
        except TableError as exc:
            kind = PayloadTooLargeError if isinstance(exc, TableTooLargeError) else InputError
            raise processor_error(kind(str(exc))) from exc
        except LagesbildError as exc:
            raise processor_error(exc) from exc

    @staticmethod
    def _secret_for_async():
        raise InputError(
            "An asynchronous run needs your own secret (input secret: 32 random bytes as hex, "
            "kept with the request's papers): a job's result stays on the server until it is "
            "fetched, and a secret in it would let anyone who reads it undo the noise or replay "
            "the choice of suppressed cells"
        )

    @staticmethod
    def _too_large_for_sync(cells: int, method: str):
        raise PayloadTooLargeError(
            f"The table has {cells:,} cells; method {method} protects at most "
            f"{SYNC_CELLS[method]:,} in a synchronous request: send the same request with the "
            "header 'Prefer: respond-async' and poll the job at its Location (up to "
            f"{MAX_CELLS[method]:,} cells)"
        )
