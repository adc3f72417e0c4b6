"""Replace the area layer in schema ``lagesbild``: all levels at once, or nothing; keep versions.

Area layers change (SCB revised DeSO in 2025; municipalities revise their NYKO areas), while
stored deliveries keep the codes they were delivered with. So an import that changes a layer
deliveries were made against does not overwrite it: the current level-3 areas are kept as a
past version (``lagesbild.area_past``, keyed by version and code), the new layer becomes the
current version (``lagesbild.area``, every reader of the layer reads it unchanged), and the
crosswalk from every past version to the current one is made (``lagesbild.area_crosswalk``):
the share of each old area that lies in each new area, by population where the new areas'
populations are known, else by land area. The publication apportions the history by it
(``db/functions/20_refresh.sql``); ``docs/areas.md`` explains the rules.

An import that changes nothing deliveries depend on (no delivery was made against the current
version, or the codes and geometries are the same and only names or populations change)
replaces the current version in place, as before versions existed.

The area locator (the index the ingest places events with) is saved beside the import, built
on the geometries as stored so that it answers as PostGIS does. How it is built is the
ingest's business (``ingest.locate``): the caller hands in ``index``, which turns the stored
level-3 codes and geometries into bytes and the format they are in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import psycopg
import shapely

from lagesbild_geo.db.connection import one
from lagesbild_geo.errors import ConflictError
from lagesbild_geo.store import reads as queries

#: Builds the saved area index from the level-3 codes and geometries as stored: (bytes, format).
AreaIndex = Callable[[list[str], np.ndarray], tuple[bytes, int]]

#: A piece of an old area smaller than this share of it is a sliver of the two layers'
#: simplified boundaries, not a place the old area's events happened in; it is left out of the
#: crosswalk and the other pieces' weights add up to 1 without it.
MIN_PIECE_SHARE = 0.01

_COLUMNS = ("code", "name", "level", "parent_code", "population")


def replace_areas(
    conn: psycopg.Connection,
    levels: Iterable[pd.DataFrame],
    *,
    source: str,
    report: dict,
    index: AreaIndex,
) -> int:
    """Replace the whole area layer (all levels) in one transaction; return the level-3 count.

    Each frame has code, name, level, parent_code, population and geometry (EPSG:3006). When
    deliveries were made against the current version and the new layer differs from it in
    its level-3 codes or geometries, the new layer becomes a new version and the crosswalk
    from the earlier versions is made; refused (nothing changes) when an area of an earlier
    version that stored deliveries use lies outside the new layer. The caller rebuilds the
    public layers in the same transaction (``publish.publication.refresh``), so they never
    show old and new areas mixed: ``publish/`` is the only writer to schema publish.
    ``index`` builds the area locator saved with the import, from the areas as stored. The
    level prefixes the report names (``level_prefixes``) are kept with the version.
    """
    level_prefixes = report.get("level_prefixes")
    frames = [f for f in levels if len(f)]
    with conn.transaction():
        # one import at a time: the version decided below must still be the current one
        conn.execute("LOCK TABLE lagesbild.area_version IN EXCLUSIVE MODE")
        _stage(conn, frames)
        (current,) = one(conn, "SELECT lagesbild.current_area_version()")
        if current is None or not _depended_on(conn, current):
            version = _replace_version(conn, current, source, report, level_prefixes)
        else:
            version = _new_version(conn, current, source, report, level_prefixes)
        conn.execute("SET CONSTRAINTS ALL DEFERRED")
        conn.execute("DELETE FROM lagesbild.area")
        conn.execute(
            "INSERT INTO lagesbild.area (code, name, level, parent_code, population, geom)"
            " SELECT code, name, level, parent_code, population, ST_Multi(geom)"
            " FROM pg_temp.new_area"
        )
        _crosswalk(conn, version)
        # built on the geometries as stored: it must answer as PostGIS does
        locator, locator_format = index(*queries.level3_areas(conn))
        conn.execute(
            "INSERT INTO lagesbild.area_import"
            " (source, report, locator, locator_format, area_version)"
            " VALUES (%s, %s, %s, %s, %s)",
            (source, json.dumps(report, ensure_ascii=False), locator, locator_format, version),
        )
        (n,) = one(conn, "SELECT count(*) FROM lagesbild.area WHERE level = 3")
    return n


def stored_fields(conn: psycopg.Connection) -> pd.DataFrame:
    """Code, name and population of the current level-3 areas (empty before any import).

    A re-import that gives no name or population field keeps these for the codes that stay
    (``ingest.areas.keep_stored_fields``) instead of silently clearing them.
    """
    rows = conn.execute(
        "SELECT code, name, population FROM lagesbild.area WHERE level = 3 ORDER BY code"
    ).fetchall()
    frame = pd.DataFrame(rows, columns=["code", "name", "population"])
    frame["population"] = frame["population"].astype("Int64")
    return frame


def layer_versions(conn: psycopg.Connection) -> list[dict]:
    """Every version of the area layer, oldest first: when, from where, its level-3 areas and
    the deliveries made against it (``lagesbild areas list``)."""
    rows = conn.execute(
        """
        SELECT v.id, v.imported_at, v.source, v.id = lagesbild.current_area_version(),
               CASE WHEN v.id = lagesbild.current_area_version()
                    THEN (SELECT count(*) FROM lagesbild.area WHERE level = 3)
                    ELSE (SELECT count(*) FROM lagesbild.area_past p WHERE p.version_id = v.id)
               END,
               (SELECT count(*) FROM lagesbild.delivery d WHERE d.area_version = v.id),
               (SELECT count(DISTINCT x.from_code) FROM lagesbild.area_crosswalk x
                 WHERE x.from_version = v.id)
        FROM lagesbild.area_version v
        ORDER BY v.id
        """
    ).fetchall()
    names = ("version", "imported_at", "source", "current", "areas", "deliveries", "crosswalked")
    return [dict(zip(names, r, strict=True)) for r in rows]


# --- the steps of an import ---------------------------------------------------------------------


def _stage(conn: psycopg.Connection, frames: list[pd.DataFrame]) -> None:
    """The new layer, all levels, in a temporary table shaped like ``lagesbild.area``."""
    conn.execute("DROP TABLE IF EXISTS pg_temp.new_area")
    conn.execute(
        "CREATE TEMP TABLE new_area (code text, name text, level smallint, parent_code text,"
        " population integer, geom geometry) ON COMMIT DROP"
    )
    with conn.cursor().copy(
        "COPY pg_temp.new_area (code, name, level, parent_code, population, geom) FROM STDIN"
    ) as copy:
        for frame in frames:
            geoms = shapely.to_wkb(
                shapely.force_2d(frame.geometry.to_numpy()), hex=True, include_srid=False
            )
            # the columns zipped, as itertuples does, so that the values keep the columns'
            # types (pandas-stubs type an itertuples field as any scalar, not int-able)
            columns = (frame[c] for c in _COLUMNS)
            for code, name, level, parent_code, pop, wkb in zip(*columns, geoms, strict=True):
                copy.write_row(
                    (
                        str(code),
                        str(name),
                        int(level),
                        None if pd.isna(parent_code) else str(parent_code),
                        None if pd.isna(pop) else int(pop),
                        f"SRID=3006;{wkb}",
                    )
                )


def _depended_on(conn: psycopg.Connection, current: int) -> bool:
    """Deliveries were made against the current version and the new layer changes a level-3
    code or geometry: the current version must be kept as it is."""
    (delivered,) = one(
        conn, "SELECT EXISTS (SELECT 1 FROM lagesbild.delivery WHERE area_version = %s)", (current,)
    )
    if not delivered:
        return False
    (changed,) = one(
        conn,
        """
        SELECT EXISTS (
            SELECT 1
            FROM (SELECT code, geom FROM lagesbild.area WHERE level = 3) a
            FULL JOIN (SELECT code, geom FROM pg_temp.new_area WHERE level = 3) n USING (code)
            WHERE a.code IS NULL OR n.code IS NULL OR NOT ST_Equals(a.geom, n.geom)
        )
        """,
    )
    return bool(changed)


def _replace_version(
    conn: psycopg.Connection,
    current: int | None,
    source: str,
    report: dict,
    level_prefixes: tuple[int, ...] | None,
) -> int:
    """The current version, its description replaced (or the first version)."""
    values = (source, json.dumps(report, ensure_ascii=False), _prefixes(level_prefixes))
    if current is None:
        (version,) = one(
            conn,
            "INSERT INTO lagesbild.area_version (source, report, level_prefixes)"
            " VALUES (%s, %s, %s) RETURNING id",
            values,
        )
        return int(version)
    conn.execute(
        "UPDATE lagesbild.area_version SET source = %s, report = %s, level_prefixes = %s,"
        " imported_at = now() WHERE id = %s",
        (*values, current),
    )
    return current


def _new_version(
    conn: psycopg.Connection,
    current: int,
    source: str,
    report: dict,
    level_prefixes: tuple[int, ...] | None,
) -> int:
    """Keep the current level-3 areas as a past version and open a new one."""
    conn.execute(
        "INSERT INTO lagesbild.area_past (version_id, code, name, population, geom)"
        " SELECT %s, code, name, population, geom FROM lagesbild.area WHERE level = 3",
        (current,),
    )
    return _replace_version(conn, None, source, report, level_prefixes)


def _crosswalk(conn: psycopg.Connection, version: int) -> None:
    """The crosswalk from every past version to ``version``; refuse a layer that leaves out an
    old area deliveries use.

    An old area whose code and boundary the new layer keeps carries its history to itself,
    whole (weight 1, basis ``unchanged``): the slivers where simplified neighbours overlap
    must not move its counts. Otherwise, the weight of new area B for old area A: the share
    of A's population in B when every new
    area overlapping A has a population (B's population times the share of B's land that lies
    in A: exact when B lies within A, as in a split), else the share of A's land in B. Pieces
    under :data:`MIN_PIECE_SHARE` of A are slivers and left out.
    """
    conn.execute("DELETE FROM lagesbild.area_crosswalk")
    (past,) = one(conn, "SELECT EXISTS (SELECT 1 FROM lagesbild.area_past)")
    if not past:  # one version: nothing to carry over (the common case)
        return
    conn.execute(
        """
        INSERT INTO lagesbild.area_crosswalk
            (from_version, from_code, to_version, to_code, weight, basis)
        WITH unchanged AS (
            SELECT p.version_id, p.code
            FROM lagesbild.area_past p
            JOIN lagesbild.area a ON a.level = 3 AND a.code = p.code AND ST_Equals(a.geom, p.geom)
        ), pieces AS (
            SELECT p.version_id, p.code AS from_code, a.code AS to_code,
                   ST_Area(ST_Intersection(p.geom, a.geom)) AS piece_m2,
                   ST_Area(p.geom) AS old_m2,
                   a.population * ST_Area(ST_Intersection(p.geom, a.geom))
                       / nullif(ST_Area(a.geom), 0) AS piece_pop
            FROM lagesbild.area_past p
            JOIN lagesbild.area a ON a.level = 3 AND ST_Intersects(p.geom, a.geom)
            WHERE (p.version_id, p.code) NOT IN (SELECT version_id, code FROM unchanged)
        ), kept AS (
            SELECT k.*,
                   count(*) OVER w = count(k.piece_pop) OVER w
                       AND sum(k.piece_pop) OVER w > 0 AS by_population,
                   sum(k.piece_pop) OVER w AS total_pop,
                   sum(k.piece_m2) OVER w AS total_m2
            FROM pieces k
            WHERE k.piece_m2 >= %(min_share)s * k.old_m2
            WINDOW w AS (PARTITION BY k.version_id, k.from_code)
        )
        SELECT version_id, from_code, %(version)s, to_code, weight, basis
        FROM (
            SELECT version_id, from_code, to_code,
                   CASE WHEN by_population THEN piece_pop / total_pop
                        ELSE piece_m2 / total_m2 END AS weight,
                   CASE WHEN by_population THEN 'population' ELSE 'area' END AS basis
            FROM kept
            UNION ALL
            SELECT version_id, code, code, 1.0, 'unchanged' FROM unchanged
        ) w
        WHERE weight > 0
        """,
        {"min_share": MIN_PIECE_SHARE, "version": version},
    )
    lost = conn.execute(
        """
        SELECT d.area_version, o.area_code
        FROM lagesbild.delivery d
        JOIN lagesbild.observation o ON o.delivery_id = d.id
        WHERE d.area_version <> %(version)s
        GROUP BY 1, 2
        HAVING NOT EXISTS (SELECT 1 FROM lagesbild.area_crosswalk x
                           WHERE x.from_version = d.area_version AND x.from_code = o.area_code)
        ORDER BY 1, 2
        """,
        {"version": version},
    ).fetchall()
    if lost:
        shown = ", ".join(f"{code} (version {v})" for v, code in lost[:5])
        raise ConflictError(
            f"The new area layer leaves out {len(lost)} areas of earlier layer versions that "
            f"stored deliveries use (e.g. {shown}): their history would have no area to go "
            "to. Import a layer that covers them; nothing was imported."
        )


def _prefixes(level_prefixes: tuple[int, ...] | None) -> list[int] | None:
    return None if level_prefixes is None else [int(p) for p in level_prefixes]
