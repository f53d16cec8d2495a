"""A new case before it is stored: the columns of ``cases`` as plain attributes.

Intake builds, routes and (for a duplicate) merges a case in memory before writing it. An ORM
row would do, but its attribute instrumentation costs more CPU than the rest of the intake
under load, so the draft is a plain dataclass; :meth:`CaseDraft.to_row` makes the ORM row for
the session's writer and :meth:`CaseDraft.columns` the values for the asynchronous one. A test
checks that the draft has exactly the table's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from shancheng.store.cases_tables import CaseRow

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(slots=True)
class CaseDraft:
    """The columns of a case not yet stored (``id`` is set once it is)."""

    category_code: str
    status: str
    source: str
    lon: float
    lat: float
    x_utm: float
    y_utm: float
    cell_id: int
    community_code: str
    street_code: str
    district_code: str
    department: str
    level: str
    unit_code: str
    priority: int
    reported_at: datetime
    updated_at: datetime
    stage_started_at: datetime | None
    stage_limit_s: float | None
    paused_s: float
    deadline_at: datetime | None
    client: str
    reporter: str
    title: str = ""
    description: str = ""
    address: str = ""
    address_id: str = ""
    reference: str | None = None
    escalations: int = 0
    reworks: int = 0
    duplicates: int = 0
    closed_at: datetime | None = None
    suspended_since: datetime | None = None
    expected_at: datetime | None = None
    closed_on_time: bool | None = None
    satisfaction: int | None = None
    parent_id: int | None = None
    alarm_id: str | None = None
    id: int | None = None

    def columns(self) -> dict[str, Any]:
        """Return the values of every column but ``id``, with the ORM's first ``version``."""
        values = {name: getattr(self, name) for name in _STORED}
        values["version"] = 1
        return values

    def to_row(self) -> CaseRow:
        """Return a new (transient) ORM row with these values."""
        return CaseRow(**{name: getattr(self, name) for name in _STORED})


_STORED = tuple(f.name for f in fields(CaseDraft) if f.name != "id")
