"""Residential buildings of the demo city and the people living in them, by age group.

Density is highest on the peninsula and near the confluence and falls on steep or high
ground (hill parks). Residents are shared among buildings in proportion to floor area so the
total equals the configured population exactly; age groups are drawn per building and always
sum to its population.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import shapely

from shancheng.data.demo.terrain import Region, Terrain

if TYPE_CHECKING:
    from shancheng.data.demo.admin import AdminLayout
    from shancheng.data.demo.config import DemoConfig
    from shancheng.types import FloatArray, IntArray


AGE_SHARES = np.array([0.024, 0.027, 0.058, 0.029, 0.641, 0.221])
"""City-wide share of each age group (Chongqing's centre is ageing: about 22 % are 60+)."""
FLOOR_AREA_PER_RESIDENT_M2 = 32.0
"""Gross residential floor area per resident, used to derive a building's storeys."""
OLD_BLOCK_MAX_LEVELS = 7
"""Walk-up blocks of at most this many storeys are old and house more seniors."""
_REGION_DENSITY = {Region.PENINSULA: 1.6, Region.NORTH: 1.0, Region.SOUTH: 0.8}
_BANK_CLEARANCE_M = 15.0


@dataclass(frozen=True, eq=False)
class Buildings:
    """Parallel arrays, one entry per residential building (coordinates in UTM metres)."""

    x_utm: FloatArray
    y_utm: FloatArray
    footprint: npt.NDArray[np.object_]
    footprint_m2: FloatArray
    levels: IntArray
    population: IntArray
    ages: IntArray  # shape (n, len(AGE_GROUPS))
    cell_index: IntArray  # index into AdminLayout.cell_* arrays


def cell_density(terrain: Terrain, layout: AdminLayout) -> FloatArray:
    """Relative residential density of every land cell, in [0, ~1.6]."""
    x, y = layout.cell_x_utm, layout.cell_y_utm
    z = terrain.height_at(x, y)
    grade = (
        np.hypot(
            terrain.height_at(x + 25.0, y) - terrain.height_at(x - 25.0, y),
            terrain.height_at(x, y + 25.0) - terrain.height_at(x, y - 25.0),
        )
        / 50.0
    )
    cx, cy = terrain.confluence_xy
    diagonal_m = float(np.hypot(terrain.width_m, terrain.height_m))
    centrality = 0.25 + np.exp(-np.hypot(x - cx, y - cy) / (0.25 * diagonal_m))
    region = terrain.region(x, y)
    factor = np.select([region == r for r in Region], [_REGION_DENSITY[r] for r in Region])
    density = factor * centrality * np.exp(-grade / 0.3) * np.clip((400.0 - z) / 120.0, 0.0, 1.0)
    return np.asarray(density, dtype=np.float64)


def generate_buildings(
    config: DemoConfig, terrain: Terrain, layout: AdminLayout, rng: np.random.Generator
) -> Buildings:
    """Place residential buildings in cells by density and fill them with residents."""
    density = cell_density(terrain, layout)
    expected = 1.1 * density / max(float(density.max()), 1e-9)
    counts = rng.poisson(expected)
    cell_index = np.repeat(np.arange(counts.shape[0]), counts)
    half = config.cell_size_m / 2
    x = layout.cell_x_utm[cell_index] + rng.uniform(-0.8, 0.8, cell_index.shape[0]) * half
    y = layout.cell_y_utm[cell_index] + rng.uniform(-0.8, 0.8, cell_index.shape[0]) * half
    dry = terrain.river_clearance_m(x, y) > _BANK_CLEARANCE_M
    x, y, cell_index = x[dry], y[dry], cell_index[dry]
    n = cell_index.shape[0]
    width_m = rng.uniform(14.0, 38.0, n)
    depth_m = rng.uniform(12.0, 24.0, n)
    angle = rng.uniform(0.0, np.pi, n)
    weight = width_m * depth_m * density[cell_index] * rng.uniform(0.6, 1.4, n)
    population = _share_exactly(config.target_population, weight)
    floor_area_m2 = population * FLOOR_AREA_PER_RESIDENT_M2
    levels = np.clip(np.ceil(floor_area_m2 / (width_m * depth_m)), 2, 45).astype(np.int64)
    ages = _age_groups(population, levels, rng)
    return Buildings(
        x_utm=x,
        y_utm=y,
        footprint=_rectangles(x, y, width_m, depth_m, angle),
        footprint_m2=np.round(width_m * depth_m, 1),
        levels=levels,
        population=population,
        ages=ages,
        cell_index=cell_index,
    )


def _share_exactly(total: int, weight: FloatArray) -> IntArray:
    """Split ``total`` into integers proportional to ``weight`` (largest remainder)."""
    if weight.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    exact = total * weight / weight.sum()
    share: IntArray = np.floor(exact).astype(np.int64)
    remainder = exact - share
    order = np.argsort(-remainder, kind="stable")
    share[order[: total - int(share.sum())]] += 1
    return share


def _age_groups(population: IntArray, levels: IntArray, rng: np.random.Generator) -> IntArray:
    """Draw each building's residents by age group; old low-rise blocks house more seniors."""
    shares = np.tile(AGE_SHARES, (population.shape[0], 1))
    old_block = levels <= OLD_BLOCK_MAX_LEVELS
    shares[old_block, 5] *= 1.5
    shares[~old_block, :4] *= 1.15
    shares *= rng.uniform(0.8, 1.2, shares.shape)
    shares /= shares.sum(axis=1, keepdims=True)
    return np.asarray(rng.multinomial(population, shares), dtype=np.int64)


def _rectangles(
    x: FloatArray, y: FloatArray, width_m: FloatArray, depth_m: FloatArray, angle: FloatArray
) -> npt.NDArray[np.object_]:
    """Rotated rectangular footprints centred on each point."""
    corners_u = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    corners_v = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    u = corners_u[None, :] * width_m[:, None]
    v = corners_v[None, :] * depth_m[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    coords = np.stack([x[:, None] + u * cos - v * sin, y[:, None] + u * sin + v * cos], axis=-1)
    return np.asarray(shapely.polygons(coords), dtype=object)
