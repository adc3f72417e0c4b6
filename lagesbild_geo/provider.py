"""The pygeoapi feature provider for the ``publish`` tables.

A thin subclass of pygeoapi's own PostgreSQL provider (SQL generation, CQL2 through
pygeofilter, sorting and paging stay pygeoapi's), changed only where it is wrong or slow for
this service:

* **Errors.** pygeoapi lets database errors escape as HTTP 500. Here an unreachable database
  is a 503 (``DatabaseUnavailableProviderError``; the client may retry, the pool reconnects by
  itself when PostgreSQL is back), and a query the database rejects because of the caller's
  input (a text compared with a number, ...) is a 400 saying what was wrong.
* **Unknown properties in CQL2.** pygeofilter turns ``nope = 3`` into a constant ``False`` and
  the request silently returns nothing; here it is a 400 naming the queryables.
* **Time.** ``datetime`` selects the weeks whose span (``week_start``..``week_end``)
  intersects the requested instant or interval, as OGC API Features defines it; pygeoapi
  compares a single column, so a mid-week instant would find nothing.
* **Coordinate transforms.** pygeoapi builds a new pyproj ``Transformer`` for every request
  that asks for another CRS than the storage CRS (tens of ms). The tables are stored in CRS84,
  so the common request needs none; for ``crs=EPSG:3006`` the transformer is built once per
  process and reused. Axis order follows the EPSG registry, as OGC API Features Part 2
  requires: EPSG:3006 coordinates are (northing, easting), in output, in ``bbox`` with
  ``bbox-crs`` and in CQL2 geometries with ``filter-crs``; CRS84 is (longitude, latitude).
  The storage CRS being CRS84 (east-first) is what keeps pygeoapi's own ``bbox-crs`` and
  ``filter-crs`` handling right (pygeoapi issue #2010 bites when the *storage* CRS is
  north-first).
"""

from __future__ import annotations

import functools
import logging
from datetime import date, datetime, timedelta
from http import HTTPStatus

import numpy as np
import pygeofilter.ast
import pygeofilter.values
import pyproj
import shapely
from pygeoapi.crs import CrsTransformSpec
from pygeoapi.provider.base import (
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderQueryError,
)
from pygeoapi.provider.sql import PostgreSQLProvider
from sqlalchemy import and_, func, select
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, ProgrammingError

from .features import AREA_GEOMETRIES

LOGGER = logging.getLogger(__name__)

#: Published tables whose every row has the geometry of its level-3 area (``publish.refresh``
#: and ``store.save_analysis_run`` copy ``publish.areas.geom``; tests/test_server_features.py
#: checks it), and the column naming that area: their features take the geometry from
#: ``features.AREA_GEOMETRIES``.
AREA_CODE_COLUMN = {
    "areas": "code",
    "observations": "area_code",
    "situation": "area_code",
    "hotspots": "area_code",
    "trends": "area_code",
}


#: libpq ``options`` of the server's database sessions (see ``PublishProvider.__init__``).
SESSION_SETTINGS = "-c max_parallel_workers_per_gather=0 -c jit=off"


class DatabaseUnavailableProviderError(ProviderConnectionError):
    """PostgreSQL cannot be reached; the request may be retried shortly."""

    ogc_exception_code = "ServiceUnavailable"
    http_status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_msg = "The database is not reachable right now; please retry in a few seconds."


def _unavailable(exc: Exception) -> DatabaseUnavailableProviderError:
    LOGGER.warning("Database unavailable: %s", exc)
    return DatabaseUnavailableProviderError(
        user_msg="Databasen går inte att nå just nu / the database is not reachable right now;"
        " please retry in a few seconds."
    )


def _is_connection_problem(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)


@functools.lru_cache(maxsize=16)
def _transformer(source_wkt: str, target_wkt: str, always_xy: bool):
    """A reusable coordinate transform function (shapely geometry -> geometry)."""
    transformer = pyproj.Transformer.from_crs(
        pyproj.CRS.from_wkt(source_wkt), pyproj.CRS.from_wkt(target_wkt), always_xy=always_xy
    )

    def coords(xy: np.ndarray) -> np.ndarray:
        # vectorised over all vertices (shapely.ops.transform calls pyproj per ring)
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return functools.partial(shapely.transform, transformation=coords)


def _parse_instant(text: str) -> date:
    """The calendar date of an RFC 3339 date or date-time (weeks are local calendar weeks)."""
    text = text.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


class PublishProvider(PostgreSQLProvider):
    """pygeoapi's PostgreSQL provider with the corrections described in the module docstring."""

    def __init__(self, provider_def: dict):
        # Every request is a small indexed read (a page, a COUNT). PostgreSQL's parallel
        # workers cost more to start than they save there (a page of 100 took 160-220 ms with
        # a Gather Merge, 35-50 ms without, in bench/serve.py) and compete for the same cores
        # under concurrent requests; JIT compilation likewise. Off for the server's sessions.
        options = dict(provider_def.get("options") or {})
        options.setdefault("options", SESSION_SETTINGS)
        provider_def = {**provider_def, "options": options}
        try:
            super().__init__(provider_def)
        except ProviderConnectionError as exc:
            raise _unavailable(exc) from exc
        except DBAPIError as exc:
            if _is_connection_problem(exc):
                raise _unavailable(exc) from exc
            raise

    def get_fields(self):
        """Fields as JSON schema types; dates are strings of format ``date``.

        pygeoapi's own mapping does not know SQL ``date`` and logs a warning for every column
        on every request (it builds a provider per request).
        """
        if not self._fields:
            for column in self.table_model.__table__.columns:
                if column.name == self.geom:
                    continue
                self._fields[str(column.name)] = _json_type(column.type)
        return self._fields

    # -- queries ---------------------------------------------------------------------------

    def query(self, *args, crs_transform_spec: CrsTransformSpec | None = None, **kwargs):
        filterq = kwargs.get("filterq")
        if filterq is not None and not isinstance(filterq, pygeofilter.ast.Node | bool):
            # A CQL2-JSON body that is a bare value ("AAA", 5, []) parses but is no condition;
            # SQLAlchemy then refused it with an ArgumentError, a 500 (found by schemathesis).
            raise ProviderInvalidQueryError(
                user_msg="The CQL2-JSON filter must be a condition, e.g. "
                '{"op": "=", "args": [{"property": "indicator"}, "ran"]}.'
            )
        if filterq is not None:
            self._check_filter_properties(filterq)
            _label_crs84_as_srid_4326(filterq)
        try:
            has_geometry = self.geom in self.table_model.__table__.columns
            if args or (has_geometry and self.table not in AREA_CODE_COLUMN):
                result = super().query(*args, crs_transform_spec=None, **kwargs)
            else:  # geometry from the area cache, or none at all (the catalogue)
                area_key = AREA_CODE_COLUMN[self.table] if has_geometry else None
                result = self._query_rows(area_key, **kwargs)
        except DBAPIError as exc:
            raise self._translate(exc) from exc
        self._transform(result.get("features", []), crs_transform_spec)
        return result

    def _query_rows(
        self,
        area_key: str | None,
        offset=0,
        limit=10,
        resulttype="results",
        bbox=(),
        datetime_=None,
        properties=(),
        sortby=(),
        select_properties=(),
        skip_geometry=False,
        filterq=None,
        **_ignored,
    ) -> dict:
        """pygeoapi's query (same filters, order, paging, count and feature layout) with the
        columns read as plain rows and each geometry taken from :mod:`.features`."""
        table = self.table_model.__table__
        where = [
            self._get_property_filters(list(properties)),
            self._get_cql_filters(filterq),
            self._get_bbox_filter(list(bbox)),
            self._get_datetime_filter(datetime_),
        ]
        keys = [k for k in (select_properties or self.fields.keys()) if k in table.columns]
        # The properties first, then the id and area code when they are not among them.
        extra = dict.fromkeys(n for n in (self.id_field, area_key) if n and n not in keys)
        wanted = [*keys, *extra]
        response = {"type": "FeatureCollection", "features": [], "numberReturned": 0}
        with self._engine.connect() as conn:
            if self.count or resulttype == "hits":
                count = select(func.count()).select_from(table).where(*where)
                response["numberMatched"] = conn.execute(count).scalar_one()
            if resulttype == "hits":
                return response
            rows = conn.execute(self._page(wanted, where, sortby, offset, limit)).all()
            shapes = (
                AREA_GEOMETRIES.get(conn, self._engine)
                if area_key and not skip_geometry and rows
                else {}
            )
        position = {name: i for i, name in enumerate(wanted)}  # rows are plain tuples
        at_key, at_area, n = position[self.id_field], position.get(area_key), len(keys)
        response["features"] = [
            {
                "type": "Feature",
                "properties": dict(zip(keys, row[:n], strict=True)),
                "id": row[at_key],
                "geometry": shapes.get(row[at_area]) if area_key else None,
            }
            for row in rows
        ]
        response["numberReturned"] = len(rows)
        return response

    def _page(self, wanted, where, sortby, offset: int, limit: int):
        """One page in two steps: the page's ids in the requested order (answered from an index
        alone when one holds the filtered and sorted columns, e.g. ``(indicator, id) INCLUDE
        (week_start, week_end, value)``), then those rows. Asked in one step, PostgreSQL
        walked the primary key and read every row in id order until 100 matched: ~19,000 rows
        and 9-15 ms for the benchmark's request (bench/serve.py), against ~1.7 ms in two.
        The id breaks ties, so pages of a sort by another property never overlap. The id field
        of every published collection is its table's primary key (pygeoapi-config.yml), so the
        join finds each row once.
        """
        table = self.table_model.__table__
        key = table.columns[self.id_field]
        order = self._get_order_by_clauses(list(sortby), self.table_model)
        if sortby and all(s["property"] != self.id_field for s in sortby):
            order.append(key.asc())  # (without sortby, pygeoapi's order is the id already)
        ids = select(key).where(*where).order_by(*order).offset(offset).limit(limit).subquery()
        return (
            select(*(table.columns[name] for name in wanted))
            .join_from(table, ids, key == ids.c[self.id_field])
            .order_by(*order)
        )

    def get(self, identifier, crs_transform_spec: CrsTransformSpec | None = None, **kwargs):
        try:
            feature = super().get(identifier, crs_transform_spec=None, **kwargs)
        except DBAPIError as exc:
            raise self._translate(exc) from exc
        self._transform([feature], crs_transform_spec)
        return feature

    def _translate(self, exc: DBAPIError) -> Exception:
        if _is_connection_problem(exc):
            return _unavailable(exc)
        if isinstance(exc, DataError | ProgrammingError):
            detail = str(getattr(exc, "orig", exc)).splitlines()[0]
            return ProviderInvalidQueryError(
                user_msg=f"The database refused the filter: {detail}. Compare each property "
                "with a value of its type (see /collections/{id}/queryables)."
            )
        LOGGER.exception("Unexpected database error")
        return ProviderQueryError(user_msg="The query failed; the error is logged.")

    def _check_filter_properties(self, node) -> None:
        """400 for a CQL2 filter naming a property the collection does not have."""
        known = set(self.table_model.__table__.columns.keys())
        unknown = sorted(
            {n.name for n in _walk(node) if isinstance(n, pygeofilter.ast.Attribute)} - known
        )
        if unknown:
            queryables = ", ".join(sorted(known - {self.geom}))
            raise ProviderInvalidQueryError(
                user_msg=f"Unknown propert{'ies' if len(unknown) > 1 else 'y'} in filter: "
                f"{', '.join(unknown)}. Queryables: {queryables}."
            )

    def _get_bbox_filter(self, bbox):
        """400 for a ``bbox`` on a collection without geometry (the catalogue).

        pygeoapi looks the configured geometry column up on the table and failed with an
        AttributeError, a 500 (found by schemathesis).
        """
        if bbox and self.geom not in self.table_model.__table__.columns:
            raise ProviderInvalidQueryError(
                user_msg=f"The collection {self.table} has no geometry, so bbox cannot select "
                "from it; filter by property instead."
            )
        return super()._get_bbox_filter(bbox)

    def _get_datetime_filter(self, datetime_):
        """Weeks whose span intersects the instant or interval (both ends inclusive)."""
        columns = self.table_model.__table__.columns
        if datetime_ in (None, "../..") or self.time_field != "week_start":
            return super()._get_datetime_filter(datetime_)
        if "week_end" not in columns:
            return super()._get_datetime_filter(datetime_)
        start, end = columns["week_start"], columns["week_end"]
        if "/" in datetime_:
            begin_text, end_text = datetime_.split("/", 1)
        else:
            begin_text = end_text = datetime_
        try:
            begin = None if begin_text in ("", "..") else _parse_instant(begin_text)
            finish = None if end_text in ("", "..") else _parse_instant(end_text)
        except ValueError as exc:
            raise ProviderInvalidQueryError(
                user_msg=f"datetime {datetime_!r} is not an RFC 3339 date, date-time or "
                "interval (e.g. 2026-02-09/2026-02-15)"
            ) from exc
        clauses = []
        if finish is not None:
            clauses.append(start <= finish)
        if begin is not None:
            clauses.append(end >= begin)
            # Redundant but sargable: an ISO week ends 6 days after it starts (publish.refresh
            # writes week_end = week_start + 6), so this bounds week_start from below too and
            # the (indicator, week_start) index limits both ends. Measured on Stockholms län
            # (bench/serve.py): the numberMatched COUNT went from ~120 ms to ~30 ms.
            clauses.append(start >= begin - timedelta(days=6))
        return and_(*clauses) if clauses else True

    # -- coordinates -----------------------------------------------------------------------

    @staticmethod
    def _transform(features: list[dict], spec: CrsTransformSpec | None) -> None:
        if spec is None:
            return
        from pygeoapi.crs import crs_transform_feature

        func = _transformer(spec.source_crs_wkt, spec.target_crs_wkt, spec.always_xy)
        for feature in features:
            crs_transform_feature(feature, func)


def _json_type(sql_type) -> dict:
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


def _label_crs84_as_srid_4326(node) -> None:
    """Make CQL2 geometries in CRS84 reach PostGIS as SRID 4326.

    pygeoapi labels geometries already transformed to the storage CRS with
    ``urn:ogc:def:crs:OGC::CRS84``; pygeofilter takes the text after ``::`` as the SRID and
    PostGIS fails on ``SRID=CRS84;POINT(...)`` (an HTTP 500 for every spatial filter). The
    coordinates are (longitude, latitude), which is PostGIS's x/y order for SRID 4326.
    """
    for sub in _walk(node):
        if isinstance(sub, pygeofilter.values.Geometry):
            props = sub.geometry.setdefault("crs", {}).setdefault("properties", {})
            if "CRS84" in str(props.get("name", "")).upper():
                props["name"] = "urn:ogc:def:crs:EPSG::4326"


def _walk(node):
    yield node
    try:
        subs = node.get_sub_nodes()
    except AttributeError:
        return
    for sub in subs or []:
        yield from _walk(sub)
