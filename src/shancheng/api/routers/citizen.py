"""``/cases/public``: where a report stands, for whoever holds its reference (no personal data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from shancheng.api.deps import SessionDep
from shancheng.cases.service import public_status

router = APIRouter(tags=["citizen"])


class StageRead(BaseModel):
    """One stage the case entered, and when."""

    stage: str
    stage_zh: str
    at: datetime


class PublicCaseRead(BaseModel):
    """A case as the public may see it: category, stage, timeline; no text, place or names."""

    reference: str
    category: str
    stage: str
    stage_zh: str
    timeline: list[StageRead]


@router.get("/cases/public/{reference}")
def public_case(
    reference: Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9]+$")],
    session: SessionDep,
) -> PublicCaseRead:
    """Follow a report by its reference: its stage and the stages it went through."""
    found = public_status(session, reference)
    return PublicCaseRead(
        reference=found.reference,
        category=found.category_code,
        stage=found.stage.value,
        stage_zh=found.stage.name_zh,
        timeline=[
            StageRead(stage=stage.value, stage_zh=stage.name_zh, at=at)
            for stage, at in found.timeline
        ],
    )
