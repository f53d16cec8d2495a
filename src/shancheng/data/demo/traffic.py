"""The demo's traffic tags and its deliberate school-zone hazards.

Every junction on a main road (primary or secondary) gets a mapped crossing: signals where two
main roads meet, a zebra elsewhere. One tertiary line in two is one-way (alternating
directions) and the riverside roads carry a tagged 60 km/h limit. Then, on purpose, nine-year
schools (九年一贯制: a primary and a middle school on one site) are added on the steepest,
most populous stretches of secondary road: at the *hazard* sites every crossing on main
roads within :data:`ZONE_RADIUS_M` is removed (pupils cross a main road on a slope with
neither zebra nor signal); at the *protected* sites they are all signalised. The manifest
records both lists under ``school_zones``, as it records the deliberate ``gaps``, so the
bottleneck ranking can be checked against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from shancheng.data.demo.basemap import TERTIARY_EVERY
from shancheng.network.speed import EdgeKind

if TYPE_CHECKING:
    import numpy.typing as npt

    from shancheng.data.demo.config import DemoConfig
    from shancheng.data.demo.population import Buildings
    from shancheng.data.demo.streets import Streets
    from shancheng.data.demo.terrain import Terrain
    from shancheng.types import FloatArray, IntArray

N_HAZARD = 3
"""Schools placed where pupils cross a steep main road with no crossing."""
N_PROTECTED = 2
"""Schools placed on steep main roads whose crossings are all signalised."""
ZONE_RADIUS_M = 600.0
"""Radius around a deliberate school within which its main-road crossings are set."""
SITE_SPACING_M = 1_500.0
"""Least distance between two deliberate schools."""
_MAIN = ("primary", "secondary")


@dataclass(frozen=True, eq=False)
class Traffic:
    """Node and segment tags of the demo, the added schools and the manifest record."""

    traffic_signals: npt.NDArray[np.bool_]
    crossing: npt.NDArray[np.object_]
    car_oneway: IntArray
    maxspeed_kmh: FloatArray
    schools: pd.DataFrame
    """Added schools: ``category, category_zh, capacity, capacity_unit, x_utm, y_utm, role``."""


def traffic_tags(
    streets: Streets,
    road_class: npt.NDArray[np.object_],
    buildings: Buildings,
    config: DemoConfig,
    terrain: Terrain,
) -> Traffic:
    """Tag junctions and one-ways, and place the deliberate hazard and protected schools."""
    n = streets.node_x_utm.shape[0]
    tail, head = streets.segment_tail, streets.segment_head
    main = np.isin(road_class, _MAIN)
    main_legs = np.bincount(np.concatenate([tail[main], head[main]]), minlength=n)
    legs = np.bincount(np.concatenate([tail, head]), minlength=n)
    signals = main_legs >= 3  # noqa: PLR2004 - two main roads meet (a main road and its cross street has 2)
    crossing = np.full(n, "", dtype=object)
    crossing[(main_legs > 0) & (legs >= 3)] = "marked"  # noqa: PLR2004
    crossing[signals] = "signals"
    oneway, maxspeed = _oneways(streets, road_class, config, terrain)
    sites = _sites(streets, road_class, buildings)
    x, y = streets.node_x_utm, streets.node_y_utm
    near = cKDTree(np.column_stack([x, y])).query_ball_point(
        np.column_stack([x[sites], y[sites]]), r=ZONE_RADIUS_M
    )
    roles = ["hazard"] * min(N_HAZARD, len(sites)) + ["protected"] * max(0, len(sites) - N_HAZARD)
    for role, around in zip(roles, near, strict=True):
        zone = np.asarray(around, dtype=np.int64)
        zone = zone[main_legs[zone] > 0]
        crossing[zone] = "" if role == "hazard" else "signals"
        signals[zone] = role == "protected"
    home = cKDTree(np.column_stack([buildings.x_utm, buildings.y_utm]))
    _, nearest = home.query(np.column_stack([x[sites], y[sites]]))
    primary = pd.DataFrame({
        "category": "primary_school", "category_zh": "小学",
        "capacity": 1_440, "capacity_unit": "places",
        "x_utm": buildings.x_utm[nearest], "y_utm": buildings.y_utm[nearest], "role": roles,
    })  # fmt: skip
    middle = primary.assign(category="middle_school", category_zh="中学", capacity=1_200)
    schools = pd.concat([primary, middle], ignore_index=True)  # nine-year schools (九年一贯制)
    return Traffic(signals, crossing, oneway, maxspeed, schools)


def _oneways(
    streets: Streets, road_class: npt.NDArray[np.object_], config: DemoConfig, terrain: Terrain
) -> tuple[IntArray, FloatArray]:
    """One tertiary line in two is one-way, alternating; riverside roads are tagged 60 km/h."""
    x, y = streets.node_x_utm, streets.node_y_utm
    tail, head = streets.segment_tail, streets.segment_head
    spacing = config.street_spacing_m
    col = np.floor((x - terrain.origin_x_utm) / spacing).astype(np.int64)
    row = np.floor((y - terrain.origin_y_utm) / spacing).astype(np.int64)
    line = np.where(row[tail] == row[head], row[tail], col[tail]) // TERTIARY_EVERY
    tertiary = (road_class == "tertiary") & (line % 2 == 1)
    oneway = np.where(tertiary, np.where(line % 4 == 1, 1, -1), 0).astype(np.int64)
    maxspeed = np.where(road_class == "primary", 60.0, np.nan)
    return oneway, maxspeed


def _sites(streets: Streets, road_class: npt.NDArray[np.object_], buildings: Buildings) -> IntArray:
    """Junctions on secondary roads, steepest and most populous first, spaced apart."""
    x, y, z = streets.node_x_utm, streets.node_y_utm, streets.node_z_m
    tail, head = streets.segment_tail, streets.segment_head
    grade = np.abs(z[head] - z[tail]) / np.maximum(streets.segment_length_m, 1.0)
    street = streets.segment_kind == EdgeKind.STREET
    secondary = road_class == "secondary"
    on_secondary = np.zeros(x.shape[0], dtype=bool)
    on_secondary[np.concatenate([tail[secondary], head[secondary]])] = True
    road = np.flatnonzero(street & secondary)  # pupils cross the main road on a slope
    mid = np.column_stack(
        [(x[tail[road]] + x[head[road]]) / 2, (y[tail[road]] + y[head[road]]) / 2]
    )
    around: list[Any] = cKDTree(mid).query_ball_point(np.column_stack([x, y]), r=ZONE_RADIUS_M)
    steep = np.array([float(np.median(grade[road[k]])) if k else 0.0 for k in around])
    people = cKDTree(np.column_stack([buildings.x_utm, buildings.y_utm]))
    near = people.query_ball_point(np.column_stack([x, y]), r=400.0)
    counts = np.array([buildings.population[k].sum() for k in near])
    candidates = np.flatnonzero(on_secondary & (steep >= 0.06))  # noqa: PLR2004
    score = steep[candidates] * counts[candidates]
    chosen: list[int] = []
    for k in candidates[np.lexsort((candidates, -score))]:
        if all(np.hypot(x[k] - x[c], y[k] - y[c]) >= SITE_SPACING_M for c in chosen):
            chosen.append(int(k))
        if len(chosen) == N_HAZARD + N_PROTECTED:
            break
    return np.array(chosen, dtype=np.int64)
