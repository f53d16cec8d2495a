"""``/city``: the admin units of each level for the map, and their indicators for drill-down."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request

from shancheng.api.deps import CityDep, NowDep, SessionDep
from shancheng.api.geojson import feature_collection, plain
from shancheng.api.policy import current_actor
from shancheng.api.schemas.city import MeasureRead, UnitIndicators
from shancheng.errors import QueryError
from shancheng.indicators.citystate import UNIT_LEVELS, CityState, UnitLevel
from shancheng.indicators.measures import MEASURES, unit_indicators

router = APIRouter(prefix="/city", tags=["city"])
LevelQuery = Annotated[UnitLevel, Query(description="Admin level of the units")]
ParentQuery = Annotated[
    str | None, Query(max_length=32, description="Only the children of this unit")
]
_UNIT_PROPERTIES = ["code", "name", "name_en", "level", "parent", "residents", "area_km2"]


@router.get("/units")
def units(
    city: CityDep, level: LevelQuery = "district", parent: ParentQuery = None
) -> dict[str, Any]:
    """Admin units of one level (optionally of one parent) as simplified WGS84 GeoJSON."""
    collection: dict[str, Any] = city.cached(f"units:{level}", lambda: _level_features(city, level))
    if parent is None:
        return collection
    _check_parent(city, parent)
    return {
        "type": "FeatureCollection",
        "features": [f for f in collection["features"] if f["properties"]["parent"] == parent],
    }


async def _viewer_unit(request: Request, city: CityDep) -> str:
    """Return the unit whose figures the signed-in user may see (the city's code: all)."""
    actor = await current_actor(request)
    return city.city_code if actor is None else actor.unit_code


@router.get("/indicators")
def indicators(
    city: CityDep,
    session: SessionDep,
    at: NowDep,
    viewer_unit: Annotated[str, Depends(_viewer_unit)],
    level: LevelQuery = "district",
    parent: ParentQuery = None,
) -> list[UnitIndicators]:
    """List each unit's residents and every measure, for the units in the user's own unit.

    A district's operator sees their district and the streets and communities in it; the
    city's staff see every unit.
    """
    if parent is not None:
        _check_parent(city, parent)
    table = unit_indicators(city, session, at=at, levels=[level])
    if parent is not None:
        table = table[table["parent"] == parent]
    if viewer_unit != city.city_code:
        parents = dict(
            zip(city.units["code"].astype(str), city.units["parent"].astype(str), strict=True)
        )
        table = table[[_within(str(code), viewer_unit, parents) for code in table["code"]]]
    return [
        UnitIndicators.model_validate({k: plain(v) for k, v in record.items()})
        for record in table.to_dict("records")
    ]


@router.get("/measures")
def measures() -> list[MeasureRead]:
    """List the measures of the city: key, names, kind, pillar, which way is better."""
    return [MeasureRead.model_validate(m.as_dict()) for m in MEASURES]


def _level_features(city: CityState, level: str) -> dict[str, Any]:
    units = city.evaluation.units
    mask = units["level"].astype(str).to_numpy() == level
    frame = units[mask].copy()
    table = city.units.set_index("code").loc[frame["code"].astype(str)]
    for column in ("parent", "residents", "area_km2", "name_en"):
        frame[column] = table[column].to_numpy()
    frame["residents"] = np.round(frame["residents"].to_numpy(dtype=np.float64), 1)
    return feature_collection(frame, _UNIT_PROPERTIES)


_MAX_DEPTH = 8  # city > district > street > community: a few steps up, never a loop


def _within(code: str, unit: str, parents: dict[str, str]) -> bool:
    """Tell whether ``code`` is ``unit`` or lies inside it (following the parents up)."""
    seen = 0
    while code and seen < _MAX_DEPTH:
        if code == unit:
            return True
        code = parents.get(code, "")
        seen += 1
    return False


def _check_parent(city: CityState, parent: str) -> None:
    if parent not in set(city.units["code"]):
        msg = f"`parent`: no admin unit with code {parent!r}"
        raise QueryError(msg, field="parent")


__all__ = ["UNIT_LEVELS", "router"]
