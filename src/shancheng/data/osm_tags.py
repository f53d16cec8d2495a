"""The editable mapping from OpenStreetMap tags to living-circle facility categories.

The mapping is a TOML file of ordered rules (the packaged default is
``mappings/osm_facilities.toml``, which documents the format); the first rule that matches a
feature's tags gives its category.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import osmium

    Tags = Mapping[str, str] | osmium.osm.TagList

DEFAULT_FACILITY_TAGS = "osm_facilities.toml"


@dataclass(frozen=True, slots=True)
class TagRule:
    """One rule of the facility mapping: a category and its alternative conditions."""

    category: str
    conditions: tuple[tuple[tuple[str, frozenset[str] | None, bool], ...], ...]
    """Each condition is a tuple of tests ``(key, allowed values or None for any, negate)``."""
    needed: tuple[frozenset[str], ...] = ()
    """Per condition, the keys it requires to be present (for a quick rejection)."""

    def __post_init__(self) -> None:
        """Derive the keys each condition needs."""
        needed = tuple(frozenset(t[0] for t in cond if not t[2]) for cond in self.conditions)
        object.__setattr__(self, "needed", needed)

    def matches(self, tags: Tags) -> bool:
        """Tell whether any condition holds for ``tags``."""
        for cond, needed in zip(self.conditions, self.needed, strict=True):
            if isinstance(tags, dict) and not needed <= tags.keys():
                continue  # a key it tests for is absent: cheap rejection, most features
            if all(_test(tags, test) for test in cond):
                return True
        return False


def _test(tags: Tags, test: tuple[str, frozenset[str] | None, bool]) -> bool:
    key, values, negate = test
    if negate:
        return key not in tags
    value = tags.get(key)
    return value is not None and (values is None or value in values)


@dataclass(frozen=True, slots=True)
class FacilityTagMapping:
    """The ordered rules mapping OSM tags to living-circle categories (first match wins)."""

    rules: tuple[TagRule, ...]
    source: str
    keys: frozenset[str] = field(default_factory=frozenset)
    _cache: dict[frozenset[tuple[str, str]], str | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def category(self, tags: Tags) -> str | None:
        """Return the category of a feature with ``tags``, or ``None``.

        The answer depends only on the tags the rules mention, so it is memoised on them:
        the thousands of ``highway=residential`` ways cost one look-up each.
        """
        if isinstance(tags, dict):
            present = self.keys & tags.keys()
            if not present:
                return None
            signature = frozenset((key, tags[key]) for key in present)
            if signature not in self._cache:
                self._cache[signature] = self._match(tags)
            return self._cache[signature]
        return self._match(tags)

    def _match(self, tags: Tags) -> str | None:
        for rule in self.rules:
            if rule.matches(tags):
                return rule.category
        return None


def load_facility_tags(path: str | Path | None = None) -> FacilityTagMapping:
    """Load the facility tag mapping (TOML); the packaged default when ``path`` is None.

    Raises
    ------
    InputError
        The file is not valid TOML or a rule is malformed; the message names the rule.
    """
    if path is None:
        text = resources.files("shancheng.data.mappings").joinpath(DEFAULT_FACILITY_TAGS)
        source, raw = str(text), text.read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"{source}: cannot read the facility tag mapping ({exc})"
            raise InputError(msg) from exc
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{source}: not valid TOML ({exc})"
        raise InputError(msg) from exc
    rules = []
    keys: set[str] = set()
    for number, entry in enumerate(data.get("rule", []), start=1):
        category, match = entry.get("category"), entry.get("match")
        if not isinstance(category, str) or not isinstance(match, list) or not match:
            msg = f"{source}: rule {number} needs `category` (text) and `match` (list of text)"
            raise InputError(msg)
        conditions = tuple(_parse_condition(str(c), source, number) for c in match)
        keys.update(test[0] for cond in conditions for test in cond)
        rules.append(TagRule(category, conditions))
    if not rules:
        msg = f"{source}: no [[rule]] entries"
        raise InputError(msg)
    return FacilityTagMapping(tuple(rules), source, frozenset(keys))


def _parse_condition(
    text: str, source: str, number: int
) -> tuple[tuple[str, frozenset[str] | None, bool], ...]:
    tests: list[tuple[str, frozenset[str] | None, bool]] = []
    for part in (p.strip() for p in text.split("&")):
        if part.startswith("!") and "=" not in part:
            tests.append((part[1:].strip(), None, True))
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            msg = f"{source}: rule {number}: test {part!r} must be key=value, key=* or !key"
            raise InputError(msg)
        values = None if value.strip() == "*" else frozenset(value.strip().split("|"))
        tests.append((key.strip(), values, False))
    return tuple(tests)
