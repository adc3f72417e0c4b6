"""``/deliveries`` and ``/review`` in pygeoapi's generated OpenAPI document.

pygeoapi describes its own resources only; the service's delivery resource
(``server/deliveries_api.py``) is added here, with the two credentials it accepts (an API key
in ``X-API-Key``, an OpenID Connect bearer token), so that ``/openapi`` documents everything
the service answers. ``server/config.prepare`` calls :func:`add_paths` on the document it
generates.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

TAG = "deliveries"
SECURITY: list[dict[str, list[str]]] = [{"ApiKey": []}, {"BearerJWT": []}]
SCHEMES = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "lgb_<id>_<secret>, made by `lagesbild keys create`.",
    },
    "BearerJWT": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token of the municipality's OpenID Connect provider.",
    },
}

_PROBLEM = {
    "type": "object",
    "required": ["file", "reason"],
    "properties": {
        "file": {"type": "string"},
        "row": {
            "type": "integer",
            "nullable": True,
            "description": "As the actor sees it; header = 1",
        },
        "column": {"type": "string", "nullable": True},
        "reason": {"type": "string", "description": "Why; never the cell's value"},
    },
}
_ERROR = {
    "type": "object",
    "required": ["code", "description"],
    "properties": {
        "code": {"type": "string"},
        "type": {"type": "string"},
        "description": {"type": "string"},
        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/DeliveryProblem"}},
    },
}
_DELIVERY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "actor_id": {"type": "string"},
        "actor_kind": {"type": "string"},
        "file_name": {"type": "string"},
        "shape": {"type": "string", "enum": ["aggregated", "events"]},
        "status": {
            "type": "string",
            "enum": ["pending", "approved", "rejected", "withdrawn", "replaced"],
        },
        "received_at": {"type": "string", "format": "date-time"},
        "row_count": {"type": "integer"},
        "first_week": {"type": "string", "example": "2026-W07"},
        "last_week": {"type": "string", "example": "2026-W09"},
        "replaces": {"type": "integer", "nullable": True},
        "reviewed_by": {"type": "string", "nullable": True},
        "reviewed_at": {"type": "string", "nullable": True, "format": "date-time"},
        "review_reason": {"type": "string", "nullable": True},
        "summary": {
            "type": "object",
            "properties": {
                "weeks": {"type": "integer"},
                "areas": {"type": "integer"},
                "total": {"type": "integer"},
                "indicators": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "name_sv": {"type": "string"},
                            "cells": {"type": "integer"},
                            "total": {"type": "integer"},
                        },
                    },
                },
            },
        },
        "double_reports": {
            "type": "array",
            "description": "The municipality's reviewer and analyst only.",
            "items": {
                "type": "object",
                "properties": {
                    "area_code": {"type": "string"},
                    "area_name": {"type": "string"},
                    "indicator": {"type": "string"},
                    "hour_start": {"type": "string", "format": "date-time"},
                    "other_delivery": {"type": "integer"},
                    "other_actor_kind": {"type": "string"},
                    "n_this": {"type": "integer"},
                    "n_other": {"type": "integer"},
                },
            },
        },
        "already_delivered": {"type": "boolean"},
        "links": {"type": "array", "items": {"type": "object"}},
    },
}

_DESCRIPTIONS = {
    "200": "The delivery (or the list)",
    "201": "Stored, pending review",
    "400": "Refused or malformed: `problems` lists file, row, column and reason",
    "401": "No valid credential",
    "403": "The credential's role may not do this",
    "404": "No such delivery (also another actor's: it does not exist for you)",
    "405": "Method not allowed here (see Allow)",
    "409": "The delivery's status does not allow this",
    "413": "The body is larger than the server's limit (LAGESBILD_MAX_DELIVERY_BYTES)",
}


def _responses(*codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        schema = "#/components/schemas/DeliveryError" if code >= "400" else None
        body = {"$ref": schema} if schema else {"$ref": "#/components/schemas/Delivery"}
        out[code] = {
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {"schema": body}},
        }
    return out


def _id_parameter() -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }


def _decision(summary: str, with_reason: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "tags": [TAG],
        "summary": summary,
        "security": SECURITY,
        "parameters": [_id_parameter()],
        "responses": _responses("200", "400", "401", "403", "404", "409"),
    }
    if with_reason:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["reason"],
                        "properties": {"reason": {"type": "string", "maxLength": 2000}},
                    }
                }
            },
        }
    return op


_OPTIONS = [
    ("replaces", "integer", "Id of the delivery this file corrects"),
    ("sheet", "string", "The workbook sheet to read"),
    ("crs", "string", "CRS of x/y columns when the file has none (default EPSG:3006)"),
    ("allow_unplaced", "boolean", "Leave out events outside every area instead of refusing"),
    ("filename", "string", "The file's name for a raw body without Content-Disposition"),
]


def _paths() -> dict[str, Any]:
    form_fields = {"file": {"type": "string", "format": "binary"}}
    form_fields |= {name: {"type": kind} for name, kind, _ in _OPTIONS if name != "filename"}
    binary = {"schema": {"type": "string", "format": "binary"}}
    list_op = {
        "tags": [TAG],
        "summary": "Deliveries: an actor's own, the municipality's all",
        "security": SECURITY,
        "parameters": [
            {
                "name": "status",
                "in": "query",
                "schema": {
                    "type": "string",
                    "enum": ["pending", "approved", "rejected", "withdrawn", "replaced"],
                },
            }
        ],
        "responses": {
            "200": {
                "description": "The deliveries the caller may see",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "deliveries": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Delivery"},
                                }
                            },
                        }
                    }
                },
            },
            **_responses("400", "401", "403"),
        },
    }
    return {
        "/deliveries": {
            "get": list_op,
            "post": {
                "tags": [TAG],
                "summary": "Deliver a file (.xlsx or CSV) as an actor; it waits for review",
                "description": "The same checks as `lagesbild ingest`. The same file twice is "
                "stored once (200 with already_delivered).",
                "security": SECURITY,
                "parameters": [
                    {"name": name, "in": "query", "description": text, "schema": {"type": kind}}
                    for name, kind, text in _OPTIONS
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": form_fields,
                            }
                        },
                        "text/csv": binary,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
                            binary
                        ),
                    },
                },
                "responses": {
                    **_responses("201", "200"),
                    **_responses("400", "401", "403", "404", "409", "413"),
                },
            },
        },
        "/deliveries/{id}": {
            "get": {
                "tags": [TAG],
                "summary": "One delivery with its summary (and double reports for the reviewer)",
                "security": SECURITY,
                "parameters": [_id_parameter()],
                "responses": _responses("200", "400", "401", "403", "404"),
            }
        },
        "/deliveries/{id}/withdraw": {"post": _decision("Withdraw (the owning actor)")},
        "/deliveries/{id}/approve": {"post": _decision("Approve (a reviewer)")},
        "/deliveries/{id}/reject": {"post": _decision("Reject with a reason (a reviewer)", True)},
        "/review/pending": {
            "get": {**list_op, "summary": "Deliveries waiting for review (a reviewer)"}
        },
    }


def add_paths(document: dict, restricted: Iterable[str] = ()) -> dict:
    """``document`` with the delivery paths, their schemas and the security schemes added
    (a copy; adding twice gives the same document); the items of the ``restricted``
    collections get their credentials and answers (:func:`_restrict`)."""
    out = copy.deepcopy(document)
    out.setdefault("paths", {}).update(_paths())
    for collection in restricted:
        _restrict(out["paths"], collection)
    components = out.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(copy.deepcopy(SCHEMES))
    schemas = components.setdefault("schemas", {})
    schemas.update(Delivery=_DELIVERY, DeliveryError=_ERROR, DeliveryProblem=_PROBLEM)
    tags = out.setdefault("tags", [])
    if not any(t.get("name") == TAG for t in tags):
        tags.append({"name": TAG, "description": "Leveranser och granskning / deliveries"})
    return out


#: What a restricted layer's items answer besides pygeoapi's documented statuses.
_RESTRICTED_ANSWERS = {
    "401": "No valid credential: the layer needs an API key (X-API-Key) or a bearer token",
    "403": "The credential's role is not the layer's",
}


def _restrict(paths: dict, collection: str) -> None:
    """The credentials of ``/collections/{collection}/items`` (and one item), and their 401
    and 403 (the error document of the service's own resources): pygeoapi documents
    neither, so a client, and schemathesis, took the answer to the public for an
    undocumented status."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/DeliveryError"}}}
    for path in (
        f"/collections/{collection}/items",
        f"/collections/{collection}/items/{{featureId}}",
    ):
        for method, operation in paths.get(path, {}).items():
            if method not in ("get", "post") or not isinstance(operation, dict):
                continue
            operation["security"] = copy.deepcopy(SECURITY)
            responses = operation.setdefault("responses", {})
            for code, description in _RESTRICTED_ANSWERS.items():
                responses[code] = {"description": description, "content": copy.deepcopy(error)}
