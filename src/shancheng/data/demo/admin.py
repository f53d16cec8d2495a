"""Districts, streets and communities of the demo city, built from unit-grid cells.

Every land cell of the grid goes to exactly one community, every community to one street and
every street to one district; a unit's polygon is the union of its cells, so containment holds
exactly. Districts are slabs of the peninsula and of each bank; streets and communities are
compact clusters of cells around seeds drawn from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from shancheng.data.demo.names import community_name, district_name, street_name
from shancheng.data.demo.terrain import Region, Terrain
from shancheng.geo.admin import AdminLevel
from shancheng.geo.grid import UnitGrid

if TYPE_CHECKING:
    from shancheng.data.demo.config import DemoConfig
    from shancheng.types import FloatArray, IntArray


CITY_CODE = "990100"
"""Code of the fictional demo city (the 99 prefix is not a real province)."""
CITY_NAME = ("山城示范市", "Shancheng Demo City")
MAX_DISTRICTS_PER_REGION = 3


@dataclass(frozen=True, eq=False)
class AdminLayout:
    """Cells on land with their units, and one row per administrative unit.

    ``cell_*`` arrays are parallel (one entry per land cell); ``unit_*`` lists are parallel
    (one entry per unit, the city first, then districts, streets and communities).
    """

    grid: UnitGrid
    cell_id: IntArray
    cell_x_utm: FloatArray
    cell_y_utm: FloatArray
    cell_community: IntArray
    community_street: IntArray
    street_district: IntArray
    district_codes: list[str]
    street_codes: list[str]
    community_codes: list[str]
    unit_rows: list[dict[str, object]]


def generate_admin(config: DemoConfig, terrain: Terrain, rng: np.random.Generator) -> AdminLayout:
    """Divide the land cells into districts, streets and communities with chained codes."""
    grid = UnitGrid(
        terrain.origin_x_utm,
        terrain.origin_y_utm,
        config.cell_size_m,
        n_cols=round(config.width_m / config.cell_size_m),
        n_rows=round(config.height_m / config.cell_size_m),
    )
    all_ids = np.arange(grid.n_cells, dtype=np.int64)
    cx, cy = grid.cell_center(all_ids)
    land = ~terrain.is_water(cx, cy)
    cell_id, cx, cy = all_ids[land], cx[land], cy[land]
    cell_district, district_region = _districts(config, terrain.region(cx, cy), cx, cy)
    cell_street, street_district = _subdivide(
        cell_district, cx, cy, config.streets_per_district, rng
    )
    cell_community, community_street = _subdivide(
        cell_street, cx, cy, config.communities_per_street, rng
    )
    district_codes = [f"{CITY_CODE[:4]}{d + 1:02d}" for d in range(district_region.shape[0])]
    street_codes = _child_codes(district_codes, street_district)
    community_codes = _child_codes(street_codes, community_street)
    layout = AdminLayout(
        grid, cell_id, cx, cy, cell_community, community_street, street_district,
        district_codes, street_codes, community_codes, [],
    )  # fmt: skip
    layout.unit_rows.extend(_unit_rows(layout, district_region))
    return layout


def _districts(
    config: DemoConfig, region: IntArray, x: FloatArray, y: FloatArray
) -> tuple[IntArray, IntArray]:
    """Share the districts among the three regions by land area, then cut each into slabs."""
    area = np.bincount(region, minlength=len(Region)).astype(np.float64)
    count = np.ones(len(Region), dtype=np.int64)
    for _ in range(config.n_districts - len(Region)):
        share = np.where(count < MAX_DISTRICTS_PER_REGION, area / count, -1.0)
        count[int(np.argmax(share))] += 1
    cell_district = np.empty(region.shape[0], dtype=np.int64)
    district_region: list[int] = []
    for r in Region:
        members = np.flatnonzero(region == r)
        order = members[np.lexsort((y[members], x[members]))]
        for piece in np.array_split(order, int(count[r])):
            cell_district[piece] = len(district_region)
            district_region.append(int(r))
    return cell_district, np.array(district_region, dtype=np.int64)


def _subdivide(
    parent: IntArray, x: FloatArray, y: FloatArray, k: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Cut each parent's cells into ``k`` compact clusters (child per cell, parent per child)."""
    child = np.empty(parent.shape[0], dtype=np.int64)
    child_parent: list[int] = []
    for p in range(int(parent.max()) + 1):
        members = np.flatnonzero(parent == p)
        labels = _cluster(x[members], y[members], min(k, members.shape[0]), rng)
        order = np.argsort(_cluster_rank(labels, x[members], y[members]))
        child[members] = len(child_parent) + order[labels]
        child_parent.extend([p] * int(labels.max() + 1))
    return child, np.array(child_parent, dtype=np.int64)


def _cluster(x: FloatArray, y: FloatArray, k: int, rng: np.random.Generator) -> IntArray:
    """Nearest-seed clusters from farthest-point seeds refined by medoid steps; none is empty."""
    points = np.column_stack([x, y])
    seeds = [int(rng.integers(points.shape[0]))]
    distance = np.hypot(*(points - points[seeds[0]]).T)
    for _ in range(k - 1):
        seeds.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.hypot(*(points - points[seeds[-1]]).T))
    labels = np.zeros(points.shape[0], dtype=np.int64)
    for _ in range(4):
        gaps = np.stack([np.hypot(*(points - points[s]).T) for s in seeds])
        labels = np.argmin(gaps, axis=0)
        moved = []
        for c in range(len(seeds)):
            centre = points[labels == c].mean(axis=0)
            moved.append(int(np.argmin(np.hypot(*(points - centre).T))))
        if len(set(moved)) == len(moved):
            seeds = moved
    gaps = np.stack([np.hypot(*(points - points[s]).T) for s in seeds])
    return np.asarray(np.argmin(gaps, axis=0), dtype=np.int64)


def _cluster_rank(labels: IntArray, x: FloatArray, y: FloatArray) -> IntArray:
    """Rank clusters north-west first so codes read like a map (for stable numbering)."""
    n = int(labels.max()) + 1
    mean_x = np.bincount(labels, weights=x, minlength=n) / np.bincount(labels, minlength=n)
    mean_y = np.bincount(labels, weights=y, minlength=n) / np.bincount(labels, minlength=n)
    return np.asarray(np.lexsort((mean_x, -np.round(mean_y, -2))), dtype=np.int64)


def _child_codes(parent_codes: list[str], child_parent: IntArray) -> list[str]:
    """Codes of children: the parent's code plus a 3-digit serial within the parent."""
    serial = np.zeros(len(parent_codes), dtype=np.int64)
    codes = []
    for p in child_parent:
        serial[p] += 1
        codes.append(f"{parent_codes[p]}{int(serial[p]):03d}")
    return codes


def _unit_rows(layout: AdminLayout, district_region: IntArray) -> list[dict[str, object]]:
    """One row per unit with its code, names, level, parent and polygon (metres)."""
    boxes = layout.grid.cell_polygons(layout.cell_id)
    community_polygons = [
        shapely.coverage_union_all(boxes[layout.cell_community == c])
        for c in range(len(layout.community_codes))
    ]
    street_polygons = [
        shapely.coverage_union_all(
            [community_polygons[c] for c in np.flatnonzero(layout.community_street == s)]
        )
        for s in range(len(layout.street_codes))
    ]
    district_polygons = [
        shapely.coverage_union_all(
            [street_polygons[s] for s in np.flatnonzero(layout.street_district == d)]
        )
        for d in range(len(layout.district_codes))
    ]
    rows: list[dict[str, object]] = [
        _row(
            CITY_CODE, CITY_NAME, AdminLevel.CITY, "", shapely.coverage_union_all(district_polygons)
        )
    ]
    for d, code in enumerate(layout.district_codes):
        names = district_name(
            int(district_region[d]), int(np.sum(district_region[:d] == district_region[d]))
        )
        rows.append(_row(code, names, AdminLevel.DISTRICT, CITY_CODE, district_polygons[d]))
    for s, code in enumerate(layout.street_codes):
        parent = layout.district_codes[int(layout.street_district[s])]
        rows.append(_row(code, street_name(s), AdminLevel.STREET, parent, street_polygons[s]))
    for c, code in enumerate(layout.community_codes):
        street = int(layout.community_street[c])
        names = community_name(street, c)
        parent = layout.street_codes[street]
        rows.append(_row(code, names, AdminLevel.COMMUNITY, parent, community_polygons[c]))
    return rows


def _row(
    code: str, names: tuple[str, str], level: AdminLevel, parent: str, polygon: object
) -> dict[str, object]:
    return {
        "code": code,
        "name": names[0],
        "name_en": names[1],
        "level": level.value,
        "parent_code": parent,
        "geometry": polygon,
    }
