"""Which part of the lifelines a staff user sees: their unit's sensors and pipes, their network.

A user of the whole city sees everything; a district, street or community user sees the
sensors and pipes whose unit-grid cell lies in their unit; a department's handler sees only
the networks their department runs (by the sensors' ``department``). Outside that scope a
sensor, an alarm or a pipe does not exist for them (404), as cases outside a unit's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from shancheng.cases.permissions import Role
from shancheng.errors import NotFoundError

if TYPE_CHECKING:
    from shancheng.cases.permissions import Actor
    from shancheng.indicators.citystate import CityState


@dataclass(frozen=True, slots=True)
class LifelineScope:
    """The units (None: the whole city) and networks (None: all) a user sees."""

    units: frozenset[str] | None
    networks: frozenset[str] | None

    @classmethod
    def of(cls, actor: Actor, city: CityState) -> LifelineScope:
        """Return the scope of ``actor`` in ``city``."""
        units = None if actor.unit_code == city.city_code else frozenset({actor.unit_code})
        networks = None
        if actor.role is Role.HANDLER:
            frame = city.city.sensors
            runs = frame.get("department")
            if runs is None:  # a City without departments on its sensors: by network name
                networks = frozenset(
                    n for n in city.pipes if actor.department and n in actor.department
                )
            else:
                mine = frame[runs.astype(str) == str(actor.department)]
                networks = frozenset(mine["network"].astype(str))
        return cls(units, networks)

    @property
    def whole(self) -> bool:
        """Tell whether the scope is the whole city and every network."""
        return self.units is None and self.networks is None

    def sees_network(self, network: str) -> bool:
        """Tell whether the user sees network ``network``."""
        return self.networks is None or network in self.networks

    def sees_units(self, units: tuple[str, str, str] | None) -> bool:
        """Tell whether a thing in (community, street, district) is in the user's units."""
        if self.units is None:
            return True
        return units is not None and not self.units.isdisjoint(units)

    def sensor_ids(self, city: CityState) -> set[str] | None:
        """Return the ids of the sensors in scope (None: all)."""
        if self.whole:
            return None
        located = sensor_units(city)
        frame = city.city.sensors
        return {
            str(sid)
            for sid, network in zip(frame["sensor_id"], frame["network"], strict=True)
            if self.sees_network(str(network)) and self.sees_units(located.get(str(sid)))
        }

    def check_sensor(self, city: CityState, sensor_id: str) -> None:
        """Refuse a sensor out of scope as if it did not exist.

        Raises
        ------
        NotFoundError
            Naming ``sensor_id``.
        """
        allowed = self.sensor_ids(city)
        if allowed is not None and sensor_id not in allowed:
            msg = f"`sensor_id`: no sensor {sensor_id[:64]!r} in the registry"
            raise NotFoundError(msg, field="sensor_id")

    def pipe_mask(
        self, city: CityState, network: str
    ) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
        """Return which pipes (rows of the network's lines) the user sees."""
        lines = city.pipe_model(network).lines
        if not self.sees_network(network):
            return np.zeros(len(lines), dtype=bool)
        if self.units is None:
            return np.ones(len(lines), dtype=bool)
        located = pipe_units(city, network)
        return np.array([self.sees_units(u) for u in located], dtype=bool)


def _units_of_points(
    city: CityState, x: np.ndarray, y: np.ndarray
) -> list[tuple[str, str, str] | None]:
    """Return (community, street, district) of each UTM point's grid cell (None: outside)."""
    frame = city.city.grid_cells
    cells = {
        int(c): (str(a), str(b), str(d))
        for c, a, b, d in zip(
            frame["cell_id"], frame["community_code"], frame["street_code"],
            frame["district_code"], strict=True,
        )
    }  # fmt: skip
    ids = city.city.grid.cell_of(x, y)
    return [cells.get(int(i)) for i in ids]


def sensor_units(city: CityState) -> dict[str, tuple[str, str, str] | None]:
    """Return the units of every sensor of the City (computed once)."""

    def build() -> dict[str, tuple[str, str, str] | None]:
        frame = city.city.sensors
        x = frame["x_utm"].to_numpy(dtype=np.float64)
        y = frame["y_utm"].to_numpy(dtype=np.float64)
        return dict(zip(frame["sensor_id"].astype(str), _units_of_points(city, x, y), strict=True))

    found: dict[str, tuple[str, str, str] | None] = city.cached("sensor_units", build)
    return found


def pipe_units(city: CityState, network: str) -> list[tuple[str, str, str] | None]:
    """Return the units of every pipe of a network, by its midpoint (computed once)."""

    def build() -> list[tuple[str, str, str] | None]:
        lines = city.pipe_model(network).lines
        mid = shapely.line_interpolate_point(lines.geometry.to_numpy(), 0.5, normalized=True)
        return _units_of_points(city, shapely.get_x(mid), shapely.get_y(mid))

    found: list[tuple[str, str, str] | None] = city.cached(f"pipe_units:{network}", build)
    return found
