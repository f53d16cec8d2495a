"""The living-circle catalogue: categories, levels, walking-time thresholds and capacities.

GB 50180-2018 and TD/T 1062-2021 define 5-, 10- and 15-minute living circles, each requiring
facilities of certain categories within a walk. Which categories, which thresholds and which
capacity norms apply is data, not code: the default catalogue ships as ``standard.toml`` beside
this module, and a planner can pass an edited copy. Every file is checked on load, and each
error names the file, the entry (requirement number and category, or category id) and the
field at fault, with the value found.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shancheng.errors import CatalogueError

if TYPE_CHECKING:
    from collections.abc import Mapping

Status = Literal["verified", "secondary", "unverified"]
Decay = Literal["gaussian", "none"]
DEFAULT_CATALOGUE = "standard.toml"
_FORMAT_VERSION = 1


class _AgeGroupModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str
    columns: tuple[str, ...] = Field(min_length=1)


class _CategoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name_zh: str = ""
    name_en: str = ""
    serves: str = "all"
    capacity_unit: str | None = None
    capacity_per_1000: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    capacity_demand: str = "all"
    capacity_status: Status = "unverified"
    capacity_source: str = ""


class _RequirementModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    category: str
    level_min: int = Field(gt=0)
    threshold_min: float = Field(gt=0, allow_inf_nan=False)
    distance_m: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    required: bool = True
    status: Status = "unverified"
    source: str = ""


class _CapacityModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    decay: Decay = "gaussian"


class _CatalogueModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    format_version: int
    name: str = ""
    capacity: _CapacityModel = _CapacityModel()
    age_groups: dict[str, _AgeGroupModel] = Field(min_length=1)
    categories: dict[str, _CategoryModel] = Field(min_length=1)
    requirements: list[_RequirementModel] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class AgeGroup:
    """A group of residents, as the sum of some population columns.

    Attributes
    ----------
    id
        Identifier used by categories (``serves``, ``capacity_demand``), e.g. ``"elderly"``.
    label
        Human-readable label.
    columns
        Residence columns summed to give the group's head count, e.g. ``("age_60_plus",)``.
    """

    id: str
    label: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Category:
    """A facility category and its optional capacity norm.

    Attributes
    ----------
    id
        The value facilities carry in their ``category`` column.
    name_zh, name_en
        Names for reports.
    serves
        Age group the category is for.
    capacity_unit
        Unit of the facilities' ``capacity`` (places, beds...), or ``None``.
    capacity_per_1000
        Norm: capacity per 1,000 people of ``capacity_demand``; ``None`` when there is none.
    capacity_demand
        Age group the norm counts per 1,000 (and the demand of the 2SFCA).
    capacity_status, capacity_source
        How sure the norm is, and where it comes from.
    """

    id: str
    name_zh: str
    name_en: str
    serves: str
    capacity_unit: str | None
    capacity_per_1000: float | None
    capacity_demand: str
    capacity_status: Status
    capacity_source: str


@dataclass(frozen=True, slots=True)
class Requirement:
    """One category required (or recommended) at one circle level.

    Attributes
    ----------
    category
        Category id.
    level_min
        The circle: 5, 10 or 15 (minutes).
    threshold_min
        Walking time within which a facility counts, minutes.
    distance_m
        The standard's service radius, for reference (not used in the computation).
    required
        Whether the circle is complete only with this category (● in GB 50180 appendix B).
    status, source
        How sure the threshold is, and the clause it comes from.
    """

    category: str
    level_min: int
    threshold_min: float
    distance_m: float | None
    required: bool
    status: Status
    source: str

    @property
    def key(self) -> str:
        """Column-safe name, e.g. ``kindergarten_5min``."""
        return f"{self.category}_{self.level_min}min"

    @property
    def threshold_s(self) -> float:
        """The threshold in seconds."""
        return self.threshold_min * 60.0


@dataclass(frozen=True, slots=True)
class Catalogue:
    """A validated catalogue; build it with :func:`load_catalogue` or :func:`parse_catalogue`.

    Attributes
    ----------
    name
        Title of the catalogue.
    decay
        Distance decay of the capacity-aware access (2SFCA): ``"gaussian"`` or ``"none"``.
    age_groups, categories
        By id, in file order.
    requirements
        In file order.
    source
        The file it was read from (for messages).
    """

    name: str
    decay: Decay
    age_groups: dict[str, AgeGroup]
    categories: dict[str, Category]
    requirements: tuple[Requirement, ...]
    source: str

    @property
    def levels(self) -> tuple[int, ...]:
        """The circle levels, ascending (e.g. ``(5, 10, 15)``)."""
        return tuple(sorted({r.level_min for r in self.requirements}))

    @property
    def category_ids(self) -> tuple[str, ...]:
        """Categories that at least one requirement uses, in catalogue order."""
        used = {r.category for r in self.requirements}
        return tuple(c for c in self.categories if c in used)

    def requirements_at(self, level_min: int) -> tuple[Requirement, ...]:
        """Return the requirements of one level, in file order."""
        return tuple(r for r in self.requirements if r.level_min == level_min)

    def catchment_s(self, category: str) -> float:
        """Return a category's capacity catchment: its smallest threshold, in seconds."""
        return min(r.threshold_s for r in self.requirements if r.category == category)

    @property
    def population_columns(self) -> tuple[str, ...]:
        """Every residence column the age groups read, without repeats."""
        return tuple(dict.fromkeys(c for g in self.age_groups.values() for c in g.columns))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and check a catalogue TOML file; ``None`` reads the packaged default.

    Parameters
    ----------
    path
        A TOML file laid out like the packaged ``standard.toml``.

    Returns
    -------
    Catalogue

    Raises
    ------
    CatalogueError
        The file is missing, is not TOML, or an entry is invalid (unknown category or age
        group, negative or zero threshold, duplicate requirement, unknown field...); the
        message names the file, the entry and the field.

    Examples
    --------
    >>> catalogue = load_catalogue()
    >>> catalogue.levels
    (5, 10, 15)
    >>> catalogue.categories["nursery"].capacity_per_1000
    4.5
    """
    if path is None:
        text = resources.files("shancheng.circles").joinpath(DEFAULT_CATALOGUE).read_text("utf-8")
        source = f"shancheng/circles/{DEFAULT_CATALOGUE}"
    else:
        file = Path(path)
        source = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"{source}: cannot read the catalogue ({exc})"
            raise CatalogueError(msg) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{source}: not valid TOML ({exc})"
        raise CatalogueError(msg) from exc
    return parse_catalogue(data, source=source)


def parse_catalogue(data: Mapping[str, Any], *, source: str = "catalogue") -> Catalogue:
    """Check a catalogue given as a mapping (the parsed TOML) and build it.

    Examples
    --------
    >>> parse_catalogue({"format_version": 1, "age_groups": {"all": {"label": "all",
    ...     "columns": ["population"]}}, "categories": {"park": {}},
    ...     "requirements": [{"category": "parc", "level_min": 5, "threshold_min": 5}]})
    Traceback (most recent call last):
    ...
    shancheng.errors.CatalogueError: catalogue: requirement 1 (category 'parc', 5-min level): \
field `category`: unknown category 'parc'; categories are: park
    """
    try:
        model = _CatalogueModel.model_validate(dict(data))
    except ValidationError as exc:
        raise CatalogueError(_describe(exc, data, source)) from exc
    if model.format_version != _FORMAT_VERSION:
        msg = f"{source}: field `format_version` must be {_FORMAT_VERSION}, got "
        msg += repr(model.format_version)
        raise CatalogueError(msg)
    if "all" not in model.age_groups:
        msg = f"{source}: age_groups: an age group `all` (every resident) is required"
        raise CatalogueError(msg)
    groups = {
        key: AgeGroup(id=key, label=g.label, columns=g.columns)
        for key, g in model.age_groups.items()
    }
    categories: dict[str, Category] = {}
    for key, c in model.categories.items():
        for field, group in (("serves", c.serves), ("capacity_demand", c.capacity_demand)):
            if group not in groups:
                msg = (
                    f"{source}: category {key!r}: field `{field}`: unknown age group {group!r}; "
                    f"age groups are: {', '.join(groups)}"
                )
                raise CatalogueError(msg)
        categories[key] = Category(id=key, **c.model_dump())
    requirements = _check_requirements(model.requirements, categories, source)
    return Catalogue(
        name=model.name or source,
        decay=model.capacity.decay,
        age_groups=groups,
        categories=categories,
        requirements=requirements,
        source=source,
    )


def _check_requirements(
    models: list[_RequirementModel], categories: dict[str, Category], source: str
) -> tuple[Requirement, ...]:
    seen: set[tuple[str, int]] = set()
    requirements = []
    for i, r in enumerate(models, start=1):
        where = f"{source}: requirement {i} (category {r.category!r}, {r.level_min}-min level)"
        if r.category not in categories:
            msg = (
                f"{where}: field `category`: unknown category {r.category!r}; "
                f"categories are: {', '.join(categories)}"
            )
            raise CatalogueError(msg)
        if (r.category, r.level_min) in seen:
            msg = f"{where}: the same category appears twice at this level"
            raise CatalogueError(msg)
        seen.add((r.category, r.level_min))
        requirements.append(Requirement(**r.model_dump()))
    return tuple(requirements)


def _describe(exc: ValidationError, data: Mapping[str, Any], source: str) -> str:
    """One line per problem, naming the entry (requirement n, category id) and the field."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = source
        if len(loc) >= 2 and loc[0] == "requirements" and isinstance(loc[1], int):  # noqa: PLR2004
            entry = _entry(data.get("requirements"), loc[1])
            where += f": requirement {loc[1] + 1}"
            if isinstance(entry, dict):
                where += (
                    f" (category {entry.get('category')!r}, {entry.get('level_min')}-min level)"
                )
            loc = loc[2:]
        elif len(loc) >= 2 and loc[0] in ("categories", "age_groups"):  # noqa: PLR2004
            kind = "category" if loc[0] == "categories" else "age group"
            where += f": {kind} {loc[1]!r}"
            loc = loc[2:]
        field = ".".join(str(part) for part in loc) or "(entry)"
        got = f", got {error['input']!r}" if error["type"] != "missing" else ""
        lines.append(f"{where}: field `{field}`: {error['msg']}{got}")
    return "\n".join(lines)


def _entry(items: object, index: int) -> object:
    if isinstance(items, list) and 0 <= index < len(items):
        return items[index]
    return None
