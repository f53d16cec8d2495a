"""Finding the open case a new report repeats: the search, what it finds, and its one query.

A report within ``radius_m`` of an open case of the same category reported since ``since`` is
linked to the nearest such case (ties to the oldest) instead of opening a new one. The query
is written once, here, as a SQLAlchemy expression on the ``cases`` table; the session's store
runs it as it is and the asynchronous PostgreSQL store runs its compiled text
(:func:`compiled_for`), so both find the same case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shancheng.cases.domain import OPEN_STATUS_VALUES
from shancheng.store.cases_tables import CaseRow

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect


@dataclass(frozen=True, slots=True)
class DuplicateSearch:
    """The search for the open case a report repeats: category, point (UTM m), radius, since."""

    category_code: str
    x_utm: float
    y_utm: float
    radius_m: float
    since: datetime

    def params(self, *, exclude_id: int | None = None) -> dict[str, Any]:
        """Return the bound values of :data:`DUPLICATE_QUERY` (``exclude_id``: not this case)."""
        return {
            "category": self.category_code,
            "x": float(self.x_utm),
            "y": float(self.y_utm),
            "r": float(self.radius_m),
            "since": self.since,
            "exclude": exclude_id if exclude_id is not None else -1,
        }


@dataclass(frozen=True, slots=True)
class Nearby:
    """An open case found near a new report: what linking to it needs."""

    id: int
    reference: str
    x_utm: float
    y_utm: float


# Built once: every report runs it, and building the expression costs more than running it.
_X = sa.bindparam("x", type_=sa.Float)
_Y = sa.bindparam("y", type_=sa.Float)
_R = sa.bindparam("r", type_=sa.Float)
_D2 = (CaseRow.x_utm - _X) * (CaseRow.x_utm - _X) + (CaseRow.y_utm - _Y) * (CaseRow.y_utm - _Y)
DUPLICATE_QUERY = (
    sa.select(CaseRow.id, CaseRow.reference, CaseRow.x_utm, CaseRow.y_utm)
    .where(
        CaseRow.category_code == sa.bindparam("category"),
        CaseRow.x_utm.between(_X - _R, _X + _R),
        CaseRow.y_utm.between(_Y - _R, _Y + _R),
        CaseRow.status.in_(OPEN_STATUS_VALUES),
        CaseRow.reported_at >= sa.bindparam("since", type_=CaseRow.reported_at.type),
        CaseRow.id != sa.bindparam("exclude"),
        _D2 <= _R * _R,
    )
    .order_by(_D2, CaseRow.id)
    .limit(1)
)
"""The nearest open case of the category within the radius reported since ``since``.

One query on the ``ix_cases_duplicate`` index (category_code, x_utm, y_utm), reading four
columns; merged cases are never found (a duplicate links to the case it was merged into).
"""


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """:data:`DUPLICATE_QUERY` as SQL text for one driver, with its constant parameters."""

    sql: str
    constants: dict[str, Any]

    def params(self, search: DuplicateSearch) -> dict[str, Any]:
        """Return every parameter of the text for ``search``."""
        return {**self.constants, **search.params()}


def compiled_for(dialect: Dialect) -> CompiledQuery:
    """Compile :data:`DUPLICATE_QUERY` for ``dialect`` (e.g. psycopg's, ``%(name)s`` style)."""
    placeholder = DuplicateSearch("", 0.0, 0.0, 0.0, datetime.now(UTC)).params()
    compiled = DUPLICATE_QUERY.compile(dialect=dialect)
    expanded = compiled.construct_expanded_state(placeholder)
    constants = {k: v for k, v in expanded.parameters.items() if k not in placeholder}
    return CompiledQuery(expanded.statement, constants)


def found(row: Any) -> Nearby | None:  # noqa: ANN401 - a driver's result row
    """Return the :class:`Nearby` of a result row of the query (``None`` for no row)."""
    if row is None:
        return None
    return Nearby(int(row[0]), str(row[1]), float(row[2]), float(row[3]))
