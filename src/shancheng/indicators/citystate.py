"""The City and its analyses, computed once per process: what indicators and the dashboard read.

:func:`build_city_state` evaluates the living circles, prepares the nearest-facility lookup,
the pipe networks with their valve segments, and the per-unit tables and display GeoJSON, so
that every request afterwards is a lookup or one bounded search. :class:`CityHolder` builds it
on first use (or in a warm-up thread at start-up) exactly once, under a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from shancheng.circles.evaluate import evaluate_city
from shancheng.circles.point_access import PointAccess
from shancheng.circles.standard import load_catalogue
from shancheng.circles.transit_figures import unit_line_km
from shancheng.data.transit import city_feed
from shancheng.errors import InputError, NotFoundError, QueryError
from shancheng.geo.crs import lonlat_to_utm, utm_to_lonlat
from shancheng.lifelines.monitoring import compute_coverage
from shancheng.lifelines.segments import attach_facilities, segment_network
from shancheng.lifelines.sensors import sensors_from_city
from shancheng.lifelines.service import city_network
from shancheng.mobility.bottlenecks import prepare_bottlenecks

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from shapely.geometry.base import BaseGeometry

    from shancheng.circles.evaluate import Evaluation
    from shancheng.circles.standard import Catalogue
    from shancheng.data.city import City
    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.lifelines.segments import Segmentation
    from shancheng.lifelines.sensors import Sensor
    from shancheng.mobility.bottlenecks import BottleneckBase

logger = logging.getLogger(__name__)

UnitLevel = Literal["city", "district", "street", "community"]
UNIT_LEVELS: tuple[UnitLevel, ...] = ("city", "district", "street", "community")
NETWORKS = ("water", "gas")
CHILDCARE_CATEGORY = "nursery"
"""The catalogue category whose places per 1,000 residents the plan targets (托位)."""
CIRCLE_MEASURE = "complete_15min"
"""The measure behind ``circle_coverage_share``: every required category of the 15-min level."""


@dataclass(frozen=True, eq=False)
class PipeModel:
    """One pipe network ready for isolation queries."""

    network: PipeNetwork
    segmentation: Segmentation
    facilities: pd.DataFrame
    lines: gpd.GeoDataFrame
    """Pipes (not valves) as UTM lines: ``link_id, kind, diameter_mm, material, length_m``."""
    tree: shapely.STRtree


@dataclass(eq=False)
class CityState:
    """The City and everything computed from it for the dashboard.

    Attributes
    ----------
    city, catalogue, evaluation
        The City, the living-circle catalogue and its evaluation.
    city_code
        Code of the city unit.
    units
        One row per admin unit: ``code, name, name_en, level, parent, residents, area_km2,
        circle_coverage_share, childcare_places_per_1000, pipe_monitoring_share``.
    point_access
        Nearest facility of each category from any point.
    pipes
        ``water`` and ``gas`` networks.
    sensors
        The City's sensor registry.
    bottlenecks
        School zones and through movement (what reports do not change), or the reason the
        City has none (no schools, no road classes).
    """

    city: City
    catalogue: Catalogue
    evaluation: Evaluation
    city_code: str
    units: pd.DataFrame
    point_access: PointAccess
    pipes: dict[str, PipeModel]
    sensors: dict[str, Sensor]
    boundary: BaseGeometry
    bottlenecks: BottleneckBase | InputError
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[str, Any] = field(default_factory=dict)

    def to_utm(self, lon: float, lat: float) -> tuple[float, float]:
        """Return the UTM metres of a WGS84 point inside the city.

        Raises
        ------
        QueryError
            The point lies outside the city's boundary (names ``lon``/``lat``).
        """
        if not (np.isfinite(lon) and np.isfinite(lat)) or not self.boundary.covers(
            shapely.Point(lon, lat)
        ):
            minx, miny, maxx, maxy = self.boundary.bounds
            msg = (
                f"`lon`, `lat`: the point ({lon}, {lat}) lies outside the city "
                f"{self.city.name!r} (lon {minx:.4f}..{maxx:.4f}, lat {miny:.4f}..{maxy:.4f})"
            )
            raise QueryError(msg, field="lon")
        x, y = lonlat_to_utm([lon], [lat], epsg=self.city.network.crs_epsg)
        return float(x[0]), float(y[0])

    def pipe_model(self, network: str) -> PipeModel:
        """Return one network; unknown names are a 404 naming the field."""
        model = self.pipes.get(network)
        if model is None:
            msg = f"`network`: no pipe network {network!r}; networks are {', '.join(self.pipes)}"
            raise NotFoundError(msg, field="network")
        return model

    def cached(self, key: str, build: Callable[[], Any]) -> Any:  # noqa: ANN401 - any value
        """Return ``build()``, computed once per key (display layers, what-if states)."""
        with self.lock:
            if key not in self.cache:
                self.cache[key] = build()
            return self.cache[key]


def build_city_state(
    city: City, catalogue: Catalogue | None = None, *, gtfs: Path | None = None
) -> CityState:
    """Evaluate the City once and prepare the dashboard's lookups (a few seconds on the demo).

    With ``gtfs`` (the City's feed, :func:`shancheng.data.transit.city_feed`), the living
    circles include walk + transit and the units carry the metro measures.
    """
    started = time.perf_counter()
    catalogue = catalogue or load_catalogue()
    evaluation = evaluate_city(city, catalogue, gtfs=gtfs)
    city_rows = city.admin_units[city.admin_units["level"] == "city"]
    city_code = str(city_rows["code"].iloc[0]) if len(city_rows) else "city"
    sensors = sensors_from_city(city)
    pipes = {name: _pipe_model(city, name) for name in NETWORKS if len(city.layer(f"{name}_links"))}
    bottlenecks = _bottleneck_base(city)
    units = _unit_table(city, evaluation, pipes, sensors, bottlenecks)
    access = PointAccess.build(city.network, city.facilities, catalogue)
    boundary = shapely.union_all(np.asarray(city_rows.geometry.to_numpy(), dtype=object))
    if boundary.is_empty:
        boundary = shapely.union_all(np.asarray(city.admin_units.geometry.to_numpy(), dtype=object))
    logger.info("dashboard state of %s built in %.1f s", city.name, time.perf_counter() - started)
    return CityState(
        city,
        catalogue,
        evaluation,
        city_code,
        units,
        access,
        pipes,
        sensors,
        boundary,
        bottlenecks,
    )


def _bottleneck_base(city: City) -> BottleneckBase | InputError:
    """School zones and through movement, or why the City has none (kept to be raised later)."""
    try:
        return prepare_bottlenecks(city)
    except InputError as exc:  # no schools, no road classes: the measures have no data
        logger.info("%s: no bottleneck analysis (%s)", city.name, exc)
        return exc


def _pipe_model(city: City, name: str) -> PipeModel:
    net = city_network(city, "water" if name == "water" else "gas")
    seg = segment_network(net)
    facilities = attach_facilities(net, city.facilities)
    links = net.links
    keep = links["kind"].to_numpy() != "valve"
    xy = net.nodes[["x", "y"]].to_numpy(dtype=np.float64)
    coords = np.stack([xy[net.tail[keep]], xy[net.head[keep]]], axis=1)
    lines = gpd.GeoDataFrame(
        {
            "link_id": links.loc[keep, "link_id"].astype(str).to_numpy(),
            "kind": links.loc[keep, "kind"].astype(str).to_numpy(),
            "diameter_mm": links.loc[keep, "diameter_mm"].to_numpy(dtype=np.float64),
            "material": links.loc[keep, "material"].astype(str).to_numpy(),
            "length_m": links.loc[keep, "length_m"].to_numpy(dtype=np.float64),
        },
        geometry=shapely.linestrings(coords),
        crs=f"EPSG:{city.network.crs_epsg}",
    )
    return PipeModel(net, seg, facilities, lines, shapely.STRtree(lines.geometry.to_numpy()))


def _unit_table(
    city: City,
    evaluation: Evaluation,
    pipes: dict[str, PipeModel],
    sensors: dict[str, Sensor],
    bottlenecks: BottleneckBase | InputError,
) -> pd.DataFrame:
    units = evaluation.units
    area_km2 = units.to_crs(city.network.crs_epsg).geometry.area.to_numpy() / 1e6
    table = pd.DataFrame(
        {
            "code": units["code"].astype(str).to_numpy(),
            "name": units["name"].astype(str).to_numpy(),
            "name_en": units["name_en"].fillna("").astype(str).to_numpy(),
            "level": units["level"].astype(str).to_numpy(),
            "parent": units["parent_code"].fillna("").astype(str).to_numpy(),
            "residents": units["population"].fillna(0.0).to_numpy(dtype=np.float64),
            "area_km2": np.round(area_km2, 4),
            "circle_coverage_share": units[f"{CIRCLE_MEASURE}_share"].to_numpy(np.float64),
            "childcare_places_per_1000": _column(units, f"{CHILDCARE_CATEGORY}_supply_per_1000"),
        }
    )
    table["pipe_monitoring_share"] = _monitoring_shares(city, table, pipes, sensors)
    table["school_unprotected_crossings"] = _school_crossings(city, units, bottlenecks)
    table["metro_network_km"] = np.nan
    table["station_walk_15min_share"] = np.nan
    transit = evaluation.transit
    if transit is not None:
        km = unit_line_km(transit.lines, city.admin_units, crs_epsg=city.network.crs_epsg)
        table["metro_network_km"] = table["code"].map(km).to_numpy(np.float64)
        shares = transit.station_shares.drop_duplicates("unit_code").set_index("unit_code")
        table["station_walk_15min_share"] = (
            table["code"].map(shares["share_15min"]).to_numpy(np.float64)
        )
    return table


def _school_crossings(
    city: City, units: gpd.GeoDataFrame, bottlenecks: BottleneckBase | InputError
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Pupils' crossings of main roads with no crossing or signal, by the unit of the school.

    From the school zones of the bottleneck analysis (:mod:`shancheng.mobility.bottlenecks`);
    NaN (no data) for a City it cannot run on (no schools, no road classes).
    """
    if isinstance(bottlenecks, InputError):
        return np.full(len(units), np.nan)
    schools = bottlenecks.zones.schools
    x, y = schools["x_utm"].to_numpy(np.float64), schools["y_utm"].to_numpy(np.float64)
    lon, lat = utm_to_lonlat(x, y, epsg=city.network.crs_epsg)
    counts = schools["unprotected_main"].to_numpy(np.float64)
    out = np.zeros(len(units))
    for i, (level, shape) in enumerate(zip(units["level"], units.geometry, strict=True)):
        inside = (
            np.ones(len(schools), bool) if level == "city" else shapely.contains_xy(shape, lon, lat)
        )
        out[i] = counts[inside].sum()
    return out


def _column(frame: pd.DataFrame, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[name].to_numpy(dtype=np.float64)


def _monitoring_shares(
    city: City, table: pd.DataFrame, pipes: dict[str, PipeModel], sensors: dict[str, Sensor]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Watched / dense pipe length over every network, per district and street (and city)."""
    dense: dict[str, float] = {}
    watched: dict[str, float] = {}
    total_dense = total_watched = 0.0
    for model in pipes.values():
        coverage = compute_coverage(
            city, model.network, list(sensors.values()), seg=model.segmentation
        )
        total_dense += coverage.dense_length_m
        total_watched += coverage.watched_length_m
        for frame in (coverage.by_district, coverage.by_street):
            for code, d, w in frame[["code", "dense_length_m", "watched_length_m"]].itertuples(
                index=False
            ):
                dense[str(code)] = dense.get(str(code), 0.0) + float(d)
                watched[str(code)] = watched.get(str(code), 0.0) + float(w)
    out = np.full(len(table), np.nan)
    for i, (code, level) in enumerate(zip(table["code"], table["level"], strict=True)):
        if level == "city" and total_dense > 0:
            out[i] = total_watched / total_dense
        elif dense.get(code, 0.0) > 0:
            out[i] = watched[code] / dense[code]
    return out


@dataclass(eq=False)
class CityHolder:
    """Builds the :class:`CityState` once, on first use, from a City folder or a given City."""

    city_dir: Path | None = None
    state: CityState | None = None
    loader: Callable[[Path], City] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self) -> CityState:
        """Return the state, building it first if needed (other callers wait)."""
        with self._lock:
            if self.state is None:
                if self.city_dir is None or self.loader is None:  # pragma: no cover - wiring
                    msg = "no City configured for the dashboard"
                    raise QueryError(msg, field="city")
                self.state = build_city_state(
                    self.loader(self.city_dir), gtfs=city_feed(self.city_dir)
                )
            return self.state
