"""Request and response shapes of ``/targets``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class MeasuredRead(BaseModel):
    """A measured figure of one unit."""

    code: str
    name: str
    name_en: str = ""
    value: float | None


class FigureRead(BaseModel):
    """A figure entered by hand."""

    value: float
    date: date
    note: str
    entered_by: str
    entered_at: datetime


class TargetRead(BaseModel):
    """One target of the plan with its figures."""

    target_id: str
    name_zh: str
    name_en: str
    unit: str
    target_value: float
    due: date
    source: str
    direction: str
    measure: str | None
    city_value: float | None
    measured: list[MeasuredRead] | None
    history: list[FigureRead] | None


class FigureIn(BaseModel):
    """A figure to append to a manual target's history."""

    value: float = Field(ge=0, examples=[31200])
    date: date
    note: str = Field(default="", max_length=2000)
