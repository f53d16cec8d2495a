"""Administrative units: official division codes, boundary polygons per level, and checks.

The official codes (统计用区划代码, National Bureau of Statistics) give the four levels — city,
district/county, street/town, community/village — with names and parents, but no geometry.
Polygons come per level from GeoJSON, GeoPackage or Shapefile, often in GCJ-02. This module
reads both, converts polygons to WGS84, and validates them: every unit inside its parent,
no overlaps between siblings, no gaps in a parent's cover — each problem named with the
units and the area in m². Street and community polygons are often unpublished: a level with
codes but no polygons is reported with the fallback offered (nearest named place, or the unit
grid only), and :func:`assign_by_nearest_place` implements the first.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from shancheng.errors import BoundaryError, CRSMismatchError, MissingColumnError
from shancheng.geo.admin import AdminLevel
from shancheng.geo.crs import WGS84_EPSG, Datum, geometries_to_wgs84, utm_epsg_for

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

MUNICIPALITIES = ("11", "12", "31", "50")
"""Province-level cities (Beijing, Tianjin, Shanghai, Chongqing): districts chain by 2 digits."""
LEVEL_FILES = {
    AdminLevel.DISTRICT: ("district_code", "district_name", None),
    AdminLevel.STREET: ("street_code", "street_name", "district_code"),
    AdminLevel.COMMUNITY: ("community_code", "community_name", "street_code"),
}
"""Columns of the NBS code lists per level: code, name, parent code."""


CodeScheme = Literal["nbs", "free"]
"""How unit codes are checked: ``nbs`` China's statistical division codes (6, 9 and 12 digits,
each starting with its parent's), ``free`` any other country's codes (any text, unique)."""


def read_division_codes(
    districts: str | Path,
    streets: str | Path | None = None,
    communities: str | Path | None = None,
    *,
    city_code: str,
    city_name: str,
    scheme: CodeScheme = "nbs",
) -> pd.DataFrame:
    """Read the official code lists into one table of units (city first, then each level).

    Parameters
    ----------
    districts, streets, communities
        The lists (CSV), coarsest first; streets and communities are optional.
    city_code, city_name
        The city unit's own code and name (no default: a City outside China has its own).
    scheme
        ``nbs`` checks China's code lengths and prefixes; ``free`` takes any code that is not
        blank and appears once, with its parent in the level above.

    Returns
    -------
    pandas.DataFrame
        Columns ``code, name, level, parent_code`` (codes as text).

    Raises
    ------
    MissingColumnError
        A list lacks a code, name or parent column; the message names file and column.
    BoundaryError
        A code has the wrong form, does not chain to its parent's code, appears twice, or
        its parent is not in the list above it; the message names file, row and code.
    """
    if scheme not in ("nbs", "free"):
        msg = f"code scheme must be 'nbs' (China's division codes) or 'free', got {scheme!r}"
        raise BoundaryError(msg)
    if not str(city_code).strip():
        msg = "the city unit needs its own code (--city-code)"
        raise BoundaryError(msg)
    rows = [pd.DataFrame({"code": [city_code], "name": [city_name], "level": ["city"],
                          "parent_code": [""]})]  # fmt: skip
    known = {city_code}
    seen = {city_code}
    for level, path in ((AdminLevel.DISTRICT, districts), (AdminLevel.STREET, streets),
                        (AdminLevel.COMMUNITY, communities)):  # fmt: skip
        if path is None:
            continue
        code_col, name_col, parent_col = LEVEL_FILES[level]
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in (code_col, name_col, parent_col):
            if column is not None and column not in table.columns:
                msg = f"{path}: column `{column}` is missing (found {', '.join(table.columns)})"
                raise MissingColumnError(msg)
        table[code_col] = table[code_col].str.strip()
        parent = (
            table[parent_col].str.strip() if parent_col else pd.Series(city_code, index=table.index)
        )
        if scheme == "nbs":
            _check_codes(path, level, table[code_col], parent, known)
        else:
            _check_free_codes(path, level, table[code_col], parent, known, seen)
        known = set(table[code_col])
        seen |= known
        rows.append(pd.DataFrame({"code": table[code_col], "name": table[name_col],
                                  "level": level.value, "parent_code": parent}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def _check_free_codes(
    path: str | Path,
    level: AdminLevel,
    codes: pd.Series,
    parents: pd.Series,
    known: set[str],
    seen: set[str],
) -> None:
    """Any text code: not blank, once in all the lists, its parent in the level above."""
    mine: set[str] = set()
    for row, (code, parent) in enumerate(zip(codes, parents, strict=True), start=2):
        if not code:
            msg = f"{path}: row {row}: the {level.value} code is blank"
            raise BoundaryError(msg)
        if code in mine or code in seen:
            msg = f"{path}: row {row}: {level.value} code {code!r} is used twice (codes are keys)"
            raise BoundaryError(msg)
        mine.add(code)
        if parent not in known:
            msg = f"{path}: row {row}: parent code {parent!r} of {code} is not in the level above"
            raise BoundaryError(msg)


_NOT_NBS = " (China's division codes; for other codes use --code-scheme free)"


def _check_codes(
    path: str | Path, level: AdminLevel, codes: pd.Series, parents: pd.Series, known: set[str]
) -> None:
    for row, (code, parent) in enumerate(zip(codes, parents, strict=True), start=2):
        prefix = 2 if level is AdminLevel.DISTRICT and parent[:2] in MUNICIPALITIES else (
            level.parent_prefix_length)  # fmt: skip
        if not (isinstance(code, str) and code.isdigit() and len(code) == level.code_length):
            msg = (
                f"{path}: row {row}: {level.value} code {code!r} must be {level.code_length} digits"
                f"{_NOT_NBS}"
            )
            raise BoundaryError(msg)
        if parent not in known:
            msg = f"{path}: row {row}: parent code {parent!r} of {code} is not in the level above"
            raise BoundaryError(msg)
        if code[:prefix] != parent[:prefix]:
            msg = (
                f"{path}: row {row}: code {code} does not start with its parent's "
                f"{parent[:prefix]}{_NOT_NBS}"
            )
            raise BoundaryError(msg)


def read_boundaries(
    path: str | Path,
    *,
    level: AdminLevel | str,
    code_column: str,
    name_column: str,
    datum: Datum = "wgs84",
) -> gpd.GeoDataFrame:
    """Read one level's polygons (GeoJSON/GeoPackage/Shapefile) into WGS84.

    Parameters
    ----------
    path
        The boundary file.
    level
        Administrative level of its units.
    code_column, name_column
        Columns holding the official code and the name.
    datum
        Datum of the coordinates when the file is in geographic lon/lat: files from Chinese
        web maps are GCJ-02 or BD-09 even when their metadata says EPSG:4326.

    Raises
    ------
    CRSMismatchError
        The file declares no CRS, or its coordinates contradict the CRS it declares (metres
        in a file that says lon/lat, or degrees in a file that says metres).
    MissingColumnError
        The code or name column is absent.
    """
    source = str(path)
    frame = _read_checked(path)
    for column in (code_column, name_column):
        if column not in frame.columns:
            msg = f"{source}: column `{column}` is missing (found {', '.join(frame.columns)})"
            raise MissingColumnError(msg)
    geometry = frame.geometry.to_numpy()
    if datum != "wgs84":
        geometry = geometries_to_wgs84(geometry, datum)
    level_value = AdminLevel(level).value
    out = gpd.GeoDataFrame(
        {"code": frame[code_column].astype(str).to_numpy(),
         "name": frame[name_column].astype(str).to_numpy(), "level": level_value},
        geometry=shapely.make_valid(geometry), crs=WGS84_EPSG,
    )  # fmt: skip
    logger.info("%s: %d %s polygons", source, len(out), level_value)
    return out


def read_area(path: str | Path, *, datum: Datum = "wgs84") -> shapely.Geometry:
    """Read a study-area file (any polygons, any CRS) as one WGS84 geometry, CRS checked."""
    frame = _read_checked(path)
    geometry = frame.geometry.to_numpy()
    if datum != "wgs84":
        geometry = geometries_to_wgs84(geometry, datum)
    return shapely.union_all(shapely.make_valid(geometry))


def _read_checked(path: str | Path) -> gpd.GeoDataFrame:
    """Read a vector file and return it in WGS84, refusing a CRS its coordinates contradict."""
    source = str(path)
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds for unreadable files
        msg = f"{source}: not a readable boundary file ({type(exc).__name__}: {exc})"
        raise BoundaryError(msg) from exc
    if frame.crs is None:
        msg = f"{source}: the file declares no CRS; give it one (e.g. EPSG:4326 or EPSG:32648)"
        raise CRSMismatchError(msg)
    west, south, east, north = frame.total_bounds
    degrees = west >= -180 and east <= 180 and south >= -90 and north <= 90  # noqa: PLR2004
    crs = CRS.from_user_input(frame.crs)
    if crs.is_geographic and not degrees:
        msg = (
            f"{source}: declares {crs.to_string()} (lon/lat degrees) but its coordinates span "
            f"{west:.0f}..{east:.0f}, {south:.0f}..{north:.0f}: they look projected (metres); "
            "set the file's real CRS"
        )
        raise CRSMismatchError(msg)
    if crs.is_projected and degrees and max(abs(west), abs(east)) <= 180:  # noqa: PLR2004
        msg = (
            f"{source}: declares {crs.to_string()} (metres) but its coordinates span "
            f"{west:.4f}..{east:.4f}, {south:.4f}..{north:.4f}: they look like lon/lat degrees"
        )
        raise CRSMismatchError(msg)
    return frame.to_crs(WGS84_EPSG)


@dataclass
class BoundaryCheck:
    """Problems found between units: each row names the units and the area in m²."""

    issues: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Columns: ``kind`` (outside_parent, overlap, gap), ``code, name, other_code,
    other_name, area_m2``."""

    def lines(self) -> list[str]:
        """Human-readable lines, largest areas first."""
        out = []
        for row in self.issues.sort_values("area_m2", ascending=False).to_dict("records"):
            other = f" and {row['other_name']} ({row['other_code']})" if row["other_code"] else ""
            out.append(
                f"{row['kind']}: {row['name']} ({row['code']}){other}: {row['area_m2']:,.0f} m²"
            )
        return out


def check_boundaries(
    children: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    *,
    parent_of: pd.Series | None = None,
    min_area_m2: float = 1_000.0,
) -> BoundaryCheck:
    """Check a level of polygons against its parent level.

    Parameters
    ----------
    children, parents
        Units (``code, name, geometry`` in WGS84).
    parent_of
        Parent code of each child, indexed like ``children``; by default the parent is the
        one containing most of the child.
    min_area_m2
        Problems smaller than this (slivers of digitising) are not reported.

    Returns
    -------
    BoundaryCheck
        Children reaching outside their parent, overlapping siblings, and parts of a parent
        no child covers, with names and areas.
    """
    lon, lat = shapely.centroid(shapely.union_all(parents.geometry.to_numpy())).coords[0]
    epsg = utm_epsg_for(lon, lat)
    kids = children.to_crs(epsg).reset_index(drop=True)
    dads = parents.to_crs(epsg).reset_index(drop=True)
    if parent_of is None:
        overlap = gpd.overlay(kids[["code", "geometry"]].rename(columns={"code": "kid"}),
                              dads[["code", "geometry"]].rename(columns={"code": "dad"}),
                              keep_geom_type=True)  # fmt: skip
        overlap["a"] = overlap.area
        best = overlap.sort_values("a").drop_duplicates("kid", keep="last").set_index("kid")
        parent_codes = kids["code"].map(best["dad"]).fillna("")
    else:
        parent_codes = pd.Series(np.asarray(parent_of), index=kids.index)
    dad_geom = dict(zip(dads["code"], dads.geometry, strict=True))
    dad_name = dict(zip(dads["code"], dads["name"], strict=True))
    issues = []
    for i, kid in kids.iterrows():
        parent = dad_geom.get(parent_codes[i])
        if parent is None:
            continue
        outside = shapely.area(shapely.difference(kid.geometry, parent))
        if outside >= min_area_m2:
            issues.append(("outside_parent", kid["code"], kid["name"], parent_codes[i],
                           dad_name[parent_codes[i]], outside))  # fmt: skip
    tree = shapely.STRtree(kids.geometry.to_numpy())
    left, right = tree.query(kids.geometry.to_numpy(), predicate="intersects")
    pairs = left < right
    for a, b in zip(left[pairs], right[pairs], strict=True):
        area = shapely.area(shapely.intersection(kids.geometry[a], kids.geometry[b]))
        if area >= min_area_m2:
            issues.append(("overlap", kids["code"][a], kids["name"][a], kids["code"][b],
                           kids["name"][b], area))  # fmt: skip
    for code, geom in dad_geom.items():
        mine = kids.geometry[(parent_codes == code).to_numpy()].to_numpy()
        gap = shapely.area(shapely.difference(geom, shapely.union_all(mine)))
        if gap >= min_area_m2:
            issues.append(("gap", code, dad_name[code], "", "", gap))
    frame = pd.DataFrame(issues, columns=["kind", "code", "name", "other_code", "other_name",
                                          "area_m2"])  # fmt: skip
    return BoundaryCheck(frame)


def missing_polygon_levels(codes: pd.DataFrame, polygons: dict[str, gpd.GeoDataFrame]) -> list[str]:
    """Say which levels have codes but no polygons, and what the import will do instead."""
    lines = []
    for level in ("district", "street", "community"):
        n_codes = int((codes["level"] == level).sum())
        if n_codes and level not in polygons:
            lines.append(
                f"{level} level: {n_codes:,} official codes but no polygons; points will be "
                "assigned by the nearest named place (assign_by_nearest_place), or to the unit "
                "grid only when no names match"
            )
    return lines


_SUFFIXES = re.compile(r"(街道办事处|街道|社区居民委员会|社区居委会|居民委员会|村民委员会|村委会|"
                       r"社区|镇|乡|村)$")  # fmt: skip


def _plain(name: str) -> str:
    """Name without its administrative suffix: 解放碑街道 → 解放碑."""
    return _SUFFIXES.sub("", str(name).strip())


def assign_by_nearest_place(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    units: pd.DataFrame,
    places: pd.DataFrame,
) -> tuple[npt.NDArray[np.object_], int]:
    """Assign points to units by the nearest named place (fallback for levels without polygons).

    Each point takes the unit of the nearest named place (an OSM ``place=*`` node) whose name
    matches a unit's name once the suffix (街道, 镇, 社区...) is dropped.

    Parameters
    ----------
    lon, lat
        Points to assign (WGS84).
    units
        ``code, name`` of the level's units.
    places
        ``name, lon, lat`` of named places.

    Returns
    -------
    tuple
        Code per point (``""`` when no place matched at all), and how many units matched a
        place.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"code": ["500103001", "500103002"],
    ...                       "name": ["七星岗街道", "解放碑街道"]})
    >>> places = pd.DataFrame({"name": ["解放碑", "七星岗"], "lon": [106.58, 106.56],
    ...                        "lat": [29.56, 29.56]})
    >>> codes, matched = assign_by_nearest_place([106.575, 106.55], [29.56, 29.56], units, places)
    >>> codes.tolist(), matched
    (['500103002', '500103001'], 2)
    """
    by_name = {_plain(name): code for code, name in zip(units["code"], units["name"], strict=True)}
    plain = places["name"].map(_plain)
    hit = plain.isin(list(by_name)).to_numpy()
    x = np.asarray(lon, dtype=np.float64)
    if not hit.any():
        return np.full(x.shape[0], "", dtype=object), 0
    matched = places[hit]
    codes = plain[hit].map(by_name).to_numpy()
    scale = np.cos(np.radians(float(np.mean(matched["lat"]))))
    tree = cKDTree(np.column_stack([matched["lon"] * scale, matched["lat"]]))
    _, nearest = tree.query(np.column_stack([x * scale, np.asarray(lat, dtype=np.float64)]))
    return np.asarray(codes[nearest], dtype=object), len(set(codes))
