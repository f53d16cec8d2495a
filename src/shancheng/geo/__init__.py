"""Pure geography: coordinate systems, the administrative hierarchy and the unit grid.

Nothing here reads or writes files; every function takes numbers or geometries and returns them.
"""

from __future__ import annotations

from shancheng.geo.admin import AdminLevel, is_child_code
from shancheng.geo.crs import (
    UTM_48N_EPSG,
    WGS84_EPSG,
    geometries_to_lonlat,
    lonlat_to_utm,
    utm_to_lonlat,
)
from shancheng.geo.grid import UnitGrid

__all__ = [
    "UTM_48N_EPSG",
    "WGS84_EPSG",
    "AdminLevel",
    "UnitGrid",
    "geometries_to_lonlat",
    "is_child_code",
    "lonlat_to_utm",
    "utm_to_lonlat",
]
