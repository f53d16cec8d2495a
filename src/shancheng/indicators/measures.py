"""The registry of the city's measures, and the one place they are computed per admin unit.

Every figure the operations map colours, the plan's targets compare and ``shancheng
indicators`` prints comes from :func:`unit_indicators`, under a key of :data:`MEASURES`. The
dashboard reads the registry from the API (names, kinds, which way is better) rather than
keeping a copy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from shancheng.cases.service import unit_case_counts
from shancheng.indicators.citystate import UNIT_LEVELS

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.indicators.citystate import CityState, UnitLevel

MeasureKind = Literal["share", "per_1000", "count", "km"]


@dataclass(frozen=True, slots=True)
class Measure:
    """One measure of the city, per admin unit.

    Attributes
    ----------
    key
        Its name in tables, the API and the targets file.
    name_zh, name_en
        What people call it.
    kind
        ``share`` (0..1), ``per_1000`` (per 1,000 residents), ``count`` or ``km``.
    pillar
        Where it comes from: ``circles``, ``cases``, ``lifelines`` or ``mobility``.
    better
        Which way is better: ``higher`` or ``lower``.
    targetable
        Measured per district and city, so a plan target may name it.
    description
        How it is measured.
    """

    key: str
    name_zh: str
    name_en: str
    kind: MeasureKind
    pillar: Literal["circles", "cases", "lifelines", "mobility"]
    better: Literal["higher", "lower"]
    targetable: bool
    description: str

    def as_dict(self) -> dict[str, Any]:
        """Return the measure as plain values (the API's shape)."""
        return asdict(self)


MEASURES: tuple[Measure, ...] = (
    Measure(
        "circle_coverage_share", "15分钟生活圈覆盖率", "15-min circle coverage",
        "share", "circles", "higher", targetable=True,
        description="Share of residents who reach every required category of the 15-minute "
        "living circle on foot within its walking time (GB 50180-2018).",
    ),
    Measure(
        "childcare_places_per_1000", "千人托位数", "Childcare places per 1,000",
        "per_1000", "circles", "higher", targetable=True,
        description="Nursery places per 1,000 residents (托位).",
    ),
    Measure(
        "metro_network_km", "轨道交通运营里程", "Metro network",
        "km", "circles", "higher", targetable=True,
        description="Line-kilometres of metro and monorail (GTFS route types 1 and 12) in the "
        "City's feed, each line measured along its longest shape, cut at the unit boundary "
        "(the city counts every line whole). Unknown without a feed in <city>/transit/.",
    ),
    Measure(
        "station_walk_15min_share", "15分钟步行可达轨道站人口比例", "Residents near a station",
        "share", "circles", "higher", targetable=True,
        description="Share of residents within a 15-minute walk of a metro platform on the "
        "slope-aware network, through the station's entrances, lifts and escalators included.",
    ),
    Measure(
        "pipe_monitoring_share", "管网监测覆盖率", "Pipe monitoring coverage",
        "share", "lifelines", "higher", targetable=True,
        description="Share of the dense-area gas and water pipe length that sensors watch.",
    ),
    Measure(
        "school_unprotected_crossings", "学生无保护横穿主干路次数", "Unprotected school crossings",
        "count", "mobility", "lower", targetable=True,
        description="Pupils' crossings of a main road (primary or secondary) with no mapped "
        "crossing or signal on their walking routes to school, per unit of the school; the "
        "bottleneck analysis (issue 23) ranks the gates and junctions behind them.",
    ),
    Measure(
        "cases_open", "在办案件", "Open cases",
        "count", "cases", "lower", targetable=False,
        description="Cases reported and not yet closed, rejected or merged.",
    ),
    Measure(
        "cases_overdue", "超期案件", "Overdue cases",
        "count", "cases", "lower", targetable=False,
        description="Open cases past their stage deadline, clock running.",
    ),
    Measure(
        "on_time_share", "按时办结率", "On-time rate",
        "share", "cases", "higher", targetable=True,
        description="Share of the cases answered whose punctuality is known that were "
        "answered within their deadline.",
    ),
)  # fmt: skip
"""Every measure, in the order the dashboard offers them."""

MEASURE_KEYS = tuple(m.key for m in MEASURES)
TARGETABLE_KEYS = tuple(m.key for m in MEASURES if m.targetable)
_IDENTITY = ["code", "name", "name_en", "level", "parent", "residents", "area_km2"]
_CITY_STATE_MEASURES = [
    "circle_coverage_share",
    "childcare_places_per_1000",
    "metro_network_km",
    "station_walk_15min_share",
    "pipe_monitoring_share",
    "school_unprotected_crossings",
]


def measure(key: str) -> Measure:
    """Return the measure named ``key``.

    Raises
    ------
    KeyError
        No measure has this key (the message lists them).
    """
    for found in MEASURES:
        if found.key == key:
            return found
    msg = f"no measure {key!r}; measures are {', '.join(MEASURE_KEYS)}"
    raise KeyError(msg)


def unit_indicators(
    state: CityState,
    session: Session,
    *,
    at: datetime,
    levels: Sequence[UnitLevel] = UNIT_LEVELS,
) -> pd.DataFrame:
    """Return every measure for every admin unit of ``levels``.

    Returns
    -------
    pandas.DataFrame
        ``code, name, name_en, level, parent, residents, area_km2`` and one column per key of
        :data:`MEASURES` (NaN where unknown: no residents, no dense pipes, no answered case).
    """
    units = state.units[state.units["level"].isin(list(levels))]
    table = units[_IDENTITY + _CITY_STATE_MEASURES].reset_index(drop=True)
    counts = pd.concat(
        [unit_case_counts(session, level, at=at, city_code=state.city_code) for level in levels],
        ignore_index=True,
    )
    counts["code"] = counts["code"].astype(str)
    merged = table.merge(counts, on="code", how="left")
    for column in ("cases_open", "cases_overdue", "closed_timed", "closed_on_time"):
        merged[column] = merged[column].fillna(0).astype("int64")
    timed = merged["closed_timed"].to_numpy(dtype=np.float64)
    on_time = merged["closed_on_time"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        merged["on_time_share"] = np.where(timed > 0, on_time / timed, np.nan)
    return merged[_IDENTITY + list(MEASURE_KEYS)]


def city_figures(state: CityState, session: Session, *, at: datetime) -> dict[str, float]:
    """Return each measure for the whole city (NaN where unknown)."""
    table = unit_indicators(state, session, at=at, levels=("city",))
    if table.empty:
        return dict.fromkeys(MEASURE_KEYS, float("nan"))
    row = table.iloc[0]
    return {key: float(row[key]) for key in MEASURE_KEYS}
