"""The contract by which a sensor alarm (lifelines pillar) opens a governance case.

The lifelines pillar never imports the cases pillar's internals: it builds a
:class:`SensorReport` and hands it to a :data:`SensorCaseOpener`, a callable that the
application wires to ``shancheng.cases.service.open_sensor_case`` with a database session bound.
Tests of the lifelines pillar pass a fake opener.

The report's ``alarm_id`` is an idempotency key: handing the same alarm over twice returns the
case opened the first time (``CaseRef.created`` is then ``False``), so a retried delivery never
opens a second case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

NetworkKind = Literal["water", "gas", "drainage"]


@dataclass(frozen=True, slots=True)
class SensorReport:
    """A confirmed lifeline alarm, as the governance center receives it.

    Attributes
    ----------
    alarm_id
        Stable id of the alarm in the lifelines store; the idempotency key.
    category_code
        Taxonomy code of the case category (e.g. the pipeline-alarm event for ``network``).
    network
        Which lifeline network raised it.
    level
        Alarm grade, 1 = most severe.
    lon, lat
        WGS84 position of the sensor or the suspected break.
    title, description
        Short title and free text for the operators.
    sensor_id
        Id of the sensor in the lifelines registry.
    department_hint
        Owning utility's department code, when the lifelines model knows it.
    attachments
        JSON-serialisable extras, e.g. the isolation plan (valves to close, customers affected).
    """

    alarm_id: str
    category_code: str
    network: NetworkKind
    level: int
    lon: float
    lat: float
    title: str
    description: str
    sensor_id: str
    department_hint: str | None = None
    attachments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CaseRef:
    """What the governance center answers: the case's id, its public reference, and if new."""

    case_id: int
    reference: str
    created: bool


SensorCaseOpener = Callable[[SensorReport], CaseRef]
"""A callable that opens (or finds) the case for a sensor report."""
