"""Conversions between WGS84 longitude/latitude and UTM zone 48N metres.

Shancheng stores lon/lat (EPSG:4326) and computes distances and areas in UTM 48N (EPSG:32648),
the zone that holds Chongqing. Every function orders coordinates ``lon, lat`` and ``x, y``
(``always_xy=True``), never the latitude-first order EPSG:4326 formally declares.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer

FloatArray = npt.NDArray[np.float64]

UTM_48N_EPSG = 32648
"""UTM zone 48N (WGS84 datum), the metric CRS in which Chongqing is computed."""
WGS84_EPSG = 4326
"""WGS84 geographic coordinates, the CRS in which shancheng stores geometry."""


@lru_cache(maxsize=8)
def _transformer(source_epsg: int, target_epsg: int) -> Transformer:
    """Return a cached lon/lat-ordered transformer between two EPSG codes."""
    return Transformer.from_crs(source_epsg, target_epsg, always_xy=True)


def utm_to_lonlat(
    x_utm: npt.ArrayLike, y_utm: npt.ArrayLike, *, epsg: int = UTM_48N_EPSG
) -> tuple[FloatArray, FloatArray]:
    """Convert projected metres to WGS84 longitude and latitude in degrees.

    Parameters
    ----------
    x_utm, y_utm
        Easting and northing in metres in ``epsg``.
    epsg
        EPSG code of the projected CRS, UTM 48N by default.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in degrees, same shape as the inputs.

    Examples
    --------
    >>> lon, lat = utm_to_lonlat([500000.0], [0.0])
    >>> round(float(lon[0]), 6), round(float(lat[0]), 6)  # the zone's central meridian
    (105.0, 0.0)
    """
    lon, lat = _transformer(epsg, WGS84_EPSG).transform(
        np.asarray(x_utm, dtype=np.float64), np.asarray(y_utm, dtype=np.float64)
    )
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def lonlat_to_utm(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, epsg: int = UTM_48N_EPSG
) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 longitude and latitude in degrees to projected metres.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (WGS84).
    epsg
        EPSG code of the target projected CRS, UTM 48N by default.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x_utm, y_utm)`` in metres.

    Examples
    --------
    >>> x, y = lonlat_to_utm([105.0], [0.0])
    >>> round(float(x[0]), 3), round(float(y[0]), 3)
    (500000.0, 0.0)
    """
    x, y = _transformer(WGS84_EPSG, epsg).transform(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def geometries_to_lonlat(
    geometries: npt.NDArray[np.object_], *, epsg: int = UTM_48N_EPSG
) -> npt.NDArray[np.object_]:
    """Reproject shapely geometries from projected metres to WGS84 lon/lat.

    Parameters
    ----------
    geometries
        Array of shapely geometries with coordinates in ``epsg``.
    epsg
        EPSG code of their projected CRS.

    Returns
    -------
    numpy.ndarray
        New geometries (same types) with lon/lat coordinates.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> (point,) = geometries_to_lonlat(np.array([shapely.Point(500000.0, 0.0)]))
    >>> round(point.x, 6)
    105.0
    """

    def _project(coords: FloatArray) -> FloatArray:
        lon, lat = utm_to_lonlat(coords[:, 0], coords[:, 1], epsg=epsg)
        return np.column_stack([lon, lat])

    result: npt.NDArray[np.object_] = shapely.transform(
        np.asarray(geometries, dtype=object), _project
    )
    return result
