"""The taxonomy of cases as data: management components (部件) and events (事件).

Each category has a GB/T 30428-style code (``C`` component or ``E`` event, two-digit major
class, two-digit minor class), names in Chinese and English, the department and level that
handle it by default, a priority, and time limits per stage in hours of its clock (working
hours, or natural hours for emergencies). The seed set ships with shancheng
(``taxonomy_seed.json``); a city replaces it with its own file of the same shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from shancheng.cases.domain import Level
from shancheng.errors import InputError, UnknownCategoryError

ClockKind = Literal["working", "natural"]
StageName = Literal["register", "dispatch", "dispose", "verify"]
STAGES: tuple[StageName, ...] = ("register", "dispatch", "dispose", "verify")
SEED_FILE = "taxonomy_seed.json"
_FORMAT = "shancheng-taxonomy"


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

    def limit_s(self, stage: StageName) -> float:
        """Time limit of ``stage`` in seconds of the category's clock."""
        return self.limits_h[stage] * 3600.0


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """All categories and departments, with the default owner and the pipeline-alarm codes."""

    categories: dict[str, Category]
    departments: dict[str, Department]
    default_department: str
    pipeline_alarms: dict[str, str]

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
        (g["kind"], g["major"]): g
        for g in _entries(raw, "groups", source, ("kind", "major", "name_zh", "name_en"))
    }
    fields = (
        "code",
        "kind",
        "name_zh",
        "name_en",
        "department",
        "level",
        "priority",
        "limits_h",
        "clock",
        "keywords",
    )
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
    return Taxonomy(categories, departments, str(default), dict(alarms))


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
    groups: dict[tuple[str, str], dict[str, Any]],
    departments: dict[str, Department],
    where: str,
) -> Category:
    code = str(entry["code"])
    kind = entry["kind"]
    prefix = {"component": "C", "event": "E"}.get(kind)
    if prefix is None or len(code) != 5 or code[0] != prefix or not code[1:].isdigit():  # noqa: PLR2004
        msg = f"{where}: field `code` must be C/E + 4 digits matching `kind` {kind!r}, got {code!r}"
        raise InputError(msg)
    group = groups.get((kind, code[1:3]))
    if group is None:
        msg = f"{where}: major class {code[1:3]!r} of kind {kind!r} is not in `groups`"
        raise InputError(msg)
    if entry["department"] not in departments:
        msg = f"{where}: field `department` {entry['department']!r} is not a listed department"
        raise InputError(msg)
    try:
        level = Level(entry["level"])
    except ValueError:
        msg = f"{where}: field `level` must be street, district or city, got {entry['level']!r}"
        raise InputError(msg) from None
    limits = entry["limits_h"]
    if not isinstance(limits, dict) or set(limits) != set(STAGES):
        msg = f"{where}: field `limits_h` must give hours for {', '.join(STAGES)}"
        raise InputError(msg)
    for stage, hours in limits.items():
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not hours > 0:
            msg = f"{where}: field `limits_h.{stage}` must be a number > 0, got {hours!r}"
            raise InputError(msg)
    if entry["clock"] not in {"working", "natural"}:
        msg = f"{where}: field `clock` must be 'working' or 'natural', got {entry['clock']!r}"
        raise InputError(msg)
    priority = entry["priority"]
    if priority not in {1, 2, 3}:
        msg = f"{where}: field `priority` must be 1, 2 or 3, got {priority!r}"
        raise InputError(msg)
    return Category(
        code=code,
        kind=kind,
        name_zh=str(entry["name_zh"]),
        name_en=str(entry["name_en"]),
        group_zh=str(group["name_zh"]),
        group_en=str(group["name_en"]),
        department=str(entry["department"]),
        level=level,
        priority=int(priority),
        limits_h={stage: float(limits[stage]) for stage in STAGES},
        clock=entry["clock"],
        keywords=tuple(str(word) for word in entry["keywords"]),
    )
