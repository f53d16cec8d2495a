"""How fast people walk on each kind of edge, uphill and downhill.

Walking time is the heart of a living circle on a mountain: the same 300 m of street is a
five-minute stroll downhill and a much longer climb back up. Walking edges use Tobler's
hiking function rescaled so flat ground gives the configured speed; stairs are timed by their
vertical rate; lifts, escalators, ferries and cable cars take fixed times (wait plus ride).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shancheng.errors import ConfigError

if TYPE_CHECKING:
    from shancheng.types import FloatArray

TOBLER_DECAY = 3.5
"""Exponent of Tobler's hiking function, v = 6 exp(-3.5 |s + 0.05|) km/h."""
TOBLER_FASTEST_SLOPE = -0.05
"""Signed grade at which Tobler's walker is fastest (a gentle descent)."""


class EdgeKind(IntEnum):
    """Kind of a walk-network edge; stored as ``uint8`` in the network arrays."""

    STREET = 0
    FOOTWAY = 1
    PATH = 2
    STEPS = 3
    CROSSING = 4
    BRIDGE = 5
    TUNNEL = 6
    ELEVATOR = 7
    ESCALATOR = 8
    FERRY = 9
    CABLE_CAR = 10


ROAD_CLASS_OF_KIND: dict[EdgeKind, str] = {
    EdgeKind.STREET: "residential", EdgeKind.FOOTWAY: "footway", EdgeKind.CROSSING: "footway",
    EdgeKind.PATH: "path", EdgeKind.STEPS: "steps", EdgeKind.BRIDGE: "primary",
    EdgeKind.TUNNEL: "primary", EdgeKind.ELEVATOR: "lift", EdgeKind.ESCALATOR: "lift",
    EdgeKind.FERRY: "ferry", EdgeKind.CABLE_CAR: "cable_car",
}  # fmt: skip
"""The base map's road class of each kind, where nothing better is known (a street of unknown
rank draws as residential, a bridge as a main road)."""

FIXED_TIME_KINDS = (EdgeKind.ELEVATOR, EdgeKind.ESCALATOR, EdgeKind.FERRY, EdgeKind.CABLE_CAR)
"""Kinds whose time does not depend on length or slope."""


@dataclass(frozen=True, slots=True)
class WalkSpeeds:
    """Walking-speed parameters of one population profile (adults by default).

    Parameters
    ----------
    flat_speed_km_h
        Speed on flat ground; Tobler's function is scaled so a grade of 0 gives exactly this.
    stairs_up_m_s, stairs_down_m_s
        Vertical rate on stairs going up and going down, in metres of height per second.
    stairs_horizontal_factor
        Horizontal speed on stairs as a share of the flat speed; a flight of steps is never
        faster than its horizontal run at this speed.
    elevator_time_s, escalator_time_s, ferry_time_s, cable_car_time_s
        Fixed times (waiting plus riding) used when an edge carries no time of its own.
    """

    flat_speed_km_h: float = 5.0
    stairs_up_m_s: float = 0.2
    stairs_down_m_s: float = 0.3
    stairs_horizontal_factor: float = 0.5
    elevator_time_s: float = 60.0
    escalator_time_s: float = 45.0
    ferry_time_s: float = 600.0
    cable_car_time_s: float = 300.0

    def __post_init__(self) -> None:
        """Refuse speeds and times that would make walking times meaningless."""
        for name in (
            "flat_speed_km_h",
            "stairs_up_m_s",
            "stairs_down_m_s",
            "stairs_horizontal_factor",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                msg = f"WalkSpeeds.{name} must be a finite number > 0, got {value!r}"
                raise ConfigError(msg)
        for name in ("elevator_time_s", "escalator_time_s", "ferry_time_s", "cable_car_time_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                msg = f"WalkSpeeds.{name} must be a finite number >= 0, got {value!r}"
                raise ConfigError(msg)

    @property
    def flat_speed_m_s(self) -> float:
        """Flat-ground speed in metres per second."""
        return self.flat_speed_km_h / 3.6

    def fixed_time_s(self, kind: EdgeKind) -> float:
        """Return the default fixed time of a lift, escalator, ferry or cable-car edge."""
        times = {
            EdgeKind.ELEVATOR: self.elevator_time_s,
            EdgeKind.ESCALATOR: self.escalator_time_s,
            EdgeKind.FERRY: self.ferry_time_s,
            EdgeKind.CABLE_CAR: self.cable_car_time_s,
        }
        return times[kind]


def tobler_speed_m_s(slope: FloatArray, *, flat_speed_m_s: float) -> FloatArray:
    """Return the walking speed on a signed grade (Tobler's function scaled to a flat speed).

    Parameters
    ----------
    slope
        Signed grade, rise over horizontal run (uphill > 0), dimensionless.
    flat_speed_m_s
        Speed returned for a grade of exactly 0.

    Returns
    -------
    numpy.ndarray
        Speed in metres per second, same shape as ``slope``.

    Examples
    --------
    >>> import numpy as np
    >>> v = tobler_speed_m_s(np.array([0.0, 0.1, -0.1]), flat_speed_m_s=1.0)
    >>> float(v[0])
    1.0
    >>> bool(v[1] < v[2])  # uphill is slower than downhill on the same grade
    True
    """
    shifted = np.abs(np.asarray(slope, dtype=np.float64) - TOBLER_FASTEST_SLOPE)
    return flat_speed_m_s * np.exp(-TOBLER_DECAY * (shifted + TOBLER_FASTEST_SLOPE))


def edge_times_s(
    length_m: FloatArray,
    rise_m: FloatArray,
    kind: npt.NDArray[np.uint8],
    *,
    speeds: WalkSpeeds,
    fixed_time_s: FloatArray | None = None,
) -> FloatArray:
    """Time to walk each directed edge, in seconds.

    Parameters
    ----------
    length_m
        Horizontal length of each edge in metres (>= 0).
    rise_m
        Height gained walking the edge in its direction, in metres (negative = descent).
    kind
        :class:`EdgeKind` codes.
    speeds
        The walking profile.
    fixed_time_s
        Optional per-edge time that overrides the computed one where it is finite (a lift's
        measured ride, a ferry's timetable); NaN means "compute".

    Returns
    -------
    numpy.ndarray
        Seconds per edge; zero-length walking edges take zero seconds.

    Examples
    --------
    >>> import numpy as np
    >>> speeds = WalkSpeeds(flat_speed_km_h=3.6)  # 1 m/s
    >>> t = edge_times_s(np.array([100.0, 10.0]), np.array([0.0, 5.0]),
    ...                  np.array([EdgeKind.STREET, EdgeKind.STEPS], dtype=np.uint8),
    ...                  speeds=speeds)
    >>> [round(float(x), 6) for x in t]  # flat street at 1 m/s; 5 m of stairs up at 0.2 m/s
    [100.0, 25.0]
    """
    length = np.asarray(length_m, dtype=np.float64)
    rise = np.asarray(rise_m, dtype=np.float64)
    kinds = np.asarray(kind, dtype=np.uint8)
    flat = speeds.flat_speed_m_s
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(length > 0, rise / np.where(length > 0, length, 1.0), 0.0)
    times = length / tobler_speed_m_s(slope, flat_speed_m_s=flat)

    steps = kinds == EdgeKind.STEPS
    if steps.any():
        vertical_rate = np.where(rise[steps] >= 0, speeds.stairs_up_m_s, speeds.stairs_down_m_s)
        horizontal = length[steps] / (flat * speeds.stairs_horizontal_factor)
        times[steps] = np.maximum(horizontal, np.abs(rise[steps]) / vertical_rate)

    for fixed_kind in FIXED_TIME_KINDS:
        times[kinds == fixed_kind] = speeds.fixed_time_s(fixed_kind)
    if fixed_time_s is not None:
        override = np.asarray(fixed_time_s, dtype=np.float64)
        given = np.isfinite(override)
        times[given] = override[given]
    return times
