"""``/mobility``: the ranked bottleneck candidates (school gates, major junctions) and a layer."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from shancheng.api.deps import CityDep, SessionDep
from shancheng.api.schemas.mobility import BottleneckRead
from shancheng.cases.service import report_locations, report_locations_version
from shancheng.errors import InputError
from shancheng.geo.crs import WGS84_EPSG
from shancheng.indicators.citystate import CityState
from shancheng.mobility.bottlenecks import load_assumptions, rank_bottlenecks

router = APIRouter(prefix="/mobility", tags=["mobility"])
Kind = Literal["all", "school_gate", "junction"]
_MEASURES = ("steep_unprotected_main", "unprotected_main", "unprotected_minor", "kerb_pressure",
             "cars_peak_15min", "kerb_m", "kerb_needed_m", "reports", "through_movement",
             "unprotected_pupils")  # fmt: skip


_RANKINGS: OrderedDict[tuple[int, tuple[int, int]], pd.DataFrame] = OrderedDict()
_RANKINGS_LOCK = threading.Lock()


def _evidence_codes() -> list[str]:
    """Return the case categories counted as traffic evidence (assumptions.toml)."""
    kinds = load_assumptions()["evidence"]["categories"]
    return sorted({code for codes in kinds.values() for code in codes})


def _ranking(state: CityState, session: Session) -> pd.DataFrame:
    """Return the city's ranking with the governance center's traffic reports as evidence.

    The school zones and through movement are the city state's (computed once); the reports
    are counted and the candidates ranked once per state of those reports (a new report
    re-ranks, a fraction of a second on the demo); the last two rankings are kept.
    """
    if isinstance(state.bottlenecks, InputError):
        # a new error each time: re-raising the stored one would grow its traceback per request
        raise InputError(str(state.bottlenecks)) from None
    codes = _evidence_codes()
    key = (id(state), report_locations_version(session, codes))
    with _RANKINGS_LOCK:
        if key in _RANKINGS:
            _RANKINGS.move_to_end(key)
            return _RANKINGS[key]
    reports = report_locations(session, codes)
    ranking = rank_bottlenecks(state.city, state.bottlenecks, reports=reports).candidates
    with _RANKINGS_LOCK:
        _RANKINGS[key] = ranking
        while len(_RANKINGS) > 2:  # noqa: PLR2004
            _RANKINGS.popitem(last=False)
    return ranking


def _chosen(state: CityState, session: Session, kind: Kind, limit: int) -> pd.DataFrame:
    table = _ranking(state, session)
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
    session: SessionDep,
    kind: Kind = "all",
    limit: Annotated[int, Query(ge=1, le=5000, description="Most candidates returned")] = 100,
) -> list[BottleneckRead]:
    """Return the candidate projects ranked by score, each with its components and reason.

    The reports near each place (``measures.reports``) are the governance center's cases of
    the traffic categories (illegal parking, unsafe crossing), counted as they come in.
    """
    return [
        _read({str(k): v for k, v in r.items()})
        for r in _chosen(city, session, kind, limit).to_dict("records")
    ]


@router.get("/bottlenecks.geojson")
def bottlenecks_geojson(
    city: CityDep,
    session: SessionDep,
    kind: Kind = "all",
    limit: Annotated[int, Query(ge=1, le=5000, description="Most candidates returned")] = 100,
) -> dict[str, Any]:
    """Return the same candidates as points (WGS84) for the dashboard's layer."""
    table = _chosen(city, session, kind, limit)
    keep = ["rank", "candidate_id", "kind", "name", "score", "reason", "pupils", "residents"]
    frame = gpd.GeoDataFrame(table[keep], geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                             crs=WGS84_EPSG)  # fmt: skip
    return dict(frame.__geo_interface__)
