"""Monitoring coverage: how much of the pipe length under dense districts a sensor watches.

A grid cell is *dense* when its residents per km² reach ``threshold_per_km2``; a pipe lies in
the cell of its midpoint. A sensor *watches* every pipe of its own valve segment (a pressure
drop or gas in the well shows there first) and every pipe with an end within ``radius_m`` of
it along the network (one multi-source Dijkstra, ``scipy.sparse.csgraph``). Coverage is the
watched share of the dense pipe length, in total and by district and street.

:func:`place_sensors` then adds sensors at pipe-end nodes until every dense pipe is watched,
with the fewest sensors: an exact set cover (HiGHS through
:func:`shancheng.circles.siting.set_cover`, within a time limit), with the lazy greedy (take
the node that watches the most still-unwatched length) as its fallback and upper bound.
Greedy alone is only within a factor ``1 + ln(n)`` of the fewest sensors.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy.sparse import coo_array, csr_array
from scipy.sparse.csgraph import dijkstra

from shancheng.circles.siting import set_cover
from shancheng.errors import ConfigError
from shancheng.lifelines.segments import Segmentation, segment_network

if TYPE_CHECKING:
    from shancheng.data.city import City
    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.lifelines.sensors import Sensor
    from shancheng.types import BoolArray, FloatArray, IntArray

logger = logging.getLogger(__name__)


DEFAULT_DENSITY_PER_KM2 = 10_000.0
"""Residents per km² from which a grid cell counts as densely populated."""
DEFAULT_RADIUS_M = 200.0
"""Network distance within which a sensor watches a pipe outside its own segment."""
_CHUNK = 256


@dataclass(frozen=True, eq=False)
class Coverage:
    """Monitoring coverage of one network.

    Attributes
    ----------
    dense_length_m, watched_length_m
        Pipe length in dense cells, and the part of it a sensor watches.
    share
        ``watched_length_m / dense_length_m`` (1.0 when there is no dense pipe).
    by_district, by_street
        ``code, name, dense_length_m, watched_length_m, share`` per unit.
    dense, watched
        Per link: in a dense cell; watched by a sensor.
    """

    dense_length_m: float
    watched_length_m: float
    share: float
    by_district: pd.DataFrame
    by_street: pd.DataFrame
    dense: BoolArray
    watched: BoolArray


def _pipe_graph(net: PipeNetwork) -> csr_array:
    """Undirected node graph weighted by link length (valves and zero lengths count 0.01 m)."""
    length = np.maximum(np.nan_to_num(net.links["length_m"].to_numpy(dtype=np.float64)), 0.01)
    n = net.n_nodes
    low, high = np.minimum(net.tail, net.head), np.maximum(net.tail, net.head)
    order = np.lexsort((length, high, low))  # parallel links: keep the shortest
    low, high, length = low[order], high[order], length[order]
    first = np.ones(low.shape[0], dtype=bool)
    first[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
    graph = coo_array((length[first], (low[first], high[first])), shape=(n, n))
    return csr_array(graph.tocsr())  # searched with directed=False


def _limit(radius_m: float) -> float:
    """Dijkstra's ``limit`` that keeps nodes at exactly ``radius_m`` (scipy drops them)."""
    return radius_m * (1 + 1e-9) + 1e-9


def _link_cells(net: PipeNetwork, city: City) -> tuple[IntArray, pd.DataFrame]:
    """Row in ``city.grid_cells`` of each link's midpoint (-1 outside), and that table."""
    x = net.nodes["x"].to_numpy(dtype=np.float64)
    y = net.nodes["y"].to_numpy(dtype=np.float64)
    mx, my = (x[net.tail] + x[net.head]) / 2, (y[net.tail] + y[net.head]) / 2
    cells = pd.DataFrame(city.grid_cells.drop(columns="geometry"))
    cell_ids = city.grid.cell_of(mx, my)
    row_of = pd.Series(np.arange(len(cells)), index=cells["cell_id"].to_numpy())
    rows = row_of.reindex(cell_ids).fillna(-1).to_numpy(dtype=np.int64)
    return rows, cells


def cell_density(city: City) -> FloatArray:
    """Residents per km² of each row of ``city.grid_cells``."""
    people = city.buildings.groupby("cell_id")["population"].sum()
    per_cell = people.reindex(city.grid_cells["cell_id"]).fillna(0.0).to_numpy(dtype=np.float64)
    area_km2 = city.grid.cell_size_m**2 / 1e6
    density: FloatArray = per_cell / area_km2
    return density


def watched_links(
    net: PipeNetwork,
    seg: Segmentation,
    sensor_nodes: IntArray,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
) -> BoolArray:
    """Links a sensor at any of ``sensor_nodes`` (row indices) watches."""
    watched = np.zeros(net.n_links, dtype=bool)
    if sensor_nodes.shape[0] == 0:
        return watched
    distance = dijkstra(
        _pipe_graph(net), directed=False, indices=np.unique(sensor_nodes), limit=_limit(radius_m),
        min_only=True,
    )  # fmt: skip
    near = np.minimum(distance[net.tail], distance[net.head]) <= radius_m
    segments = np.zeros(seg.n_segments, dtype=bool)
    segments[seg.node_segment[sensor_nodes]] = True
    return watched | near | segments[seg.link_segment]


def sensor_nodes_of(net: PipeNetwork, sensors: list[Sensor]) -> IntArray:
    """Row index of the node each sensor sits on (a link sensor: the link's from-node)."""
    node_row = pd.Series(np.arange(net.n_nodes), index=net.nodes["node_id"].to_numpy())
    link_tail = pd.Series(net.tail, index=net.links["link_id"].to_numpy())
    rows = []
    for sensor in sensors:
        lookup = link_tail if sensor.element_kind == "link" else node_row
        if sensor.element_id in lookup.index:
            rows.append(int(lookup[sensor.element_id]))
    return np.asarray(rows, dtype=np.int64)


def compute_coverage(
    city: City,
    net: PipeNetwork,
    sensors: list[Sensor],
    *,
    threshold_per_km2: float = DEFAULT_DENSITY_PER_KM2,
    radius_m: float = DEFAULT_RADIUS_M,
    seg: Segmentation | None = None,
) -> Coverage:
    """Share of the dense pipe length of ``net`` that ``sensors`` watch, by district and street.

    Raises
    ------
    ConfigError
        ``threshold_per_km2`` or ``radius_m`` is negative.
    """
    if threshold_per_km2 < 0 or radius_m < 0:
        msg = f"threshold_per_km2 and radius_m must be >= 0, got {threshold_per_km2} and {radius_m}"
        raise ConfigError(msg)
    seg = seg or segment_network(net)
    rows, cells = _link_cells(net, city)
    density = cell_density(city)
    is_pipe = net.links["kind"].to_numpy() == "pipe"
    dense = is_pipe & (rows >= 0) & (density[np.maximum(rows, 0)] >= threshold_per_km2)
    own = [s for s in sensors if s.network == net.network]
    watched = watched_links(net, seg, sensor_nodes_of(net, own), radius_m=radius_m) & dense
    length = np.nan_to_num(net.links["length_m"].to_numpy(dtype=np.float64))
    frame = pd.DataFrame(
        {
            "district": cells["district_code"].to_numpy()[np.maximum(rows, 0)],
            "street": cells["street_code"].to_numpy()[np.maximum(rows, 0)],
            "dense_length_m": np.where(dense, length, 0.0),
            "watched_length_m": np.where(watched, length, 0.0),
        }
    )[dense]
    names = city.admin_units.set_index("code")["name"]
    by = {level: _summarise(frame, level, names) for level in ("district", "street")}
    total, seen = float(frame["dense_length_m"].sum()), float(frame["watched_length_m"].sum())
    share = seen / total if total > 0 else 1.0
    return Coverage(total, seen, share, by["district"], by["street"], dense, watched)


def _summarise(frame: pd.DataFrame, level: str, names: pd.Series) -> pd.DataFrame:
    table = frame.groupby(level)[["dense_length_m", "watched_length_m"]].sum().reset_index()
    table = table.rename(columns={level: "code"})
    table.insert(1, "name", names.reindex(table["code"]).fillna("").to_numpy())
    table["share"] = table["watched_length_m"] / table["dense_length_m"]
    return table.sort_values("share", kind="stable").reset_index(drop=True)


def place_sensors(
    net: PipeNetwork,
    target: BoolArray,
    watched: BoolArray,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    seg: Segmentation | None = None,
    method: Literal["auto", "exact", "greedy"] = "auto",
    time_limit_s: float = 30.0,
) -> pd.DataFrame:
    """Choose the fewest sensor sites that watch every ``target`` link.

    Candidates are the nodes at the ends of the links still to watch (junctions, valve wells,
    stations), so every target link can be reached and the placement always ends at 100 %.

    Parameters
    ----------
    net
        The network.
    target
        Links that must be watched (e.g. :attr:`Coverage.dense`).
    watched
        Links already watched (:attr:`Coverage.watched`).
    method
        ``"auto"``: exact set cover (HiGHS) within ``time_limit_s``, else the better of its
        incumbent and the greedy; ``"exact"``: HiGHS's answer even when time ran out;
        ``"greedy"``: the lazy greedy only.
    time_limit_s
        HiGHS's time limit (s).

    Returns
    -------
    pandas.DataFrame
        One row per new sensor, the largest gain first: ``node_id, gain_m, covered_m, share``
        (cumulative share of the target length watched after adding it). ``attrs`` holds
        ``method`` (``exact``, ``exact-time-limit`` or ``greedy``), ``greedy_sensors`` (the
        greedy's count, an upper bound) and ``lower_bound`` (a proven lower bound on the
        fewest sensors).
    """
    seg = seg or segment_network(net)
    length = np.nan_to_num(net.links["length_m"].to_numpy(dtype=np.float64))
    need = target & ~watched
    touching = np.zeros(net.n_nodes, dtype=bool)
    touching[net.tail[need]] = True
    touching[net.head[need]] = True
    candidates = np.flatnonzero(touching)
    cover = _cover_matrix(net, seg, candidates, radius_m, need)
    weight = np.where(need, np.maximum(length, 1e-6), 0.0)
    greedy = _greedy_rows(cover, weight)
    rows, used, lower = greedy, "greedy", 0.0
    if method != "greedy" and need.any():
        columns = np.flatnonzero(need)
        result = set_cover(
            csr_array(cover[:, columns]), weight[columns], float(weight[columns].sum()),
            method="exact" if method == "exact" else "auto", time_limit_s=time_limit_s,
        )  # fmt: skip
        lower = result.bound
        if method == "exact" or result.sites.shape[0] <= len(greedy):
            rows, used = [int(i) for i in result.sites], result.method
    placed = _table(net, cover, candidates, rows, target, watched, length)
    placed.attrs.update(method=used, greedy_sensors=len(greedy), lower_bound=lower)
    logger.info(
        "placement: %d sensors (%s), greedy %d, lower bound %g", len(rows), used, len(greedy), lower
    )
    return placed


def _greedy_rows(cover: csr_array, weight: FloatArray) -> list[int]:
    """Lazy greedy: rows of ``cover`` in order of choice until all ``weight`` is watched."""
    remaining = weight.copy()
    gains = cover @ remaining
    heap = [(-float(g), int(i)) for i, g in enumerate(gains) if g > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and remaining.any():
        _, i = heapq.heappop(heap)
        row = cover.indices[cover.indptr[i] : cover.indptr[i + 1]]
        gain = float(remaining[row].sum())
        if gain <= 0:
            continue
        if heap and gain < -heap[0][0] - 1e-9:
            heapq.heappush(heap, (-gain, i))
            continue
        remaining[row] = 0.0
        chosen.append(i)
    return chosen


def _table(
    net: PipeNetwork,
    cover: csr_array,
    candidates: IntArray,
    rows: list[int],
    target: BoolArray,
    watched: BoolArray,
    length: FloatArray,
) -> pd.DataFrame:
    """Order the chosen rows by gain (greedily among themselves) and add up the share."""
    remaining = np.where(target & ~watched, np.maximum(length, 1e-6), 0.0)
    total = float(length[target].sum())
    covered = float(length[target & watched].sum())
    node_ids = net.nodes["node_id"].to_numpy()
    left = list(rows)
    out: list[tuple[str, float, float, float]] = []
    while left:
        gains = [float(remaining[cover.indices[cover.indptr[i] : cover.indptr[i + 1]]].sum())
                 for i in left]  # fmt: skip
        k = int(np.argmax(gains))
        i = left.pop(k)
        hit = cover.indices[cover.indptr[i] : cover.indptr[i + 1]]
        gain = float(length[hit][remaining[hit] > 0].sum())
        remaining[hit] = 0.0
        covered += gain
        share = covered / total if total > 0 else 1.0
        out.append((str(node_ids[candidates[i]]), gain, covered, min(share, 1.0)))
    return pd.DataFrame(out, columns=["node_id", "gain_m", "covered_m", "share"])


def _cover_matrix(
    net: PipeNetwork, seg: Segmentation, candidates: IntArray, radius_m: float, need: BoolArray
) -> csr_array:
    """Candidates x links: 1 where a sensor at the candidate would watch a needed link."""
    graph = _pipe_graph(net)
    needed_links = np.flatnonzero(need)
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    for start in range(0, candidates.shape[0], _CHUNK):
        chunk = candidates[start : start + _CHUNK]
        distance = dijkstra(graph, directed=False, indices=chunk, limit=_limit(radius_m))
        near = np.minimum(distance[:, net.tail[needed_links]], distance[:, net.head[needed_links]])
        same = seg.node_segment[chunk][:, None] == seg.link_segment[needed_links][None, :]
        r, c = np.nonzero((near <= radius_m) | same)
        rows.append(r + start)
        cols.append(needed_links[c])
    r_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c_all = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    data = np.ones(r_all.shape[0], dtype=np.float64)
    shape = (candidates.shape[0], net.n_links)
    return csr_array(coo_array((data, (r_all, c_all)), shape=shape).tocsr())
