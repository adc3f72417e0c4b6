"""The demo municipality "Lägesby kommun": a fictional NYKO-style area layer, made from a seed.

The demo must run anywhere without real data, yet look like a real municipality to the people
who try it: a dense town centre with small areas, larger rural areas outside, Swedish names,
a three-level NYKO code hierarchy (level 1 "1".."4", level 2 "11", level 3 "1101") and
populations in the DeSO size class (700–2,700). It is topologically clean by construction:
one Voronoi tessellation of seed points clipped to the municipal outline (no gaps, no
overlaps), with levels 1 and 2 dissolved from level 3 by code prefix (an exact hierarchy).

Run ``python -m lagesbild_geo.demo.areas`` to (re)write ``areas/lagesby_nyko.gpkg``.

The package reads the layer as its own data, ``lagesbild_geo/demo/data/lagesby_nyko.gpkg``: in
the repository a symbolic link to the top-level file (one file to keep), in a built wheel a
copy, so that ``lagesbild up`` works from a normal install too.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from lagesbild_geo.ingest.areas import FRAME_COLUMNS, parent_levels

__all__ = ["make_demo_areas", "write_demo_areas", "level_names", "main"]

DEFAULT_SEED = 2026
CENTRE = (620_000.0, 6_580_000.0)  # SWEREF 99 TM, in the Mälaren valley
RADIUS_M = 15_000.0
AREA_COUNT = 60
CENTRAL_COUNT = 16  # the nearest sites form district 1, the town
LEVEL_PREFIXES = (1, 2)
POPULATION_RANGE = (700, 2_700)
MAX_ATTEMPTS = 20
GRID_M = 0.01  # coordinates are snapped to 1 cm so that regenerating gives the same file
#: The packaged demo layer, resolved through the repository's link so that regenerating it
#: rewrites the top-level ``areas/lagesby_nyko.gpkg``, not the link.
DEFAULT_PATH = Path(
    str(resources.files("lagesbild_geo.demo") / "data" / "lagesby_nyko.gpkg")
).resolve()
#: GeoPackages record a modification time; a fixed one keeps the written file byte-stable.
FILE_DATE = "2026-01-01T00:00:00Z"

TOWN_NAMES = [
    "Centrum", "Gamla stan", "Stationsområdet", "Norra hamnen", "Södra hamnen", "Torget",
    "Kyrkbacken", "Slottsparken", "Kvarnbacken", "Västra staden", "Östra staden", "Brotorget",
    "Tegelbruket", "Rådhusparken", "Skolbacken", "Sjöstaden",
]  # fmt: skip
SUBURB_NAMES = [
    "Ekbacken", "Solhöjden", "Björkhagen", "Tallbacka", "Lindvreten", "Hagaberg",
    "Skogsängen", "Rosendal", "Bergsgården", "Fridhem", "Granlunda", "Lugnet", "Strandängen",
    "Furuhöjden", "Kastanjegården", "Äppelviken", "Lärkstaden", "Vallby", "Åbacken",
    "Ljunghöjden", "Bruksområdet", "Hamnplan", "Sågverket", "Idrottsparken",
]  # fmt: skip
RURAL_NAMES = [
    "Ängsby", "Lövsta", "Hällby", "Stensta", "Ekeby", "Bäckby", "Torsby", "Myrby", "Lillsjön",
    "Storsjöstrand", "Rönnby", "Sörby", "Norrskogen", "Mossen", "Kullen", "Prästgården",
    "Ödeby", "Vretaberg", "Gransjö", "Hagalund", "Björnmossen", "Källbo", "Östanå", "Västanby",
]  # fmt: skip
DISTRICT_NAMES = {"1": "Centralorten"}  # outer districts are named by compass direction
DIRECTIONS = ["Östra", "Nordöstra", "Norra", "Nordvästra", "Västra", "Sydvästra", "Södra",
              "Sydöstra"]  # fmt: skip


def make_demo_areas(seed: int = DEFAULT_SEED) -> gpd.GeoDataFrame:
    """Level-3 areas of Lägesby kommun, with the columns of ``AreaLayer.frame``.

    The same seed always gives the same layer (coordinates on a 1 cm grid), so the committed
    file can be checked against a regeneration.
    """
    rng = np.random.default_rng(seed)
    outline = _outline(rng)
    for _attempt in range(MAX_ATTEMPTS):
        sites = _sites(rng, outline)
        codes = _codes(sites)
        order = np.argsort(codes)
        sites, codes = sites[order], codes[order]
        cells = shapely.voronoi_polygons(
            shapely.multipoints(sites), extend_to=outline.buffer(RADIUS_M), ordered=True
        )
        cells = shapely.intersection(np.asarray(shapely.get_parts(cells)), outline)
        cells = shapely.set_precision(cells, GRID_M)
        if _all_contiguous(cells, codes):
            break
    else:  # pragma: no cover - no seed tried so far needs more than two attempts
        raise RuntimeError(f"seed {seed} gave no contiguous hierarchy in {MAX_ATTEMPTS} tries")
    distance = np.hypot(sites[:, 0] - CENTRE[0], sites[:, 1] - CENTRE[1])
    frame = gpd.GeoDataFrame(
        {
            "code": codes,
            "name": _names(distance, rng),
            "level": np.full(len(codes), 3, dtype="int64"),
            "parent_code": pd.array([c[: LEVEL_PREFIXES[-1]] for c in codes], dtype="string"),
            "population": pd.array(_population(distance, rng), dtype="Int64"),
        },
        geometry=[shapely.MultiPolygon(list(shapely.get_parts(cell))) for cell in cells],
        crs=3006,
    )
    return frame[FRAME_COLUMNS]


def level_names(level3: gpd.GeoDataFrame) -> dict[str, str]:
    """Names for the level-1 and level-2 codes: district by direction, level 2 "X m.fl.".

    Swedish statistics name a group of areas after its largest member ("Ekbacken m.fl.").
    """
    names = dict(DISTRICT_NAMES)
    x, y = CENTRE
    for district, group in level3.groupby(level3["code"].str[:1]):
        if district not in names:
            centre = shapely.union_all(group.geometry.to_numpy()).centroid
            angle = math.atan2(centre.y - y, centre.x - x) % (2 * math.pi)
            names[district] = f"{DIRECTIONS[round(angle / (math.pi / 4)) % 8]} kommundelen"
    for prefix, group in level3.groupby(level3["code"].str[:2]):
        largest = group.sort_values(["population", "code"], ascending=[False, True]).iloc[0]
        names[prefix] = f"{largest['name']} m.fl."
    return names


def write_demo_areas(path: str | Path = DEFAULT_PATH, seed: int = DEFAULT_SEED) -> None:
    """Write the GeoPackage with layers ``nyko3``, ``nyko2`` and ``nyko1`` (in that order)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    level3 = make_demo_areas(seed)
    parents = parent_levels(level3, LEVEL_PREFIXES)
    parents["name"] = parents["code"].map(level_names(level3))
    layers = {
        "nyko3": level3,
        "nyko2": parents[parents["level"] == 2],
        "nyko1": parents[parents["level"] == 1],
    }
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FILE_DATE})
    try:
        for name, frame in layers.items():
            pyogrio.write_dataframe(
                frame.reset_index(drop=True),
                path,
                layer=name,
                driver="GPKG",
                promote_to_multi=True,
                layer_options={"DESCRIPTION": f"Lägesby kommun, NYKO nivå {name[-1]} (demo)"},
            )
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def main() -> None:
    """Entry point of ``python -m lagesbild_geo.demo.areas [PATH]``."""
    import sys

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH
    write_demo_areas(path)
    print(f"Skrev / wrote {path}")


# --- construction ------------------------------------------------------------------------------


def _outline(rng: np.random.Generator) -> shapely.Polygon:
    """A lobed, slightly elongated star-shaped outline: irregular, yet every ray from the
    centre crosses it once, so no Voronoi cell is cut in two."""
    angles = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    radius = np.ones_like(angles)
    for k in range(2, 8):
        radius += rng.uniform(0.04, 0.16) / k * np.sin(k * angles + rng.uniform(0, 2 * np.pi))
    x = CENTRE[0] + 1.2 * RADIUS_M * radius * np.cos(angles)
    y = CENTRE[1] + 0.9 * RADIUS_M * radius * np.sin(angles)
    return shapely.set_precision(shapely.Polygon(np.column_stack([x, y])), GRID_M)


def _sites(rng: np.random.Generator, outline: shapely.Polygon) -> np.ndarray:
    """Seed points, dense in the centre: the spacing grows with the distance from it."""
    inner = outline.buffer(-400)
    sites: list[tuple[float, float]] = []
    while len(sites) < AREA_COUNT:
        r = 1.3 * RADIUS_M * rng.uniform() ** 1.5
        a = rng.uniform(0, 2 * np.pi)
        p = (CENTRE[0] + r * math.cos(a), CENTRE[1] + r * math.sin(a))
        spacing = 450 + 0.3 * r
        if inner.contains(shapely.Point(p)) and all(math.dist(p, q) >= spacing for q in sites):
            sites.append(p)
    return np.array(sites)


def _all_contiguous(cells: np.ndarray, codes: np.ndarray) -> bool:
    """Whether every area and every level-1 and level-2 group of areas is one polygon.

    Voronoi cells of sites grouped by angle and distance are almost always contiguous, but
    not always; a new draw is cheaper than repairing a split group.
    """
    keys = [codes] + [np.array([c[:n] for c in codes]) for n in LEVEL_PREFIXES]
    return all(
        shapely.union_all(cells[level == key]).geom_type == "Polygon"
        for level in keys
        for key in set(level)
    )


def _codes(sites: np.ndarray) -> np.ndarray:
    """NYKO codes: the town (district 1) in four quarters, three outer districts by direction,
    each split into two inner and two outer level-2 groups; level 3 numbered anticlockwise."""
    dx, dy = sites[:, 0] - CENTRE[0], sites[:, 1] - CENTRE[1]
    distance, angle = np.hypot(dx, dy), np.arctan2(dy, dx) % (2 * np.pi)
    by_distance = np.argsort(distance, kind="stable")
    town, rural = by_distance[:CENTRAL_COUNT], by_distance[CENTRAL_COUNT:]
    codes = np.empty(len(sites), dtype=object)
    groups = {"1": town[np.argsort(angle[town], kind="stable")]}
    outer = rural[np.argsort(angle[rural], kind="stable")]
    for d, outer_sites in enumerate(np.array_split(outer, 3), start=2):
        groups[str(d)] = outer_sites
    for district, members in groups.items():
        if district == "1":
            parts = np.array_split(members, 4)
        else:
            near = members[np.argsort(distance[members], kind="stable")]
            halves = [np.sort(near[: len(near) // 2]), np.sort(near[len(near) // 2 :])]
            parts = [p for h in halves for p in np.array_split(h[np.argsort(angle[h])], 2)]
        for j, part in enumerate(parts, start=1):
            for k, site in enumerate(part[np.argsort(angle[part], kind="stable")], start=1):
                codes[site] = f"{district}{j}{k:02d}"
    return codes


def _names(distance: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Town names near the centre, suburb names around it, village names outside; unique."""
    order = np.argsort(distance, kind="stable")
    pools = [list(rng.permutation(TOWN_NAMES[1:])), list(rng.permutation(SUBURB_NAMES)),
             list(rng.permutation(RURAL_NAMES))]  # fmt: skip
    names = [""] * len(distance)
    names[order[0]] = TOWN_NAMES[0]
    for rank, i in enumerate(order[1:], start=1):
        pool = 0 if rank < CENTRAL_COUNT else 1 if rank < 2 * CENTRAL_COUNT + 4 else 2
        while not pools[pool]:
            pool = (pool + 1) % 3
        names[i] = str(pools[pool].pop(0))
    return names


def _population(distance: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Populations in the DeSO class; the town's small areas are the most populous."""
    low, high = POPULATION_RANGE
    closeness = 1 - distance / distance.max()
    mean = low + (high - low) * (0.3 + 0.5 * closeness)
    values = rng.normal(mean, 250)
    return np.clip(np.round(values / 10) * 10, low, high).astype(int)


if __name__ == "__main__":
    main()
