"""The taxonomy of cases as data: management components (部件) and events (事件).

Each category has a GB/T 30428-style code (``C`` component or ``E`` event, two-digit major
class, two-digit minor class), names in Chinese and English, the department and level that
handle it by default, a priority, and time limits per stage in hours of its clock (working
hours, or natural hours for emergencies). The seed set ships with shancheng
(``taxonomy_seed.json``); a city replaces it with its own file of the same shape.

Admins add categories and change or retire existing ones at run time: each edit is a mapping
``{"code": ..., field: value, ...}`` of the fields it sets (stored in ``case_taxonomy``), and
:meth:`Taxonomy.with_edits` lays the edits over the seed set. A retired category
(``active`` false) takes no new reports but still describes the cases filed under it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from shancheng.cases.domain import Level
from shancheng.errors import CaseInputError, InputError, TaxonomyError, UnknownCategoryError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ClockKind = Literal["working", "natural"]
StageName = Literal["register", "dispatch", "dispose", "verify"]
STAGES: tuple[StageName, ...] = ("register", "dispatch", "dispose", "verify")
SEED_FILE = "taxonomy_seed.json"
_FORMAT = "shancheng-taxonomy"
MAX_LIMIT_H = 24.0 * 366
"""Longest stage limit accepted, in hours (a leap year)."""
MAX_NAME_CHARS = 100
MAX_KEYWORDS = 30
MAX_KEYWORD_CHARS = 32
EDITABLE_FIELDS = (
    "kind",
    "name_zh",
    "name_en",
    "group_zh",
    "group_en",
    "department",
    "level",
    "priority",
    "limits_h",
    "clock",
    "keywords",
    "active",
)
"""Fields an edit may set (``code`` names the category; ``kind`` only for a new one)."""
_REQUIRED = ("kind", "name_zh", "name_en", "department", "level", "priority", "limits_h")
_NEW_DEFAULTS: dict[str, Any] = {"clock": "working", "keywords": [], "active": True}
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Department:
    """A department that handles cases (处置单位), by code."""

    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True, slots=True)
class Category:
    """One component or event category.

    Attributes
    ----------
    code
        ``C0101``-style code: kind letter, major class, minor class.
    kind
        ``component`` (部件, a fixed facility) or ``event`` (事件, a situation).
    name_zh, name_en
        Names shown to operators and citizens.
    group_zh, group_en
        Name of the major class (Open311 ``group``).
    department
        Code of the department that handles it by default.
    level
        Level (street, district, city) at which that department acts by default.
    priority
        1 = most urgent.
    limits_h
        Time limit of each stage in hours of ``clock``.
    clock
        ``working`` hours (工作时) or ``natural`` hours (emergencies).
    keywords
        Words that point to it (Open311 ``keywords``; classifier hints).
    active
        False once retired by an admin: no new reports, old cases keep it.
    """

    code: str
    kind: Literal["component", "event"]
    name_zh: str
    name_en: str
    group_zh: str
    group_en: str
    department: str
    level: Level
    priority: int
    limits_h: dict[StageName, float]
    clock: ClockKind
    keywords: tuple[str, ...]
    active: bool = True

    def as_dict(self) -> dict[str, Any]:
        """Return every field as JSON-ready values (the shape of an edit and of the audit log)."""
        return {
            "code": self.code,
            "kind": self.kind,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "group_zh": self.group_zh,
            "group_en": self.group_en,
            "department": self.department,
            "level": self.level.value,
            "priority": self.priority,
            "limits_h": dict(self.limits_h),
            "clock": self.clock,
            "keywords": list(self.keywords),
            "active": self.active,
        }

    def limit_s(self, stage: StageName) -> float:
        """Time limit of ``stage`` in seconds of the category's clock."""
        return self.limits_h[stage] * 3600.0


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """All categories and departments, with the default owner and the pipeline-alarm codes.

    ``categories`` holds retired categories too (old cases still read them);
    :meth:`reportable` is the check for a new report. ``groups`` names the major classes,
    by (kind, two-digit major class).
    """

    categories: dict[str, Category]
    departments: dict[str, Department]
    default_department: str
    pipeline_alarms: dict[str, str]
    groups: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def category(self, code: str) -> Category:
        """Return the category with ``code``.

        Raises
        ------
        UnknownCategoryError
            The code is not in the taxonomy; the message lists a few known codes.
        """
        found = self.categories.get(code)
        if found is None:
            sample = ", ".join(sorted(self.categories)[:6])
            msg = (
                f"`service_code`/`category_code` {code!r} is not a known category "
                f"({len(self.categories)} known, e.g. {sample}); GET /open311/services.json "
                "lists them"
            )
            raise UnknownCategoryError(msg)
        return found

    def reportable(self, code: str) -> Category:
        """Return the category with ``code`` if it takes new reports.

        Raises
        ------
        UnknownCategoryError
            The code is not in the taxonomy.
        CaseInputError
            The category is retired (field ``service_code``).
        """
        found = self.category(code)
        if not found.active:
            msg = (
                f"`service_code`/`category_code` {code!r} ({found.name_en}) is retired and takes "
                "no new reports; GET /open311/services.json lists the active categories"
            )
            raise CaseInputError(msg, field="service_code")
        return found

    def edited(self, edit: Mapping[str, Any]) -> Category:
        """Return the category ``edit`` describes, checked like a taxonomy file's entry.

        ``edit`` holds ``code`` and the fields it sets (None: unchanged). For a code of this
        taxonomy the other fields are the category's own (``limits_h`` is merged stage by
        stage); for a new code every field is required but ``clock`` (working),
        ``keywords`` (none), ``active`` (true), ``kind`` (from the code's letter) and the
        group names (from the major class, when ``groups`` lists it).

        Raises
        ------
        TaxonomyError
            A field is missing or invalid; ``field`` names it.
        """
        code = str(edit.get("code", ""))
        where = f"category {code!r}"
        base = self.categories.get(code)
        entry = dict(_NEW_DEFAULTS) if base is None else base.as_dict()
        if base is None:
            kind = edit.get("kind") or {"C": "component", "E": "event"}.get(code[:1], "event")
            _check_code(code, str(kind), where)
            entry["code"], entry["kind"] = code, kind
        for name, value in edit.items():
            if value is None or name == "code":
                continue
            if name == "limits_h" and base is not None and isinstance(value, dict):
                entry[name] = {**entry[name], **value}
            else:
                entry[name] = value
        missing = [name for name in _REQUIRED if name not in entry]
        if missing:
            msg = f"{where}: field `{missing[0]}` is required for a new category"
            raise TaxonomyError(msg, field=missing[0])
        return _category(entry, self.groups, self.departments, where)

    def with_edits(self, edits: Sequence[Mapping[str, Any]]) -> Taxonomy:
        """Return this taxonomy with ``edits`` (admins' additions and changes) laid over it.

        An edit that no longer checks (its department was removed from the taxonomy file,
        say) is logged and left out, so one stale row cannot stop intake.
        """
        categories = dict(self.categories)
        for edit in edits:
            try:
                category = self.edited(edit)
            except TaxonomyError:
                logger.exception("taxonomy edit of %r ignored", edit.get("code"))
                continue
            categories[category.code] = category
        return Taxonomy(
            categories, self.departments, self.default_department, self.pipeline_alarms, self.groups
        )

    def pipeline_alarm_category(self, network: str) -> Category:
        """Return the event category a lifeline alarm on ``network`` opens."""
        code = self.pipeline_alarms.get(network)
        if code is None:
            msg = f"no pipeline-alarm category for network {network!r}; known: water, gas, drainage"
            raise UnknownCategoryError(msg)
        return self.category(code)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read a taxonomy file (default: the seed set packaged with shancheng).

    Raises
    ------
    InputError
        The file is unreadable, or an entry misses a field, has a bad value, or refers to an
        unknown department; the message names the file, the entry and the field.

    Examples
    --------
    >>> tax = load_taxonomy()
    >>> tax.category("E0102").name_en, tax.category("E0102").department
    ('exposed garbage', 'sanitation')
    """
    if path is None:
        source = f"<package>/{SEED_FILE}"
        text = resources.files("shancheng.cases").joinpath(SEED_FILE).read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"{source}: cannot read the taxonomy file ({exc})"
            raise InputError(msg) from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{source}: not valid JSON at line {exc.lineno}: {exc.msg}"
        raise InputError(msg) from exc
    return _parse(raw, source)


def _parse(raw: Any, source: str) -> Taxonomy:  # noqa: ANN401 - parsed JSON
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
        msg = f"{source}: field `format` must be {_FORMAT!r}"
        raise InputError(msg)
    departments = {
        d["code"]: Department(d["code"], d["name_zh"], d["name_en"])
        for d in _entries(raw, "departments", source, ("code", "name_zh", "name_en"))
    }
    groups = {
        (str(g["kind"]), str(g["major"])): (str(g["name_zh"]), str(g["name_en"]))
        for g in _entries(raw, "groups", source, ("kind", "major", "name_zh", "name_en"))
    }
    fields = ("code", *_REQUIRED, "clock", "keywords")
    categories: dict[str, Category] = {}
    for index, entry in enumerate(_entries(raw, "categories", source, fields)):
        where = f"{source}: categories[{index}] ({entry.get('code')!r})"
        category = _category(entry, groups, departments, where)
        if category.code in categories:
            msg = f"{where}: field `code` {category.code!r} appears twice"
            raise InputError(msg)
        categories[category.code] = category
    default = raw.get("default_department")
    if default not in departments:
        msg = f"{source}: field `default_department` {default!r} is not a listed department"
        raise InputError(msg)
    alarms = raw.get("pipeline_alarms", {})
    for network, code in alarms.items():
        if code not in categories:
            msg = f"{source}: pipeline_alarms.{network} = {code!r} is not a listed category"
            raise InputError(msg)
    return Taxonomy(categories, departments, str(default), dict(alarms), groups)


def _entries(
    raw: dict[str, Any], key: str, source: str, required: tuple[str, ...]
) -> list[dict[str, Any]]:
    entries = raw.get(key)
    if not isinstance(entries, list) or not entries:
        msg = f"{source}: field `{key}` must be a non-empty list"
        raise InputError(msg)
    for index, entry in enumerate(entries):
        missing = [name for name in required if not isinstance(entry, dict) or name not in entry]
        if missing:
            msg = f"{source}: {key}[{index}] misses field `{missing[0]}`"
            raise InputError(msg)
    return entries


def _category(
    entry: dict[str, Any],
    groups: dict[tuple[str, str], tuple[str, str]],
    departments: dict[str, Department],
    where: str,
) -> Category:
    code, kind = str(entry["code"]), entry["kind"]
    if kind not in {"component", "event"}:
        msg = f"must be 'component' or 'event', got {kind!r}"
        raise _bad(where, "kind", msg)
    _check_code(code, kind, where)
    texts = {"name_zh": entry["name_zh"], "name_en": entry["name_en"]}
    texts["group_zh"], texts["group_en"] = _group_names(entry, groups.get((kind, code[1:3])))
    problem = _text_problem(texts, entry["keywords"]) or _value_problem(entry, departments)
    if problem is not None:
        raise _bad(where, *problem)
    return Category(
        code=code,
        kind=kind,
        name_zh=texts["name_zh"].strip(),
        name_en=texts["name_en"].strip(),
        group_zh=texts["group_zh"].strip(),
        group_en=texts["group_en"].strip(),
        department=str(entry["department"]),
        level=Level(entry["level"]),
        priority=int(entry["priority"]),
        limits_h=_limits(entry["limits_h"], where),
        clock=entry["clock"],
        keywords=tuple(w.strip() for w in entry["keywords"]),
        active=entry.get("active", True),
    )


def _group_names(entry: dict[str, Any], group: tuple[str, str] | None) -> tuple[Any, Any]:
    """Return the entry's own group names, else its major class's (None: neither known)."""
    if entry.get("group_zh") is None and entry.get("group_en") is None:
        return group or (None, None)
    return entry.get("group_zh"), entry.get("group_en")


def _text_problem(texts: dict[str, Any], keywords: Any) -> tuple[str, str] | None:  # noqa: ANN401
    for name, value in texts.items():
        if value is None and name.startswith("group"):
            return name, "is needed: the code's major class is not in `groups`"
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_CHARS:
            return name, f"must be a non-empty string of at most {MAX_NAME_CHARS} characters"
    if (
        not isinstance(keywords, list | tuple)
        or len(keywords) > MAX_KEYWORDS
        or not all(
            isinstance(w, str) and w.strip() and len(w) <= MAX_KEYWORD_CHARS for w in keywords
        )
    ):
        rule = f"at most {MAX_KEYWORDS} non-empty words of at most {MAX_KEYWORD_CHARS} characters"
        return "keywords", f"must be a list of {rule}"
    return None


def _value_problem(
    entry: dict[str, Any], departments: dict[str, Department]
) -> tuple[str, str] | None:
    department, level, clock = entry["department"], entry["level"], entry["clock"]
    priority, active = entry["priority"], entry.get("active", True)
    if department not in departments:
        known = ", ".join(sorted(departments))
        return "department", f"{department!r} is not a listed department; known: {known}"
    if level not in {lv.value for lv in Level}:
        return "level", f"must be street, district or city, got {level!r}"
    if clock not in {"working", "natural"}:
        return "clock", f"must be 'working' or 'natural', got {clock!r}"
    if isinstance(priority, bool) or priority not in {1, 2, 3}:
        return "priority", f"must be 1, 2 or 3, got {priority!r}"
    if not isinstance(active, bool):
        return "active", f"must be true or false, got {active!r}"
    return None


def valid_hours(value: object) -> TypeGuard[float]:
    """Tell whether ``value`` is a stage limit: a number of hours in (0, MAX_LIMIT_H]."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and 0 < value <= MAX_LIMIT_H
    )


def _check_code(code: str, kind: str, where: str) -> None:
    prefix = {"component": "C", "event": "E"}.get(kind)
    if (
        len(code) != 5  # noqa: PLR2004
        or code[0] != prefix
        or not code[1:].isascii()
        or not code[1:].isdigit()
        or "00" in {code[1:3], code[3:5]}
    ):
        shape = "must be C/E + 4 digits (major and minor class 01-99) matching `kind`"
        raise _bad(where, "code", f"{shape} {kind!r}, got {code!r}")


def _bad(where: str, name: str, text: str) -> TaxonomyError:
    return TaxonomyError(f"{where}: field `{name}` {text}", field=name)


def _limits(limits: Any, where: str) -> dict[StageName, float]:  # noqa: ANN401 - parsed JSON
    if not isinstance(limits, dict) or set(limits) != set(STAGES):
        msg = f"must give hours for {', '.join(STAGES)}, got {limits!r}"
        raise _bad(where, "limits_h", msg)
    for stage, hours in limits.items():
        if not valid_hours(hours):
            msg = f"must be a number of hours in (0, {MAX_LIMIT_H:g}], got {hours!r}"
            raise _bad(where, f"limits_h.{stage}", msg)
    return {stage: float(limits[stage]) for stage in STAGES}
