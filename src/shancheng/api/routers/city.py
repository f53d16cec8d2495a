"""``/city``: the admin units of each level for the map, and their indicators for drill-down."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query

from shancheng.api.deps import CityDep, NowDep, SessionDep
from shancheng.api.geojson import feature_collection, plain
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


@router.get("/indicators")
def indicators(
    city: CityDep,
    session: SessionDep,
    at: NowDep,
    level: LevelQuery = "district",
    parent: ParentQuery = None,
) -> list[UnitIndicators]:
    """List each unit's residents and every measure (:func:`unit_indicators`)."""
    if parent is not None:
        _check_parent(city, parent)
    table = unit_indicators(city, session, at=at, levels=[level])
    if parent is not None:
        table = table[table["parent"] == parent]
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


def _check_parent(city: CityState, parent: str) -> None:
    if parent not in set(city.units["code"]):
        msg = f"`parent`: no admin unit with code {parent!r}"
        raise QueryError(msg, field="parent")


__all__ = ["UNIT_LEVELS", "router"]
