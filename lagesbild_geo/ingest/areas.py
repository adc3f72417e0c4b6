"""Read a municipality's area file into a clean NYKO level-3 area layer (EPSG:3006).

Every count the service publishes is tied to an area, so the area layer must be trustworthy
before anything is located in it. Municipalities deliver their areas as GeoPackage, Shapefile
or GeoJSON, in SWEREF 99 TM, a local zone (EPSG:3007–3018) or WGS 84, often with defects: the
geometry has been simplified polygon by polygon, so neighbours overlap or leave sliver gaps,
and a polygon here and there is invalid. This module

* refuses what cannot be used safely (no CRS, coordinates that do not fit the stated CRS,
  missing or duplicate codes, geometry that cannot be repaired), naming the feature and why;
* repairs invalid polygons with :func:`shapely.make_valid` and says so, code by code;
* measures gaps and overlaps between neighbours (``area_geometry``), so that the reviewer
  knows how many points may fall in no area or in two, instead of silently "fixing" a layer
  the municipality owns.

Codes are strings: NYKO and DeSO codes have leading zeros ("0181C1010") that must survive.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS, Transformer

from lagesbild_geo.errors import InputError, Problem
from lagesbild_geo.ingest.area_geometry import Piece, measure_gaps_and_overlaps, to_multipolygon
from lagesbild_geo.ingest.area_levels import GUESS, guess_level_prefixes, level_prefixes_message

TARGET_CRS = CRS.from_epsg(3006)
AREA_LEVEL = 3
#: How far (m) data may reach beyond Sweden's extent in SWEREF 99 TM and still be accepted.
SWEDEN_MARGIN_M = 50_000.0
FRAME_COLUMNS = ["code", "name", "level", "parent_code", "population", "geometry"]


class AreaFileError(InputError):
    """An area file was refused as a whole; ``problems`` lists every reason found."""

    max_listed = 50

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[: self.max_listed]]
        if len(self.problems) > self.max_listed:
            shown.append(f"... and {len(self.problems) - self.max_listed} more problems")
        super().__init__("Area file refused, nothing was imported:\n  " + "\n  ".join(shown))


class AreaCrsError(AreaFileError):
    """The file has no CRS, or its coordinates cannot be in the CRS it states."""


class AreaCodeError(AreaFileError):
    """Area codes are missing, duplicated or do not fit the code hierarchy."""


class AreaGeometryError(AreaFileError):
    """A geometry is missing, not polygonal, or invalid and not (or not safely) repairable."""


@dataclass
class AreaReport:
    """What an import found; printed by the CLI and stored as JSON beside the layer."""

    source: str
    crs_in: str
    feature_count: int
    repaired: list[str] = field(default_factory=list)
    gaps: list[Piece] = field(default_factory=list)
    overlaps: list[Piece] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Prefix lengths of the level-1 and level-2 codes, when the layer has those levels.
    level_prefixes: list[int] | None = None
    #: What the import assumed or kept (guessed level prefixes, stored fields kept).
    notes: list[str] = field(default_factory=list)

    @property
    def total_gap_m2(self) -> float:
        return float(sum(g["area_m2"] for g in self.gaps))

    @property
    def total_overlap_m2(self) -> float:
        return float(sum(o["area_m2"] for o in self.overlaps))

    def to_dict(self) -> dict:
        """JSON-ready dict, totals included so a reader need not add them up."""
        out = asdict(self)
        out["total_gap_m2"] = round(self.total_gap_m2, 2)
        out["total_overlap_m2"] = round(self.total_overlap_m2, 2)
        return out

    def summary(self) -> str:
        """A few short lines, Swedish / English, for the terminal and the review page."""
        lines = [
            f"Källa / source: {self.source} ({self.crs_in} → EPSG:3006)",
            f"Områden / areas: {self.feature_count}",
            f"Reparerade geometrier / repaired geometries: {len(self.repaired)}"
            + (f" ({', '.join(self.repaired)})" if self.repaired else ""),
            f"Luckor / gaps: {len(self.gaps)}, {self.total_gap_m2 / 1e6:.2f} km²",
            f"Överlapp / overlaps: {len(self.overlaps)} par / pairs, "
            f"{self.total_overlap_m2 / 1e6:.2f} km²",
        ]
        lines += [f"Obs / note: {n}" for n in self.notes]
        lines += [f"Varning / warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class AreaLayer:
    """A clean level-3 area layer (columns :data:`FRAME_COLUMNS`, EPSG:3006) and its report."""

    frame: gpd.GeoDataFrame
    report: AreaReport

    @property
    def level_prefixes(self) -> tuple[int, int] | None:
        """The prefix lengths of levels 1 and 2 (None: the layer has level 3 only)."""
        given = self.report.level_prefixes
        return (given[0], given[1]) if given else None


def read_area_file(
    path: str | Path,
    *,
    code_field: str = "code",
    name_field: str | None = None,
    population_field: str | None = None,
    level_field: str | None = None,
    source_crs: str | int | CRS | None = None,
    layer: str | int | None = None,
    level_prefixes: tuple[int, ...] | str | None = None,
    repair: bool = True,
    name: str | None = None,
) -> AreaLayer:
    """Read any OGR-readable area file into a clean level-3 layer in SWEREF 99 TM.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON or anything else GDAL reads.
    code_field, name_field, population_field, level_field
        Field names in the file. Without ``name_field`` the name is the code; without
        ``level_field`` every feature is taken as level 3, with it only level 3 is kept.
    source_crs
        The CRS the coordinates are in, for files that state none (or state a wrong one).
    layer
        Layer name or index; without it the first layer is read (with a warning if there are
        more).
    level_prefixes
        Prefix lengths of the level-1 and level-2 codes, e.g. ``(1, 2)``; sets ``parent_code``.
        ``"guess"`` (``area_levels.GUESS``): DeSO's ``(4, 5)`` when every code is a DeSO code
        (said in the report's notes); otherwise refused unless ``level_field`` is given, when
        the layer has level 3 only. None: level 3 only, no parent codes.
    repair
        Repair invalid polygons with :func:`shapely.make_valid` (warning per code) instead of
        refusing the file.
    name
        What the problems, warnings and the report call the file (default: ``path``). An
        upload over HTTP (``POST /admin/areas``) is read from a folder of the server's, whose
        path is none of the caller's business.

    Raises
    ------
    AreaCrsError, AreaCodeError, AreaGeometryError, AreaFileError
        With every problem found, each naming the feature code (or index) and why.
    """
    source = name or str(path)
    guess = isinstance(level_prefixes, str)
    prefixes: tuple[int, int] | None = None
    if isinstance(level_prefixes, str):
        if level_prefixes != GUESS:
            raise InputError(f"level_prefixes must be two code lengths or {GUESS!r}")
    elif level_prefixes is not None:
        prefixes = _check_prefixes(level_prefixes)
    notes: list[str] = []
    warnings: list[str] = []
    raw = _read(str(path), layer, warnings, source)
    wanted = [f for f in (code_field, name_field, population_field, level_field) if f]
    missing = [f for f in wanted if f not in raw.columns]
    if missing:
        available = ", ".join(c for c in raw.columns if c != "geometry")
        raise AreaFileError(
            source,
            [Problem(source, f"field '{f}' not found; the file has: {available}") for f in missing],
        )
    if level_field:
        raw = _keep_level_3(raw, level_field, source)

    codes = _codes(raw[code_field], code_field, source, prefixes, warnings)
    if guess:
        prefixes = guess_level_prefixes(codes)
        if prefixes:
            notes.append(
                "the codes are DeSO codes: level 1 is the municipality (4 characters), level 2 "
                "the municipality and DeSO type (5 characters); --level-prefixes overrides"
            )
        elif level_field:
            notes.append("no --level-prefixes: level 3 only, without level-1 and level-2 areas")
        else:
            _refuse(AreaCodeError, source, [level_prefixes_message(code_field)], code_field)
    crs_in = _resolve_crs(raw.crs, source_crs, source, warnings)
    _check_coordinates_fit(raw.total_bounds, crs_in, source)
    frame = gpd.GeoDataFrame(
        {"code": codes}, geometry=raw.geometry.to_numpy(), crs=crs_in, index=raw.index
    )
    if not crs_in.equals(TARGET_CRS):
        frame = frame.to_crs(TARGET_CRS)
    _check_in_sweden(frame.total_bounds, crs_in, source)

    geoms, repaired = _clean_geometries(frame["code"], frame.geometry.to_numpy(), source, repair)
    warnings += [
        f"Area {code}: invalid geometry repaired with make_valid ({why})"
        for code, why in repaired.items()
    ]
    names = raw[name_field].astype("string").str.strip() if name_field else None
    out = gpd.GeoDataFrame(
        {
            "code": frame["code"].to_numpy(),
            "name": _names(names, frame["code"]),
            "level": np.full(len(frame), AREA_LEVEL, dtype="int64"),
            "parent_code": pd.array(
                [c[: prefixes[-1]] for c in frame["code"]] if prefixes else [None] * len(frame),
                dtype="string",
            ),
            "population": _population(raw, population_field, codes, source),
        },
        geometry=geoms,
        crs=TARGET_CRS,
    )
    out = out.sort_values("code", kind="stable").reset_index(drop=True)
    gaps, overlaps = measure_gaps_and_overlaps(out)
    report = AreaReport(
        source=source,
        crs_in=crs_in.to_string(),
        feature_count=len(out),
        repaired=sorted(repaired),
        gaps=gaps,
        overlaps=overlaps,
        warnings=warnings,
        level_prefixes=list(prefixes) if prefixes else None,
        notes=notes,
    )
    return AreaLayer(frame=out[FRAME_COLUMNS], report=report)


def parent_levels(frame: gpd.GeoDataFrame, level_prefixes: tuple[int, ...]) -> gpd.GeoDataFrame:
    """Levels 1 and 2 as the dissolve of their level-3 children by code prefix.

    Deriving the coarser levels from level 3 (rather than reading them separately) keeps the
    hierarchy exact: every level-3 area lies in exactly one level-2 and one level-1 area.
    Population is the children's sum, or missing when any child's population is missing
    (a partial sum would look like a real figure).
    """
    prefixes = _check_prefixes(level_prefixes)
    geoms = frame.geometry.to_numpy()
    codes = frame["code"].astype(str)
    population = (
        frame["population"] if "population" in frame else pd.Series(pd.NA, index=frame.index)
    )
    rows = []
    for level, length in enumerate(prefixes, start=1):
        keys = codes.str[:length].to_numpy()
        for key in sorted(set(keys)):
            members = keys == key
            pop = population[members]
            rows.append(
                {
                    "code": key,
                    "name": key,
                    "level": level,
                    "parent_code": key[: prefixes[level - 2]] if level > 1 else None,
                    "population": pd.NA if pop.isna().any() else int(pop.sum()),
                    "geometry": to_multipolygon(shapely.union_all(geoms[members])),
                }
            )
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=frame.crs)
    out["level"] = out["level"].astype("int64")
    out["parent_code"] = out["parent_code"].astype("string")
    out["population"] = out["population"].astype("Int64")
    return out[FRAME_COLUMNS]


# --- reading and checking, stage by stage ------------------------------------------------------


def _refuse(error: type[AreaFileError], source: str, reasons: list[str], column=None):
    """Raise ``error`` listing every reason, when there is any."""
    if reasons:
        raise error(source, [Problem(source, reason, column=column) for reason in reasons])


def _read(path: str, layer: str | int | None, warnings: list[str], source: str) -> gpd.GeoDataFrame:
    """The file's layer as read by GDAL; ``source`` is the file's name in messages (GDAL's
    own message names the path: it is replaced by ``source``)."""
    try:
        layers = pyogrio.list_layers(path)
        if layer is None and len(layers) > 1:
            names = ", ".join(str(name) for name, _ in layers)
            warnings.append(f"{source} has layers {names}; read the first, '{layers[0][0]}'")
        return pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        why = str(exc).replace(path, source)
        problem = Problem(source, f"cannot be read as an area file: {why}")
        raise AreaFileError(source, [problem]) from exc


def _keep_level_3(raw: gpd.GeoDataFrame, level_field: str, source: str) -> gpd.GeoDataFrame:
    levels = pd.to_numeric(raw[level_field], errors="coerce")
    bad = levels.isna() | (levels != levels.round())
    reasons = [
        f"feature {i + 1}: level {raw[level_field][i]!r} is not a whole number"
        for i in raw.index[bad]
    ]
    _refuse(AreaFileError, source, reasons, level_field)
    kept = raw[levels == AREA_LEVEL]
    found = sorted(set(levels.astype(int)))
    _refuse(AreaFileError, source, [] if len(kept) else [f"no level-3 features, only {found}"])
    return kept


def _codes(
    values: pd.Series, field: str, source: str, prefixes: tuple[int, int] | None, warnings: list
) -> np.ndarray:
    """Codes as stripped strings; refuse missing, duplicate and too-short codes."""
    if pd.api.types.is_numeric_dtype(values):
        warnings.append(
            f"field '{field}' is stored as numbers in the file; leading zeros may already "
            "have been lost there (store codes as text)"
        )
        values = values.map(
            lambda v: str(int(v)) if float(v).is_integer() else str(v), na_action="ignore"
        )
    codes = [None if pd.isna(v) else str(v).strip() for v in values]
    reasons = [
        f"feature {i + 1} has no area code"
        for i, code in zip(values.index, codes, strict=True)
        if not code
    ]
    counts = pd.Series([c for c in codes if c]).value_counts()
    reasons += [
        f"area code {code} occurs {n} times; codes must be unique"
        for code, n in counts[counts > 1].sort_index().items()
    ]
    if prefixes:
        reasons += [
            f"area code {code} is not longer than the level-2 prefix ({prefixes[-1]} "
            "characters), so it cannot be a level-3 code"
            for code in codes
            if code and len(code) <= prefixes[-1]
        ]
    _refuse(AreaCodeError, source, reasons, field)
    return np.array(codes, dtype=object)


def _resolve_crs(file_crs, source_crs, source: str, warnings: list[str]) -> CRS:
    if source_crs is None:
        missing = f"file {source} has no CRS; pass --source-crs EPSG:NNNN"
        _refuse(AreaCrsError, source, [missing] if file_crs is None else [])
        return CRS.from_user_input(file_crs)
    given = CRS.from_user_input(source_crs)
    if file_crs is not None and not CRS.from_user_input(file_crs).equals(given):
        warnings.append(
            f"the file states {CRS.from_user_input(file_crs).to_string()}; "
            f"used the given source CRS {given.to_string()} instead"
        )
    return given


def _check_coordinates_fit(bounds: np.ndarray, crs: CRS, source: str) -> None:
    """Refuse coordinates that cannot be in ``crs`` (e.g. degrees stated as SWEREF 99 TM)."""
    if not np.all(np.isfinite(bounds)):
        return  # no geometry at all; reported per feature later
    degrees = _within(bounds, (-180, -90, 180, 90), 0.0)
    if crs.is_geographic:
        if degrees:
            return
        reason = "they are not degrees; give the projected CRS with --source-crs EPSG:NNNN"
    else:
        aou = crs.area_of_use
        if aou is None:
            return
        box = _projected_area_of_use(crs.to_wkt())
        if _within(bounds, box, 0.25 * max(box[2] - box[0], box[3] - box[1])):
            return
        reason = f"they lie far outside its area of use ({aou.name})"
        if degrees:
            reason += "; they look like degrees: pass --source-crs EPSG:4326"
    where = "({:.6g}, {:.6g}) – ({:.6g}, {:.6g})".format(*bounds)
    stated = crs.to_string()
    _refuse(AreaCrsError, source, [f"coordinates {where} cannot be in {stated}: {reason}"])


def _check_in_sweden(bounds: np.ndarray, crs_in: CRS, source: str) -> None:
    """Refuse areas that land outside Sweden: the stated CRS is then wrong, not the areas."""
    sweden = _projected_area_of_use(TARGET_CRS.to_wkt())
    if not np.all(np.isfinite(bounds)) or _within(bounds, sweden, SWEDEN_MARGIN_M):
        return
    where = "{:.0f}, {:.0f} – {:.0f}, {:.0f}".format(*bounds)
    reason = (
        f"read as {crs_in.to_string()}, the areas land outside Sweden (EPSG:3006 bounds {where}); "
        "the stated CRS is probably wrong: pass --source-crs EPSG:NNNN"
    )
    _refuse(AreaCrsError, source, [reason])


@lru_cache(maxsize=16)
def _projected_area_of_use(crs_wkt: str) -> tuple[float, float, float, float]:
    crs = CRS.from_wkt(crs_wkt)
    aou = crs.area_of_use
    if aou is None:  # the callers ask only for a CRS that has one
        raise ValueError(f"{crs.name} states no area of use")
    to_crs = Transformer.from_crs(4326, crs, always_xy=True)
    return to_crs.transform_bounds(aou.west, aou.south, aou.east, aou.north, densify_pts=21)


def _within(bounds, box, margin: float) -> bool:
    """Whether ``bounds`` (minx, miny, maxx, maxy) lies inside ``box`` grown by ``margin``."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    x0, y0, x1, y1 = box
    return (
        x0 - margin <= minx and maxx <= x1 + margin and y0 - margin <= miny and maxy <= y1 + margin
    )


def _clean_geometries(
    codes: pd.Series, geoms: np.ndarray, source: str, repair: bool
) -> tuple[np.ndarray, dict[str, str]]:
    """Multipolygons in 2D; invalid ones repaired (or refused), with the reason per code."""
    reasons: list[str] = []
    repaired: dict[str, str] = {}
    out = np.empty(len(geoms), dtype=object)
    for i, (code, geom) in enumerate(zip(codes, shapely.force_2d(geoms), strict=True)):
        if geom is None or geom.is_empty:
            reasons.append(f"area {code} has no geometry")
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            reasons.append(f"area {code} is a {geom.geom_type}, not a polygon")
        elif geom.is_valid:
            out[i] = to_multipolygon(geom)
        elif not repair:
            reasons.append(f"area {code} has invalid geometry: {shapely.is_valid_reason(geom)}")
        else:
            why = shapely.is_valid_reason(geom)
            out[i] = to_multipolygon(shapely.make_valid(geom))
            if out[i].is_empty:
                reasons.append(f"area {code} has invalid geometry ({why}); repair left no polygon")
            repaired[code] = why
    _refuse(AreaGeometryError, source, reasons)
    return out, repaired


def _names(names: pd.Series | None, codes: pd.Series) -> np.ndarray:
    if names is None:
        return codes.to_numpy(dtype=object)
    # pandas-stubs type na_value as a Scalar without None; pandas takes any value (even None)
    filled = names.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
    return np.array([n if n else c for n, c in zip(filled, codes, strict=True)], dtype=object)


def _population(
    raw: gpd.GeoDataFrame, population_field: str | None, codes: np.ndarray, source: str
) -> pd.arrays.IntegerArray:
    if population_field is None:
        return pd.array([pd.NA] * len(raw), dtype="Int64")
    given = raw[population_field]
    values = pd.to_numeric(given, errors="coerce").to_numpy(dtype=float, na_value=math.nan)
    reasons = [
        f"area {code}: population {original!r} is not a whole number ≥ 0"
        for code, original, value in zip(codes, given, values, strict=True)
        if (math.isnan(value) and not pd.isna(original) and str(original).strip())
        or value < 0
        or (not math.isnan(value) and not value.is_integer())
    ]
    _refuse(AreaFileError, source, reasons, population_field)
    return pd.array([None if math.isnan(v) else int(v) for v in values], dtype="Int64")


def _check_prefixes(level_prefixes: tuple[int, ...]) -> tuple[int, int]:
    prefixes = tuple(int(p) for p in level_prefixes)
    if len(prefixes) != 2 or not 0 < prefixes[0] < prefixes[1]:
        raise InputError(
            f"level_prefixes must be two increasing code lengths for levels 1 and 2, "
            f"e.g. (1, 2); got {level_prefixes!r}"
        )
    return prefixes  # two, checked above
