"""A JSON schema of every collection's features, so that GIS clients type numbers as numbers.

GDAL's OGC API Features driver (``OAPIF``, 3.6) types a layer's fields from its first page of
features unless the collection links a schema: a field that is null on that page (a protected
value, an indicator without data, an hour breakdown the first rows do not have) becomes a
String, and a graduated style on it is impossible. Measured on the demo with GDAL 3.6.2
(``ogrinfo -so``, the schema ignored / followed): ``situation`` 81 / 38 String fields (the 38
are its text columns), 53 / 96 Real; ``observations`` 13 / 11 String, 32 / 34 Integer
(``numerator``, ``denominator``); ``hotspots`` and ``trends`` without rows had no fields at
all without the schema.

What GDAL 3.6 reads (``ogr/ogrsf_frmts/wfs/ogroapifdriver.cpp``, ``GetSchema``):

* a collection link with ``rel`` exactly ``describedBy`` (camel case: GDAL 3.6 compares the
  string; the IANA spelling ``describedby`` is linked too, for the clients that follow it)
  and ``type`` exactly ``application/schema+json``;
* a GeoJSON *Feature* schema: an object whose ``properties`` has a ``properties`` object
  holding one schema per field; GDAL builds an example feature from it, so each field's
  ``type`` must be one string (``integer`` -> Integer, ``number`` -> Real, ``string`` with
  ``format`` ``date`` / ``date-time`` -> Date / DateTime, ``boolean`` -> Integer(Boolean),
  ``array`` of strings / integers -> StringList / IntegerList). A list such as
  ``["integer", "null"]`` would fall back to String, so nullability is said in each field's
  ``description`` instead (every value may be null: protected or not delivered).

pygeoapi 0.24's own ``/collections/{id}/schema`` is the flat "returnables" schema of OGC API
Features Part 5 (fields at the top level, linked with the OGC ``schema`` relation): GDAL 3.6
does not read it, so the GeoJSON form is served at ``/feature-schemas/{collection}``.

The schemas are built by :func:`build` in ``lagesbild serve``'s master from the database's
column types (``information_schema``) of each collection's table or view, written beside the
configuration, and served by :mod:`.schemas` (read once per worker). QGIS 3.22's OAPIF
provider does not read any schema (it types from the ``limit=10`` sample page through OGR, see
tests/server/test_field_types.py); QGIS 3.22 gets the types by opening the layer through GDAL
(the ``ogr`` provider with ``OAPIF:<url>/collections/<name>``, docs/publishing.md).
"""

from __future__ import annotations

from typing import Any

import psycopg

PREFIX = "/feature-schemas"
#: The media type GDAL 3.6 asks for and accepts (besides application/json).
MEDIA_TYPE = "application/schema+json"
#: Set by :func:`lagesbild_geo.server.config.prepare`: the file :func:`build`'s schemas are in
#: (read by :func:`lagesbild_geo.server.config.read_handoff`).
ENV = "LAGESBILD_SCHEMAS"

#: PostgreSQL type (``information_schema.columns.udt_name``) -> JSON schema of a value.
_TYPES: dict[str, dict[str, Any]] = {
    "int2": {"type": "integer"},
    "int4": {"type": "integer"},
    "int8": {"type": "integer"},
    "float4": {"type": "number"},
    "float8": {"type": "number"},
    "numeric": {"type": "number"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"},
    "timestamptz": {"type": "string", "format": "date-time"},
    "_text": {"type": "array", "items": {"type": "string"}},
    "_int4": {"type": "array", "items": {"type": "integer"}},
    "_int8": {"type": "array", "items": {"type": "integer"}},
}
NULLABLE = "null when protected or not delivered (docs/disclosure.md)"


def field_schema(udt_name: str) -> dict:
    """The JSON schema of one column's values, from its PostgreSQL type (text otherwise).

    >>> field_schema("int8"), field_schema("float8")["type"], field_schema("date")["format"]
    ({'type': 'integer', 'description': 'null when protected or not delivered (docs/disclosure.md)'}, 'number', 'date')
    """  # noqa: E501
    return {**_TYPES.get(udt_name, {"type": "string"}), "description": NULLABLE}


def feature_schema(title: str, columns: list[tuple[str, str]], geom: str | None) -> dict:
    """A GeoJSON Feature schema with ``columns`` ((name, udt_name) in table order) as its
    properties, the geometry column left out (it is the feature's geometry).

    A column ``id`` is left out too: GDAL 3.6 adds an ``id`` field from the sample page
    whenever its first field is ``id`` (the feature's id, a string here) and then every
    field of the schema, so an ``id`` in the schema was a second field of that name
    (``ogrinfo`` listed ``id: String`` twice).
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {"type": "object", "description": "GeoJSON geometry (or null)"},
            "properties": {
                "type": "object",
                "properties": {
                    name: field_schema(udt) for name, udt in columns if name not in (geom, "id")
                },
            },
        },
    }


def build(conn: psycopg.Connection, config: dict, restricted: dict[str, str]) -> dict:
    """collection -> its feature schema, for every collection of the configuration.

    ``restricted``: collection -> view in schema ``restricted``
    (:func:`lagesbild_geo.server.restricted_provider.restricted_collections`); the others
    read their ``table`` in schema ``publish``.
    """
    rows = conn.execute(
        "SELECT table_schema, table_name, column_name::text, udt_name::text"
        " FROM information_schema.columns WHERE table_schema IN ('publish', 'restricted')"
        " ORDER BY table_schema, table_name, ordinal_position"
    ).fetchall()
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, udt in rows:
        columns.setdefault((schema, table), []).append((column, udt))
    schemas = {}
    for name, resource in config["resources"].items():
        if resource.get("type") != "collection":
            continue
        provider = next(p for p in resource["providers"] if p.get("type") == "feature")
        key = ("restricted", restricted[name]) if name in restricted else (
            "publish", provider["table"])  # fmt: skip
        title = resource.get("title")
        if isinstance(title, dict):
            title = title.get("sv") or next(iter(title.values()))
        schemas[name] = feature_schema(
            str(title or name), columns.get(key, []), provider.get("geom_field")
        )
    return schemas


def links(server_url: str, collection: str) -> list[dict]:
    """The collection's links to its schema: GDAL 3.6's ``describedBy`` and IANA's
    ``describedby`` (same target)."""
    href = f"{server_url.rstrip('/')}{PREFIX}/{collection}"
    return [
        {
            "type": MEDIA_TYPE,
            "rel": rel,
            "title": "Objektens schema (JSON Schema) / Schema of the features",
            "href": href,
        }
        for rel in ("describedBy", "describedby")
    ]


def json_type(sql_type) -> dict:
    """The JSON schema type pygeoapi gives a column (its queryables), from the SQLAlchemy
    type of the reflected table (:meth:`.provider.PublishProvider.get_fields`)."""
    name = type(sql_type).__name__.upper()
    if name in ("DATE",):
        return {"type": "string", "format": "date"}
    if name in ("TIMESTAMP", "DATETIME"):
        return {"type": "string", "format": "date-time"}
    if name in ("BOOLEAN",):
        return {"type": "boolean", "format": None}
    if name in ("INTEGER", "BIGINT", "SMALLINT"):
        return {"type": "integer", "format": None}
    if name in ("DOUBLE_PRECISION", "FLOAT", "REAL", "NUMERIC", "DOUBLE"):
        return {"type": "number", "format": None}
    return {"type": "string", "format": None}
