"""Conversions between WGS84 longitude/latitude, UTM metres and the Chinese map datums.

Shancheng stores lon/lat (EPSG:4326) and computes distances and areas in UTM 48N (EPSG:32648),
the zone that holds Chongqing (real cities elsewhere use their own zone, :func:`utm_epsg_for`).
Chinese web maps publish GCJ-02 (Amap, Tencent) or BD-09 (Baidu) coordinates; the published
algorithms to and from WGS84 are here (:func:`to_wgs84`, :func:`from_wgs84`). Every function
orders coordinates ``lon, lat`` and ``x, y`` (``always_xy=True``), never the latitude-first
order EPSG:4326 formally declares.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer

if TYPE_CHECKING:
    from collections.abc import Callable

    from shancheng.types import FloatArray

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


def utm_epsg_for(lon: float, lat: float) -> int:
    """Return the EPSG code of the WGS84 UTM zone holding a point.

    Real cities are computed in their own zone (UTM 48N only suits Chongqing), so lengths and
    areas in metres stay true to well under 0.1 %.

    Examples
    --------
    >>> utm_epsg_for(106.55, 29.56), utm_epsg_for(7.42, 43.74), utm_epsg_for(-70.6, -33.4)
    (32648, 32632, 32719)
    """
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


# --- Chinese map datums: GCJ-02 (国测局, "Mars coordinates") and BD-09 (Baidu) -------------

Datum = Literal["wgs84", "gcj02", "bd09"]
"""Datum of input coordinates: WGS84, GCJ-02 (Amap, Tencent) or BD-09 (Baidu)."""
DATUMS: tuple[Datum, ...] = ("wgs84", "gcj02", "bd09")

_GCJ_A = 6378245.0
"""Semi-major axis of the Krasovsky 1940 ellipsoid used by the published GCJ-02 algorithm."""
_GCJ_EE = 0.00669342162296594323
"""First eccentricity squared of that ellipsoid."""
_BD_X_PI = math.pi * 3000.0 / 180.0


def in_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Tell which points lie in the rectangle where GCJ-02 applies its offset.

    Outside it (72.004 to 137.8347 E, 0.8293 to 55.8271 N) the published algorithm leaves
    coordinates unchanged.
    """
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    return (x >= 72.004) & (x <= 137.8347) & (y >= 0.8293) & (y <= 55.8271)  # noqa: PLR2004


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Offset (degrees) that GCJ-02 adds to WGS84 coordinates at ``lon, lat``."""
    x = lon - 105.0
    y = lat - 35.0
    root = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + common
    d_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + common
    d_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = d_lon * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift WGS84 lon/lat to GCJ-02 with the published (eviltransform) algorithm.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([106.5516], [29.5630])  # Jiefangbei, Chongqing
    >>> round(float(lon[0]) - 106.5516, 4), round(float(lat[0]) - 29.5630, 4)
    (0.0037, -0.0028)
    """
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    d_lon, d_lat = _gcj_offset(x, y)
    return x + d_lon, y + d_lat


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_deg: float = 1e-10
) -> tuple[FloatArray, FloatArray]:
    """Invert GCJ-02 to WGS84 exactly, by fixed-point iteration of the forward shift.

    The one-step inverse common on the web (subtract the offset at the GCJ point) errs by up
    to about 1 to 2 m; iterating until the forward shift lands on the input removes that error.

    Examples
    --------
    >>> gx, gy = wgs84_to_gcj02([106.5516], [29.5630])
    >>> lon, lat = gcj02_to_wgs84(gx, gy)
    >>> abs(float(lon[0]) - 106.5516) < 1e-9, abs(float(lat[0]) - 29.5630) < 1e-9
    (True, True)
    """
    g_lon = np.asarray(lon, dtype=np.float64)
    g_lat = np.asarray(lat, dtype=np.float64)
    return _invert(wgs84_to_gcj02, g_lon, g_lat, (g_lon.copy(), g_lat.copy()), tolerance_deg)


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lon: FloatArray,
    lat: FloatArray,
    start: tuple[FloatArray, FloatArray],
    tolerance_deg: float,
) -> tuple[FloatArray, FloatArray]:
    """Return the points ``forward`` maps onto (lon, lat): fixed-point iteration from ``start``."""
    w_lon, w_lat = start
    for _ in range(30):
        f_lon, f_lat = forward(w_lon, w_lat)
        e_lon, e_lat = f_lon - lon, f_lat - lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        worst = np.nanmax(np.abs(np.concatenate([e_lon.ravel(), e_lat.ravel()])), initial=0.0)
        if worst < tolerance_deg:
            break
    return w_lon, w_lat


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Shift GCJ-02 lon/lat to Baidu's BD-09 (the published Baidu formula)."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_deg: float = 1e-10
) -> tuple[FloatArray, FloatArray]:
    """Shift BD-09 lon/lat back to GCJ-02 exactly.

    The published inverse Baidu formula errs by up to about 0.2 m (more in the north-east);
    starting from it, a fixed-point iteration of the forward formula removes that error.

    Examples
    --------
    >>> bx, by = gcj02_to_bd09([132.25], [53.0])
    >>> gx, gy = bd09_to_gcj02(bx, by)
    >>> abs(float(gx[0]) - 132.25) < 1e-9, abs(float(gy[0]) - 53.0) < 1e-9
    (True, True)
    """
    b_lon = np.asarray(lon, dtype=np.float64)
    b_lat = np.asarray(lat, dtype=np.float64)
    x, y = b_lon - 0.0065, b_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    start = (z * np.cos(theta), z * np.sin(theta))
    return _invert(gcj02_to_bd09, b_lon, b_lat, start, tolerance_deg)


def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, datum: Datum) -> tuple[FloatArray, FloatArray]:
    """Convert lon/lat given in ``datum`` to WGS84.

    Examples
    --------
    >>> bx, by = gcj02_to_bd09(*wgs84_to_gcj02([106.5516], [29.5630]))
    >>> lon, lat = to_wgs84(bx, by, "bd09")
    >>> round(float(lon[0]), 6), round(float(lat[0]), 6)
    (106.5516, 29.563)
    """
    _check_datum_name(datum)
    if datum == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if datum == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _check_datum_name(datum: str) -> None:
    if datum not in DATUMS:
        msg = f"datum must be one of {', '.join(DATUMS)}, got {datum!r}"
        raise ValueError(msg)


def from_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, datum: Datum
) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 lon/lat to ``datum`` (the inverse of :func:`to_wgs84`)."""
    _check_datum_name(datum)
    if datum == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if datum == "bd09":
        return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def geometries_to_wgs84(geometries: npt.ArrayLike, datum: Datum) -> npt.NDArray[np.object_]:
    """Convert shapely geometries with lon/lat in ``datum`` to WGS84 (every vertex)."""

    def _convert(coords: FloatArray) -> FloatArray:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1], datum)
        return np.column_stack([lon, lat])

    result: npt.NDArray[np.object_] = shapely.transform(
        np.asarray(geometries, dtype=object), _convert
    )
    return result


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in metres on a sphere of radius 6,371,008.8 m (mean Earth).

    Examples
    --------
    >>> round(float(haversine_m(0.0, 0.0, 0.0, 1.0)), 1)  # one degree of latitude
    111195.1
    """
    phi1 = np.radians(np.asarray(lat1, dtype=np.float64))
    phi2 = np.radians(np.asarray(lat2, dtype=np.float64))
    d_phi = phi2 - phi1
    d_lambda = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, np.float64))
    h = np.sin(d_phi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))))


EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG) used by :func:`haversine_m`."""
