"""A city's profile over the catalogue: requirements switched on, off, or "where it has one".

The national catalogue (GB 50180 / TD/T 1062) requires, for instance, a metro station in
every 15-minute circle; in a city without a metro that makes every circle incomplete by
construction. A profile is a small TOML file a city keeps beside its data::

    [requirements]
    metro_station = "where_present"   # required only if the city has a metro station
    senior_canteen_5min = "off"       # one requirement (category_level) off
    nursing_home = "on"               # the default

A key is a category id (all its levels) or a requirement key ``<category>_<level>min``
(which wins over the category). ``off`` drops the requirement; ``where_present`` keeps it
required when the City has at least one facility of the category and otherwise keeps it as
a recommendation (measured, but not needed for a complete circle), with a note saying so.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from typing import TYPE_CHECKING, Literal, cast

from shancheng.errors import CatalogueError

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from pathlib import Path

    from shancheng.circles.standard import Catalogue

Rule = Literal["on", "off", "where_present"]
RULES: tuple[Rule, ...] = ("on", "off", "where_present")


def read_city_profile(path: Path, catalogue: Catalogue) -> dict[str, Rule]:
    """Read and check a profile: every key a category or requirement, every value a rule.

    Raises
    ------
    CatalogueError
        Unreadable TOML, no ``[requirements]`` table, an unknown key or an unknown rule; the
        message names the file and the key.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: not a readable city profile ({exc})"
        raise CatalogueError(msg) from exc
    table = raw.get("requirements")
    if not isinstance(table, dict):
        msg = f'{path}: a [requirements] table is needed (key = "on" | "off" | "where_present")'
        raise CatalogueError(msg)
    known = {r.key for r in catalogue.requirements} | {r.category for r in catalogue.requirements}
    rules: dict[str, Rule] = {}
    for key, value in table.items():
        if key not in known:
            msg = (f"{path}: requirements.{key}: not a category or requirement of the catalogue "
                   f"{catalogue.name!r} (e.g. {sorted(known)[:3]})")  # fmt: skip
            raise CatalogueError(msg)
        if value not in RULES:
            msg = f"{path}: requirements.{key}: `{value}` must be one of {', '.join(RULES)}"
            raise CatalogueError(msg)
        rules[key] = cast("Rule", value)
    return rules


def apply_city_profile(
    catalogue: Catalogue, rules: Mapping[str, Rule], present: Collection[str]
) -> tuple[Catalogue, list[str]]:
    """Return the catalogue as the city's profile shapes it, and notes on what changed.

    Parameters
    ----------
    catalogue
        The catalogue to adapt.
    rules
        Key (category or requirement key) → rule, from :func:`read_city_profile`.
    present
        Categories the City has at least one facility of.
    """
    kept = []
    notes: list[str] = []
    for requirement in catalogue.requirements:
        rule = rules.get(requirement.key, rules.get(requirement.category, "on"))
        if rule == "off":
            notes.append(f"{requirement.key}: switched off by the city profile")
            continue
        if rule == "where_present" and requirement.category not in present:
            if requirement.required:
                notes.append(f"{requirement.key}: not required, the city has no "
                             f"{requirement.category} (city profile: where_present)")  # fmt: skip
            requirement = replace(requirement, required=False)  # noqa: PLW2901
        kept.append(requirement)
    if not kept:
        msg = "the city profile switches off every requirement of the catalogue"
        raise CatalogueError(msg)
    return replace(catalogue, requirements=tuple(kept)), notes
