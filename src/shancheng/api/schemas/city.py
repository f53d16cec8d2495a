"""Response shapes of ``/city``: the measures, and their values per admin unit."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class UnitIndicators(BaseModel):
    """The dashboard's indicators of one admin unit (shares in 0..1; ``null`` when unknown)."""

    code: str
    name: str
    name_en: str
    level: str
    parent: str
    residents: float
    area_km2: float
    circle_coverage_share: float | None
    childcare_places_per_1000: float | None
    metro_network_km: float | None
    station_walk_15min_share: float | None
    pipe_monitoring_share: float | None
    school_unprotected_crossings: float | None
    cases_open: int
    cases_overdue: int
    on_time_share: float | None

    # the measure columns are those of the registry (a test checks the two agree)


class MeasureRead(BaseModel):
    """One measure of the registry (:mod:`shancheng.indicators.measures`)."""

    key: str
    name_zh: str
    name_en: str
    kind: Literal["share", "per_1000", "count", "km"]
    pillar: Literal["circles", "cases", "lifelines", "mobility"]
    better: Literal["higher", "lower"]
    targetable: bool
    description: str
