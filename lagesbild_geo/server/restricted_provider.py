"""The pygeoapi feature provider of the restricted layers: exact data, read as the caller.

The layers are the security-invoker views of schema ``restricted`` (migration 0025): an
actor's own exact cells (``my-observations``) and deliveries (``my-deliveries``), the
analyst's exact joined picture (``exact-observations``). Each collection names the role it
is for in its provider definition (``role: actor`` in pygeoapi-config.yml).

pygeoapi's providers never see the request: the caller comes from
:data:`lagesbild_geo.access.identity.CURRENT`, which the middleware set. Every read -- a page,
a count, one item -- runs in ONE transaction of the login ``lagesbild_server`` that begins
with :func:`lagesbild_geo.access.session.enter` (``SET LOCAL ROLE`` to the caller's group role,
the caller in ``set_config``), so the row-level security of migration 0020 decides which rows
exist: a CQL2 filter, ``sortby``, ``properties`` or an item id can only ever reach the caller's
own rows, and an item of someone else is a 404 because for this caller it is not there. The
same transaction writes the access log's row (``layer.read``: who read which layer, when, how
many items), so a read that is not logged did not happen.

Everything else is :class:`~lagesbild_geo.server.provider.PublishProvider`'s (filters, paging,
the area geometries from the cache, errors): its reads are handed the caller's transaction
through the engine they connect with (:class:`_CallerConnection`).

Who may not read: the public is a 401 (pygeoapi answers a provider's error with its
``http_status_code``; the middleware adds ``WWW-Authenticate``), a caller without the
collection's role a 403. The collections are listed in the public ``/collections`` with their
metadata (schema, title, description; no data, no temporal extent): QGIS and other clients
find the layer there, the OpenAPI document describes it, and nothing in the metadata is
restricted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from http import HTTPStatus
from typing import cast

import psycopg
from pygeoapi.crs import CrsTransformSpec
from pygeoapi.provider.base import (
    ProviderGenericError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from pygeoapi.provider.sql import POOL_OPTION_DEFAULTS
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError

from lagesbild_geo.access import identity, session
from lagesbild_geo.access import log as access_log
from lagesbild_geo.access.identity import ROLES, Identity
from lagesbild_geo.db.connection import connection_lost
from lagesbild_geo.errors import AuthenticationError, ForbiddenError
from lagesbild_geo.server.errors import database_unavailable
from lagesbild_geo.server.patches import engine_of
from lagesbild_geo.server.provider import AREA_CODE_COLUMN, PublishProvider

LOGGER = logging.getLogger(__name__)

#: The access log's action for a read of a restricted layer (lagesbild.access_log).
READ_ACTION = "layer.read"
#: A read's transaction writes nothing but its access log row, and commits without waiting
#: for that row to reach the disk: a synchronous commit waited 3.5-4 ms for the WAL flush on
#: this project's benchmark machine (0.1 ms without), on every page of every restricted
#: layer, holding one of the worker's threads. The trade: if PostgreSQL or the machine
#: crashes, the log rows of the reads committed in the last ~0.6 s (three times
#: wal_writer_delay) can be lost, while their callers had the answers; nothing else is (the
#: database stays consistent, every write of data -- deliveries, reviews, keys, imports --
#: and its log row keep the synchronous commit). docs/access.md says so.
READ_SETTINGS = {"synchronous_commit": "off"}


def restricted_collections(config: dict) -> dict[str, str]:
    """Collection name -> table of every collection of pygeoapi's configuration that this
    provider serves: the paths the middleware must never answer from a cache or with a
    public validator (a public ``If-None-Match: *`` would otherwise get a 304 instead of the
    401), and whose query parameters it checks against the view's columns.

    >>> restricted_collections({"resources": {
    ...     "observations": {"type": "collection", "providers": [{"type": "feature",
    ...         "name": "lagesbild_geo.server.provider.PublishProvider", "table": "observations"}]},
    ...     "my-deliveries": {"type": "collection", "providers": [{"type": "feature",
    ...         "name": f"{__name__}.RestrictedProvider", "table": "my_deliveries"}]}}})
    {'my-deliveries': 'my_deliveries'}
    """
    provider_name = f"{__name__}.{RestrictedProvider.__name__}"
    return {
        name: provider["table"]
        for name, resource in config.get("resources", {}).items()
        if resource.get("type") == "collection"
        for provider in resource.get("providers", [])
        if provider.get("name") == provider_name
    }


class AuthenticationRequiredError(ProviderGenericError):
    """The public asked for a restricted layer: the error table's 401."""

    ogc_exception_code = AuthenticationError.ogc_code
    http_status_code = HTTPStatus(AuthenticationError.http_status)
    default_msg = (
        "Lagret kräver inloggning / this layer needs credentials: send an API key "
        "(X-API-Key) or a bearer token (Authorization: Bearer)."
    )


class RoleRequiredError(ProviderGenericError):
    """A caller without the layer's role: the error table's 403."""

    ogc_exception_code = ForbiddenError.ogc_code
    http_status_code = HTTPStatus(ForbiddenError.http_status)


#: The caller's transaction of the read being answered (see RestrictedProvider._as_caller).
_TRANSACTION: ContextVar[Connection | None] = ContextVar("restricted_transaction", default=None)
#: Engines of the callers' transactions, per process (made on the first read, in the worker).
_ENGINES: dict[tuple, Engine] = {}


def _transaction_engine(provider: PublishProvider) -> Engine:
    """psycopg 3 on the provider's connection (``lagesbild_server``), NOT in autocommit: a
    read is a transaction (``SET LOCAL`` lasts until its end), and a connection goes back to
    the pool rolled back, so nothing of one caller's settings reaches the next request."""
    options = dict(provider.db_options)
    pool = {key: options.pop(key, default) for key, default in POOL_OPTION_DEFAULTS.items()}
    key = (engine_of(provider).url, tuple(sorted(options.items())), tuple(sorted(pool.items())))
    engine = _ENGINES.get(key)
    if engine is None:
        engine = create_engine(
            engine_of(provider).url.set(drivername="postgresql+psycopg"),
            connect_args=options,
            pool_reset_on_return="rollback",
            **pool,
        )
        _ENGINES[key] = engine
    return engine


class _CallerConnection:
    """What :class:`PublishProvider`'s reads take for their engine: ``connect()`` gives the
    connection of the caller's transaction that is open for this read (and leaves it open:
    the transaction ends with the read, after the access log's row)."""

    def __init__(self, provider: PublishProvider):
        self._provider = provider

    @property
    def dialect(self):
        return _transaction_engine(self._provider).dialect

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        conn = _TRANSACTION.get()
        if conn is None:  # every read enters RestrictedProvider._as_caller first
            raise RuntimeError("a restricted layer was read outside the caller's transaction")
        yield conn


class RestrictedProvider(PublishProvider):
    """:class:`PublishProvider` whose every read is the caller's transaction in the
    collection's role (module docstring)."""

    def __init__(self, provider_def: dict):
        if getattr(self, "_definition", None) is provider_def:
            return  # handed back by PublishProvider.__new__, built already
        role = provider_def.get("role")
        if role not in ROLES:
            raise ValueError(
                f"pygeoapi-config.yml: the restricted collection of table "
                f"{provider_def.get('table')!r} needs role: one of {', '.join(ROLES)}"
            )
        super().__init__(provider_def)
        self.role = role
        #: the collection's name in the access log: the resource key of pygeoapi-config.yml
        self.collection = self.table.replace("_", "-")
        # duck-typed: what PublishProvider's reads use of their engine (connect, dialect)
        self._read_engine = _CallerConnection(self)  # type: ignore[assignment]

    def query(self, *args, crs_transform_spec: CrsTransformSpec | None = None, **kwargs):
        with self._as_caller() as conn:
            result = super().query(*args, crs_transform_spec=crs_transform_spec, **kwargs)
            items = len(result.get("features", []))
            detail = {"items": items}
            if kwargs.get("resulttype") == "hits":
                detail["matched"] = result.get("numberMatched")
            access_log.write(conn, READ_ACTION, "collection", self.collection, detail)
        return result

    def get(self, identifier, crs_transform_spec: CrsTransformSpec | None = None, **kwargs):
        """One item, if it is the caller's: read through the same filtered path as a page
        (an id of someone else's row finds nothing: 404, as for an id that does not exist).
        No ``prev``/``next`` links: they would name the neighbouring ids."""
        with self._as_caller() as conn:
            area_key = AREA_CODE_COLUMN.get(self.table)
            if self.geom not in self.table_model.__table__.columns:
                area_key = None
            try:
                found = self._query_rows(
                    area_key, properties=[(self.id_field, str(identifier))], limit=1
                )["features"]
            except ProviderInvalidQueryError:  # not even of the id's type: not there either
                found = []
            except DBAPIError as exc:
                raise self._translate(exc) from exc
            access_log.write(
                conn,
                READ_ACTION,
                "collection",
                self.collection,
                {"items": len(found), "id": str(identifier)},
            )
        if not found:
            raise ProviderItemNotFoundError(user_msg=f"No such item: {identifier}")
        self._transform(found, crs_transform_spec)
        return found[0]

    def _caller(self) -> Identity:
        """The caller, when it may read this layer (401 for the public, 403 without the
        collection's role)."""
        caller = identity.current()
        if caller.is_public:
            raise AuthenticationRequiredError(user_msg=AuthenticationRequiredError.default_msg)
        if not caller.has(self.role):
            raise RoleRequiredError(
                user_msg=f"Lagret är för rollen {self.role} / this layer is for the role "
                f"{self.role}; the credential sent has another."
            )
        return caller

    @contextlib.contextmanager
    def _as_caller(self) -> Iterator[psycopg.Connection]:
        """A transaction as the caller in the collection's role for the reads inside the
        block (they find it through :class:`_CallerConnection`); yields its psycopg
        connection (for the access log). Committed when the block ends, rolled back when it
        raises."""
        caller = self._caller()
        try:
            with _transaction_engine(self).connect() as conn, conn.begin():
                # the engine is postgresql+psycopg: the driver's connection is psycopg's
                driver = cast(psycopg.Connection, conn.connection.driver_connection)
                # the transaction writes only the access log's row (READ_ACTION)
                session.enter(driver, caller, self.role, READ_SETTINGS)
                token = _TRANSACTION.set(conn)
                try:
                    yield driver
                finally:
                    _TRANSACTION.reset(token)
        except DBAPIError as exc:
            raise self._translate(exc) from exc
        except psycopg.Error as exc:  # session.enter or the log, on the driver itself
            if connection_lost(exc):
                raise database_unavailable(exc) from exc
            raise
