"""The SQL of one ``/items`` request around pygeoapi's filter: the count and the page.

Apart from :mod:`lagesbild_geo.server.provider` because it is the one place where this
service writes SQL text for the public reads (the filters stay pygeoapi's and pygeofilter's
SQLAlchemy expressions, except a bbox on the published tables: :func:`rows_of_areas_in`); what
it asks of the database is described in docs/publishing.md.
"""

from __future__ import annotations

from geoalchemy2.functions import ST_Intersects, ST_MakeEnvelope
from pygeoapi.provider.base import ProviderInvalidQueryError
from sqlalchemy import ColumnClause, and_, column, literal_column, or_, select, table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.visitors import iterate

from lagesbild_geo.server.patches import engine_of

#: Tables and views with a table of counts by their properties of few values, and those
#: properties: numberMatched is summed from it when every column a filter names is one of
#: them. The public observations (migration 0012: 14,163 rows for 2.7 M features, the
#: benchmark's count ~5 ms -> ~1 ms); an actor's own cells and the analyst's exact ones
#: (migration 0028, views under the row-level security of the tables beneath, so an actor
#: sums its own counts only: ~300 rows of 20,090 for the benchmark's request, 0.8 ms, where
#: counting its 12,521 matching cells took ~20 ms in a window and the analyst's ~13 ms).
COUNT_TABLES = {
    "observations": ("observation_counts", frozenset((
        "iso_week", "week_start", "week_end", "indicator", "indicator_name_sv",
        "indicator_name_en", "unit", "actor_kind", "value", "value_status", "has_breakdown",
    ))),
    "my_observations": ("my_observation_counts", frozenset((
        "actor_id", "delivery_id", "delivery_status", "indicator", "indicator_name_sv",
        "indicator_name_en", "unit", "iso_week", "week_start", "week_end", "value",
        "has_breakdown",
    ))),
    "exact_observations": ("exact_observation_counts", frozenset((
        "indicator", "indicator_name_sv", "indicator_name_en", "unit", "iso_week",
        "week_start", "week_end", "actor_kind", "value", "n_actors", "has_breakdown",
    ))),
}  # fmt: skip


class Statements:
    """The SQL of one ``/items`` request around its filter: the count and the page.

    The filter (pygeoapi's property, CQL2, bbox and datetime expressions, as SQLAlchemy
    builds them) is compiled once, with its columns unqualified, so that the same text reads
    against the table and against its table of counts (:data:`COUNT_TABLES`). Values stay
    bound parameters; identifiers (the table, the selected and sorted columns, all names
    pygeoapi has checked against the table, checked again here) are quoted by the dialect.
    Written here rather than built with SQLAlchemy's ``select``: building, keying and
    compiling a select of 40 columns cost ~1.5 ms of CPU per request (bench/serve.py).
    """

    def __init__(self, provider, where: list):
        self.table = provider.table_model.__table__
        self.id_field = provider.id_field
        # The filter is compiled as pygeoapi's own engine (psycopg2) compiles it: values as
        # plain parameters, which PostgreSQL casts to the column's type ('false' to a
        # boolean). The psycopg 3 dialect would add casts of its own (``::VARCHAR``). The
        # parameter style is the same for both drivers; the statements run on psycopg 3.
        compiler = engine_of(provider).dialect
        self.dialect = provider._read_engine.dialect
        self.quote = compiler.identifier_preparer.quote

        clause = and_(*where)
        # every column the filter names (pygeoapi maps properties to the table's columns)
        self.named = {e.name for e in iterate(clause) if isinstance(e, ColumnClause)}
        compiled = clause.compile(
            dialect=compiler,
            compile_kwargs={"render_postcompile": True, "include_table": False},
        )
        self.where = str(compiled)
        self.params = {}
        for name, value in compiled.params.items():
            # the values of an IN list are named <bind>_1, <bind>_2, ... once rendered
            bind = compiled.binds.get(name)
            if bind is None:
                bind = compiled.binds[name.rpartition("_")[0]]
            process = bind.type.dialect_impl(compiler).bind_processor(compiler)
            self.params[name] = process(value) if process else value

    def _name(self, table_name: str) -> str:
        schema = self.table.schema
        name = self.quote(table_name)
        return f"{self.quote(schema)}.{name}" if schema else name

    def count(self) -> str:
        """numberMatched: from the table of counts when the filter names only its columns."""
        counts = COUNT_TABLES.get(self.table.name)
        if counts is not None and self.named <= counts[1]:
            return (
                f"SELECT coalesce(sum(n), 0)::bigint FROM {self._name(counts[0])} "
                f"WHERE {self.where}"
            )
        return f"SELECT count(*) FROM {self._name(self.table.name)} WHERE {self.where}"

    def page(
        self,
        wanted: list[str],
        sortby,
        offset: int,
        limit: int,
        counted: bool,
        one_step: bool = False,
        first: tuple[str, ...] = (),
    ) -> str:
        """One page in two steps: the page's ids in the requested order (answered from an
        index alone when one holds the filtered and sorted columns, e.g. ``(indicator, id)
        INCLUDE (week_start, week_end, value)``), then those rows. Asked in one step,
        PostgreSQL walked the primary key and read every row in id order until 100 matched:
        ~19,000 rows and 9-15 ms for the benchmark's request (bench/serve.py), against
        ~1.7 ms in two. The id breaks ties (pygeoapi's order without ``sortby`` is the id),
        so pages of a sort by another property never overlap. The id field of every
        collection is its table's primary key, or a stored column that is its view's key
        (``restricted.my_observations``: migration 0028), so the join finds each row once.
        ``counted``: numberMatched (:meth:`count`) as the first column.

        ``one_step``: for a layer whose id is unique only within its fixed rows (a
        per-indicator layer: the area code), where the join on the id would meet every
        indicator's row of the area: the page is read at once and numberMatched is a window
        count over the same scan.

        ``first``: columns whose values the first page should carry when no ``sortby`` is
        asked for: the rows with the fewest of them null come first (``num_nulls``), then the
        id. QGIS 3.22's own OAPIF provider types every field from the first page it reads
        (``items?limit=10``, through OGR's GeoJSON driver): a field null on all of those ten is
        a String for the whole layer (qgsoapifitemsrequest.cpp, release-3_22; measured in
        tests/server/test_field_types.py). Used by the per-indicator layers (one row per area,
        a few hundred to a few thousand rows a layer, read in one step and sorted anyway).
        """
        order = [(s["property"], "ASC" if s["order"] == "+" else "DESC") for s in sortby]
        lead = ""
        if not order and first and one_step:  # (a two-step page orders in its subquery)
            for name in first:
                if name not in self.table.columns:
                    raise ProviderInvalidQueryError(user_msg=f"Unknown property: {name}")
            lead = f"num_nulls({', '.join(f't.{self.quote(n)}' for n in first)}), "
        if all(name != self.id_field for name, _ in order):
            order.append((self.id_field, "ASC"))
        # Nulls last either way: PostgreSQL puts them first in a descending order, so
        # sortby=-value began with the protected weeks (value null) and a map client's "top
        # ten" was ten blanks. The id is the primary key (never null), so its order stays
        # the plain one an index scan gives.
        order = [
            (name, way if name == self.id_field else f"{way} NULLS LAST") for name, way in order
        ]
        for name in (*wanted, *(name for name, _ in order)):
            if name not in self.table.columns:
                raise ProviderInvalidQueryError(user_msg=f"Unknown property: {name}")
        q = self.quote
        key, table = q(self.id_field), self._name(self.table.name)
        self.params["lagesbild_offset"], self.params["lagesbild_limit"] = int(offset), int(limit)
        columns = ", ".join(f"t.{q(name)}" for name in wanted)
        sort = lead + ", ".join(f"t.{q(name)} {way}" for name, way in order)
        if one_step:
            if counted:
                columns = f"count(*) OVER (), {columns}"
            return (
                f"SELECT {columns} FROM {table} AS t WHERE {self.where} ORDER BY {sort}"
                " LIMIT %(lagesbild_limit)s OFFSET %(lagesbild_offset)s"
            )
        if counted:  # an uncorrelated scalar subquery: PostgreSQL runs it once
            columns = f"({self.count()}), {columns}"
        return (
            f"SELECT {columns} FROM {table} AS t"
            f" JOIN (SELECT {key} FROM {table} WHERE {self.where}"
            f" ORDER BY {', '.join(f'{q(name)} {way}' for name, way in order)}"
            " LIMIT %(lagesbild_limit)s OFFSET %(lagesbild_offset)s) AS p"
            f" ON t.{key} = p.{key}"
            f" ORDER BY {sort}"
        )

    def run(self, conn, statement: str):
        """Execute on the DBAPI connection (plain tuples, ~0.5 ms less per page than
        SQLAlchemy's rows); errors become SQLAlchemy's, a lost connection is invalidated."""
        dbapi = self.dialect.loaded_dbapi
        cursor = conn.connection.cursor()
        try:
            cursor.execute(statement, self.params)
        except dbapi.Error as exc:
            lost = self.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
            if lost:  # every pooled connection is as old as this one: start afresh
                conn.invalidate(exc)
                conn.engine.dispose()
            raise DBAPIError.instance(
                statement, self.params, exc, dbapi.Error, connection_invalidated=lost,
                dialect=self.dialect,
            ) from exc  # fmt: skip
        return cursor


def rows_of_areas_in(code, bbox: list, srid: int):
    """The ``bbox`` filter of a published table whose rows have their area's geometry
    (``provider.AREA_CODE_COLUMN``): ``code`` (the table's area-code column) among the codes
    of the areas the box intersects.

    Every row of such a table has its area's geometry, and the feature's geometry is written
    from publish.areas (``geojson.AREA_GEOMETRIES``): the rows a bbox selects are those of
    the areas it intersects, found among 1,287 shapes instead of 2.7 M copies of them.
    pygeoapi's ST_Intersects on the table's own GiST index read the geometry of every row of
    the view's areas in every week and indicator before the filter on week and indicator:
    215 ms a page of a map view with one week of one indicator (bench/serve.py), 0.4-6 ms
    this way, from (indicator, week_start) INCLUDE (..., area_code) alone (migration 0030).

    "OR false" keeps the IN a hashed subplan (the areas found once, by their GiST index, then
    a hash probe per row): PostgreSQL turns only a top-level IN into a semi-join
    (pull_up_sublinks, before constant folding drops the "OR false"), and as a join it chose
    a nested loop testing each row's area by its primary key: 8-20 ms for a county-wide view
    of trends against 2.7 ms (EXPLAIN ANALYZE, bench/serve.py's database).
    """
    areas = table("areas", column("code"), column("geom"), schema="publish")
    envelope = ST_MakeEnvelope(*bbox, srid)
    inside = select(areas.c.code).where(ST_Intersects(envelope, areas.c.geom))
    return or_(code.in_(inside), literal_column("false"))
