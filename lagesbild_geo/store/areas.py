"""Replace the area layer in schema ``lagesbild``: all levels at once, or nothing.

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


def replace_areas(
    conn: psycopg.Connection,
    levels: Iterable[pd.DataFrame],
    *,
    source: str,
    report: dict,
    index: AreaIndex,
) -> int:
    """Replace the whole area layer (all levels) in one transaction; return the level-3 count.

    Each frame has code, name, level, parent_code, population and geometry (EPSG:3006).
    Refused when stored observations refer to a level-3 code the new layer lacks. The caller
    rebuilds the public layers in the same transaction (``publish.publication.refresh``), so
    they never show old and new areas mixed: ``publish/`` is the only writer to schema publish.
    ``index`` builds the area locator saved with the import, from the areas as stored.
    """
    frames = [f for f in levels if len(f)]
    new_codes = {str(c) for f in frames for c in f["code"]}
    with conn.transaction():
        used = {r[0] for r in conn.execute("SELECT DISTINCT area_code FROM lagesbild.observation")}
        missing = sorted(used - new_codes)
        if missing:
            raise ConflictError(
                f"The new area layer lacks {len(missing)} codes that stored deliveries use "
                f"(e.g. {', '.join(missing[:5])}); import a layer that keeps them."
            )
        conn.execute("SET CONSTRAINTS ALL DEFERRED")
        conn.execute("DELETE FROM lagesbild.area")
        with conn.cursor().copy(
            "COPY lagesbild.area (code, name, level, parent_code, population, geom) FROM STDIN"
        ) as copy:
            for frame in frames:
                geoms = shapely.to_wkb(
                    shapely.force_2d(frame.geometry.to_numpy()), hex=True, include_srid=False
                )
                # the columns zipped, as itertuples does, so that the values keep the columns'
                # types (pandas-stubs type an itertuples field as any scalar, not int-able)
                columns = (frame[c] for c in ("code", "name", "level", "parent_code", "population"))
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
        conn.execute(
            "UPDATE lagesbild.area SET geom = ST_Multi(geom) WHERE GeometryType(geom) = 'POLYGON'"
        )
        # built on the geometries as stored: it must answer as PostGIS does
        locator, locator_format = index(*queries.level3_areas(conn))
        conn.execute(
            "INSERT INTO lagesbild.area_import (source, report, locator, locator_format)"
            " VALUES (%s, %s, %s, %s)",
            (source, json.dumps(report, ensure_ascii=False), locator, locator_format),
        )
        (n,) = one(conn, "SELECT count(*) FROM lagesbild.area WHERE level = 3")
    return n
