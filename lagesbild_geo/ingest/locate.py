"""Place single events in areas: exactly PostGIS ``ST_Covers(area.geom, point)``, but fast.

Semantics
---------
A point belongs to an area when PostGIS 3.3 ``ST_Covers(area.geom, point)`` is true for the
stored geometry: points on an area's boundary (edges and vertices) count as inside. Real area
layers are not topologically clean (sliver gaps, overlaps between neighbours), so a point can be
covered by no area or by several.

**The overlap rule.** When two or more areas cover a point, the area with the smallest code wins,
codes compared code point by code point (Python ``str`` order, which is PostgreSQL's
``COLLATE "C"`` order for UTF-8). The database side uses the same rule::

    SELECT code FROM area WHERE ST_Covers(geom, pt) ORDER BY code COLLATE "C" LIMIT 1

A point covered by no area gets index ``-1``.

Why not simply GEOS (``shapely.covers``)? PostGIS does not ask GEOS for a point in a polygon: it
short-circuits to its own winding-number test (``point_in_ring`` in
``lwgeom_functions_analytic.c``) in plain double arithmetic, with a point on the boundary only
when the cross product is exactly zero; GEOS uses exact orientation and, for self-intersecting
rings, even-odd rather than winding numbers. On the real DeSO layers both agree even for points
on and one float step beside the edges, but for invalid rings they differ (see the tests). So the
exact path below re-does PostGIS's arithmetic, operation for operation, in numpy (IEEE double,
no fused multiply-add, as in PostGIS's C), and the candidate search uses PostGIS's bounding box
(float32, rounded outward). Verified against PostGIS 3.3.2; re-run ``tests/test_locate.py`` when
PostGIS is upgraded. Two corners where PostGIS itself is not consistent (its answer depends on
whether its per-query polygon cache is warm) follow the cached path: a point on the shell of an
invalid polygon whose hole crosses that shell counts as covered, and edges are skipped only
when of exactly zero length (the cache skips those shorter than 1e-12, which coordinates of
EPSG:3006 magnitude cannot produce).

How it is fast
--------------
A lookup grid is built once per layer. Each cell holds the area that covers its centre (the
polygons are rasterised in descending code order, so the smallest code ends on top), or a mark
*ambiguous* for every cell that a boundary passes through or near (within an eighth of a cell,
computed exactly per edge and column, not by a rasteriser's line drawing). In an unmarked cell
every point is metres from every edge, where double arithmetic cannot misjudge a side, and the
centre's answer holds for the whole cell. Geometries that are not valid (winding and even-odd
may disagree) mark their whole extent. Points in unmarked cells are placed with one array
look-up; points in marked cells go through the exact PostGIS test against the areas whose
PostGIS box reaches the cell, using only those areas' edges in the cell's grid row, listed per
ambiguous cell when the layer is indexed. On Stockholms län (1,287 areas, 39.7 m cells, 1.4 %
of cells ambiguous) a million population-weighted points take about 0.5 s of CPU, a quarter of
them on the exact path, split over the CPUs; building the index takes 0.3-0.9 s, so the store
builds it once per area import and keeps it (``to_bytes``, about 1.8 MB).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import rasterio.features
import shapely
from rasterio.transform import from_origin

#: Upper bound on grid cells (int16 cells: 32 MB at the bound); the cell grows to respect it.
MAX_GRID_CELLS = 16_000_000
#: Smallest automatic cell size in metres; finer grids cost memory and barely reduce ambiguity.
MIN_CELL_SIZE = 5.0
#: Empty margin, in cells, around the union of the areas' bounding boxes.
GRID_MARGIN = 2
#: Ambiguous points are resolved in batches of this many, to bound temporary memory.
EXACT_BATCH = 50_000
#: A batch of points is split over the CPUs when each part gets at least this many.
PARALLEL_MIN_POINTS = 100_000
_WORKERS = len(os.sched_getaffinity(0))

#: Version of the ``to_bytes`` layout and of what it holds; bump it whenever the grid, the
#: edges or the exact index change meaning, so that stored locators are rebuilt, not misread.
LOCATOR_FORMAT = 1

_AMBIGUOUS = -2
#: A cell is ambiguous when a boundary passes within this many cells of it. Points in the other
#: cells are then far (metres) from every edge, where double arithmetic cannot err.
_MARGIN = 0.125
_OUTSIDE = -1


def _float_box(bounds: np.ndarray) -> np.ndarray:
    """Round ``(xmin, ymin, xmax, ymax)`` outward to float32, as PostGIS stores a bounding box.

    PostGIS rejects a point outside this box before the point-in-polygon test, so the candidate
    search must use the same (slightly larger) box to be exact.
    """
    lo = bounds[:, :2].astype(np.float32)
    hi = bounds[:, 2:].astype(np.float32)
    lo = np.where(lo > bounds[:, :2], np.nextafter(lo, np.float32(-np.inf)), lo)
    hi = np.where(hi < bounds[:, 2:], np.nextafter(hi, np.float32(np.inf)), hi)
    return np.hstack([lo, hi]).astype(np.float64)


class AreaLocator:
    """Index one area layer and place points in it with PostGIS ``ST_Covers`` semantics.

    Parameters
    ----------
    codes : sequence of str
        Unique area codes; ``locate`` returns indexes into this sequence.
    geometries : sequence of shapely Polygon or MultiPolygon
        The area geometries exactly as stored (same CRS as the points, e.g. EPSG:3006). Empty
        geometries never cover anything.
    cell_size : float, optional
        Lookup grid cell size in CRS units. By default the smallest cell (at least
        ``MIN_CELL_SIZE``) for which the grid over the layer's extent has at most
        ``MAX_GRID_CELLS`` cells.

    Attributes
    ----------
    codes : numpy.ndarray
        The area codes, as given.
    cell_size : float
        The grid cell size used.
    """

    def __init__(
        self,
        codes: Sequence[str],
        geometries: Sequence[shapely.Geometry] | np.ndarray,
        *,
        cell_size: float | None = None,
    ):
        self.codes = np.asarray(list(codes), dtype=str)
        geoms = np.asarray(geometries, dtype=object)
        if self.codes.ndim != 1 or len(self.codes) != len(geoms):
            raise ValueError("codes and geometries must be two sequences of the same length")
        if len(np.unique(self.codes)) != len(self.codes):
            raise ValueError("area codes must be unique")
        types = shapely.get_type_id(geoms)
        if len(geoms) and not np.isin(types, (3, 6)).all():  # Polygon, MultiPolygon
            raise ValueError("every area geometry must be a Polygon or a MultiPolygon")
        if cell_size is not None and not cell_size > 0:
            raise ValueError("cell_size must be positive")
        # rank[i] = position of codes[i] in code order; the smaller rank wins an overlap.
        self._rank = np.empty(len(self.codes), dtype=np.int64)
        self._rank[np.argsort(self.codes, kind="stable")] = np.arange(len(self.codes))
        self._build_edges(geoms)
        self._build_grid(geoms, cell_size)
        self._build_exact_index()

    # ------------------------------------------------------------------ storage
    def to_bytes(self) -> bytes:
        """The built index as compressed NumPy arrays (no pickle), for :meth:`from_bytes`.

        About 1.8 MB for Stockholms län's 1,287 areas; loading it takes ~0.1 s where building
        takes ~0.6 s, so the store keeps it beside each area import.
        """
        buf = io.BytesIO()
        # allow_pickle=False is what from_bytes loads with anyway; said here, it also tells the
        # type checker that no array name in ``**`` can be the bool parameter.
        np.savez_compressed(
            buf,
            allow_pickle=False,
            format=np.int64(LOCATOR_FORMAT),
            **{name: np.asarray(value) for name, value in vars(self).items()},
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> AreaLocator:
        """The locator saved by :meth:`to_bytes`; ``ValueError`` when it was saved in another
        format (by another version of this module: build a new one then)."""
        with np.load(io.BytesIO(blob), allow_pickle=False) as saved:
            if "format" not in saved.files or int(saved["format"]) != LOCATOR_FORMAT:
                raise ValueError(f"not an area locator of format {LOCATOR_FORMAT}")
            state = {name: saved[name] for name in saved.files if name != "format"}
        locator = cls.__new__(cls)
        for name, value in state.items():  # 0-d arrays were Python scalars
            setattr(locator, name, value.item() if value.ndim == 0 else value)
        return locator

    # ------------------------------------------------------------------ construction
    def _build_edges(self, geoms: np.ndarray) -> None:
        """Explode the rings into edges, remembering part and hole order for PostGIS's test."""
        nonempty = ~shapely.is_empty(geoms)
        self._geom_ids = np.flatnonzero(nonempty)
        parts, part_geom = shapely.get_parts(geoms[nonempty], return_index=True)
        part_geom = self._geom_ids[part_geom]
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        # Order of a ring inside its polygon part: 0 = exterior, 1.. = holes in stored order.
        first = np.r_[0, np.flatnonzero(np.diff(ring_part)) + 1]
        ring_order = np.arange(len(rings)) - np.repeat(first, np.diff(np.r_[first, len(rings)]))
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        same_ring = coord_ring[1:] == coord_ring[:-1]
        start = np.flatnonzero(same_ring)
        x1, y1 = coords[start, 0], coords[start, 1]
        x2, y2 = coords[start + 1, 0], coords[start + 1, 1]
        # PostGIS skips zero-length segments.
        keep = (x1 != x2) | (y1 != y2)
        self._ex1, self._ey1 = x1[keep], y1[keep]
        self._ex2, self._ey2 = x2[keep], y2[keep]
        self._edge_ring = coord_ring[start][keep].astype(np.int64)
        self._ring_part = ring_part.astype(np.int64)
        self._ring_order = ring_order.astype(np.int64)
        self._part_geom = part_geom.astype(np.int64)
        self._n_parts = len(parts)
        self._valid = shapely.is_valid(geoms)
        bounds = shapely.bounds(geoms)
        self._boxes = _float_box(np.where(nonempty[:, None], bounds, 0.0))

    def _build_grid(self, geoms: np.ndarray, cell_size: float | None) -> None:
        """Rasterise areas at cell centres and mark cells near any boundary as ambiguous."""
        nonempty = ~shapely.is_empty(geoms)
        if nonempty.any():
            boxes = self._boxes[nonempty]
            xmin, ymin = boxes[:, 0].min(), boxes[:, 1].min()
            xmax, ymax = boxes[:, 2].max(), boxes[:, 3].max()
        else:
            xmin = ymin = 0.0
            xmax = ymax = 1.0
        if cell_size is None:
            extent = max(xmax - xmin, 1e-9) * max(ymax - ymin, 1e-9)
            cell_size = max(float(np.sqrt(extent / MAX_GRID_CELLS)) * 1.01, MIN_CELL_SIZE)
        cs = float(cell_size)
        self.cell_size = cs
        self._x0 = float(np.floor(xmin / cs) - GRID_MARGIN) * cs
        self._y1 = float(np.ceil(ymax / cs) + GRID_MARGIN) * cs
        self._ncols = int(np.ceil((xmax - self._x0) / cs)) + GRID_MARGIN + 1
        self._nrows = int(np.ceil((self._y1 - ymin) / cs)) + GRID_MARGIN + 1
        if self._nrows * self._ncols > 4 * MAX_GRID_CELLS:
            raise ValueError(
                f"cell_size {cs} gives {self._nrows * self._ncols:,} grid cells; "
                f"use a cell size that gives at most {4 * MAX_GRID_CELLS:,}"
            )
        dtype = np.int16 if len(self.codes) < np.iinfo(np.int16).max else np.int32
        shape = (self._nrows, self._ncols)
        order = np.argsort(self._rank)[::-1]  # largest code first, smallest burnt last
        shapes = [(geoms[i], int(i)) for i in order if nonempty[i]]
        if shapes:
            grid = rasterio.features.rasterize(
                shapes,
                out_shape=shape,
                transform=from_origin(self._x0, self._y1, cs, cs),
                fill=_OUTSIDE,
                all_touched=False,
                dtype=dtype,
            )
        else:
            grid = np.full(shape, _OUTSIDE, dtype=dtype)
        grid[self._ambiguous_cells(shape, geoms)] = _AMBIGUOUS
        self._grid = grid

    def _ambiguous_cells(self, shape: tuple[int, int], geoms: np.ndarray) -> np.ndarray:
        """Cells that an edge passes within ``MARGIN`` cells of, plus the extent of invalid areas.

        Exact "supercover" of each edge with a margin, in grid units: for every column the edge
        comes near, the edge's v range over that (widened) column gives the rows it comes near.
        Rounding in this arithmetic is of order 1e-12 cells, far below the margin, so every
        point in an unmarked cell is more than ``MARGIN / 2`` cells from every boundary.
        """
        cs, d = self.cell_size, _MARGIN
        u1, u2 = (self._ex1 - self._x0) / cs, (self._ex2 - self._x0) / cs
        v1, v2 = (self._y1 - self._ey1) / cs, (self._y1 - self._ey2) / cs
        c_lo = np.ceil(np.minimum(u1, u2) - 1 - d).astype(np.int64)
        c_hi = np.floor(np.maximum(u1, u2) + d).astype(np.int64)
        n = c_hi - c_lo + 1
        edge = np.repeat(np.arange(len(n)), n)
        col = np.repeat(c_lo, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
        eu1, eu2, ev1, ev2 = u1[edge], u2[edge], v1[edge], v2[edge]
        ua = np.maximum(np.minimum(eu1, eu2), col - d)
        ub = np.minimum(np.maximum(eu1, eu2), col + 1 + d)
        du = eu2 - eu1
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(du != 0, (ev2 - ev1) / du, 0.0)
        va = np.where(du != 0, ev1 + (ua - eu1) * slope, np.minimum(ev1, ev2))
        vb = np.where(du != 0, ev1 + (ub - eu1) * slope, np.maximum(ev1, ev2))
        r_lo = np.ceil(np.minimum(va, vb) - 1 - d).astype(np.int64)
        r_hi = np.floor(np.maximum(va, vb) + d).astype(np.int64)
        del eu1, eu2, ev1, ev2, ua, ub, du, slope, va, vb, edge
        m = r_hi - r_lo + 1
        rows = np.repeat(r_lo, m) + (np.arange(m.sum()) - np.repeat(np.cumsum(m) - m, m))
        cols = np.repeat(col, m)
        dilated = np.zeros(shape, dtype=bool)
        dilated[np.clip(rows, 0, shape[0] - 1), np.clip(cols, 0, shape[1] - 1)] = True
        for i in np.flatnonzero(~self._valid & ~shapely.is_empty(geoms)):
            # Every ring counts (a hole may stick out of its shell): the rasteriser's even-odd
            # fill of an invalid area is not trusted anywhere it could have burnt.
            coords = shapely.get_coordinates(geoms[i])
            r0, c0 = self._cells(coords[:, 0].min(keepdims=True), coords[:, 1].max(keepdims=True))
            r1, c1 = self._cells(coords[:, 0].max(keepdims=True), coords[:, 1].min(keepdims=True))
            dilated[max(r0[0] - 1, 0) : r1[0] + 2, max(c0[0] - 1, 0) : c1[0] + 2] = True
        return dilated

    def _build_exact_index(self) -> None:
        """For every ambiguous cell, the edges a point in it can meet, grouped area by area.

        An edge matters to a point only when the point's y lies in the edge's y range (the
        winding test and the on-segment test both require it), so edges are first bucketed by
        (area, grid row); the row mapping is monotonic, so a point's row lies in the row range
        of every edge that matters. A cell then lists, for each area whose PostGIS box touches
        it, that area's bucket for the cell's row; sorted by ring, so a point meets its edges
        ring by ring. No spatial index is needed.
        """
        r_top, _ = self._cells(np.zeros_like(self._ey1), np.maximum(self._ey1, self._ey2))
        r_bot, _ = self._cells(np.zeros_like(self._ey1), np.minimum(self._ey1, self._ey2))
        # A hole may stick out of its shell, and so out of the grid: only rows inside count.
        off_grid = (r_bot < 0) | (r_top >= self._nrows)
        r_top = np.clip(r_top, 0, self._nrows - 1)
        r_bot = np.clip(r_bot, 0, self._nrows - 1)
        n = np.where(off_grid, 0, r_bot - r_top + 1).astype(np.int64)
        edge = np.repeat(np.arange(len(n)), n)
        row = np.repeat(r_top, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
        geom = self._part_geom[self._ring_part[self._edge_ring[edge]]]
        key = geom * self._nrows + row
        order = np.lexsort((self._edge_ring[edge], key))
        bucket_key, bucket_edge = key[order], edge[order]
        del edge, row, geom, key, order

        ambiguous = self._grid == _AMBIGUOUS
        self._amb_cells = np.flatnonzero(ambiguous)
        # Candidates of a cell: areas whose PostGIS box reaches it. The cell mapping is
        # monotonic, so a point inside a box lies in a cell of the box's cell range.
        boxes = self._boxes[self._geom_ids]
        top, left = self._cells(boxes[:, 0], boxes[:, 3])
        bottom, right = self._cells(boxes[:, 2], boxes[:, 1])
        top, bottom = np.clip(top, 0, self._nrows - 1), np.clip(bottom, 0, self._nrows - 1)
        left, right = np.clip(left, 0, self._ncols - 1), np.clip(right, 0, self._ncols - 1)
        flats, owners = [], []
        for i, g in enumerate(self._geom_ids):
            rr, cc = np.nonzero(ambiguous[top[i] : bottom[i] + 1, left[i] : right[i] + 1])
            flats.append((rr + top[i]) * self._ncols + cc + left[i])
            owners.append(np.full(len(rr), g, dtype=np.int64))
        del ambiguous
        flat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.int64)
        cand = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        slot = np.searchsorted(self._amb_cells, flat)
        rows = self._amb_cells // self._ncols
        order = np.lexsort((cand, slot))
        slot, cand = slot[order], cand[order]
        key = cand * self._nrows + rows[slot]
        lo = np.searchsorted(bucket_key, key, side="left")
        n = np.searchsorted(bucket_key, key, side="right") - lo
        self._cell_edge = bucket_edge[np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())]
        self._cell_edge = self._cell_edge.astype(np.int32)
        per_cell = np.bincount(slot, weights=n, minlength=len(self._amb_cells)).astype(np.int64)
        self._cell_start = np.r_[0, np.cumsum(per_cell)]

    # ------------------------------------------------------------------ queries
    def _cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid row (from the top) and column of each coordinate; monotonic in x and y."""
        cols = np.floor((x - self._x0) / self.cell_size)
        rows = np.floor((self._y1 - y) / self.cell_size)
        return rows.astype(np.int64), cols.astype(np.int64)

    def exact_share(self, x: np.ndarray, y: np.ndarray) -> float:
        """Share of the points that fall in ambiguous cells and need the exact test.

        A diagnostic for choosing ``cell_size``: it costs nothing to place the other points.
        """
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if len(x) == 0:
            return 0.0
        rows, cols = self._cells(x, y)
        inside = (cols >= 0) & (cols < self._ncols) & (rows >= 0) & (rows < self._nrows)
        return float((self._grid[rows[inside], cols[inside]] == _AMBIGUOUS).sum() / len(x))

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index into ``codes`` of the area covering each point, ``-1`` where none does.

        Parameters
        ----------
        x, y : numpy.ndarray
            Coordinates in the layer's CRS. Non-finite coordinates are in no area.

        Returns
        -------
        numpy.ndarray of int32
            Same length as ``x``. Overlaps are resolved by the smallest code (module docstring).
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError("x and y must be one-dimensional arrays of the same length")
        parts = min(_WORKERS, len(x) // PARALLEL_MIN_POINTS)
        if parts > 1:  # numpy lets go of the GIL: halves of a large batch run side by side
            cuts = np.linspace(0, len(x), parts + 1).astype(np.int64)
            with ThreadPoolExecutor(parts) as pool:
                blocks = [pool.submit(self._locate, x[a:b], y[a:b]) for a, b in pairwise(cuts)]
                return np.concatenate([block.result() for block in blocks])
        return self._locate(x, y)

    def _locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.full(len(x), _OUTSIDE, dtype=np.int32)
        with np.errstate(invalid="ignore"):
            fx = np.floor((x - self._x0) / self.cell_size)
            fy = np.floor((self._y1 - y) / self.cell_size)
            inside = (fx >= 0) & (fx < self._ncols) & (fy >= 0) & (fy < self._nrows)
        idx = np.flatnonzero(inside)
        flat = fy[idx].astype(np.int64) * self._ncols + fx[idx].astype(np.int64)
        found = self._grid.ravel()[flat]
        out[idx] = found
        amb = np.flatnonzero(found == _AMBIGUOUS)
        for start in range(0, len(amb), EXACT_BATCH):
            sel = amb[start : start + EXACT_BATCH]
            pts = idx[sel]
            out[pts] = self._locate_exact(x[pts], y[pts], flat[sel])
        return out

    def _locate_exact(self, x: np.ndarray, y: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """PostGIS's point-in-(multi)polygon test on the edges listed for each point's cell."""
        result = np.full(len(x), _OUTSIDE, dtype=np.int32)
        slot = np.searchsorted(self._amb_cells, flat)
        lo = self._cell_start[slot]
        n = self._cell_start[slot + 1] - lo
        point = np.repeat(np.arange(len(x)), n)
        edge = self._cell_edge[np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())]
        px, py = x[point], y[point]
        x1, y1, x2, y2 = self._ex1[edge], self._ey1[edge], self._ex2[edge], self._ey2[edge]
        # determineSide() and isOnSegment() of PostGIS, same operations in the same order.
        side = (x2 - x1) * (py - y1) - (px - x1) * (y2 - y1)
        on_edge = (
            (side == 0.0)
            & (np.maximum(x1, x2) >= px)
            & (np.minimum(x1, x2) <= px)
            & (np.maximum(y1, y2) >= py)
            & (np.minimum(y1, y2) <= py)
        )
        wind = ((y1 <= py) & (py < y2) & (side > 0)).astype(np.int64) - (
            (y2 <= py) & (py < y1) & (side < 0)
        )
        del px, py, x1, y1, x2, y2, side
        # Group per (point, ring): rows arrive sorted by point, then ring.
        ring = self._edge_ring[edge]
        new = np.r_[True, (point[1:] != point[:-1]) | (ring[1:] != ring[:-1])]
        starts = np.flatnonzero(new)
        g_point, g_ring = point[starts], ring[starts]
        wn = np.add.reduceat(wind, starts) if len(starts) else wind[:0]
        bnd = np.logical_or.reduceat(on_edge, starts) if len(starts) else on_edge[:0]
        status = np.where(bnd, 0, np.where(wn != 0, 1, -1))  # point_in_ring()'s answer
        # Rings absent from a row answer -1 (outside): no edge of theirs spans the point's y.
        part = self._ring_part[g_ring]
        block = g_point * self._n_parts + part  # non-decreasing; holes in stored order
        is_ext = self._ring_order[g_ring] == 0
        ext_block, ext_status = block[is_ext], status[is_ext]
        # The first hole, in stored order, that does not have the point outside.
        hole = ~is_ext & (status != -1)
        hole_block, first = np.unique(block[hole], return_index=True)
        first_hole = np.full(len(ext_block), -1)
        if len(hole_block):
            pos = np.minimum(np.searchsorted(hole_block, ext_block), len(hole_block) - 1)
            match = hole_block[pos] == ext_block
            first_hole[match] = status[hole][first][pos[match]]
        # A point on an exterior ring is covered at once, holes unseen: point_in_multipolygon()
        # and the cached point_in_multipolygon_rtree() that PostGIS uses for repeated polygons.
        # (Only the uncached point_in_polygon() of a single Polygon would still look at the
        # holes; that differs only for invalid polygons whose hole crosses the shell.)
        covered = (ext_status == 0) | ((ext_status == 1) & (first_hole != 1))
        # PostGIS first rejects a point outside the area's float-rounded box.
        c_block = ext_block[covered]
        c_pt = c_block // self._n_parts
        c_geom = self._part_geom[c_block % self._n_parts]
        box = self._boxes[c_geom]
        in_box = (
            (x[c_pt] >= box[:, 0])
            & (x[c_pt] <= box[:, 2])
            & (y[c_pt] >= box[:, 1])
            & (y[c_pt] <= box[:, 3])
        )
        c_pt, c_geom = c_pt[in_box], c_geom[in_box]
        if len(c_pt) == 0:
            return result
        order = np.lexsort((self._rank[c_geom], c_pt))
        c_pt, c_geom = c_pt[order], c_geom[order]
        head = np.r_[True, c_pt[1:] != c_pt[:-1]]
        result[c_pt[head]] = c_geom[head]
        return result
