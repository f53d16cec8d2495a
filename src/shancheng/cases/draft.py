"""A new case before it is stored: the columns of ``cases`` as plain attributes.

Intake builds, routes and (for a duplicate) merges a case in memory before writing it. An ORM
row would do, but its attribute instrumentation costs more CPU than the rest of the intake
under load, so the draft is a plain slotted dataclass. It is generated from the table
definition (:class:`~shancheng.store.cases_tables.CaseRow`), so the columns of a case are
declared once: the draft has every column but ``version`` (the ORM's optimistic counter,
1 for a new row), with the table's scalar defaults. For the type checker a draft is a
``CaseRow``: it has the same attributes with the same types.

:func:`draft_row` makes the ORM row for the session's writer and :func:`draft_columns` the
values for the asynchronous one.
"""

from __future__ import annotations

from dataclasses import field, fields, make_dataclass
from typing import TYPE_CHECKING, Any

from shancheng.store.cases_tables import CaseRow

_VERSION = "version"


def _draft_fields() -> list[tuple[str, Any, Any]]:
    """Return the draft's fields: every column but ``version``, required ones first."""
    required, optional = [], []
    for column in CaseRow.__table__.columns:
        if column.name == _VERSION:
            continue
        default = column.default
        if default is not None and default.is_scalar:
            optional.append((column.name, Any, field(default=default.arg)))
        elif column.nullable or column.primary_key:
            optional.append((column.name, Any, field(default=None)))
        else:
            required.append((column.name, Any))
    return [*required, *optional]  # type: ignore[list-item]


if TYPE_CHECKING:
    CaseDraft = CaseRow
else:
    CaseDraft = make_dataclass("CaseDraft", _draft_fields(), slots=True)
    CaseDraft.__module__ = __name__
    CaseDraft.__doc__ = "The columns of a case not yet stored (``id`` is set once it is)."

DRAFT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(CaseDraft))  # type: ignore[arg-type]
_STORED = tuple(name for name in DRAFT_NAMES if name != "id")


def draft_columns(draft: CaseDraft) -> dict[str, Any]:
    """Return the values of every column but ``id``, with the ORM's first ``version``."""
    values = {name: getattr(draft, name) for name in _STORED}
    values[_VERSION] = 1
    return values


def draft_row(draft: CaseDraft) -> CaseRow:
    """Return a new (transient) ORM row with the draft's values."""
    return CaseRow(**{name: getattr(draft, name) for name in _STORED})
