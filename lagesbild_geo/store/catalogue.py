"""Write the catalogue (actor kinds, indicators) and the actors to schema ``lagesbild``.

The kinds and indicators come from ``lagesbild_geo/data/indicators.yml`` (``catalogue``); this
module only copies them in, so that a new kind or indicator needs an edit of the catalogue
and nothing else. An actor's kind must be one the catalogue knows (a foreign key).
"""

from __future__ import annotations

import psycopg

from lagesbild_geo.catalogue import IndicatorCatalogue
from lagesbild_geo.errors import InputError


def sync_catalogue(conn: psycopg.Connection, catalogue: IndicatorCatalogue) -> int:
    """Insert or update actor kinds and indicators from the catalogue; return indicator count.

    Indicators are never deleted: stored observations may refer to them.
    """
    with conn.transaction():
        for kind in catalogue.actor_kinds.values():
            conn.execute(
                "INSERT INTO lagesbild.actor_kind (id, name_sv, name_en) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name_sv = EXCLUDED.name_sv,"
                " name_en = EXCLUDED.name_en",
                (kind.id, kind.name_sv, kind.name_en),
            )
        for ind in catalogue.indicators.values():
            conn.execute(
                "INSERT INTO lagesbild.indicator (id, name_sv, name_en, unit, owner_kind, measure,"
                " est_category, strategic, catalogue_version)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET name_sv = EXCLUDED.name_sv,"
                " name_en = EXCLUDED.name_en, unit = EXCLUDED.unit,"
                " owner_kind = EXCLUDED.owner_kind, measure = EXCLUDED.measure,"
                " est_category = EXCLUDED.est_category, strategic = EXCLUDED.strategic,"
                " catalogue_version = EXCLUDED.catalogue_version",
                (
                    ind.id,
                    ind.name_sv,
                    ind.name_en,
                    ind.unit,
                    ind.owner_kind,
                    ind.measure,
                    ind.est_category,
                    ind.strategic,
                    catalogue.version,
                ),
            )
    return len(catalogue.indicators)


def upsert_actor(conn: psycopg.Connection, actor_id: str, kind: str, name: str) -> None:
    with conn.transaction():
        try:
            conn.execute(
                "INSERT INTO lagesbild.actor (id, kind, name) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name",
                (actor_id, kind, name),
            )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise InputError(f"Unknown actor kind {kind!r}; load the catalogue first") from exc
        except psycopg.errors.CheckViolation as exc:
            raise InputError(
                f"Actor id {actor_id!r} must be lower-case letters, digits, '-' or '_'"
            ) from exc
