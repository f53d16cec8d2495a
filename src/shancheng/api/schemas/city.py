"""Response shapes of ``/city``: indicators per admin unit."""

from __future__ import annotations

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
    pipe_monitoring_share: float | None
    cases_open: int
    cases_overdue: int
    on_time_share: float | None
