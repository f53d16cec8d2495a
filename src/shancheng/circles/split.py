"""Evaluate a large city district by district, each with a buffer, and stitch it back exactly.

A megacity's walk network may not fit one task's memory, and its districts can run on
different workers. A district's residents only ever walk a bounded distance: a path of
``t`` seconds never leaves the disc of radius ``v_max * t`` around its start, where
``v_max`` is the fastest straight-line progress of any arc of the network (Tobler's downhill
best, or a cable car). So a district is evaluated on the part of the city within

    R = v_max * max(cutoff_s, largest counting threshold, 2 * largest 2SFCA catchment)
        + 2 * max_snap_m + 1 m

of its residences and facilities (the convex hull of them, buffered by ``R``): every walk
that decides one of its residents' results lies inside, and so do the facilities and the
2SFCA demand those depend on (the demand of a facility ``t0`` away comes from residences
``t0`` further on: hence twice the catchment); points within ``2 * max_snap_m`` of the edge
of the buffer are snapped as in the whole city (hence the margin).

Inside the buffer the searches settle every node a resident's result depends on with the
same arc times and the same ties (sources are kept in the city's order), and the 2SFCA pairs
are summed in a canonical order (:func:`shancheng.circles.capacity.capacity_access`), so the
stitched per-residence arrays are the whole city's, bit for bit; the tables are then made by
the same :func:`shancheng.circles.evaluate.tabulate_evaluation` a whole-city evaluation uses.
``tests/unit/circles/test_split.py`` checks it file by file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from shancheng.circles.accessibility import (
    DEFAULT_NEAREST_CUTOFF_S,
    THRESHOLDS_MIN,
    Accessibility,
    compute_accessibility,
)
from shancheng.circles.capacity import CapacityAccess, capacity_access
from shancheng.circles.evaluate import city_residences, tabulate_evaluation
from shancheng.data.city import network_from_layers

if TYPE_CHECKING:
    from collections.abc import Sequence

    import geopandas as gpd

    from shancheng.circles.evaluate import Evaluation, ResidenceKind
    from shancheng.circles.standard import Catalogue
    from shancheng.data.city import City
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

MAX_SNAP_M = 200.0
"""How far a point may lie from the network and still be attached (as in accessibility)."""
NO_DISTRICT = ""
"""District key of residences and facilities outside every district."""


@dataclass(frozen=True, eq=False)
class DistrictPart:
    """One district's per-residence results, with the rows they go back to.

    Attributes
    ----------
    district_code
        The district (:data:`NO_DISTRICT` for points outside every district).
    residence_rows, facility_rows
        Rows of the district's own residences and used facilities in the whole city's tables.
    time_s, nearest, count, capacity, attached
        The district's rows of :class:`~shancheng.circles.accessibility.Accessibility`;
        ``nearest`` already holds the whole city's facility rows.
    facility_attached
        Whether each of the district's facilities lies within reach of the network.
    per_1000, adequate
        The district's rows of :class:`~shancheng.circles.capacity.CapacityAccess`.
    capacity_facilities
        Its ``facilities`` rows for the district's facilities, with their whole-city row
        in ``_row``.
    network_nodes, whole_nodes
        Nodes of the district's buffered network and of the whole city's: what the split
        saved.
    """

    district_code: str
    residence_rows: IntArray
    facility_rows: IntArray
    time_s: FloatArray
    nearest: IntArray
    count: npt.NDArray[np.int32]
    capacity: FloatArray
    attached: npt.NDArray[np.bool_]
    facility_attached: npt.NDArray[np.bool_]
    per_1000: FloatArray
    adequate: npt.NDArray[np.bool_]
    capacity_facilities: pd.DataFrame
    network_nodes: int
    whole_nodes: int


def district_keys(city: City, catalogue: Catalogue, residences: ResidenceKind) -> list[str]:
    """Return the districts with residences or facilities, sorted (the split's tasks)."""
    homes = city_residences(city, catalogue, residences)
    codes = set(_district_of(homes)) | set(_district_of(city.facilities))
    return sorted(codes)


def buffer_m(
    city: City,
    catalogue: Catalogue,
    *,
    cutoff_s: float = DEFAULT_NEAREST_CUTOFF_S,
    max_snap_m: float = MAX_SNAP_M,
) -> float:
    """Width of the buffer around a district that makes its results exact, metres.

    ``inf`` when an arc takes no time to cross a positive distance (no bound exists).
    """
    net = city.network
    dx = net.node_x_utm[net.edge_head] - net.node_x_utm[net.edge_tail]
    dy = net.node_y_utm[net.edge_head] - net.node_y_utm[net.edge_tail]
    reach_m = np.hypot(dx, dy)
    time_s = net.edge_time_s
    if np.any((time_s <= 0) & (reach_m > 0)):
        return float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        speeds = np.where(time_s > 0, reach_m / time_s, 0.0)
    v_max = max(float(speeds.max(initial=0.0)), net.speeds.flat_speed_m_s)
    catchments = [
        catalogue.catchment_s(c)
        for c, spec in catalogue.categories.items()
        if spec.capacity_per_1000 is not None and c in catalogue.category_ids
    ]
    longest_s = max(cutoff_s, 60.0 * max(THRESHOLDS_MIN), 2.0 * max(catchments, default=0.0))
    return v_max * longest_s + 2.0 * max_snap_m + 1.0


def evaluate_district(
    city: City,
    catalogue: Catalogue,
    district_code: str,
    *,
    residences: ResidenceKind = "buildings",
    cutoff_s: float = DEFAULT_NEAREST_CUTOFF_S,
    time_step_s: float | None = None,
    threads: int | None = None,
) -> DistrictPart:
    """Evaluate one district's residents on the buffered part of the city around them."""
    homes = city_residences(city, catalogue, residences)
    whole_used = _used_facilities(city.facilities, catalogue)
    own_homes = _district_of(homes) == district_code
    own_facilities = _district_of(whole_used) == district_code
    radius = buffer_m(city, catalogue, cutoff_s=cutoff_s)
    core = np.concatenate([
        np.column_stack([homes["x_utm"], homes["y_utm"]])[own_homes],
        np.column_stack([whole_used["x_utm"], whole_used["y_utm"]])[own_facilities],
    ])  # fmt: skip
    region: shapely.Geometry = (
        shapely.MultiPoint(core).convex_hull.buffer(radius)
        if np.isfinite(radius)
        else _everything(city)  # no speed bound: every district needs the whole city
    )
    nodes, segments = _sub_network(city, region)
    network = network_from_layers(nodes, segments, source=f"district {district_code!r}",
                                  crs_epsg=city.network.crs_epsg)  # fmt: skip
    inside_homes = shapely.contains_xy(region, homes["x_utm"], homes["y_utm"])
    inside_facilities = shapely.contains_xy(region, city.facilities["x_utm"],
                                            city.facilities["y_utm"])  # fmt: skip
    part_homes = homes[inside_homes].reset_index(drop=True)
    acc = compute_accessibility(
        network, part_homes, city.facilities[inside_facilities].reset_index(drop=True),
        catalogue, cutoff_s=cutoff_s, time_step_s=time_step_s, threads=threads,
    )  # fmt: skip
    cap = capacity_access(acc, catalogue, threads=threads)
    whole_row = pd.Index(whole_used["facility_id"].astype(str)).get_indexer(
        acc.facilities["facility_id"].astype(str)
    )
    mine = own_homes[inside_homes]
    mine_facilities = own_facilities[whole_row]
    nearest = acc.nearest[mine]
    nearest = np.where(nearest >= 0, whole_row[np.maximum(nearest, 0)], -1)
    table = cap.facilities
    if len(table):
        by_id = pd.Series(whole_row, index=acc.facilities["facility_id"].astype(str))
        rows = by_id.loc[table["facility_id"].astype(str)].to_numpy()
        table = table.assign(_row=rows)[own_facilities[rows]]
    logger.info("district %r: %d of %d residences on %d of %d nodes", district_code,
                int(mine.sum()), len(homes), network.n_nodes, city.network.n_nodes)  # fmt: skip
    return DistrictPart(
        district_code=district_code,
        residence_rows=np.flatnonzero(own_homes),
        facility_rows=whole_row[mine_facilities],
        time_s=acc.time_s[mine],
        nearest=nearest,
        count=acc.count[mine],
        capacity=acc.capacity[mine],
        attached=acc.attached[mine],
        facility_attached=acc.facility_node[mine_facilities] >= 0,
        per_1000=cap.per_1000[mine],
        adequate=cap.adequate[mine],
        capacity_facilities=table,
        network_nodes=network.n_nodes,
        whole_nodes=city.network.n_nodes,
    )


def stitch_districts(
    city: City,
    catalogue: Catalogue,
    parts: Sequence[DistrictPart],
    *,
    residences: ResidenceKind = "buildings",
    cutoff_s: float = DEFAULT_NEAREST_CUTOFF_S,
) -> Evaluation:
    """Put the districts' rows back in the city's order and make the tables of the whole.

    Raises
    ------
    ValueError
        A residence or facility is covered by no part, or by two.
    """
    homes = city_residences(city, catalogue, residences)
    used = _used_facilities(city.facilities, catalogue)
    res_rows = np.concatenate([p.residence_rows for p in parts])
    fac_rows = np.concatenate([p.facility_rows for p in parts])
    for rows, total, what in ((res_rows, len(homes), "residences"),
                              (fac_rows, len(used), "facilities")):  # fmt: skip
        if not np.array_equal(np.sort(rows), np.arange(total)):
            msg = f"the district parts do not cover each of the city's {total} {what} once"
            raise ValueError(msg)
    order = np.argsort(res_rows, kind="stable")
    fac_order = np.argsort(fac_rows, kind="stable")
    categories = catalogue.category_ids
    group = {c: i for i, c in enumerate(categories)}
    facility_attached = np.concatenate([p.facility_attached for p in parts])[fac_order]
    acc = Accessibility(
        residences=homes,
        facilities=used,
        categories=categories,
        time_s=_rows(parts, "time_s", order),
        nearest=_rows(parts, "nearest", order),
        thresholds_s=np.asarray(sorted(t * 60.0 for t in THRESHOLDS_MIN), dtype=np.float64),
        count=_rows(parts, "count", order),
        capacity=_rows(parts, "capacity", order),
        attached=_rows(parts, "attached", order),
        cutoff_s=float(cutoff_s),
        graph=None,
        residence_node=np.where(_rows(parts, "attached", order), 0, -1),
        facility_node=np.where(facility_attached, 0, -1),
        facility_group=np.array([group[c] for c in used["category"]], dtype=np.int64),
    )
    norms = tuple(c for c in categories if catalogue.categories[c].capacity_per_1000 is not None)
    frames = [p.capacity_facilities for p in parts if len(p.capacity_facilities)]
    table = pd.DataFrame()
    if frames:
        table = pd.concat(frames, ignore_index=True)
        rank = table["category"].map({c: k for k, c in enumerate(norms)})
        table = table.assign(_rank=rank).sort_values(["_rank", "_row"], kind="stable")
        table = table.drop(columns=["_rank", "_row"]).reset_index(drop=True)
    capacity = CapacityAccess(
        categories=norms,
        per_1000=_rows(parts, "per_1000", order),
        adequate=_rows(parts, "adequate", order),
        facilities=table,
    )
    return tabulate_evaluation(city, catalogue, acc, capacity)


def _rows(parts: Sequence[DistrictPart], name: str, order: IntArray) -> npt.NDArray[Any]:
    """One per-residence array of every part, back in the city's residence order."""
    arrays: list[npt.NDArray[Any]] = [getattr(p, name) for p in parts]
    return np.concatenate(arrays)[order]


def _district_of(frame: pd.DataFrame) -> npt.NDArray[np.str_]:
    """Each row's district code as text, :data:`NO_DISTRICT` where it has none."""
    if "district_code" not in frame.columns:
        return np.full(len(frame), NO_DISTRICT)
    codes = frame["district_code"]
    return np.where(codes.isna(), NO_DISTRICT, codes.astype(str)).astype(str)


def _used_facilities(facilities: gpd.GeoDataFrame, catalogue: Catalogue) -> gpd.GeoDataFrame:
    """Return the facilities an evaluation uses: those of catalogue categories, in order."""
    known = facilities["category"].isin(catalogue.category_ids).to_numpy()
    return facilities[known].reset_index(drop=True)


def _everything(city: City) -> shapely.Geometry:
    """Return a box around every node, building and facility of the city, with a margin."""
    xs = np.concatenate([city.walk_nodes["x_utm"], city.buildings["x_utm"],
                         city.facilities["x_utm"]]).astype(np.float64)  # fmt: skip
    ys = np.concatenate([city.walk_nodes["y_utm"], city.buildings["y_utm"],
                         city.facilities["y_utm"]]).astype(np.float64)  # fmt: skip
    margin = 1000.0
    box: shapely.Geometry = shapely.box(
        xs.min() - margin, ys.min() - margin, xs.max() + margin, ys.max() + margin
    )
    return box


def _sub_network(city: City, region: shapely.Geometry) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Walk nodes and segments of every segment whose straight line meets ``region``."""
    nodes = city.walk_nodes
    segments = city.walk_segments
    x = nodes["x_utm"].to_numpy(np.float64)
    y = nodes["y_utm"].to_numpy(np.float64)
    tail = segments["tail"].to_numpy(np.int64)
    head = segments["head"].to_numpy(np.int64)
    lines = shapely.linestrings(
        np.stack([np.column_stack([x[tail], y[tail]]), np.column_stack([x[head], y[head]])],
                 axis=1)
    )  # fmt: skip
    keep = shapely.intersects(lines, region)
    chosen = np.zeros(len(nodes), dtype=bool)
    chosen[tail[keep]] = True
    chosen[head[keep]] = True
    new_id = np.cumsum(chosen) - 1
    sub_nodes = nodes[chosen].reset_index(drop=True)
    sub_nodes["node_id"] = np.arange(len(sub_nodes))
    sub_segments = segments[keep].reset_index(drop=True)
    sub_segments["tail"] = new_id[tail[keep]]
    sub_segments["head"] = new_id[head[keep]]
    return sub_nodes, sub_segments
