"""``/targets``: the plan's targets against measured figures by district, and manual figures."""

from __future__ import annotations

import shutil
from importlib import resources
from typing import TYPE_CHECKING, Annotated

import numpy as np
from fastapi import APIRouter, Depends, status

from shancheng.api.deps import CityDep, CurrentUser, NowDep, SessionDep, SettingsDep
from shancheng.api.schemas.targets import FigureIn, FigureRead, MeasuredRead, TargetRead
from shancheng.cases.permissions import Role
from shancheng.errors import NotFoundError, PermissionDeniedError, QueryError
from shancheng.indicators.citystate import CityState
from shancheng.indicators.figures import Figure, append_figure, figure_history
from shancheng.indicators.measures import TARGETABLE_KEYS, unit_indicators
from shancheng.indicators.targets import DEFAULT_TARGETS, Target, load_targets

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from sqlalchemy.orm import Session

    from shancheng.config import Settings

router = APIRouter(prefix="/targets", tags=["targets"])
EDITORS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def targets_file(settings: Settings) -> Path:
    """Return ``<data_dir>/targets.toml``, seeded from the packaged default when absent."""
    path = settings.data_dir / DEFAULT_TARGETS
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with resources.as_file(resources.files("shancheng.indicators") / DEFAULT_TARGETS) as src:
            shutil.copyfile(src, path)
    return path


def plan_targets(settings: SettingsDep) -> list[Target]:
    """Return the targets of the editable file (re-read on every request: edits show at once)."""
    return load_targets(targets_file(settings))


TargetsDep = Annotated[list[Target], Depends(plan_targets)]


@router.get("")
def list_targets(
    targets: TargetsDep, city: CityDep, session: SessionDep, at: NowDep
) -> list[TargetRead]:
    """List the targets with the measured figures by district, or the entered history."""
    history = figure_history(session, [t.target_id for t in targets if t.source == "manual"])
    measured = _measured(city, session, at)
    rows = []
    for target in targets:
        values = measured.get(target.measure or "", {})
        figures = history.get(target.target_id, [])
        rows.append(
            TargetRead(
                target_id=target.target_id,
                name_zh=target.name_zh,
                name_en=target.name_en,
                unit=target.unit,
                target_value=target.target_value,
                due=target.due,
                source=target.source,
                direction=target.direction,
                measure=target.measure,
                city_value=(
                    values.get(city.city_code)
                    if target.source == "measured"
                    else (figures[-1].value if figures else None)
                ),
                measured=_by_district(city, values) if target.source == "measured" else None,
                history=[_read(f) for f in figures] if target.source == "manual" else None,
            )
        )
    return rows


@router.post("/{target_id}/figures", status_code=status.HTTP_201_CREATED)
def enter_figure(
    target_id: str,
    body: FigureIn,
    targets: TargetsDep,
    session: SessionDep,
    user: CurrentUser,
    at: NowDep,
) -> FigureRead:
    """Append a figure to a manual target (supervisors and administrators only)."""
    if user.role not in EDITORS:
        msg = f"user {user.username!r} ({user.role.value}) may not enter plan figures"
        raise PermissionDeniedError(msg)
    target = next((t for t in targets if t.target_id == target_id), None)
    if target is None:
        msg = f"`target_id`: no target {target_id[:64]!r}"
        raise NotFoundError(msg, field="target_id")
    if target.source != "manual":
        msg = f"`target_id`: {target_id!r} is measured by the analyses; figures are not entered"
        raise QueryError(msg, field="target_id")
    figure = append_figure(
        session, target_id, body.value, as_of=body.date, note=body.note,
        entered_by=user.username, at=at,
    )  # fmt: skip
    return _read(figure)


def _measured(city: CityState, session: Session, at: datetime) -> dict[str, dict[str, float]]:
    """Each targetable measure's value per unit code (districts and the city)."""
    table = unit_indicators(city, session, at=at, levels=("city", "district"))
    return {
        key: {
            str(code): float(value)
            for code, value in zip(table["code"], table[key], strict=True)
            if np.isfinite(value)
        }
        for key in TARGETABLE_KEYS
    }


def _by_district(city: CityState, values: dict[str, float]) -> list[MeasuredRead]:
    districts = city.units[city.units["level"] == "district"]
    return [
        MeasuredRead(code=str(code), name=str(zh), name_en=str(en), value=values.get(str(code)))
        for code, zh, en in zip(
            districts["code"], districts["name"], districts["name_en"], strict=True
        )
    ]


def _read(figure: Figure) -> FigureRead:
    return FigureRead(
        value=figure.value,
        date=figure.as_of,
        note=figure.note,
        entered_by=figure.entered_by,
        entered_at=figure.entered_at,
    )
