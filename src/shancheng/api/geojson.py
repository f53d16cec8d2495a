"""GeoJSON for the dashboard: WGS84, simplified for display, coordinates rounded, NaN as null."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

if TYPE_CHECKING:
    import geopandas as gpd

DISPLAY_TOLERANCE_DEG = 0.00002
"""Simplification tolerance, degrees (about 2 m): invisible at street zoom, far fewer vertices."""
DECIMALS = 6
"""Coordinate decimals kept (about 0.1 m)."""


def plain(value: Any) -> Any:  # noqa: ANN401 - any JSON-like scalar
    """Return a JSON-safe Python scalar: numpy scalars unwrapped, NaN and inf as ``None``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def feature_collection(
    frame: gpd.GeoDataFrame,
    properties: list[str],
    *,
    tolerance_deg: float = DISPLAY_TOLERANCE_DEG,
) -> dict[str, Any]:
    """Return ``frame`` (any CRS) as a GeoJSON FeatureCollection in WGS84.

    Parameters
    ----------
    frame
        The rows to draw.
    properties
        Columns copied into each feature's ``properties`` (NaN becomes ``null``).
    tolerance_deg
        Douglas-Peucker tolerance, degrees (topology kept); 0 keeps every vertex.
    """
    if frame.crs is not None and frame.crs.to_epsg() != 4326:  # noqa: PLR2004 - EPSG code
        frame = frame.to_crs(4326)
    geometry = np.asarray(frame.geometry.to_numpy(), dtype=object)
    if tolerance_deg > 0:
        geometry = shapely.simplify(geometry, tolerance_deg, preserve_topology=True)
    geometry = shapely.set_precision(geometry, 10.0**-DECIMALS)
    shapes = [
        None if g is None or g.is_empty else json.loads(shapely.to_geojson(g)) for g in geometry
    ]
    columns = {name: frame[name].to_numpy() for name in properties}
    features = [
        {
            "type": "Feature",
            "geometry": shape,
            "properties": {name: plain(values[i]) for name, values in columns.items()},
        }
        for i, shape in enumerate(shapes)
    ]
    return {"type": "FeatureCollection", "features": features}
