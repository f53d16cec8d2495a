"""SQL of the center's editable configuration, with the audit log of every change.

The tables: jurisdiction rules, per-district stage limits, the admins' taxonomy edits.
:mod:`shancheng.cases.admin` checks and decides; this reads and writes rows. Routing reads the
same tables as domain values through :mod:`shancheng.cases.repository`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from shancheng.store.cases_tables import (
    AuditRow,
    JurisdictionRuleRow,
    StageLimitRow,
    TaxonomyEditRow,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

Row = TypeVar("Row", JurisdictionRuleRow, StageLimitRow, TaxonomyEditRow)
MAX_ID = 2**31


def rule_rows(session: Session) -> list[JurisdictionRuleRow]:
    """Return the jurisdiction table in insertion order."""
    query = sa.select(JurisdictionRuleRow).order_by(JurisdictionRuleRow.id)
    return list(session.execute(query).scalars())


def limit_rows(session: Session) -> list[StageLimitRow]:
    """Return the per-district stage limits in insertion order."""
    return list(session.execute(sa.select(StageLimitRow).order_by(StageLimitRow.id)).scalars())


def audit_rows(session: Session, *, limit: int) -> list[AuditRow]:
    """Return the latest ``limit`` audit records, newest first."""
    query = sa.select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    return list(session.execute(query).scalars())


def taxonomy_edit(session: Session, code: str) -> TaxonomyEditRow | None:
    """Return the stored edit of category ``code``, if any."""
    query = sa.select(TaxonomyEditRow).where(TaxonomyEditRow.code == code)
    return session.execute(query).scalar_one_or_none()


def row_by_id(session: Session, table: type[Row], row_id: int) -> Row | None:
    """Return the row of ``table`` with this id (ids beyond the column's range: none)."""
    return session.get(table, row_id) if 0 < row_id < MAX_ID else None


def rule_clash(session: Session, category: str, unit: str, *, row_id: int | None) -> int | None:
    """Return the id of another rule for (category, unit), if any."""
    query = sa.select(JurisdictionRuleRow.id).where(
        JurisdictionRuleRow.category == category,
        JurisdictionRuleRow.unit == unit,
        JurisdictionRuleRow.id != (row_id or -1),
    )
    return session.execute(query).scalar()


def limit_clash(
    session: Session, district: str, category: str, stage: str, *, row_id: int | None
) -> int | None:
    """Return the id of another stage limit for (district, category, stage), if any."""
    query = sa.select(StageLimitRow.id).where(
        StageLimitRow.district_code == district,
        StageLimitRow.category == category,
        StageLimitRow.stage == stage,
        StageLimitRow.id != (row_id or -1),
    )
    return session.execute(query).scalar()


def save_with_audit(
    session: Session,
    row: Row,
    *,
    actor: str,
    at: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> Row:
    """Write ``row`` and its audit record (who, when, before and after); the caller commits."""
    session.add(row)
    session.flush()
    session.add(
        AuditRow(
            at=at,
            actor=actor,
            action="create" if before is None else "update",
            table_name=row.__tablename__,
            row_id=row.id,
            before=before,
            after=after,
        )
    )
    return row
