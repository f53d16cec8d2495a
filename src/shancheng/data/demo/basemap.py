"""The demo city's base map: road classes and names, rivers, green areas and the height grid.

Main roads follow the land as Chongqing's do: four riverside roads (嘉滨路, 长滨路, 北滨路,
南滨路) are the least-cost street routes along each bank, a cost that grows with grade and with
distance from the water, so they stay low and close to the rivers. Every twelfth lattice line
is a named secondary road and every fourth a tertiary one; bridges carry the road class of the
arterials and a bridge's name, the cable car its own. The rivers are the terrain's river
bands, the woods its high ground, the parks disks of the park facilities' area; the height
grid samples the terrain functions every 25 m.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components, dijkstra

from shancheng.data.demo.names import bridge_name, hill_name, road_name
from shancheng.data.demo.terrain import Region, Terrain
from shancheng.data.relief import TERRAIN_CELL_M
from shancheng.geo.crs import UTM_48N_EPSG, WGS84_EPSG, geometries_to_lonlat
from shancheng.geo.relief import HeightGrid, areas_above
from shancheng.network.speed import ROAD_CLASS_OF_KIND, EdgeKind

if TYPE_CHECKING:
    import pandas as pd

    from shancheng.data.demo.config import DemoConfig
    from shancheng.data.demo.streets import Streets
    from shancheng.types import FloatArray, IntArray

ObjectArray = npt.NDArray[np.object_]

SECONDARY_EVERY = 12
"""Every this-many-th lattice row and column is a named secondary road."""
TERTIARY_EVERY = 4
"""Every this-many-th lattice row and column is a tertiary road."""
FOREST_ABOVE_M = 330.0
"""Ground above this height is woodland (the hill tops and the south-eastern ridge)."""
MIN_FOREST_M2 = 50_000.0
"""Smaller patches of high ground are left out of the woods."""

_RIVERSIDE = (
    # region, from (river, fraction), to (river, fraction), Chinese and English name
    (Region.PENINSULA, ("jialing", 0.02), ("jialing", 1.0), "嘉滨路", "Jiabin Road"),
    (Region.PENINSULA, ("yangtze", 0.02), ("jialing", 1.0), "长滨路", "Changbin Road"),
    (Region.NORTH, ("jialing", 0.02), ("yangtze", 0.98), "北滨路", "Beibin Road"),
    (Region.SOUTH, ("yangtze", 0.02), ("yangtze", 0.98), "南滨路", "Nanbin Road"),
)


def road_classes(
    streets: Streets, terrain: Terrain, config: DemoConfig
) -> tuple[ObjectArray, ObjectArray, ObjectArray]:
    """Class, Chinese name and English name of every street segment ('' where unnamed)."""
    kind = streets.segment_kind
    cls = np.array([ROAD_CLASS_OF_KIND[EdgeKind(k)] for k in kind], dtype=object)
    name = np.full(kind.shape[0], "", dtype=object)
    name_en = np.full(kind.shape[0], "", dtype=object)
    street = kind == EdgeKind.STREET
    spacing = config.street_spacing_m
    col = np.floor((streets.node_x_utm - terrain.origin_x_utm) / spacing).astype(np.int64)
    row = np.floor((streets.node_y_utm - terrain.origin_y_utm) / spacing).astype(np.int64)
    tail, head = streets.segment_tail, streets.segment_head
    along_row = row[tail] == row[head]
    line = np.where(along_row, row[tail], col[tail])
    cls[street & (line % TERTIARY_EVERY == TERTIARY_EVERY // 2)] = "tertiary"
    secondary = street & (line % SECONDARY_EVERY == SECONDARY_EVERY // 2)
    cls[secondary] = "secondary"
    for k in np.flatnonzero(secondary):
        number = int(line[k]) // SECONDARY_EVERY
        name[k], name_en[k] = road_name(number, avenue=not bool(along_row[k]))
    for rows, (zh, en) in _riverside_roads(streets, terrain, config):
        cls[rows], name[rows], name_en[rows] = "primary", zh, en
    crossings = np.flatnonzero((kind == EdgeKind.BRIDGE) | (kind == EdgeKind.CABLE_CAR))
    for serial, k in enumerate(crossings):
        name[k], name_en[k] = bridge_name(serial, cable_car=bool(kind[k] == EdgeKind.CABLE_CAR))
    return cls, name, name_en


def _riverside_roads(
    streets: Streets, terrain: Terrain, config: DemoConfig
) -> list[tuple[IntArray, tuple[str, str]]]:
    """Segments of each riverside road: a least-cost route along the bank of its region."""
    x, y, z = streets.node_x_utm, streets.node_y_utm, streets.node_z_m
    tail, head = streets.segment_tail, streets.segment_head
    region = terrain.region(x, y)
    length = np.maximum(streets.segment_length_m, 1.0)
    grade = np.abs(z[head] - z[tail]) / length
    clearance = terrain.river_clearance_m((x[tail] + x[head]) / 2, (y[tail] + y[head]) / 2)
    cost = (
        length * (1.0 + 20.0 * grade) * (1.0 + np.maximum(clearance, 0.0) / config.street_spacing_m)
    )
    rivers = {"yangtze": terrain.yangtze_xy, "jialing": terrain.jialing_xy}
    n = x.shape[0]
    roads = []
    for area, start, end, zh, en in _RIVERSIDE:
        usable = (
            (streets.segment_kind == EdgeKind.STREET)
            & (region[tail] == area)
            & (region[head] == area)
        )
        graph = coo_array((cost[usable], (tail[usable], head[usable])), shape=(n, n)).tocsr()
        _, piece = connected_components(graph, directed=False)
        inside = np.flatnonzero(region == area)
        if inside.shape[0] == 0:
            continue
        main = np.bincount(piece[inside]).argmax()  # streets joined without steps or bridges
        nodes = inside[piece[inside] == main]
        ends = [_nearest(nodes, x, y, _point_along(rivers[r], f)) for r, f in (start, end)]
        _, found = dijkstra(
            graph, directed=False, indices=np.array([ends[0]]), return_predecessors=True
        )
        previous = found[0]
        path = [ends[1]]
        while path[-1] != ends[0] and previous[path[-1]] >= 0:
            path.append(int(previous[path[-1]]))
        if path[-1] != ends[0]:
            continue  # the bank is cut by cliffs: no riverside road there
        a, b = np.array(path[:-1]), np.array(path[1:])
        route = np.minimum(a, b) * n + np.maximum(a, b)
        on_road = usable & np.isin(np.minimum(tail, head) * n + np.maximum(tail, head), route)
        roads.append((np.flatnonzero(on_road), (zh, en)))
    return roads


def _nearest(nodes: IntArray, x: FloatArray, y: FloatArray, point: FloatArray) -> int:
    return int(nodes[np.argmin(np.hypot(x[nodes] - point[0], y[nodes] - point[1]))])


def _point_along(line: FloatArray, fraction: float) -> FloatArray:
    shape = shapely.LineString(line)
    point = shapely.line_interpolate_point(shape, fraction, normalized=True)
    return np.asarray(shapely.get_coordinates(point)[0], dtype=np.float64)


def terrain_grid(terrain: Terrain, *, cell_m: float = TERRAIN_CELL_M) -> HeightGrid:
    """Sample the terrain functions at the centres of a grid over the city's extent."""
    cols = int(np.ceil(terrain.width_m / cell_m))
    rows = int(np.ceil(terrain.height_m / cell_m))
    north = terrain.origin_y_utm + rows * cell_m
    shell = HeightGrid(np.zeros((rows, cols)), terrain.origin_x_utm, north, cell_m, UTM_48N_EPSG)
    xx, yy = shell.cell_centres()
    heights = terrain.height_at(xx.ravel(), yy.ravel()).reshape(rows, cols)
    return HeightGrid(np.round(heights, 2), terrain.origin_x_utm, north, cell_m, UTM_48N_EPSG)


def water_layer(terrain: Terrain) -> gpd.GeoDataFrame:
    """Return the two rivers as polygons (their bands on the terrain), clipped to the city."""
    extent = shapely.box(terrain.origin_x_utm, terrain.origin_y_utm,
                         terrain.origin_x_utm + terrain.width_m,
                         terrain.origin_y_utm + terrain.height_m)  # fmt: skip
    rivers = [
        (terrain.yangtze_xy, terrain.yangtze_half_width_m, "长江", "Yangtze River"),
        (terrain.jialing_xy, terrain.jialing_half_width_m, "嘉陵江", "Jialing River"),
    ]
    shapes = [
        shapely.intersection(shapely.buffer(shapely.LineString(line), half, quad_segs=16), extent)
        for line, half, _, _ in rivers
    ]
    return gpd.GeoDataFrame(
        {"kind": ["river", "river"], "name": [r[2] for r in rivers],
         "name_en": [r[3] for r in rivers]},
        geometry=geometries_to_lonlat(np.asarray(shapes, dtype=object)),
        crs=WGS84_EPSG,
    )  # fmt: skip


def green_layer(
    grid: HeightGrid, parks: pd.DataFrame, park_names: tuple[list[str], list[str]]
) -> gpd.GeoDataFrame:
    """Woods on the high ground and a disk of each park's area around the park facilities.

    ``parks`` has ``x_utm, y_utm`` and ``capacity`` (the park's area in m²).
    """
    woods = [w for w in areas_above(grid, FOREST_ABOVE_M) if w.area >= MIN_FOREST_M2]
    woods.sort(key=lambda w: -w.area)
    radius = np.sqrt(parks["capacity"].to_numpy(np.float64) / np.pi)
    disks = shapely.buffer(shapely.points(parks["x_utm"], parks["y_utm"]), radius, quad_segs=8)
    hills = [hill_name(k) for k in range(len(woods))]
    return gpd.GeoDataFrame(
        {"kind": ["forest"] * len(woods) + ["park"] * len(parks),
         "name": [h[0] for h in hills] + park_names[0],
         "name_en": [h[1] for h in hills] + park_names[1]},
        geometry=geometries_to_lonlat(np.asarray([*woods, *disks], dtype=object)),
        crs=WGS84_EPSG,
    )  # fmt: skip
