"""``/mobility``: the ranked bottleneck candidates (school gates, major junctions) and a layer."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Query

from shancheng.api.deps import CityDep
from shancheng.api.schemas.mobility import BottleneckRead
from shancheng.geo.crs import WGS84_EPSG
from shancheng.indicators.citystate import CityState
from shancheng.mobility.bottlenecks import analyse_bottlenecks

router = APIRouter(prefix="/mobility", tags=["mobility"])
Kind = Literal["all", "school_gate", "junction"]
_MEASURES = ("steep_unprotected_main", "unprotected_main", "unprotected_minor", "kerb_pressure",
             "cars_peak_15min", "kerb_m", "kerb_needed_m", "reports", "through_movement",
             "unprotected_pupils")  # fmt: skip


@lru_cache(maxsize=2)
def _ranking(state: CityState) -> pd.DataFrame:
    """Return the city's ranking, computed once per city state (a few seconds on the demo)."""
    return analyse_bottlenecks(state.city).candidates


def _chosen(state: CityState, kind: Kind, limit: int) -> pd.DataFrame:
    table = _ranking(state)
    if kind != "all":
        table = table[table["kind"] == kind]
    return table.head(limit)


def _read(row: dict[str, Any]) -> BottleneckRead:
    def number(value: Any) -> float | None:  # noqa: ANN401 - a table cell
        return None if value is None or pd.isna(value) else float(value)

    return BottleneckRead(
        rank=int(row["rank"]), candidate_id=str(row["candidate_id"]), kind=row["kind"],
        name=str(row["name"]), score=float(row["score"]), reason=str(row["reason"]),
        pupils=float(row["pupils"]), residents=int(row["residents"]),
        lon=float(row["lon"]), lat=float(row["lat"]),
        components={k[2:]: float(v) for k, v in row.items() if k.startswith("c_") and pd.notna(v)},
        measures={k: v for k in _MEASURES if (v := number(row.get(k))) is not None},
    )  # fmt: skip


@router.get("/bottlenecks")
def bottlenecks(
    city: CityDep,
    kind: Kind = "all",
    limit: Annotated[int, Query(ge=1, le=5000, description="Most candidates returned")] = 100,
) -> list[BottleneckRead]:
    """Return the candidate projects ranked by score, each with its components and reason."""
    return [
        _read({str(k): v for k, v in r.items()})
        for r in _chosen(city, kind, limit).to_dict("records")
    ]


@router.get("/bottlenecks.geojson")
def bottlenecks_geojson(
    city: CityDep,
    kind: Kind = "all",
    limit: Annotated[int, Query(ge=1, le=5000, description="Most candidates returned")] = 100,
) -> dict[str, Any]:
    """Return the same candidates as points (WGS84) for the dashboard's layer."""
    table = _chosen(city, kind, limit)
    keep = ["rank", "candidate_id", "kind", "name", "score", "reason", "pupils", "residents"]
    frame = gpd.GeoDataFrame(table[keep], geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                             crs=WGS84_EPSG)  # fmt: skip
    return dict(frame.__geo_interface__)
