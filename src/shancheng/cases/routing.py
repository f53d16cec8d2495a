"""Where a report lies and who must handle it.

A point goes to its unit-grid cell (万米单元网格), the cell to its community, street and district
(:class:`AdminIndex`, built from a City's grid and admin layers). A ``(category, unit)`` pair
goes to a department at a level through the jurisdiction table (:func:`route`): the most
specific rule wins, the taxonomy's default applies when no rule matches, and the default owner
(属地兜底, the street office of the place) takes the case when the named department is not
active, so no case is orphaned. Escalation moves a case one level up (street → district →
city); a report whose points span several units goes to the lowest level holding them all.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from shancheng.cases.domain import Level
from shancheng.errors import CaseInputError, OutsideCityError
from shancheng.geo.crs import UTM_48N_EPSG, lonlat_to_utm, utm_to_lonlat

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from shancheng.cases.taxonomy import Category
    from shancheng.data.city import City
    from shancheng.geo.grid import UnitGrid


@dataclass(frozen=True, slots=True)
class Location:
    """A point placed in the hierarchy: cell, community, street, district, city."""

    lon: float
    lat: float
    x_utm: float
    y_utm: float
    cell_id: int
    community_code: str
    street_code: str
    district_code: str
    city_code: str

    def unit_at(self, level: Level) -> str:
        """Code of the unit holding the point at ``level``."""
        return {
            Level.STREET: self.street_code,
            Level.DISTRICT: self.district_code,
            Level.CITY: self.city_code,
        }[level]


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who handles a case: department code, level, and the unit at that level."""

    department: str
    level: Level
    unit_code: str


@dataclass(frozen=True, slots=True)
class JurisdictionRule:
    """One row of the jurisdiction table.

    ``category`` is a full code (``E0502``), a prefix (``E05`` for a major class) or ``*``;
    ``unit`` is a district, street or community code, or ``*`` for everywhere.
    """

    category: str
    unit: str
    department: str
    level: Level


@dataclass(frozen=True, eq=False)
class AdminIndex:
    """Cells → communities → streets → districts of one city, and its named places."""

    grid: UnitGrid
    city_code: str
    cell_units: dict[int, tuple[str, str, str]]
    names: dict[str, tuple[str, str]]
    places: dict[str, tuple[float, float]] = field(default_factory=dict)
    crs_epsg: int = UTM_48N_EPSG
    """The projected CRS of the city's grid (its own UTM zone; Chongqing's is EPSG:32648)."""
    place_ids: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    """Named places by id (unit codes, facility ids): name, lon, lat (Open311 ``address_id``)."""

    @classmethod
    def from_city(cls, city: City) -> AdminIndex:
        """Build the index from a City's ``grid_cells``, ``admin_units`` and ``facilities``."""
        cells = city.grid_cells
        cell_units = {
            int(cell): (str(community), str(street), str(district))
            for cell, community, street, district in zip(
                cells["cell_id"],
                cells["community_code"],
                cells["street_code"],
                cells["district_code"],
                strict=True,
            )
        }
        units = city.admin_units
        city_rows = units[units["level"] == "city"]
        city_code = str(city_rows["code"].iloc[0]) if len(city_rows) else ""
        names = {
            str(code): (str(zh), str(en))
            for code, zh, en in zip(units["code"], units["name"], units["name_en"], strict=True)
        }
        places: dict[str, tuple[float, float]] = {}
        place_ids: dict[str, tuple[str, float, float]] = {}
        epsg = city.network.crs_epsg
        units_utm = units[units["level"] != "city"].to_crs(epsg)
        centres = units_utm.geometry.representative_point()
        lon, lat = utm_to_lonlat(centres.x.to_numpy(), centres.y.to_numpy(), epsg=epsg)
        for i, (code, zh, en) in enumerate(
            zip(units_utm["code"], units_utm["name"], units_utm["name_en"], strict=True)
        ):
            for name in (zh, en):
                places[_normalise(str(name))] = (float(lon[i]), float(lat[i]))
            place_ids[str(code)] = (str(zh), float(lon[i]), float(lat[i]))
        facilities = city.facilities
        f_lon, f_lat = utm_to_lonlat(
            facilities["x_utm"].to_numpy(), facilities["y_utm"].to_numpy(), epsg=epsg
        )
        for i, (fid, name) in enumerate(
            zip(facilities["facility_id"], facilities["name"], strict=True)
        ):
            places.setdefault(_normalise(str(name)), (float(f_lon[i]), float(f_lat[i])))
            place_ids[str(fid)] = (str(name), float(f_lon[i]), float(f_lat[i]))
        return cls(
            city.grid, city_code, cell_units, names, places, crs_epsg=epsg, place_ids=place_ids
        )

    def locate(self, lon: float, lat: float) -> Location:
        """Place a WGS84 point in the hierarchy.

        Raises
        ------
        CaseInputError
            ``lon``/``lat`` are not finite numbers in range (the message names the field).
        OutsideCityError
            The point is in no land cell of the city's unit grid.
        """
        _check_lonlat(lon, lat)
        x, y = lonlat_to_utm([lon], [lat], epsg=self.crs_epsg)
        cell = int(self.grid.cell_of(x, y)[0])
        units = self.cell_units.get(cell)
        if units is None:
            msg = (
                f"point lon={lon}, lat={lat} lies outside the city's unit grid "
                f"({self._bounds_text()}); give a point inside the city"
            )
            raise OutsideCityError(msg)
        community, street, district = units
        return Location(
            lon, lat, float(x[0]), float(y[0]), cell, community, street, district, self.city_code
        )

    def geocode(self, address: str) -> tuple[float, float]:
        """Match an address against the city's named places (units and facilities).

        An exact name match wins; otherwise a single place whose name contains the address
        or is contained in it.

        Raises
        ------
        CaseInputError
            No place, or several places, match.
        """
        key = _normalise(address)
        if not key:
            msg = "`address_string` is empty; give a place name or lat/long"
            raise CaseInputError(msg, field="address_string")
        if key in self.places:
            return self.places[key]
        hits = sorted(name for name in self.places if key in name or name in key)
        if len(hits) == 1:
            return self.places[hits[0]]
        if not hits:
            msg = f"`address_string` {address!r} matches no named place of the city; give lat/long"
        else:
            msg = (
                f"`address_string` {address!r} matches {len(hits)} places "
                f"({', '.join(hits[:3])}...); be more specific or give lat/long"
            )
        raise CaseInputError(msg, field="address_string")

    def place(self, address_id: str) -> tuple[str, float, float]:
        """Return the name, lon and lat of the named place with id ``address_id``.

        Ids are the city's unit codes (community, street, district) and facility ids.

        Raises
        ------
        CaseInputError
            No place has this id.
        """
        found = self.place_ids.get(address_id.strip())
        if found is None:
            sample = ", ".join(sorted(self.place_ids)[:3])
            msg = (
                f"`address_id` {address_id[:40]!r} is not the id of a named place of the city "
                f"({len(self.place_ids):,} known: unit codes and facility ids, e.g. {sample})"
            )
            raise CaseInputError(msg, field="address_id")
        return found

    def _bounds_text(self) -> str:
        g = self.grid
        lon, lat = utm_to_lonlat(
            [g.origin_x_utm, g.origin_x_utm + g.n_cols * g.cell_size_m],
            [g.origin_y_utm, g.origin_y_utm + g.n_rows * g.cell_size_m],
            epsg=self.crs_epsg,
        )
        return f"lon {lon[0]:.4f}..{lon[1]:.4f}, lat {lat[0]:.4f}..{lat[1]:.4f}"


def _normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _check_lonlat(lon: float, lat: float) -> None:
    for name, value, limit in (("long", lon, 180.0), ("lat", lat, 90.0)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"`{name}` must be a number in degrees (WGS84), got {value!r}"
            raise CaseInputError(msg, field=name)
        if not math.isfinite(value) or abs(value) > limit:
            msg = f"`{name}` must be a finite number in [-{limit:g}, {limit:g}], got {value!r}"
            raise CaseInputError(msg, field=name)


def route(
    category: Category,
    location: Location,
    rules: Sequence[JurisdictionRule] = (),
    *,
    default_department: str,
    active_departments: Iterable[str] | None = None,
) -> Assignment:
    """Return the department, level and unit that must handle ``category`` at ``location``.

    Parameters
    ----------
    category
        The case's category (its default department and level apply without a rule).
    location
        Where the case is.
    rules
        The jurisdiction table. A rule matches when its category is ``*``, the code, or a
        prefix of it, and its unit is ``*`` or one of the location's units. The most specific
        category wins, then the most specific unit; among equals, the first listed.
    default_department
        The default owner (属地兜底), used at street level when the chosen department is not
        among ``active_departments``.
    active_departments
        Departments that exist in this city; ``None`` for all.

    Examples
    --------
    >>> from shancheng.cases.taxonomy import load_taxonomy
    >>> loc = Location(106.5, 29.5, 0.0, 0.0, 7, "990101001001", "990101001", "990101", "990100")
    >>> garbage = load_taxonomy().category("E0102")
    >>> route(garbage, loc, default_department="street_office")
    Assignment(department='sanitation', level=<Level.STREET: 'street'>, unit_code='990101001')
    """
    chain = {location.community_code: 3, location.street_code: 2, location.district_code: 1}
    best: tuple[int, int] | None = None
    department, level = category.department, category.level
    for rule in rules:
        if rule.category == "*":
            cat_score = 0
        elif category.code.startswith(rule.category):
            cat_score = len(rule.category)
        else:
            continue
        unit_score = 0 if rule.unit == "*" else chain.get(rule.unit, -1)
        if unit_score < 0:
            continue
        if best is None or (cat_score, unit_score) > best:
            best = (cat_score, unit_score)
            department, level = rule.department, rule.level
    if active_departments is not None and department not in set(active_departments):
        department, level = default_department, Level.STREET
    return Assignment(department, level, location.unit_at(level))


def escalate(assignment: Assignment, location: Location) -> Assignment:
    """Return the same department one level up (street → district → city).

    Raises
    ------
    ValueError
        Already at city level (the workflow refuses this before it gets here).
    """
    up = assignment.level.up
    if up is None:
        msg = "cannot escalate above city level"
        raise ValueError(msg)
    return Assignment(assignment.department, up, location.unit_at(up))


def common_level(locations: Sequence[Location]) -> Level:
    """Return the lowest level whose one unit holds every location (cross-boundary).

    Examples
    --------
    >>> a = Location(0, 0, 0, 0, 1, "990101001001", "990101001", "990101", "990100")
    >>> b = Location(0, 0, 0, 0, 2, "990101002001", "990101002", "990101", "990100")
    >>> common_level([a, b])
    <Level.DISTRICT: 'district'>
    """
    if not locations:
        msg = "common_level needs at least one location"
        raise ValueError(msg)
    for level in Level:
        if len({loc.unit_at(level) for loc in locations}) == 1:
            return level
    return Level.CITY


def distance_m(a_x_utm: float, a_y_utm: float, b_x_utm: float, b_y_utm: float) -> float:
    """Straight-line distance between two projected points, in metres."""
    return float(np.hypot(a_x_utm - b_x_utm, a_y_utm - b_y_utm))
