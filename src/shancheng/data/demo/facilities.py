"""Facilities of every living-circle category, with capacities and deliberate gaps.

Counts follow rough per-resident norms; locations follow the residents. Two gaps are left on
purpose so that planning has work to do: the most hilly district outside the peninsula has no
nursery and few elderly services, and the highest street has no clinic of any kind. The gaps
are returned so the manifest can name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from shancheng.data.demo.terrain import Region, Terrain
from shancheng.network.speed import EdgeKind

if TYPE_CHECKING:
    from shancheng.data.demo.admin import AdminLayout
    from shancheng.data.demo.population import Buildings
    from shancheng.data.demo.streets import Streets
    from shancheng.types import FloatArray, IntArray


Placement = Literal["residents", "community", "street", "open_space", "street_node"]


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """How many facilities of a category to place, where, and how large."""

    category: str
    name_zh: str
    placement: Placement
    residents_per_facility: int
    capacity_range: tuple[int, int]
    capacity_unit: str


CATEGORIES = (
    CategorySpec("kindergarten", "幼儿园", "residents", 9_000, (180, 360), "places"),
    CategorySpec("nursery", "托育园", "residents", 15_000, (40, 120), "places"),
    CategorySpec("primary_school", "小学", "residents", 20_000, (1_080, 2_160), "places"),
    CategorySpec("middle_school", "中学", "residents", 40_000, (1_200, 2_400), "places"),
    CategorySpec("health_station", "社区卫生服务站", "residents", 8_000, (60, 150),
                 "visits_per_day"),
    CategorySpec("community_health_center", "社区卫生服务中心", "street", 0, (20, 60), "beds"),
    CategorySpec("hospital", "医院", "residents", 120_000, (200, 1_200), "beds"),
    CategorySpec("elderly_day_care", "老年日间照料中心", "residents", 10_000, (20, 60), "places"),
    CategorySpec("nursing_home", "养老院", "residents", 40_000, (50, 300), "beds"),
    CategorySpec("senior_canteen", "老年食堂", "residents", 12_000, (80, 300), "meals_per_day"),
    CategorySpec("market", "菜市场", "residents", 20_000, (800, 3_000), "m2"),
    CategorySpec("convenience_store", "便利店", "residents", 1_500, (50, 200), "m2"),
    CategorySpec("supermarket", "超市", "residents", 15_000, (1_000, 6_000), "m2"),
    CategorySpec("park", "公园", "open_space", 15_000, (5_000, 100_000), "m2"),
    CategorySpec("sports_ground", "运动场", "open_space", 25_000, (2_000, 20_000), "m2"),
    CategorySpec("community_service", "社区服务站", "community", 0, (200, 800), "m2"),
    CategorySpec("culture", "文化活动中心", "street", 0, (300, 2_000), "m2"),
    CategorySpec("bus_stop", "公交站", "street_node", 800, (1, 8), "routes"),
    CategorySpec("metro_station", "轨道站", "residents", 40_000, (10_000, 40_000),
                 "passengers_per_day"),
)  # fmt: skip
"""The living-circle facility categories, by the ids the circle catalogue refers to."""

CATEGORY_IDS = tuple(spec.category for spec in CATEGORIES)
_ELDERLY = ("elderly_day_care", "nursing_home", "senior_canteen")
_CLINICS = ("health_station", "community_health_center", "hospital")


@dataclass(frozen=True, slots=True)
class Gaps:
    """Where services were left out on purpose (indices into the admin layout)."""

    no_nursery_district: int
    no_clinic_street: int


def choose_gaps(terrain: Terrain, layout: AdminLayout) -> Gaps:
    """Pick the highest district off the peninsula and the highest street elsewhere."""
    z = terrain.height_at(layout.cell_x_utm, layout.cell_y_utm)
    street = layout.community_street[layout.cell_community]
    district = layout.street_district[street]
    region = terrain.region(layout.cell_x_utm, layout.cell_y_utm)
    n_d = len(layout.district_codes)
    mean_d = np.bincount(district, weights=z, minlength=n_d) / np.bincount(district, minlength=n_d)
    peninsula = np.bincount(district, weights=region == Region.PENINSULA, minlength=n_d) > 0
    gap_district = int(np.argmax(np.where(peninsula, -np.inf, mean_d)))
    n_s = len(layout.street_codes)
    mean_s = np.bincount(street, weights=z, minlength=n_s) / np.bincount(street, minlength=n_s)
    mean_s[layout.street_district == gap_district] = -np.inf
    return Gaps(no_nursery_district=gap_district, no_clinic_street=int(np.argmax(mean_s)))


def generate_facilities(
    terrain: Terrain,
    layout: AdminLayout,
    buildings: Buildings,
    streets: Streets,
    *,
    gaps: Gaps,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Place every category; columns ``category, name, capacity, capacity_unit, x_utm, y_utm``."""
    b_street = layout.community_street[layout.cell_community[buildings.cell_index]]
    b_district = layout.street_district[b_street]
    frames = []
    for spec in CATEGORIES:
        weight = buildings.population.astype(np.float64)
        if spec.category == "nursery":
            weight[b_district == gaps.no_nursery_district] = 0.0
        if spec.category in _ELDERLY:
            weight[b_district == gaps.no_nursery_district] *= 0.02
        if spec.category in _CLINICS:
            weight[b_street == gaps.no_clinic_street] = 0.0
        x, y = _locate(spec, terrain, layout, buildings, streets, weight=weight, rng=rng)
        low, high = spec.capacity_range
        frames.append(
            pd.DataFrame(
                {
                    "category": spec.category,
                    "category_zh": spec.name_zh,
                    "capacity": rng.integers(low, high + 1, x.shape[0]).astype(np.int64),
                    "capacity_unit": spec.capacity_unit,
                    "x_utm": x,
                    "y_utm": y,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _locate(
    spec: CategorySpec,
    terrain: Terrain,
    layout: AdminLayout,
    buildings: Buildings,
    streets: Streets,
    *,
    weight: FloatArray,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Coordinates of the facilities of one category."""
    total = int(buildings.population.sum())
    if spec.placement == "residents":
        count = max(1, round(total / spec.residents_per_facility))
        chosen = _weighted_sample(weight, count, rng)
        return buildings.x_utm[chosen], buildings.y_utm[chosen]
    if spec.placement in ("community", "street"):
        unit = layout.cell_community[buildings.cell_index]
        if spec.placement == "street":
            unit = layout.community_street[unit]
        picks = [
            int(rng.choice(np.flatnonzero(unit == u), p=_normalised(weight[unit == u])))
            for u in np.unique(unit)
            if weight[unit == u].sum() > 0
        ]
        return buildings.x_utm[picks], buildings.y_utm[picks]
    if spec.placement == "open_space":
        count = max(1, round(total / spec.residents_per_facility))
        z = terrain.height_at(layout.cell_x_utm, layout.cell_y_utm)
        chosen = _weighted_sample(np.clip(z - 200.0, 1.0, None), count, rng)
        return layout.cell_x_utm[chosen], layout.cell_y_utm[chosen]
    on_street = np.zeros(streets.node_x_utm.shape[0], dtype=bool)
    is_street = streets.segment_kind == EdgeKind.STREET
    on_street[streets.segment_tail[is_street]] = True
    nodes = np.flatnonzero(on_street)
    count = max(1, round(total / spec.residents_per_facility))
    chosen = nodes[_weighted_sample(np.ones(nodes.shape[0]), count, rng)]
    return streets.node_x_utm[chosen], streets.node_y_utm[chosen]


def _normalised(weight: FloatArray) -> FloatArray:
    return np.asarray(weight / weight.sum(), dtype=np.float64)


def _weighted_sample(weight: FloatArray, count: int, rng: np.random.Generator) -> IntArray:
    """Draw ``count`` distinct indices with probability proportional to ``weight``."""
    positive = int(np.count_nonzero(weight > 0))
    count = min(count, positive)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    chosen = rng.choice(weight.shape[0], size=count, replace=False, p=_normalised(weight))
    return np.asarray(np.sort(chosen), dtype=np.int64)
