"""``/circles``: living-circle coverage, gaps, facilities, and questions about a clicked point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import numpy as np
import shapely
from fastapi import APIRouter, Query

from shancheng.api.circles_whatif import add_facility
from shancheng.api.deps import CityDep
from shancheng.api.geojson import feature_collection, plain
from shancheng.api.schemas.circles import (
    CategoryRead,
    NearestRead,
    UnitCoverage,
    UnitShare,
    UnitTransitCoverage,
    WhatIfIn,
    WhatIfRead,
)
from shancheng.circles.isochrones import isochrones
from shancheng.circles.transit import TRANSIT_THRESHOLDS_MIN
from shancheng.circles.transit_figures import STATION_WALK_MIN
from shancheng.errors import InputError, QueryError, SnapDistanceError
from shancheng.indicators.citystate import CityState

if TYPE_CHECKING:
    from shancheng.circles.standard import Requirement

router = APIRouter(prefix="/circles", tags=["circles"])
Lon = Annotated[float, Query(ge=-180, le=180, description="Longitude, WGS84 degrees")]
Lat = Annotated[float, Query(ge=-90, le=90, description="Latitude, WGS84 degrees")]
CategoryQuery = Annotated[
    str, Query(max_length=64, description="A catalogue category, or complete_5min/10min/15min")
]
MAX_ISOCHRONE_MIN = 60.0


@router.get("/categories")
def categories(city: CityDep) -> list[CategoryRead]:
    """Every requirement of the catalogue (a category at a circle level), then the circles."""
    rows = [
        CategoryRead(
            category=r.category,
            name_zh=city.catalogue.categories[r.category].name_zh,
            name_en=city.catalogue.categories[r.category].name_en,
            level=f"{r.level_min}min",
            cutoff_s=r.threshold_s,
            required=r.required,
        )
        for r in city.catalogue.requirements
    ]
    rows.extend(
        CategoryRead(
            category=f"complete_{level}min",
            name_zh=f"{level}分钟生活圈（全部必配设施）",
            name_en=f"complete {level}-minute circle (every required facility)",
            level=f"{level}min",
            cutoff_s=level * 60.0,
            required=True,
        )
        for level in city.catalogue.levels
    )
    return rows


@router.get("/coverage")
def coverage(
    city: CityDep,
    category: CategoryQuery,
    level: Literal["city", "district", "street", "community"] = "district",
    circle: Annotated[int | None, Query(description="Circle level in minutes (5, 10, 15)")] = None,
) -> list[UnitCoverage]:
    """Share of each unit's residents within the requirement's walking time."""
    measure = _measure(city, category, circle)
    table = city.evaluation.table
    rows = table[
        (table["measure"] == measure)
        & (table["unit_level"] == level)
        & (table["age_group"] == "all")
    ]
    names = city.units.set_index("code")
    return [
        UnitCoverage(
            code=str(code),
            name=str(names["name"].get(str(code), "")),
            name_en=str(names["name_en"].get(str(code), "")),
            residents=float(people),
            covered_residents=float(covered),
            share=plain(float(share)),
        )
        for code, people, covered, share in rows[
            ["unit_code", "population", "covered_population", "share"]
        ].itertuples(index=False)
    ]


@router.get("/gaps")
def gaps(
    city: CityDep,
    category: CategoryQuery,
    circle: Annotated[
        int | None, Query(description="Circle level in minutes (default: every level)")
    ] = None,
) -> dict[str, Any]:
    """Gap areas (unit-grid cells with residents beyond the walking time) of a category.

    With ``circle``, those of the category's requirement at that circle only.
    """
    measures = (
        [_measure(city, category, circle)] if circle is not None else _measures_of(city, category)
    )
    frame = city.evaluation.gaps
    chosen = frame[frame["measure"].isin(measures)].copy()
    return feature_collection(
        chosen, ["gap_id", "measure", "level_min", "n_cells", "residents", "missing_categories"]
    )


@router.get("/facilities")
def facilities(city: CityDep, category: CategoryQuery) -> dict[str, Any]:
    """Facilities of one category as GeoJSON points."""
    if category not in city.catalogue.categories:
        _unknown_category(city, category)
    frame = city.city.facilities
    chosen = frame[frame["category"] == category]
    return feature_collection(
        chosen, ["facility_id", "category", "name", "capacity", "capacity_unit"], tolerance_deg=0
    )


_EMPTY: dict[str, Any] = {"type": "FeatureCollection", "features": []}


@router.get("/stations")
def stations(city: CityDep) -> dict[str, Any]:
    """Metro stations of the City's feed as GeoJSON points (empty without a feed).

    Properties: ``station_id, stop_name, platforms, entrances, climb_max_s`` (the longest
    entrance-to-platform climb, lifts and escalators) and ``residents_10min``,
    ``residents_15min`` (residents for whom it is the nearest station within that walk).
    """
    transit = city.evaluation.transit
    if transit is None:
        return _EMPTY
    columns = ["station_id", "stop_name", "platforms", "entrances", "climb_max_s",
               "residents_10min", "residents_15min"]  # fmt: skip
    return feature_collection(transit.stations, columns, tolerance_deg=0)


@router.get("/stations/catchments")
def station_catchments(
    city: CityDep,
    minutes: Annotated[int, Query(description="Walk to the platform, minutes: 10 or 15")] = 15,
) -> dict[str, Any]:
    """Each station's catchment as GeoJSON polygons (empty without a feed).

    The unit-grid cells of the residents for whom the station is the nearest, within
    ``minutes`` of walking (entrance climb included); properties ``station_id,
    threshold_min, residents``.
    """
    if minutes not in STATION_WALK_MIN:
        msg = f"`minutes` must be one of 10, 15, got {minutes}"
        raise QueryError(msg, field="minutes")
    transit = city.evaluation.transit
    if transit is None:
        return _EMPTY
    frame = transit.catchments[transit.catchments["threshold_min"] == float(minutes)]
    return feature_collection(frame, ["station_id", "threshold_min", "residents"])


@router.get("/transit/coverage")
def transit_coverage(
    city: CityDep,
    category: CategoryQuery,
    level: Literal["city", "district", "street", "community"] = "district",
    minutes: Annotated[int, Query(description="Door-to-door minutes: 15, 30 or 45")] = 15,
) -> list[UnitTransitCoverage]:
    """Share of each unit's residents reaching the category by walking, and with transit.

    Walk + transit is the median over the departure window (07:00-09:00 by default) of the
    door-to-door time through the City's feed; empty without a feed.
    """
    if float(minutes) not in TRANSIT_THRESHOLDS_MIN:
        msg = f"`minutes` must be one of 15, 30, 45, got {minutes}"
        raise QueryError(msg, field="minutes")
    if category not in city.catalogue.categories:
        _unknown_category(city, category)
    transit = city.evaluation.transit
    if transit is None:
        return []
    table = transit.coverage
    rows = table[
        (table["category"] == category)
        & (table["unit_level"] == level)
        & (table["threshold_min"] == float(minutes))
    ]
    names = city.units.set_index("code")
    return [
        UnitTransitCoverage(
            code=str(code),
            name=str(names["name"].get(str(code), "")),
            name_en=str(names["name_en"].get(str(code), "")),
            residents=float(people),
            walk_covered=float(walk),
            walk_share=plain(float(walk_share)),
            transit_covered=float(ride),
            transit_share=plain(float(ride_share)),
        )
        for code, people, walk, walk_share, ride, ride_share in rows[
            ["unit_code", "population", "walk_covered", "walk_share", "covered", "share"]
        ].itertuples(index=False)
    ]


@router.get("/lines")
def lines(city: CityDep) -> dict[str, Any]:
    """Transit lines of the City's feed as GeoJSON lines (empty without a feed).

    Properties ``route_id, route_short_name, route_type, route_type_name, length_km``.
    """
    transit = city.evaluation.transit
    if transit is None:
        return _EMPTY
    columns = ["route_id", "route_short_name", "route_type", "route_type_name", "length_km"]
    return feature_collection(transit.lines, columns)


@router.get("/nearest")
def nearest(city: CityDep, lon: Lon, lat: Lat) -> list[NearestRead]:
    """Return the walking time from the point to the nearest facility of every category."""
    x, y = city.to_utm(lon, lat)
    try:
        found = city.point_access.at(x, y)
    except SnapDistanceError as exc:
        msg = f"`lon`, `lat`: {exc}"
        raise QueryError(msg, field="lon") from exc
    threshold = {c: city.catalogue.catchment_s(c) for c in city.point_access.categories}
    rows = []
    for category, time_s, facility_id, name in found.itertuples(index=False):
        reached = bool(np.isfinite(time_s))
        rows.append(
            NearestRead(
                category=category,
                walk_time_s=round(float(time_s), 1) if reached else None,
                cutoff_s=city.point_access.cutoff_s,
                threshold_s=threshold[category],
                within_threshold=reached and float(time_s) <= threshold[category],
                facility_id=facility_id or None,
                facility_name=name or None,
            )
        )
    return rows


@router.get("/isochrone")
def isochrone(
    city: CityDep,
    lon: Lon,
    lat: Lat,
    minutes: Annotated[str, Query(max_length=64, description="Comma-separated minutes")] = (
        "5,10,15"
    ),
    direction: Literal["from", "to"] = "from",
) -> dict[str, Any]:
    """Area walked within each number of minutes from (or to) the point, as polygons."""
    thresholds = _minutes(minutes)
    x, y = city.to_utm(lon, lat)
    try:
        frame = isochrones(city.city.network, x, y, thresholds_min=thresholds, direction=direction)
    except SnapDistanceError as exc:
        msg = f"`lon`, `lat`: {exc}"
        raise QueryError(msg, field="lon") from exc
    frame["minutes"] = frame["threshold_min"]
    return feature_collection(frame, ["minutes", "direction", "street_length_m"])


@router.post("/whatif")
def whatif(body: WhatIfIn, city: CityDep) -> WhatIfRead:
    """Coverage before and after adding one facility of ``category`` at the point (not kept)."""
    requirement = _requirement(city, body.category, None)
    x, y = city.to_utm(body.lon, body.lat)
    capacity = body.capacity
    if capacity is None:
        existing = city.city.facilities
        sizes = existing.loc[existing["category"] == body.category, "capacity"]
        sizes = sizes[np.isfinite(sizes.to_numpy(dtype=np.float64))]
        capacity = float(sizes.median()) if len(sizes) else 1.0
    districts = city.evaluation.units[city.evaluation.units["level"] == "district"]
    inside = districts[districts.geometry.covers(shapely.Point(body.lon, body.lat))]
    district = str(inside["code"].iloc[0]) if len(inside) else None
    try:
        answer = add_facility(city, requirement, x, y, capacity=capacity, district=district)
    except InputError as exc:  # the point is farther than 200 m from every street node
        msg = f"`lon`, `lat`: {exc}"
        raise QueryError(msg, field="lon") from exc
    units = answer.units
    return WhatIfRead(
        category=body.category,
        level=f"{requirement.level_min}min",
        residents_newly_covered=answer.newly_covered,
        before=[
            UnitShare(code=c, level=lv, share=plain(s))
            for c, lv, s in units[["code", "level", "share_before"]].itertuples(index=False)
        ],
        after=[
            UnitShare(code=c, level=lv, share=plain(s))
            for c, lv, s in units[["code", "level", "share_after"]].itertuples(index=False)
        ],
    )


def _unknown_category(city: CityState, category: str) -> NoReturn:
    known = ", ".join(city.catalogue.category_ids)
    msg = f"`category`: {category!r} is not a category of the catalogue; categories: {known}"
    raise QueryError(msg, field="category")


def _requirement(city: CityState, category: str, circle: int | None) -> Requirement:
    """Return the category's requirement at ``circle`` minutes (default its smallest circle)."""
    found = [r for r in city.catalogue.requirements if r.category == category]
    if not found:
        _unknown_category(city, category)
    if circle is not None:
        found = [r for r in found if r.level_min == circle]
        if not found:
            msg = f"`circle`: {category!r} is not required at a {circle}-minute circle"
            raise QueryError(msg, field="circle")
    return min(found, key=lambda r: r.level_min)


def _measure(city: CityState, category: str, circle: int | None) -> str:
    if category.startswith("complete_") and category in _complete(city):
        return category
    return _requirement(city, category, circle).key


def _measures_of(city: CityState, category: str) -> list[str]:
    if category in _complete(city):
        return [category]
    found = [r.key for r in city.catalogue.requirements if r.category == category]
    if not found:
        _unknown_category(city, category)
    return found


def _complete(city: CityState) -> set[str]:
    return {f"complete_{level}min" for level in city.catalogue.levels}


def _minutes(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        values = ()
    if not values or not all(0 < v <= MAX_ISOCHRONE_MIN for v in values):
        msg = f"`minutes`: give 1 to 6 comma-separated minutes in (0, 60], got {text!r}"
        raise QueryError(msg, field="minutes")
    return values[:6]
