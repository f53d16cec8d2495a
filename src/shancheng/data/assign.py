"""Attach administrative units and residents to an imported City's layers.

The importer calls these once the network, buildings and facilities exist: units come from
the official codes plus whatever polygons each level has (checked against the level above);
every building, facility and grid cell gets the codes of the units holding it (by polygon,
or by the nearest named place where a level has codes but no polygons); residents are then
distributed to buildings and the totals check is reported.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from shancheng.data.boundaries import (
    CodeScheme,
    assign_by_nearest_place,
    check_boundaries,
    missing_polygon_levels,
    read_boundaries,
    read_division_codes,
)
from shancheng.data.population import (
    DEFAULT_LEVELS,
    MIN_HOME_M2,
    PERSONS_PER_M2,
    PopulationResult,
    can_be_home,
    distribute_by_unit,
    distribute_points,
    distribute_raster,
    estimate_from_buildings,
)
from shancheng.errors import InputError, MissingColumnError
from shancheng.geo.crs import WGS84_EPSG, lonlat_to_utm, to_wgs84

if TYPE_CHECKING:
    from pathlib import Path

    from shancheng.geo.crs import Datum

logger = logging.getLogger(__name__)

LEVELS = ("district", "street", "community")
CODE_COLUMNS = {"district": "district_code", "street": "street_code",
                "community": "community_code"}  # fmt: skip


@dataclass(frozen=True)
class BoundarySource:
    """Polygons of one level: file, its code and name columns, and the coordinates' datum."""

    level: Literal["district", "street", "community"]
    path: Path
    code_column: str
    name_column: str
    datum: Datum = "wgs84"


@dataclass(frozen=True)
class AdminSource:
    """Official code lists (CSVs) and polygons per level, and the city unit's own code.

    ``scheme`` says how codes are checked (:data:`~shancheng.data.boundaries.CodeScheme`:
    China's statistical division codes, or any other country's).
    """

    districts: Path
    city_code: str
    city_name: str
    streets: Path | None = None
    communities: Path | None = None
    polygons: tuple[BoundarySource, ...] = ()
    scheme: CodeScheme = "nbs"


@dataclass(frozen=True)
class PopulationSource:
    """Residents: a raster, counts per unit (CSV ``code, population``), points, or an estimate.

    Points are a CSV with ``lon, lat, population`` in ``datum`` (an address or household
    list); each point's residents go to the nearest building within 200 m. With none of the
    three, residents are estimated from the buildings that can be homes (floor area times
    ``persons_per_m2``). The last three fields are the city's settings for both (see
    :mod:`shancheng.data.population` for what each default assumes).
    """

    raster: Path | None = None
    counts: Path | None = None
    level: Literal["district", "street", "community"] = "street"
    points: Path | None = None
    datum: Datum = "wgs84"
    persons_per_m2: float = PERSONS_PER_M2
    default_levels: float = DEFAULT_LEVELS
    min_home_m2: float = MIN_HOME_M2

    @property
    def kind(self) -> str:
        """Where the residents come from: raster, counts, points or estimate."""
        for name in ("points", "raster", "counts"):
            if getattr(self, name) is not None:
                return name
        return "estimate"


def admin_units(source: AdminSource, lines: list[str]) -> gpd.GeoDataFrame:
    """Build the ``admin_units`` layer: all coded units, with polygons where given."""
    codes = read_division_codes(source.districts, source.streets, source.communities,
                                city_code=source.city_code, city_name=source.city_name,
                                scheme=source.scheme)  # fmt: skip
    polygons: dict[str, gpd.GeoDataFrame] = {
        b.level: read_boundaries(b.path, level=b.level, code_column=b.code_column,
                                 name_column=b.name_column, datum=b.datum)
        for b in source.polygons
    }  # fmt: skip
    lines.extend(missing_polygon_levels(codes, polygons))
    geometry = pd.Series([None] * len(codes), dtype=object)
    for level, frame in polygons.items():
        known = set(codes.loc[codes["level"] == level, "code"])
        unknown = sorted(set(frame["code"]) - known)
        if unknown:
            msg = f"{level} polygons have codes not in the official list: {', '.join(unknown[:5])}"
            raise InputError(msg)
        by_code = dict(zip(frame["code"], frame.geometry, strict=True))
        rows = codes["level"] == level
        geometry[rows.to_numpy()] = codes.loc[rows, "code"].map(by_code).to_numpy()
    for parent_level, child_level in itertools.pairwise(LEVELS):
        if parent_level in polygons and child_level in polygons:
            kids = polygons[child_level]
            parent_of = kids["code"].map(codes.set_index("code")["parent_code"])
            check = check_boundaries(kids, polygons[parent_level], parent_of=parent_of)
            lines.extend(f"boundary check: {line}" for line in check.lines())
    frame = codes.assign(name_en="")[["code", "name", "name_en", "level", "parent_code"]]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry.to_numpy(), crs=WGS84_EPSG),
                            crs=WGS84_EPSG)  # fmt: skip


def assign_units(
    layer: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    places: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Fill ``district_code``/``street_code``/``community_code`` of a point or polygon layer."""
    if len(layer) == 0:
        return layer
    points = gpd.GeoDataFrame(geometry=layer.geometry.representative_point(), crs=WGS84_EPSG)
    out = layer.copy()
    for level in LEVELS:
        mine = units[(units["level"] == level)]
        if len(mine) == 0:
            continue
        with_shape = mine[mine.geometry.notna() & ~mine.geometry.is_empty]
        if len(with_shape):
            joined = gpd.sjoin(points, with_shape[["code", "geometry"]], how="left",
                               predicate="within")  # fmt: skip
            joined = joined[~joined.index.duplicated(keep="first")]
            out[CODE_COLUMNS[level]] = joined["code"].fillna("").to_numpy()
        elif len(places):
            codes, _ = assign_by_nearest_place(
                points.geometry.x.to_numpy(), points.geometry.y.to_numpy(), mine, places
            )
            out[CODE_COLUMNS[level]] = codes
    return out


def place_residents(
    buildings: gpd.GeoDataFrame,
    source: PopulationSource,
    lines: list[str],
    *,
    epsg: int,
    not_homes: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Distribute (or estimate) residents in buildings and report the totals check.

    ``not_homes`` marks buildings that cannot be homes although their tag could (those
    mapped as a facility themselves).
    """
    result: PopulationResult
    home = can_be_home(buildings, min_home_m2=source.min_home_m2, not_homes=not_homes)
    levels = source.default_levels
    if source.points is not None:
        table = _table(source.points, ("lon", "lat", "population"))
        lon, lat = to_wgs84(table["lon"].to_numpy(float), table["lat"].to_numpy(float),
                            source.datum)  # fmt: skip
        x, y = lonlat_to_utm(lon, lat, epsg=epsg)
        result = distribute_points(buildings, x, y, table["population"].to_numpy(float))
    elif source.raster is not None:
        result = distribute_raster(buildings, source.raster, default_levels=levels, home=home)
    elif source.counts is not None:
        table = _table(source.counts, ("code", "population"))
        totals = table.set_index("code")["population"].astype(float)
        result = distribute_by_unit(buildings, buildings[CODE_COLUMNS[source.level]], totals,
                                    default_levels=levels, home=home)  # fmt: skip
    else:
        result = estimate_from_buildings(buildings, persons_per_m2=source.persons_per_m2,
                                         default_levels=levels, home=home)  # fmt: skip
    out = buildings.copy()
    out["population"] = result.population
    out["age_15_59"] = result.population  # no age data: everyone counted as working age
    lines.append(result.summary())
    logger.info(result.summary())
    return out


def _table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"code": str})
    for column in columns:
        if column not in table.columns:
            msg = f"{path}: column `{column}` is missing (found {', '.join(table.columns)})"
            raise MissingColumnError(msg)
    return table


def assign_all(
    layers: dict[str, gpd.GeoDataFrame], units: gpd.GeoDataFrame, places: pd.DataFrame
) -> dict[str, gpd.GeoDataFrame]:
    """Assign unit codes to buildings, facilities and grid cells."""
    return {name: assign_units(frame, units, places) for name, frame in layers.items()}


def places_frame(places: list[dict[str, object]]) -> pd.DataFrame:
    """Named OSM places as ``name, lon, lat`` (empty frame when there are none)."""
    if not places:
        return pd.DataFrame({"name": [], "lon": [], "lat": []})
    return pd.DataFrame(places)[["name", "lon", "lat"]].astype({"lon": float, "lat": float})


def no_codes_left_blank(frame: pd.DataFrame) -> float:
    """Share of rows with a district code (for the import report)."""
    if len(frame) == 0:
        return 0.0
    return float(np.mean(frame["district_code"].astype(str) != ""))
