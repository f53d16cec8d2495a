"""Response shapes of ``/mobility``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class BottleneckRead(BaseModel):
    """One candidate project: a school gate or a major junction, scored and explained."""

    rank: int = Field(description="1 = the most urgent candidate")
    candidate_id: str = Field(description="gate:<facility_id> or junction:<walk node id>")
    kind: Literal["school_gate", "junction"]
    name: str
    score: float = Field(description="weighted sum of the components, 0..1")
    reason: str = Field(description="the largest components in words")
    pupils: float = Field(description="gate: pupils of the catchment; junction: pupils crossing")
    residents: int = Field(description="residents living within the affected radius")
    lon: float
    lat: float
    components: dict[str, float] = Field(
        description="each weighted component (c_<name> of the CSV), summing to the score"
    )
    measures: dict[str, float] = Field(
        description="the raw measures behind the components (counts, metres, cars, pairs)"
    )
