"""The sensor registry: what each sensor measures, in which unit and range, and where.

One :class:`Sensor` is a SensorThings Thing with one Datastream: its ``sensor_id`` is the
Datastream id in the MQTT topic (``v1.1/Datastreams(<sensor_id>)/Observations``), its ``unit``
the Datastream's unit of measurement, and ``element_id`` the FeatureOfInterest (a node or link
of the pipe network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

if TYPE_CHECKING:
    from shancheng.cases.sensor_intake import NetworkKind
    from shancheng.data.city import City


@dataclass(frozen=True, slots=True)
class Sensor:
    """One sensor of the registry.

    Attributes
    ----------
    sensor_id
        Registry id, also the SensorThings Datastream id.
    network
        ``water``, ``gas`` or ``drainage``.
    kind
        What it measures: ``pressure`` (kPa), ``flow`` (m3/h), ``level`` (m), ``methane``
        (%LEL).
    unit
        The only unit its readings may carry.
    range_min, range_max
        Physical measuring range; readings outside it are rejected.
    lon, lat
        WGS84 position.
    element_kind, element_id
        The pipe-network element it watches (``node``/``link`` and its id).
    department
        Owning utility's department, when known.
    """

    sensor_id: str
    network: NetworkKind
    kind: str
    unit: str
    range_min: float
    range_max: float
    lon: float
    lat: float
    element_kind: Literal["node", "link"] = "node"
    element_id: str = ""
    department: str | None = None


def sensors_from_city(city: City) -> dict[str, Sensor]:
    """Read the City's ``sensors`` layer as a registry keyed by ``sensor_id``."""
    layer = city.sensors
    registry = {}
    for row, point in zip(layer.itertuples(index=False), layer.geometry, strict=True):
        registry[str(row.sensor_id)] = Sensor(
            sensor_id=str(row.sensor_id),
            network=cast("NetworkKind", str(row.network)),
            kind=str(row.kind),
            unit=str(row.unit),
            range_min=float(row.range_min),
            range_max=float(row.range_max),
            lon=float(point.x),
            lat=float(point.y),
            element_kind="link" if row.element_kind == "link" else "node",
            element_id=str(row.element_id),
        )
    return registry
