"""The plan's targets, read from an editable TOML file, checked once, loudly.

Each target says what the plan wants (``target_value`` by ``due``) and where the figure comes
from: ``measured`` (an analysis measures it per district; ``measure`` names the indicator) or
``manual`` (nobody measures it: figures are entered by hand, see
:mod:`shancheng.indicators.figures`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date  # noqa: TC003 - pydantic reads the annotations
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shancheng.errors import ConfigError
from shancheng.indicators.measures import TARGETABLE_KEYS

DEFAULT_TARGETS = "targets.toml"
MEASURES = TARGETABLE_KEYS
"""The measures of :mod:`~shancheng.indicators.measures` a measured target may name."""
Source = Literal["measured", "manual"]


class _TargetModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    unit: str
    target_value: float
    due: date
    source: Source
    measure: Literal[MEASURES] | None = None  # type: ignore[valid-type]
    direction: Literal["at_least", "at_most"] = "at_least"

    @model_validator(mode="after")
    def _measure_matches_source(self) -> _TargetModel:
        if self.source == "measured" and self.measure is None:
            msg = f"a measured target needs `measure`, one of {', '.join(MEASURES)}"
            raise ValueError(msg)
        if self.source == "manual" and self.measure is not None:
            msg = "a manual target has no `measure` (its figures are entered by hand)"
            raise ValueError(msg)
        return self


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[_TargetModel] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Target:
    """One target of the plan (see the module docstring)."""

    target_id: str
    name_zh: str
    name_en: str
    unit: str
    target_value: float
    due: date
    source: Source
    measure: str | None
    direction: Literal["at_least", "at_most"]


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Read the targets file; ``None`` reads the packaged default.

    Raises
    ------
    ConfigError
        The file is unreadable or not TOML, an entry misses or misspells a field, a measured
        target names no known measure, or two targets share an id: the message names the file,
        the entry and the field.

    Examples
    --------
    >>> [t.target_id for t in load_targets()][:2]
    ['circle_coverage_15min', 'childcare_places_per_1000']
    """
    if path is None:
        text = resources.files("shancheng.indicators").joinpath(DEFAULT_TARGETS).read_text("utf-8")
        source = f"shancheng/indicators/{DEFAULT_TARGETS}"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"{source}: cannot read the targets ({exc})"
            raise ConfigError(msg) from exc
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{source}: not valid TOML ({exc})"
        raise ConfigError(msg) from exc
    try:
        parsed = _FileModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc
    seen: set[str] = set()
    for number, item in enumerate(parsed.targets, start=1):
        if item.target_id in seen:
            msg = f"{source}: target {number}: field `target_id`: {item.target_id!r} is repeated"
            raise ConfigError(msg)
        seen.add(item.target_id)
    return [Target(**item.model_dump()) for item in parsed.targets]


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = source
        if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):  # noqa: PLR2004
            where += f": target {loc[1] + 1}"
            loc = loc[2:]
        field = ".".join(str(part) for part in loc) or "(entry)"
        lines.append(f"{where}: field `{field}`: {error['msg']}")
    return "\n".join(lines)
