"""The demo street network: a jittered grid on the land, with stairs, bridges and lifts.

Streets climb the hills where the grade allows; steeper links become flights of steps and the
steepest are left out (cliffs). Only a few bridges and one cable car cross the rivers, lifts and
an escalator join levels on the peninsula, and the largest connected piece is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from shancheng.data.demo.terrain import Region, Terrain
from shancheng.network.speed import EdgeKind

if TYPE_CHECKING:
    from shancheng.data.demo.config import DemoConfig
    from shancheng.types import FloatArray, IntArray


MAX_STEPS_GRADE = 0.7
"""Links steeper than this are cliffs: no street or stair is built there."""
PATH_HEIGHT_M = 380.0
"""Links with both ends above this height are mountain paths."""
FOOTWAY_SHARE = 0.08
"""Share of ordinary links that are pedestrian-only footways."""
DROPPED_LINK_SHARE = 0.06
"""Share of lattice links left out, making longer blocks."""
LIFT_SPACING_M = 600.0
"""Minimum distance between two public lifts or escalators."""
_LIFT_KINDS = (EdgeKind.ELEVATOR, EdgeKind.ESCALATOR, EdgeKind.ELEVATOR)


@dataclass(frozen=True, eq=False)
class Streets:
    """Nodes and undirected segments of the demo walk network, in UTM metres."""

    node_x_utm: FloatArray
    node_y_utm: FloatArray
    node_z_m: FloatArray
    segment_tail: IntArray
    segment_head: IntArray
    segment_length_m: FloatArray
    segment_kind: npt.NDArray[np.uint8]
    segment_oneway: npt.NDArray[np.bool_]
    segment_fixed_time_s: FloatArray


def generate_streets(config: DemoConfig, terrain: Terrain, rng: np.random.Generator) -> Streets:
    """Lay the demo streets on ``terrain``; deterministic for a given ``rng`` state."""
    x, y = _jittered_lattice(config, terrain, rng)
    z = terrain.height_at(x, y)
    tail, head = _lattice_links(config, terrain, x, y, rng)
    length = np.hypot(x[head] - x[tail], y[head] - y[tail])
    grade = np.abs(z[head] - z[tail]) / np.maximum(length, 1.0)
    keep = grade <= MAX_STEPS_GRADE
    tail, head, length, grade = tail[keep], head[keep], length[keep], grade[keep]
    kind = np.full(tail.shape[0], EdgeKind.STREET, dtype=np.uint8)
    kind[rng.random(tail.shape[0]) < FOOTWAY_SHARE] = EdgeKind.FOOTWAY
    kind[(z[tail] > PATH_HEIGHT_M) & (z[head] > PATH_HEIGHT_M)] = EdgeKind.PATH
    kind[grade > config.stairs_grade] = EdgeKind.STEPS

    extra = [_bridges(terrain, x, y, config), _lifts(terrain, x, y, z)]
    for e_tail, e_head, e_kind in extra:
        tail = np.concatenate([tail, e_tail])
        head = np.concatenate([head, e_head])
        kind = np.concatenate([kind, e_kind])
    length = np.hypot(x[head] - x[tail], y[head] - y[tail])
    oneway = kind == EdgeKind.ESCALATOR
    fixed = np.full(tail.shape[0], np.nan)
    return _largest_component(Streets(x, y, z, tail, head, length, kind, oneway, fixed))


def _jittered_lattice(
    config: DemoConfig, terrain: Terrain, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Intersections on a jittered square lattice, all of them (water ones are dropped later)."""
    spacing = config.street_spacing_m
    n_cols = int(config.width_m // spacing)
    n_rows = int(config.height_m // spacing)
    cols, rows = np.meshgrid(np.arange(n_cols), np.arange(n_rows))
    jitter = rng.uniform(-0.2, 0.2, (2, n_rows, n_cols)) * spacing
    x = terrain.origin_x_utm + (cols + 0.5) * spacing + jitter[0]
    y = terrain.origin_y_utm + (rows + 0.5) * spacing + jitter[1]
    return x.ravel(), y.ravel()


def _lattice_links(
    config: DemoConfig,
    terrain: Terrain,
    x: FloatArray,
    y: FloatArray,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray]:
    """East and north neighbours on land, minus a few random links (superblocks)."""
    n_cols = int(config.width_m // config.street_spacing_m)
    n_rows = int(config.height_m // config.street_spacing_m)
    ids = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    tail = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    head = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    on_land = np.ones(tail.shape[0], dtype=bool)
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        px = x[tail] + t * (x[head] - x[tail])
        py = y[tail] + t * (y[head] - y[tail])
        on_land &= terrain.river_clearance_m(px, py) > 0
    kept = on_land & (rng.random(tail.shape[0]) >= DROPPED_LINK_SHARE)
    return tail[kept].astype(np.int64), head[kept].astype(np.int64)


def _bridges(
    terrain: Terrain, x: FloatArray, y: FloatArray, config: DemoConfig
) -> tuple[IntArray, IntArray, npt.NDArray[np.uint8]]:
    """Straight bridges (and one cable car) across each river arm between bank nodes."""
    land = terrain.river_clearance_m(x, y) > 0
    land_ids = np.flatnonzero(land)
    tree = cKDTree(np.column_stack([x[land_ids], y[land_ids]]))
    cx, _ = terrain.confluence_xy
    arms = [
        (terrain.jialing_xy, terrain.jialing_half_width_m, (0.35, 0.6, 0.85), ()),
        (terrain.yangtze_xy[terrain.yangtze_xy[:, 0] <= cx], terrain.yangtze_half_width_m,
         (0.3, 0.6), (0.85,)),
        (terrain.yangtze_xy[terrain.yangtze_xy[:, 0] >= cx], terrain.yangtze_half_width_m,
         (0.2, 0.6), ()),
    ]  # fmt: skip
    tails: list[int] = []
    heads: list[int] = []
    kinds: list[int] = []
    for line, half_width, bridge_at, cable_at in arms:
        for fraction, kind in [(f, EdgeKind.BRIDGE) for f in bridge_at] + [
            (f, EdgeKind.CABLE_CAR) for f in cable_at
        ]:
            point, normal = _point_along(line, fraction)
            reach = half_width + 0.6 * config.street_spacing_m
            _, found = tree.query(np.vstack([point + reach * normal, point - reach * normal]))
            nearest = np.asarray(found, dtype=np.int64)
            a, b = int(land_ids[nearest[0]]), int(land_ids[nearest[1]])
            if terrain.region(x[[a]], y[[a]])[0] != terrain.region(x[[b]], y[[b]])[0]:
                tails.append(a)
                heads.append(b)
                kinds.append(kind)
    return (
        np.array(tails, dtype=np.int64),
        np.array(heads, dtype=np.int64),
        np.array(kinds, dtype=np.uint8),
    )


def _point_along(line: FloatArray, fraction: float) -> tuple[FloatArray, FloatArray]:
    """Point at ``fraction`` of a polyline's length and the unit normal there."""
    steps = np.hypot(*np.diff(line, axis=0).T)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    target = fraction * cumulative[-1]
    k = int(np.clip(np.searchsorted(cumulative, target) - 1, 0, steps.shape[0] - 1))
    t = (target - cumulative[k]) / steps[k]
    direction = (line[k + 1] - line[k]) / steps[k]
    return line[k] + t * (line[k + 1] - line[k]), np.array([-direction[1], direction[0]])


def _lifts(
    terrain: Terrain, x: FloatArray, y: FloatArray, z: FloatArray
) -> tuple[IntArray, IntArray, npt.NDArray[np.uint8]]:
    """Two public lifts and one up-escalator where nearby nodes differ most in height."""
    land = np.flatnonzero(terrain.river_clearance_m(x, y) > 0)
    peninsula = land[terrain.region(x[land], y[land]) == Region.PENINSULA]
    pairs = cKDTree(np.column_stack([x[peninsula], y[peninsula]])).query_pairs(
        r=160.0, output_type="ndarray"
    )
    low = peninsula[pairs[:, 0]]
    high = peninsula[pairs[:, 1]]
    swap = z[low] > z[high]
    low, high = np.where(swap, high, low), np.where(swap, low, high)
    order = np.lexsort((low, high, -(z[high] - z[low])))
    chosen: list[tuple[int, int]] = []
    for k in order:
        a, b = int(low[k]), int(high[k])
        far = all(np.hypot(x[a] - x[c], y[a] - y[c]) > LIFT_SPACING_M for c, _ in chosen)
        if far:
            chosen.append((a, b))
        if len(chosen) == len(_LIFT_KINDS):
            break
    kinds = _LIFT_KINDS[: len(chosen)]
    return (
        np.array([a for a, _ in chosen], dtype=np.int64),
        np.array([b for _, b in chosen], dtype=np.int64),
        np.array(kinds, dtype=np.uint8),
    )


def _largest_component(streets: Streets) -> Streets:
    """Keep the largest connected piece and renumber its nodes 0..n-1 in the old order."""
    n = streets.node_x_utm.shape[0]
    adjacency = coo_array(
        (np.ones(streets.segment_tail.shape[0]), (streets.segment_tail, streets.segment_head)),
        shape=(n, n),
    )
    _, labels = connected_components(adjacency, directed=False)
    sizes = np.bincount(labels)
    keep = labels == int(np.argmax(sizes))
    new_id = np.cumsum(keep) - 1
    seg = keep[streets.segment_tail]
    return Streets(
        node_x_utm=streets.node_x_utm[keep],
        node_y_utm=streets.node_y_utm[keep],
        node_z_m=streets.node_z_m[keep],
        segment_tail=new_id[streets.segment_tail[seg]],
        segment_head=new_id[streets.segment_head[seg]],
        segment_length_m=streets.segment_length_m[seg],
        segment_kind=streets.segment_kind[seg],
        segment_oneway=streets.segment_oneway[seg],
        segment_fixed_time_s=streets.segment_fixed_time_s[seg],
    )
