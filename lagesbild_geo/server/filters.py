"""A CQL2 filter and the ``property=value`` parameters checked against a collection's columns.

pygeofilter parses a CQL2 filter into a tree and builds SQL from it; what the tree holds was
not checked before this module, so PostgreSQL did: ``value = 'abc'`` answered with the
database's text ("invalid input syntax for type double precision: "abc""), ``upper(indicator)
= 'RAN'`` and ``pg_sleep(5) = 1`` (functions pygeofilter does not map; nothing was executed)
and ``S_INTERSECTS(geom, BBOX(0,0,1,1))`` failed in pygeofilter (500), ``POINT(1e400 1)`` and a
polygon ring of three points failed in PostGIS (500), and a NUL in a string failed in the
driver. :func:`check_filter` walks the tree first and answers each with a 400 that names the
property and says what it takes, never the value (the rule of issue 11).

What a filter may hold: ``and``/``or``/``not``; comparisons (``= <> < <= > >=``), ``between``,
``in`` and ``is null`` of a property with values of its type (a date property also with an
RFC 3339 date string), or with another property of the same type; ``like`` on a text
property; ``casei`` (pygeofilter's ``lower``) of a text; the spatial comparisons
(``s_intersects``, ``s_within``, ...) of ``geom`` with a valid geometry of finite coordinates.
Refused: other functions, arithmetic (``value / 0`` reached the database), temporal and array
operators (pygeoapi's SQL provider does not build them).

Pure apart from pygeofilter's node classes (no pygeoapi): the provider converts the
:class:`~lagesbild_geo.errors.InputError` into pygeoapi's 400.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

import shapely
import shapely.geometry
from pygeofilter import ast, values

from lagesbild_geo.errors import InputError

#: The bigint range of PostgreSQL: an integer literal outside it cannot equal any value.
BIGINT = 2**63 - 1
#: The one function the filter may use: CQL2's CASEI, which pygeofilter parses as ``lower``.
FUNCTIONS = frozenset({"lower"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COMPARISONS = (
    ast.Equal, ast.NotEqual, ast.LessThan, ast.LessEqual, ast.GreaterThan, ast.GreaterEqual
)  # fmt: skip
#: The JSON schema types pygeoapi gives the columns (:func:`feature_schemas.json_type`), as kinds.
_NUMERIC = frozenset({"number", "integer"})
_TEMPORAL = frozenset({"date", "date-time"})


def kind_of_field(field: dict) -> str:
    """``{"type": "string", "format": "date"}`` → ``"date"``; ``integer``, ``number``,
    ``boolean``, ``string`` otherwise."""
    if field.get("type") == "string" and field.get("format") in _TEMPORAL:
        return str(field["format"])
    return str(field.get("type") or "string")


def check_filter(node, fields: dict[str, dict], geometry: str) -> None:
    """400 (:class:`InputError`) for a CQL2 tree that is not a condition on these columns.

    ``fields``: the collection's properties (name → JSON schema type, without the geometry);
    ``geometry``: the geometry column's name.
    """
    _Checker(fields, geometry).condition(node)


def check_property_value(name: str, value: str, field: dict) -> None:
    """400 for a ``name=value`` parameter whose value is not of the property's type."""
    kind = kind_of_field(field)
    if _CONTROL.search(value):
        raise InputError(f"Property {name}: control characters (such as NUL) are not allowed.")
    if kind == "integer":
        if not re.fullmatch(r"[+-]?[0-9]{1,19}", value) or abs(int(value)) > BIGINT:
            raise InputError(f"Property {name} takes a whole number.")
    elif kind == "number":
        number = (
            float(value)
            if re.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", value)
            else math.nan
        )
        if not math.isfinite(number):
            raise InputError(f"Property {name} takes a decimal number (e.g. 3 or 2.5).")
    elif kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise InputError(f"Property {name} takes true or false.")
    elif kind in _TEMPORAL and not _is_iso_date(value, kind):
        example = "2026-02-09" if kind == "date" else "2026-02-09T12:00:00Z"
        raise InputError(f"Property {name} takes an RFC 3339 {kind} (e.g. {example}).")


def _is_iso_date(text: str, kind: str) -> bool:
    try:
        if kind == "date" and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            date.fromisoformat(text)
            return True
        if kind == "date-time" and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ].+", text):
            datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
            return True
    except ValueError:
        return False
    return False


class _Checker:
    def __init__(self, fields: dict[str, dict], geometry: str):
        self.fields = fields
        self.geometry = geometry

    def condition(self, node) -> None:
        if isinstance(node, bool | ast.Include):
            return
        if isinstance(node, ast.Not):
            self.condition(node.sub_node)
        elif isinstance(node, ast.And | ast.Or):
            self.condition(node.lhs)
            self.condition(node.rhs)
        elif isinstance(node, _COMPARISONS):
            self.comparable(node.lhs, node.rhs)
        elif isinstance(node, ast.Between):
            self.comparable(node.lhs, node.low)
            self.comparable(node.lhs, node.high)
        elif isinstance(node, ast.In):
            for value in node.sub_nodes:
                self.comparable(node.lhs, value)
        elif isinstance(node, ast.IsNull):
            self.kind(node.lhs)
        elif isinstance(node, ast.Like):
            if self.kind(node.lhs) != "string" or not isinstance(node.pattern, str):
                raise InputError("Filter: like compares a text property with a text pattern.")
            self.kind(node.pattern)
        elif isinstance(node, ast.SpatialComparisonPredicate):
            for side in (node.lhs, node.rhs):
                if self.kind(side) != "geometry":
                    raise InputError(
                        f"Filter: a spatial operator compares the geometry ({self.geometry}) "
                        "with a geometry such as POLYGON((...)) or POINT(x y)."
                    )
        else:
            raise InputError(
                f"Filter: the operator {_name(node)} is not supported; use and, or, not, "
                "comparisons, between, in, like, is null, casei and the spatial s_ operators."
            )

    def comparable(self, lhs, rhs) -> None:
        left, right = self.kind(lhs), self.kind(rhs)
        if "geometry" in (left, right):
            raise InputError("Filter: a geometry is compared only with a spatial operator.")
        if left == right or {left, right} <= _NUMERIC or {left, right} <= _TEMPORAL:
            return
        attribute = lhs if isinstance(lhs, ast.Attribute) else rhs
        other = rhs if attribute is lhs else lhs
        named = getattr(attribute, "name", None)
        column = self.fields.get(named or "")
        wanted = kind_of_field(column) if column is not None else left
        if isinstance(other, str) and wanted in _TEMPORAL and _is_iso_date(other, wanted):
            return  # week_start = '2026-02-09': PostgreSQL reads the text as a date
        what = f"property {named}" if column is not None else "a value"
        raise InputError(
            f"Filter: {what} is compared with a value of another type; it takes "
            f"{_kind_words(wanted)} (see /collections/{{id}}/queryables)."
        )

    def kind(self, node) -> str:
        """The kind of a value or property; 400 for what the filter may not hold."""
        if isinstance(node, ast.Attribute):
            if node.name == self.geometry:
                return "geometry"
            field = self.fields.get(node.name)
            if field is None:
                raise InputError(f"Filter: unknown property {node.name}.")
            return kind_of_field(field)
        if isinstance(node, bool):
            return "boolean"
        if isinstance(node, int):
            if abs(node) > BIGINT:
                raise InputError("Filter: a whole number is outside the range -2^63..2^63-1.")
            return "integer"
        if isinstance(node, float):
            if not math.isfinite(node):
                raise InputError("Filter: a number is not finite (NaN or too large).")
            return "number"
        if isinstance(node, str):
            if _CONTROL.search(node):
                raise InputError("Filter: a text holds control characters (such as NUL).")
            return "string"
        if isinstance(node, datetime):
            return "date-time"
        if isinstance(node, date):
            return "date"
        if isinstance(node, values.Envelope) or (
            isinstance(node, ast.Function) and node.name.lower() == "bbox"
        ):
            raise InputError(
                "Filter: BBOX(...) is not supported inside a filter; use the bbox parameter or "
                "a POLYGON((...))."
            )
        if isinstance(node, values.Geometry):
            _check_geometry(node.geometry)
            return "geometry"
        if isinstance(node, ast.Function):
            if node.name.lower() not in FUNCTIONS or len(node.arguments) != 1:
                raise InputError(
                    "Filter: functions are not supported (only CASEI); compare a property "
                    "with a value."
                )
            if self.kind(node.arguments[0]) != "string":
                raise InputError("Filter: casei takes a text property or a text.")
            return "string"
        if isinstance(node, ast.Arithmetic):
            raise InputError("Filter: arithmetic (+ - * /) is not supported; compare a property "
                             "with a value.")  # fmt: skip
        raise InputError(f"Filter: {_name(node)} is not supported here.")


def _check_geometry(geojson: dict) -> None:
    """A GeoJSON geometry that PostGIS takes: shapely can build it, every coordinate finite,
    valid (a ring of three points, ``POINT(1e400 1)`` failed in PostGIS with a 500)."""
    try:
        shape = shapely.geometry.shape(geojson)
        coordinates = shapely.get_coordinates(shape)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InputError("Filter: a geometry is not a valid geometry.") from exc
    if not all(math.isfinite(c) for c in coordinates.ravel()):
        raise InputError("Filter: a geometry has a coordinate that is not finite.")
    if not shape.is_valid:
        raise InputError(
            "Filter: a geometry is not valid (a polygon's rings must close and not cross)."
        )


def _kind_words(kind: str) -> str:
    return {
        "integer": "whole numbers",
        "number": "numbers",
        "boolean": "true or false",
        "date": "dates (DATE('2026-02-09') or '2026-02-09')",
        "date-time": "date-times (TIMESTAMP('2026-02-09T12:00:00Z'))",
        "string": "texts ('...')",
    }.get(kind, kind)


def _name(node) -> str:
    """The operator's name as CQL2 writes it (e.g. t_after), or the node's class."""
    op = getattr(node, "op", None)
    return str(getattr(op, "value", None) or type(node).__name__)


def label_crs84_as_srid_4326(node) -> None:
    """Make CQL2 geometries in CRS84 reach PostGIS as SRID 4326.

    pygeoapi labels geometries already transformed to the storage CRS with
    ``urn:ogc:def:crs:OGC::CRS84``; pygeofilter takes the text after ``::`` as the SRID and
    PostGIS fails on ``SRID=CRS84;POINT(...)`` (an HTTP 500 for every spatial filter). The
    coordinates are (longitude, latitude), which is PostGIS's x/y order for SRID 4326.
    """
    for sub in walk(node):
        if isinstance(sub, values.Geometry):
            props = sub.geometry.setdefault("crs", {}).setdefault("properties", {})
            if "CRS84" in str(props.get("name", "")).upper():
                props["name"] = "urn:ogc:def:crs:EPSG::4326"


def walk(node):
    """The node and every node below it (a pygeofilter AST)."""
    yield node
    try:
        subs = node.get_sub_nodes()
    except AttributeError:
        return
    for sub in subs or []:
        yield from walk(sub)
