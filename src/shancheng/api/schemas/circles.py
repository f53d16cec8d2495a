"""Request and response shapes of ``/circles``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CategoryRead(BaseModel):
    """One requirement of the catalogue: a category at one circle level."""

    category: str
    name_zh: str
    name_en: str
    level: str
    cutoff_s: float
    required: bool


class UnitCoverage(BaseModel):
    """Residents of a unit within the walking time of the requirement."""

    code: str
    name: str
    name_en: str = ""
    residents: float
    covered_residents: float
    share: float | None


class UnitTransitCoverage(BaseModel):
    """Residents of a unit reaching a category within a time by walking, and with transit.

    ``transit_*`` is the median over the departure window of the better of walking and walk
    + transit, so it is never below ``walk_*``.
    """

    code: str
    name: str
    name_en: str = ""
    residents: float
    walk_covered: float
    walk_share: float | None
    transit_covered: float
    transit_share: float | None


class NearestRead(BaseModel):
    """Walking time from a point to the nearest facility of one category."""

    category: str
    walk_time_s: float | None
    cutoff_s: float
    threshold_s: float
    within_threshold: bool
    facility_id: str | None
    facility_name: str | None


class WhatIfIn(BaseModel):
    """A facility to add at a point (not stored: the answer is computed and forgotten)."""

    category: str = Field(max_length=64, examples=["nursery"])
    lon: float = Field(ge=-180, le=180, examples=[106.55])
    lat: float = Field(ge=-90, le=90, examples=[29.56])
    capacity: float | None = Field(default=None, ge=0, le=1e6)


class UnitShare(BaseModel):
    """Coverage share of one unit."""

    code: str
    level: str
    share: float | None


class WhatIfRead(BaseModel):
    """Coverage of the requirement before and after adding the facility."""

    category: str
    level: str
    residents_newly_covered: float
    before: list[UnitShare]
    after: list[UnitShare]
