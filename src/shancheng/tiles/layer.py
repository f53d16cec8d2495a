"""One tiled layer: geometries in EPSG:3857 with a packed R-tree, cut into tiles on demand.

A :class:`TileLayer` is built once (projection and STRtree), then :func:`tile_features` cuts
the part a tile needs with shapely 2's vectorised operations: an exact intersects query on
the tree, ``clip_by_rect`` to the tile plus a small buffer, ``simplify`` to the tile's
resolution, and an affine map to tile units. Zoomed out, a tile over a whole city would hold
hundreds of thousands of street pieces that cover less than a pixel each; the layer then
keeps at most ``max_features`` of them, the longest (lines), largest (polygons) or one per
pixel (points), so that every tile stays small enough to draw at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import shapely

from shancheng.errors import InputError
from shancheng.tiles.mercator import (
    EXTENT,
    MAX_ZOOM,
    lonlat_to_mercator,
    metres_per_unit,
    tile_bounds,
)

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

GeometryKind = Literal["point", "line", "polygon"]
ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.intp]

_KINDS: dict[int, GeometryKind] = {0: "point", 4: "point", 1: "line", 2: "line", 5: "line",
                                   3: "polygon", 6: "polygon"}  # fmt: skip
"""shapely type id → the MVT geometry kind (collections are refused)."""


@dataclass(frozen=True, eq=False)
class TileLayer:
    """Geometries (EPSG:3857) and their attributes, indexed for tiling.

    Attributes
    ----------
    name
        Layer name, in the URL and inside each tile.
    geometry
        Shapely geometries in EPSG:3857 metres, one kind (points, lines or polygons).
    properties
        One row per geometry; the columns become the features' attributes.
    minzoom
        Below this zoom the layer's tiles are empty.
    max_features
        Most features one tile carries (the smallest are left out first).
    simplify_units
        Douglas-Peucker tolerance in tile units (4096 per tile: 2 units ≈ a quarter pixel).
    feature_minzoom
        Per feature, the lowest zoom whose tiles carry it (main roads before lanes); ``None``:
        every feature from ``minzoom``.
    """

    name: str
    geometry: ObjectArray
    properties: pd.DataFrame
    minzoom: int = 0
    max_features: int = 20_000
    simplify_units: float = 2.0
    feature_minzoom: IntArray | None = None
    kind: GeometryKind = field(init=False)
    tree: shapely.STRtree = field(init=False, repr=False)
    sizes_m: npt.NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Check the inputs, then build the packed R-tree and the feature sizes once."""
        if len(self.geometry) != len(self.properties):
            msg = (
                f"tile layer {self.name!r}: {len(self.geometry)} geometries but "
                f"{len(self.properties)} property rows"
            )
            raise InputError(msg)
        if self.feature_minzoom is not None and len(self.feature_minzoom) != len(self.geometry):
            msg = (
                f"tile layer {self.name!r}: {len(self.feature_minzoom)} feature min zooms for "
                f"{len(self.geometry)} geometries"
            )
            raise InputError(msg)
        ids = np.unique(shapely.get_type_id(self.geometry)).tolist()
        object.__setattr__(self, "kind", _one_kind(self.name, {_KINDS.get(i) for i in ids}))
        object.__setattr__(self, "tree", shapely.STRtree(self.geometry))
        sizes = (
            shapely.length(self.geometry)
            if self.kind == "line"
            else np.sqrt(shapely.area(self.geometry))
            if self.kind == "polygon"
            else np.zeros(len(self.geometry))
        )
        object.__setattr__(self, "sizes_m", np.asarray(sizes, dtype=np.float64))

    @property
    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """West, south, east, north of the layer's data in WGS84 degrees (for TileJSON)."""
        from shancheng.tiles.mercator import mercator_to_lonlat  # noqa: PLC0415

        if len(self.geometry) == 0:
            return (-180.0, -85.0511, 180.0, 85.0511)
        x0, y0, x1, y1 = shapely.total_bounds(self.geometry)
        (w, e), (s, n) = mercator_to_lonlat([x0, x1], [y0, y1])
        return (float(w), float(s), float(e), float(n))


def _one_kind(name: str, kinds: set[GeometryKind | None]) -> GeometryKind:
    """Refuse mixed or unsupported geometry types (one MVT layer draws one kind well)."""
    if not kinds:
        return "point"  # an empty layer: any kind draws nothing
    if len(kinds) != 1 or None in kinds:
        msg = (
            f"tile layer {name!r}: geometries must all be points, lines or polygons, found "
            f"{sorted(str(k) for k in kinds)}"
        )
        raise InputError(msg)
    (kind,) = kinds
    assert kind is not None  # noqa: S101 - narrowed above
    return kind


def layer_from_frame(
    name: str,
    frame: gpd.GeoDataFrame,
    columns: list[str],
    *,
    minzoom: int = 0,
    max_features: int = 20_000,
    feature_minzoom: npt.ArrayLike | None = None,
) -> TileLayer:
    """Project a WGS84 GeoDataFrame to EPSG:3857 and index it as a tile layer.

    Rows with missing or empty geometry are left out (they cannot be drawn).
    ``feature_minzoom`` gives, per row, the lowest zoom whose tiles carry it.

    Raises
    ------
    InputError
        If ``frame`` is not in WGS84 (EPSG:4326) or lacks one of ``columns``.
    """
    if frame.crs is not None and frame.crs.to_epsg() != 4326:  # noqa: PLR2004 - EPSG code
        msg = f"tile layer {name!r}: geometry must be WGS84 (EPSG:4326), got {frame.crs}"
        raise InputError(msg)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"tile layer {name!r}: missing columns {missing}; the frame has {list(frame.columns)}"
        raise InputError(msg)
    geometry = frame.geometry.to_numpy()
    keep = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    projected = shapely.transform(
        geometry[keep], lambda xy: np.column_stack(lonlat_to_mercator(xy[:, 0], xy[:, 1]))
    )
    return TileLayer(
        name,
        np.asarray(projected, dtype=object),
        frame.loc[keep, columns].reset_index(drop=True),
        minzoom=minzoom,
        max_features=max_features,
        feature_minzoom=None
        if feature_minzoom is None
        else np.asarray(feature_minzoom, dtype=np.intp)[keep],
    )


def tile_features(
    layer: TileLayer, z: int, x: int, y: int, *, extent: int = EXTENT, buffer: int = 64
) -> tuple[ObjectArray, IntArray]:
    """Cut the features of tile ``z/x/y`` out of ``layer``, in tile units (y down, unrounded).

    Parameters
    ----------
    layer
        The layer.
    z, x, y
        The tile address (checked).
    extent
        Tile units across the tile.
    buffer
        Tile units kept beyond each edge, so that lines and outlines join across tiles.

    Returns
    -------
    tuple
        ``(geometries, rows)``: the clipped geometries in tile units and the row of each
        in ``layer.properties``.
    """
    bounds = tile_bounds(z, x, y)
    empty: tuple[ObjectArray, IntArray] = (np.empty(0, dtype=object), np.empty(0, dtype=np.intp))
    if z < layer.minzoom or z > MAX_ZOOM or len(layer.geometry) == 0:
        return empty
    unit_m = metres_per_unit(z, extent=extent)
    pad = buffer * unit_m
    box = (bounds.west - pad, bounds.south - pad, bounds.east + pad, bounds.north + pad)
    rows = np.asarray(layer.tree.query(shapely.box(*box), predicate="intersects"), np.intp)
    rows.sort()
    if layer.feature_minzoom is not None:
        rows = rows[layer.feature_minzoom[rows] <= z]
    rows = _thin(layer, rows, unit_m)
    geoms = layer.geometry[rows]
    if layer.kind != "point":
        geoms = shapely.clip_by_rect(geoms, *box)
        geoms = shapely.simplify(
            geoms, layer.simplify_units * unit_m, preserve_topology=layer.kind == "polygon"
        )
    scale = 1.0 / unit_m
    west, north = bounds.west, bounds.north
    geoms = shapely.transform(
        geoms, lambda xy: np.column_stack(((xy[:, 0] - west) * scale, (north - xy[:, 1]) * scale))
    )
    keep = ~shapely.is_empty(geoms)
    return np.asarray(geoms[keep], dtype=object), rows[keep]


def _thin(layer: TileLayer, rows: IntArray, unit_m: float) -> IntArray:
    """Keep at most ``layer.max_features`` rows: the largest, or one point per pixel."""
    if len(rows) <= layer.max_features:
        return rows
    if layer.kind == "point":
        pixel_m = 8 * unit_m  # 4096 units over 512 screen pixels
        xy = shapely.get_coordinates(shapely.centroid(layer.geometry[rows]))
        cells = np.floor(xy / pixel_m).astype(np.int64)
        _, first = np.unique(cells, axis=0, return_index=True)
        rows = rows[np.sort(first)]
        if len(rows) <= layer.max_features:
            return rows
    sizes = layer.sizes_m[rows]
    largest = np.argpartition(-sizes, layer.max_features - 1)[: layer.max_features]
    return np.sort(rows[largest])
