"""``/deliveries``, ``/review`` and ``/admin`` in pygeoapi's generated OpenAPI document.

pygeoapi describes its own resources only; the service's delivery resource
(``server/deliveries_api.py``) and the administrator's (``server/admin_api.py``) are added
here, with the two credentials they accept (an API key in ``X-API-Key``, an OpenID Connect
bearer token), so that ``/openapi`` documents everything the service answers.
``server/config.prepare`` calls :func:`add_paths` on the document it generates.
"""

from __future__ import annotations

import copy
from typing import Any

from lagesbild_geo.server import project_paths

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


#: The body of every refusal: the delivery API's error document.
_ERROR_REF = {"$ref": "#/components/schemas/DeliveryError"}


def _response(
    description: str, schema: dict | None = None, media_type: str = "application/json"
) -> dict[str, Any]:
    """One response object (the one way this module writes them)."""
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {media_type: {"schema": schema}}
    return out


def _responses(
    *codes: str, texts: dict[str, str] = _DESCRIPTIONS, ok: dict | None = None
) -> dict[str, Any]:
    """``codes`` with their ``texts``: refusals with the error document, the others with
    ``ok`` (default: the delivery)."""
    ok = ok or {"$ref": "#/components/schemas/Delivery"}
    return {code: _response(texts[code], _ERROR_REF if code >= "400" else ok) for code in codes}


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
            "200": _response(
                "The deliveries the caller may see",
                {
                    "type": "object",
                    "properties": {
                        "deliveries": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Delivery"},
                        }
                    },
                },
            ),  # fmt: skip
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


ADMIN_TAG = "admin"
_ADMIN_ERRORS = {
    "400": "Malformed or refused (an area file: `problems` lists file and reason)",
    "401": "No valid credential",
    "403": "The credential is not an admin's",
    "404": "No such actor or key",
    "405": "Method not allowed here (see Allow)",
    "409": "The area layer leaves out areas stored deliveries use; nothing was imported",
    "413": "The file is larger than the server's limit (LAGESBILD_MAX_DELIVERY_BYTES)",
}
_AREA_OPTIONS = [
    ("layer", "string", "Layer name, for a GeoPackage with several layers"),
    ("code_field", "string", "Field with the area code (default: code)"),
    ("name_field", "string", "Field with the area name (default: the stored names, or code)"),
    ("population_field", "string", "Field with the number of inhabitants"),
    ("level_field", "string", "Field with the NYKO level; only level 3 is kept"),
    ("source_crs", "string", "CRS of the file when it states none, e.g. EPSG:3011"),
    ("level_prefixes", "string", "Code lengths of levels 1 and 2, e.g. 1,2 (DeSO: 4,5)"),
    ("no_repair", "boolean", "Refuse invalid geometries instead of repairing them"),
    ("clear_population", "boolean", "Without population_field: clear stored populations"),
    ("clear_names", "boolean", "Without name_field: name the areas by their codes"),
    ("filename", "string", "The file's name for a raw body without Content-Disposition"),
]


def _admin_op(summary: str, ok: str, ok_text: str, *errors: str, **more) -> dict[str, Any]:
    """An operation of ``/admin``: its JSON answer ``ok`` and the errors it may give."""
    responses = {ok: _response(ok_text, {"type": "object"})}
    responses |= _responses("401", "403", *errors, texts=_ADMIN_ERRORS)
    return {
        "tags": [ADMIN_TAG],
        "summary": summary,
        "security": SECURITY,
        "responses": responses,
        **more,
    }


def _json_body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _admin_paths() -> dict[str, Any]:
    text = {"type": "string"}
    log_filters = ["principal", "role", "actor_id", "action", "object_type", "object_id"]
    log_parameters = [
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        *({"name": name, "in": "query", "schema": text} for name in log_filters),
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    ]
    area_fields = {"file": {"type": "string", "format": "binary"}}
    area_fields |= {name: {"type": kind} for name, kind, _ in _AREA_OPTIONS if name != "filename"}
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "/admin": {"get": _admin_op("The administrator's resources", "200", "Links")},
        "/admin/actors": {
            "get": _admin_op("The delivering organisations", "200", "The actors"),
            "post": _admin_op(
                "Add or rename an actor",
                "201",
                "Saved",
                "400",
                requestBody=_json_body(
                    ["id", "kind", "name"], {"id": text, "kind": text, "name": text}
                ),
            ),
        },
        "/admin/keys": {
            "get": _admin_op("API keys (never a secret or its hash)", "200", "The keys"),
            "post": _admin_op(
                "Create an API key; the key is in this answer only",
                "201",
                "The new key",
                "400",
                "404",
                requestBody=_json_body(
                    ["role", "owner"],
                    {
                        "role": {
                            "type": "string",
                            "enum": ["actor", "reviewer", "analyst", "admin"],
                        },
                        "owner": text,
                        "actor_id": text,
                        "expires_at": {"type": "string", "format": "date-time"},
                    },
                ),
            ),
        },
        "/admin/keys/{id}/revoke": {
            "post": _admin_op(
                "Revoke a key, at once",
                "200",
                "Revoked",
                "404",
                parameters=[
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9a-f]{12}$"},
                    }
                ],
            )
        },
        "/admin/access-log": {
            "get": _admin_op(
                "The access log, newest first (reading it is logged)",
                "200",
                "The entries",
                "400",
                parameters=log_parameters,
            )
        },
        "/admin/areas": {
            "get": _admin_op("The versions of the area layer", "200", "The versions"),
            "post": _admin_op(
                "Import an area layer (GeoPackage, zipped Shapefile, GeoJSON, FlatGeobuf)",
                "201",
                "Imported: the new version and the import's report (gaps, overlaps, "
                "repairs, what was carried over)",
                "400",
                "409",
                "413",
                description="The same reading, checks and import as `lagesbild areas import`, "
                "whose options are the parameters (or form fields); the public layers are "
                "rebuilt in the same transaction.",
                parameters=[
                    {"name": name, "in": "query", "description": about, "schema": {"type": kind}}
                    for name, kind, about in _AREA_OPTIONS
                ],
                requestBody={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": area_fields,
                            }
                        },
                        "application/geopackage+sqlite3": binary,
                        "application/geo+json": binary,
                        "application/zip": binary,
                    },
                },
            ),
        },
    }


#: What any operation may answer because of the caller's credentials (docs/access.md).
_UNAUTHORIZED = _response(
    "The credential sent is not valid (unknown, expired, revoked, forged, another audience): "
    "on every path, never treated as the public"
)
_FORBIDDEN = _response("The credential is valid but its role may not read this layer")


def add_security(document: dict, restricted: set[str] | frozenset[str]) -> dict:
    """Every operation of pygeoapi's own paths may answer 401 (a credential that is sent is
    checked on every path) and is open to the public or to either credential; the paths of
    a restricted collection need a credential and answer 403 to another role (a copy)."""
    out = copy.deepcopy(document)
    for path, item in out.get("paths", {}).items():
        parts = path.split("/")
        restricted_path = len(parts) > 2 and parts[1] == "collections" and parts[2] in restricted
        for method, operation in item.items():
            if method not in ("get", "post", "put", "delete", "patch", "head", "options"):
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", _UNAUTHORIZED)
            if restricted_path:
                responses.setdefault("403", _FORBIDDEN)
                operation.setdefault("security", copy.deepcopy(SECURITY))
            else:
                operation.setdefault("security", [{}, *copy.deepcopy(SECURITY)])
    return out


def add_paths(document: dict) -> dict:
    """``document`` with the delivery and admin paths, their schemas and the security
    schemes added (a copy; adding twice gives the same document)."""
    out = copy.deepcopy(document)
    out.setdefault("paths", {}).update(_paths())
    out["paths"].update(_admin_paths())
    out["paths"].update(project_paths.openapi_paths(_response, _ERROR_REF))
    components = out.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(copy.deepcopy(SCHEMES))
    schemas = components.setdefault("schemas", {})
    schemas.update(Delivery=_DELIVERY, DeliveryError=_ERROR, DeliveryProblem=_PROBLEM)
    tags = out.setdefault("tags", [])
    if not any(t.get("name") == TAG for t in tags):
        tags.append({"name": TAG, "description": "Leveranser och granskning / deliveries"})
    if not any(t.get("name") == ADMIN_TAG for t in tags):
        tags.append(
            {
                "name": ADMIN_TAG,
                "description": "Administration: aktörer, nycklar, "
                "områdesskikt, åtkomstloggen / actors, keys, area layers, the log",
            }
        )
    return out
