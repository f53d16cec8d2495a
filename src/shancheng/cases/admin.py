"""Admin edits of the center's configuration tables: jurisdiction, stage limits, taxonomy.

Each function checks that the actor is an admin, validates the whole row against the taxonomy
and the city's hierarchy, writes it together with an audit record (who, when, before, after)
in one transaction, and makes this process see the change at once (other server processes see
it within ``Center.rules_ttl_s``). Nothing is deleted: a rule is changed, never erased, a
category is retired (``active`` false), and the audit log keeps every earlier version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from shancheng.cases import repository
from shancheng.cases.domain import Level
from shancheng.cases.permissions import Actor, Permission, check
from shancheng.cases.repository import config
from shancheng.cases.safe_text import check_plain
from shancheng.cases.stage_limits import ANY_CATEGORY
from shancheng.cases.taxonomy import EDITABLE_FIELDS, MAX_LIMIT_H, STAGES, valid_hours
from shancheng.errors import CaseInputError, CaseNotFoundError, ConflictError, TaxonomyError
from shancheng.store.cases_tables import (
    AuditRow,
    JurisdictionRuleRow,
    StageLimitRow,
    TaxonomyEditRow,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center, CenterCache
    from shancheng.cases.taxonomy import Category, Taxonomy

__all__ = [
    "audit_log",
    "category_origin",
    "create_category",
    "create_rule",
    "create_stage_limit",
    "list_categories",
    "list_rules",
    "list_stage_limits",
    "update_category",
    "update_rule",
    "update_stage_limit",
]

_Row = TypeVar("_Row", JurisdictionRuleRow, StageLimitRow, TaxonomyEditRow)
_RULE_FIELDS = ("category", "unit", "department", "level")
_LIMIT_FIELDS = ("district_code", "category", "stage", "limit_h")
_FIELDS = {"case_jurisdiction": _RULE_FIELDS, "case_stage_limits": _LIMIT_FIELDS}
_TEXT_FIELDS = ("name_zh", "name_en", "group_zh", "group_en")


def list_rules(session: Session, *, actor: Actor) -> list[JurisdictionRuleRow]:
    """Return the jurisdiction table in insertion order (admins only)."""
    check(actor, Permission.MANAGE)
    return config.rule_rows(session)


def create_rule(
    session: Session, centers: CenterCache, values: dict[str, Any], *, actor: Actor, at: datetime
) -> JurisdictionRuleRow:
    """Add a rule ``{category, unit, department, level}``; audit it; commit.

    Raises
    ------
    PermissionDeniedError
        The actor is not an admin.
    CaseInputError
        A field is unknown or malformed, or a rule for (category, unit) exists already.
    """
    check(actor, Permission.MANAGE)
    clean = _check_rule(session, centers.current(session), values)
    row = JurisdictionRuleRow(**clean)
    return _save(session, centers, row, None, actor=actor, at=at)


def update_rule(
    session: Session,
    centers: CenterCache,
    rule_id: int,
    changes: dict[str, Any],
    *,
    actor: Actor,
    at: datetime,
) -> JurisdictionRuleRow:
    """Change some fields of rule ``rule_id``; audit before and after; commit.

    Raises
    ------
    CaseNotFoundError
        No rule has this id.
    """
    check(actor, Permission.MANAGE)
    row = _get(session, JurisdictionRuleRow, rule_id, "jurisdiction rule")
    return _update(session, centers, row, _RULE_FIELDS, _check_rule, changes, actor=actor, at=at)


def list_stage_limits(session: Session, *, actor: Actor) -> list[StageLimitRow]:
    """Return the per-district stage limits in insertion order (admins only)."""
    check(actor, Permission.MANAGE)
    return config.limit_rows(session)


def create_stage_limit(
    session: Session, centers: CenterCache, values: dict[str, Any], *, actor: Actor, at: datetime
) -> StageLimitRow:
    """Give a district its own limit ``{district_code, category, stage, limit_h}``; commit.

    Raises
    ------
    CaseInputError
        Not a district of the city, unknown category or stage, a limit out of (0, 8784] h,
        or the district already has a limit for this category and stage.
    """
    check(actor, Permission.MANAGE)
    clean = _check_limit(session, centers.current(session), values)
    return _save(session, centers, StageLimitRow(**clean), None, actor=actor, at=at)


def update_stage_limit(
    session: Session,
    centers: CenterCache,
    limit_id: int,
    changes: dict[str, Any],
    *,
    actor: Actor,
    at: datetime,
) -> StageLimitRow:
    """Change some fields of stage limit ``limit_id``; audit before and after; commit."""
    check(actor, Permission.MANAGE)
    row = _get(session, StageLimitRow, limit_id, "stage limit")
    return _update(session, centers, row, _LIMIT_FIELDS, _check_limit, changes, actor=actor, at=at)


def audit_log(session: Session, *, actor: Actor, limit: int = 100) -> list[AuditRow]:
    """Return the latest configuration changes, newest first (admins only)."""
    check(actor, Permission.MANAGE)
    return config.audit_rows(session, limit=limit)


def list_categories(
    session: Session, centers: CenterCache, *, actor: Actor
) -> list[tuple[Category, str]]:
    """Return every category, retired ones too, by code, with its origin (admins only).

    The origin is ``seed`` (as packaged), ``edited`` (a seeded category an admin changed) or
    ``added`` (created by an admin). Read from the database, not the center's cache.
    """
    check(actor, Permission.MANAGE)
    seed = centers.seed.seed
    edits = repository.taxonomy_edits(session)
    edited = {edit["code"] for edit in edits}
    current = seed.with_edits(edits)

    def origin(code: str) -> str:
        if code not in edited:
            return "seed"
        return "edited" if code in seed.categories else "added"

    return [(current.categories[code], origin(code)) for code in sorted(current.categories)]


def category_origin(session: Session, centers: CenterCache, code: str) -> str:
    """Return ``seed``, ``edited`` or ``added``: where category ``code`` comes from."""
    edited = config.taxonomy_edit(session, code)
    if code in centers.seed.seed.categories:
        return "seed" if edited is None else "edited"
    return "added"


def create_category(
    session: Session, centers: CenterCache, values: dict[str, Any], *, actor: Actor, at: datetime
) -> Category:
    """Add a category ``{code, kind, name_zh, name_en, department, level, priority, ...}``.

    ``code`` must be new and GB/T 30428-shaped (``E0801``: kind letter, major and minor
    class); its major class must be a group of the taxonomy unless ``group_zh`` and
    ``group_en`` name a new one. Audited; commits.

    Raises
    ------
    PermissionDeniedError
        The actor is not an admin.
    CaseInputError
        A field is unknown, missing or invalid, or the code exists; ``field`` names it.
    """
    check(actor, Permission.MANAGE)
    unknown = set(values) - {"code", *EDITABLE_FIELDS}
    if unknown:
        msg = (
            f"unknown field(s) {sorted(unknown)}; a category has code, {', '.join(EDITABLE_FIELDS)}"
        )
        raise CaseInputError(msg, field=min(unknown))
    code = _text(values, "code", 8)
    seed = centers.seed.seed
    current = seed.with_edits(repository.taxonomy_edits(session))
    if code in current.categories:
        msg = f"category {code!r} exists already; change it with PATCH /admin/taxonomy/{code}"
        raise CaseInputError(msg, field="code")
    _check_category_texts(values)
    category = _checked(seed, {**values, "code": code})
    stored = category.as_dict()
    row = TaxonomyEditRow(**{name: stored[name] for name in ("code", *EDITABLE_FIELDS)})
    try:
        _save(session, centers, row, None, actor=actor, at=at, after=stored)
    except IntegrityError:
        msg = (
            f"category {code!r} was created meanwhile; change it with PATCH /admin/taxonomy/{code}"
        )
        raise CaseInputError(msg, field="code") from None
    return category


def update_category(
    session: Session,
    centers: CenterCache,
    code: str,
    changes: dict[str, Any],
    *,
    actor: Actor,
    at: datetime,
) -> Category:
    """Change fields of category ``code`` (``active: false`` retires it); audited; commits.

    ``limits_h`` may give some stages only; the others keep their limits. A retired category
    takes no new reports; its cases keep it. The pipeline-alarm categories cannot be retired.

    Raises
    ------
    CaseNotFoundError
        No category has this code.
    CaseInputError
        A field is unknown or invalid; ``field`` names it. Nothing is written.
    ConflictError
        Another admin changed the category meanwhile.
    """
    check(actor, Permission.MANAGE)
    seed = centers.seed.seed
    current = seed.with_edits(repository.taxonomy_edits(session))
    before = current.categories.get(code)
    if before is None:
        msg = f"no category {code!r}; POST /admin/taxonomy adds one"
        raise CaseNotFoundError(msg)
    unknown = set(changes) - set(EDITABLE_FIELDS) | ({"kind"} & set(changes))
    if unknown:
        editable = ", ".join(EDITABLE_FIELDS[1:])
        msg = f"field(s) {sorted(unknown)} cannot be changed; editable: {editable}"
        raise CaseInputError(msg, field=min(unknown))
    _check_category_texts(changes)
    row = config.taxonomy_edit(session, code)
    stored = {} if row is None else {f: getattr(row, f) for f in EDITABLE_FIELDS}
    merged = {k: v for k, v in {**stored, **changes}.items() if v is not None}
    if isinstance(changes.get("limits_h"), dict):
        merged["limits_h"] = {**(stored.get("limits_h") or {}), **changes["limits_h"]}
    after = _checked(seed, {**merged, "code": code})
    if not after.active and code in seed.pipeline_alarms.values():
        msg = f"`active`: {code} opens the cases of lifeline alarms and cannot be retired"
        raise CaseInputError(msg, field="active")
    if after == before:
        return before
    values = after.as_dict()
    row = row or TaxonomyEditRow(code=code)
    for name in merged:
        value = values[name]
        if name == "limits_h":
            value = {stage: value[stage] for stage in merged["limits_h"]}
        setattr(row, name, value)
    try:
        _save(session, centers, row, before.as_dict(), actor=actor, at=at, after=values)
    except (IntegrityError, StaleDataError):
        msg = f"category {code!r} was changed meanwhile; reload it and retry"
        raise ConflictError(msg) from None
    return after


def _checked(seed: Taxonomy, edit: dict[str, Any]) -> Category:
    try:
        return seed.edited(edit)
    except TaxonomyError as exc:
        raise CaseInputError(str(exc), field=exc.field) from None


def _check_category_texts(values: dict[str, Any]) -> None:
    for name in _TEXT_FIELDS:
        if isinstance(values.get(name), str):
            check_plain(values[name], field=name)
    keywords = values.get("keywords")
    if isinstance(keywords, list):
        for index, word in enumerate(keywords):
            if isinstance(word, str):
                check_plain(word, field=f"keywords[{index}]")


def _get(session: Session, table: type[_Row], row_id: int, what: str) -> _Row:
    row = config.row_by_id(session, table, row_id)
    if row is None:
        msg = f"no {what} with id {row_id}"
        raise CaseNotFoundError(msg)
    return row


def _update(
    session: Session,
    centers: CenterCache,
    row: _Row,
    fields: tuple[str, ...],
    check_values: Callable[..., dict[str, Any]],
    changes: dict[str, Any],
    *,
    actor: Actor,
    at: datetime,
) -> _Row:
    """Apply ``changes`` to ``row`` once the whole row checks out; audit before and after."""
    before = _as_dict(row, fields)
    current = centers.current(session)
    clean = check_values(session, current, {**before, **changes}, row_id=row.id)
    for key, value in clean.items():
        setattr(row, key, value)
    return _save(session, centers, row, before, actor=actor, at=at)


def _no_unknown(values: dict[str, Any], fields: tuple[str, ...], what: str) -> None:
    unknown = set(values) - set(fields) - {"id"}
    if unknown:
        msg = f"unknown field(s) {sorted(unknown)}; {what} has {', '.join(fields)}"
        raise CaseInputError(msg, field=min(unknown))


def _as_dict(row: object, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in fields}


def _save(
    session: Session,
    centers: CenterCache,
    row: _Row,
    before: dict[str, Any] | None,
    *,
    actor: Actor,
    at: datetime,
    after: dict[str, Any] | None = None,
) -> _Row:
    try:
        config.save_with_audit(
            session,
            row,
            actor=actor.username,
            at=at,
            before=before,
            after=_as_dict(row, _FIELDS[row.__tablename__]) if after is None else after,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    centers.forget()  # this process sees the change at once
    return row


def _text(values: dict[str, Any], name: str, max_chars: int) -> str:
    value = values.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        msg = f"`{name}` must be a non-empty string of at most {max_chars} characters"
        raise CaseInputError(msg, field=name)
    return value.strip()


def _check_rule(
    session: Session, center: Center, values: dict[str, Any], *, row_id: int | None = None
) -> dict[str, Any]:
    _no_unknown(values, _RULE_FIELDS, "a rule")
    category = _text(values, "category", 16)
    if category != ANY_CATEGORY and not any(
        code.startswith(category) for code in center.taxonomy.categories
    ):
        msg = (
            f"`category` {category!r} is neither '*' nor a category code or prefix of the "
            "taxonomy (e.g. E0502 or E05)"
        )
        raise CaseInputError(msg, field="category")
    unit = _text(values, "unit", 16)
    if unit != "*" and unit not in center.admin.names:
        msg = f"`unit` {unit!r} is neither '*' nor a unit code of the city (district, street...)"
        raise CaseInputError(msg, field="unit")
    department = _text(values, "department", 32)
    if department not in center.taxonomy.departments:
        known = ", ".join(sorted(center.taxonomy.departments))
        msg = f"`department` {department!r} is not a known department; known: {known}"
        raise CaseInputError(msg, field="department")
    level = _text(values, "level", 16)
    if level not in {lv.value for lv in Level}:
        msg = f"`level` must be one of street, district, city, got {level!r}"
        raise CaseInputError(msg, field="level")
    clash = config.rule_clash(session, category, unit, row_id=row_id)
    if clash is not None:
        msg = f"rule {clash} already routes ({category}, {unit}); change that rule instead"
        raise CaseInputError(msg, field="category")
    return {"category": category, "unit": unit, "department": department, "level": level}


def _check_limit(
    session: Session, center: Center, values: dict[str, Any], *, row_id: int | None = None
) -> dict[str, Any]:
    _no_unknown(values, _LIMIT_FIELDS, "a limit")
    district = _text(values, "district_code", 16)
    districts = {d for _c, _s, d in center.admin.cell_units.values()}
    if district not in districts:
        msg = (
            f"`district_code` {district!r} is not a district of the city; "
            f"districts: {', '.join(sorted(districts))}"
        )
        raise CaseInputError(msg, field="district_code")
    category = _text(values, "category", 16)
    if category != ANY_CATEGORY and category not in center.taxonomy.categories:
        msg = f"`category` {category!r} is neither '*' nor a category code of the taxonomy"
        raise CaseInputError(msg, field="category")
    stage = _text(values, "stage", 16)
    if stage not in STAGES:
        msg = f"`stage` must be one of {', '.join(STAGES)}, got {stage!r}"
        raise CaseInputError(msg, field="stage")
    limit_h = values.get("limit_h")
    if not valid_hours(limit_h):
        msg = f"`limit_h` must be a number of hours in (0, {MAX_LIMIT_H:g}], got {limit_h!r}"
        raise CaseInputError(msg, field="limit_h")
    clash = config.limit_clash(session, district, category, stage, row_id=row_id)
    if clash is not None:
        msg = f"stage limit {clash} already sets ({district}, {category}, {stage}); change it"
        raise CaseInputError(msg, field="stage")
    return {
        "district_code": district,
        "category": category,
        "stage": cast("str", stage),
        "limit_h": float(limit_h),
    }
