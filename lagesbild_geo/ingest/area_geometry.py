"""Measure an area layer's geometry: gaps and overlaps between areas, and who borders whom.

Municipal area layers are often simplified polygon by polygon, so neighbours overlap or leave
sliver gaps. The import reports both (``areas``) rather than silently "fixing" a layer the
municipality owns; the demo history and the hot-spot statistics need the adjacency. Pure
functions on GeoDataFrames in metres (EPSG:3006); nothing is read or refused here.
"""

from __future__ import annotations

from typing import TypedDict

import geopandas as gpd
import numpy as np
import shapely

#: Distance (m) within which an area counts as bordering a gap; covers floating-point noding.
TOUCH_TOLERANCE_M = 0.01


class Piece(TypedDict):
    """A gap or an overlap: its area and the codes of the areas bordering or sharing it."""

    area_m2: float
    codes: list[str]


def measure_gaps_and_overlaps(
    frame: gpd.GeoDataFrame, *, min_area_m2: float = 1.0
) -> tuple[list[Piece], list[Piece]]:
    """Gaps enclosed by the areas and overlaps between pairs of areas, in m².

    A gap is an interior ring of the union of all areas: land surrounded by areas but in none
    of them, where a point would be located nowhere. Gaps open to the outside cannot be told
    apart from the coastline or the municipal border and are not counted. An overlap is the
    intersection of two areas, where a point would be located twice. Pieces smaller than
    ``min_area_m2`` are floating-point noise and ignored.

    Returns
    -------
    gaps, overlaps
        ``{"area_m2": float, "codes": [...]}`` lists, largest first; a gap lists every code
        bordering it, an overlap the two codes involved.

    Examples
    --------
    >>> frame = gpd.GeoDataFrame({"code": ["a", "b"]},
    ...     geometry=[shapely.box(0, 0, 10, 10), shapely.box(8, 0, 20, 10)], crs=3006)
    >>> measure_gaps_and_overlaps(frame)
    ([], [{'area_m2': 20.0, 'codes': ['a', 'b']}])
    """
    if frame.crs is not None and not frame.crs.is_projected:
        raise ValueError("measure_gaps_and_overlaps needs metres; reproject to EPSG:3006 first")
    geoms = frame.geometry.to_numpy()
    codes = frame["code"].astype(str).to_numpy()
    if len(geoms) == 0:
        return [], []
    tree = shapely.STRtree(geoms)

    union = shapely.union_all(geoms)
    holes = np.array(
        [shapely.Polygon(ring) for part in shapely.get_parts(union) for ring in part.interiors],
        dtype=object,
    )
    hole_areas = shapely.area(holes) if len(holes) else np.array([])
    holes, hole_areas = holes[hole_areas >= min_area_m2], hole_areas[hole_areas >= min_area_m2]
    gaps: list[Piece] = []
    if len(holes):
        hole_idx, area_idx = tree.query(holes, predicate="dwithin", distance=TOUCH_TOLERANCE_M)
        for i, area in enumerate(hole_areas):
            bordering = sorted(set(codes[area_idx[hole_idx == i]]))
            gaps.append({"area_m2": round(float(area), 2), "codes": bordering})

    left, right = tree.query(geoms, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    areas = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    overlaps: list[Piece] = [
        {"area_m2": round(float(a), 2), "codes": sorted([codes[i], codes[j]])}
        for i, j, a in zip(left, right, areas, strict=True)
        if a >= min_area_m2
    ]
    gaps.sort(key=lambda g: (-g["area_m2"], g["codes"]))
    overlaps.sort(key=lambda o: (-o["area_m2"], o["codes"]))
    return gaps, overlaps


def neighbours(frame: gpd.GeoDataFrame, *, tolerance_m: float = 0.0) -> dict[str, list[str]]:
    """Queen neighbours: areas sharing at least one boundary point (within ``tolerance_m``).

    Hot-spot statistics and the demo history's spreading clusters both need the adjacency;
    a small tolerance bridges the sliver gaps of simplified layers such as DeSO.

    Examples
    --------
    >>> frame = gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=[shapely.box(0, 0, 1, 1),
    ...     shapely.box(1, 1, 2, 2), shapely.box(5, 5, 6, 6)], crs=3006)
    >>> neighbours(frame)
    {'a': ['b'], 'b': ['a'], 'c': []}
    """
    geoms = frame.geometry.to_numpy()
    codes = frame["code"].astype(str).to_numpy()
    tree = shapely.STRtree(geoms)
    if tolerance_m > 0:
        left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    else:
        left, right = tree.query(geoms, predicate="intersects")
    result: dict[str, set[str]] = {code: set() for code in codes}
    for i, j in zip(left, right, strict=True):
        if i != j:
            result[codes[i]].add(codes[j])
    return {code: sorted(result[code]) for code in sorted(result)}


def to_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Only the polygonal parts (make_valid and unions may add lines and points)."""
    return shapely.MultiPolygon(list(_polygons(geom)))


def _polygons(geom: shapely.Geometry):
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            if not part.is_empty:
                yield part
        elif part.geom_type in ("MultiPolygon", "GeometryCollection"):
            yield from _polygons(part)
