"""The demo city's configuration: a seed and a few sizes, checked loudly before any work.

Every field has an allowed range; a value outside it raises :class:`~shancheng.errors.ConfigError`
naming the field, the value found and the range, so a bad config never yields a wrong city.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from shancheng.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

_RANGES: dict[str, tuple[float, float]] = {
    "seed": (0, 2**63 - 1),
    "center_lon": (102.0, 108.0),
    "center_lat": (0.0, 84.0),
    "width_m": (2_000.0, 30_000.0),
    "height_m": (2_000.0, 30_000.0),
    "street_spacing_m": (40.0, 250.0),
    "cell_size_m": (50.0, 500.0),
    "n_districts": (4, 9),
    "streets_per_district": (1, 12),
    "communities_per_street": (1, 20),
    "target_population": (1_000, 5_000_000),
    "stairs_grade": (0.05, 0.5),
}
"""Allowed closed interval of every numeric field."""

MIN_CELLS_PER_COMMUNITY = 10
"""Fewest unit-grid cells (on average) a community may have."""

_INTEGER_FIELDS = frozenset(
    {
        "seed",
        "n_districts",
        "streets_per_district",
        "communities_per_street",
        "target_population",
    }
)


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """Parameters of the generated demo city; equal configs give identical files.

    Parameters
    ----------
    name
        Name written in the manifest.
    seed
        Seed of the only random generator used (``numpy.random.default_rng``).
    center_lon, center_lat
        Centre of the city in degrees; it must lie in UTM zone 48N (102°E to 108°E).
    width_m, height_m
        East-west and north-south extent in metres.
    street_spacing_m
        Mean distance between neighbouring street intersections.
    cell_size_m
        Side of a unit-grid cell (100 m gives the customary 10,000 m² cell).
    n_districts, streets_per_district, communities_per_street
        Administrative subdivision; at least 4 districts.
    target_population
        Exact number of residents spread over the residential buildings.
    stairs_grade
        Grade (rise over run) above which a street segment becomes a flight of steps.
    """

    name: str = "Shancheng demo city"
    seed: int = 20_240_601
    center_lon: float = 106.55
    center_lat: float = 29.56
    width_m: float = 12_000.0
    height_m: float = 10_000.0
    street_spacing_m: float = 80.0
    cell_size_m: float = 100.0
    n_districts: int = 5
    streets_per_district: int = 3
    communities_per_street: int = 4
    target_population: int = 360_000
    stairs_grade: float = 0.14

    def __post_init__(self) -> None:
        """Check every field against its range and the fields against each other."""
        for name, (low, high) in _RANGES.items():
            _check_range(name, getattr(self, name), low, high, integer=name in _INTEGER_FIELDS)
        shorter_m = min(self.width_m, self.height_m)
        if self.street_spacing_m > shorter_m / 10:
            msg = (
                f"DemoConfig.street_spacing_m must be at most a tenth of the shorter side "
                f"({shorter_m / 10:g} m), got {self.street_spacing_m!r}"
            )
            raise ConfigError(msg)
        if self.cell_size_m > shorter_m / 10:
            msg = (
                f"DemoConfig.cell_size_m must be at most a tenth of the shorter side "
                f"({shorter_m / 10:g} m), got {self.cell_size_m!r}"
            )
            raise ConfigError(msg)
        cells = self.width_m * self.height_m / self.cell_size_m**2
        if self.n_communities > cells / MIN_CELLS_PER_COMMUNITY:
            msg = (
                f"DemoConfig.communities_per_street gives {self.n_communities} communities, more "
                f"than the {int(cells / MIN_CELLS_PER_COMMUNITY)} that a {self.width_m:g} m by "
                f"{self.height_m:g} m city can hold at {MIN_CELLS_PER_COMMUNITY} cells each; "
                f"got {self.communities_per_street!r}"
            )
            raise ConfigError(msg)
        if not self.name.strip():
            msg = "DemoConfig.name must be a non-empty string, got ''"
            raise ConfigError(msg)

    @classmethod
    def small(cls, *, seed: int = 20_240_601) -> DemoConfig:
        """Return a 3 km by 3 km city for fast tests (4 districts, 16 communities)."""
        return cls(
            name="Shancheng demo city (small)",
            seed=seed,
            width_m=3_000.0,
            height_m=3_000.0,
            n_districts=4,
            streets_per_district=2,
            communities_per_street=2,
            target_population=24_000,
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DemoConfig:
        """Build a config from a mapping (a parsed TOML/JSON file), refusing unknown keys."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            msg = (
                f"DemoConfig has no field {unknown[0]!r}; known fields: {', '.join(sorted(known))}"
            )
            raise ConfigError(msg)
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (for the manifest)."""
        return asdict(self)

    @property
    def n_streets(self) -> int:
        """Total number of streets."""
        return self.n_districts * self.streets_per_district

    @property
    def n_communities(self) -> int:
        """Total number of communities."""
        return self.n_streets * self.communities_per_street


def _check_range(name: str, value: object, low: float, high: float, *, integer: bool) -> None:
    """Raise ConfigError unless ``value`` is a finite number in ``[low, high]``."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        msg = f"DemoConfig.{name} must be {kind} in [{low:g}, {high:g}], got {value!r}"
        raise ConfigError(msg)
    number = float(value)  # type: ignore[arg-type]
    if not (math.isfinite(number) and low <= number <= high):
        msg = f"DemoConfig.{name} must be {kind} in [{low:g}, {high:g}], got {value!r}"
        raise ConfigError(msg)
