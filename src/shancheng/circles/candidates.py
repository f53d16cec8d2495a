"""Candidate sites for new facilities: read from a file, or generated from the network.

A planner usually has a list (vacant parcels, buildings the district can convert): read it
from GeoJSON or CSV with :func:`read_candidates`. Without one, :func:`grid_candidates` proposes
one street node per unit-grid cell with residents — the node nearest the cell's population
centre — leaving out:

* water: nodes reached only by bridges, ferries, cable cars, lifts or escalators (the middle
  of a river crossing is no building plot);
* steep ground: cells whose terrain slope, from the grid's ground heights by central
  differences, exceeds ``max_slope`` (default 25 %, the usual limit of building land in
  Chinese vertical-planning practice, CJJ 83 — *unverified* here, configurable).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from shancheng.errors import InputError, MissingColumnError
from shancheng.geo.crs import WGS84_EPSG, lonlat_to_utm, utm_to_lonlat
from shancheng.network.speed import EdgeKind

if TYPE_CHECKING:
    from shancheng.data.city import City
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray

logger = logging.getLogger(__name__)

DEFAULT_MAX_SLOPE = 0.25
"""Steepest ground (rise over run) a candidate cell may have."""
_NOT_GROUND = (EdgeKind.BRIDGE, EdgeKind.FERRY, EdgeKind.CABLE_CAR, EdgeKind.ELEVATOR,
               EdgeKind.ESCALATOR, EdgeKind.TUNNEL)  # fmt: skip


def candidate_frame(
    ids: npt.ArrayLike, x_utm: npt.ArrayLike, y_utm: npt.ArrayLike, *, epsg: int, **extra: object
) -> gpd.GeoDataFrame:
    """Candidates as a GeoDataFrame: ``candidate_id, x_utm, y_utm`` and WGS84 points."""
    x = np.asarray(x_utm, dtype=np.float64)
    y = np.asarray(y_utm, dtype=np.float64)
    lon, lat = utm_to_lonlat(x, y, epsg=epsg)
    frame = pd.DataFrame({"candidate_id": np.asarray(ids).astype(str), "x_utm": x, "y_utm": y,
                          **extra})  # fmt: skip
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=WGS84_EPSG)


def lonlat_candidates(rows: list[dict[str, object]], *, epsg: int) -> gpd.GeoDataFrame:
    """Candidates from rows of ``candidate_id, lon, lat`` (WGS84) and any other columns.

    What other pillars hand to planning as data: the sites residents proposed in a campaign
    and officials accepted (``shancheng.ideas``), with their facility ``category``.
    """
    if not rows:
        return candidate_frame([], [], [], epsg=epsg)
    table = pd.DataFrame(rows)
    for column in ("candidate_id", "lon", "lat"):
        if column not in table.columns:
            msg = f"candidate rows: required column `{column}` is missing"
            raise MissingColumnError(msg)
    x, y = lonlat_to_utm(
        table["lon"].to_numpy(np.float64), table["lat"].to_numpy(np.float64), epsg=epsg
    )
    extra = {
        c: table[c].to_numpy() for c in table.columns if c not in {"candidate_id", "lon", "lat"}
    }
    return candidate_frame(table["candidate_id"].to_numpy(), x, y, epsg=epsg, **extra)


def read_candidates(path: str | Path, *, epsg: int) -> gpd.GeoDataFrame:
    """Read candidate sites from GeoJSON/GeoPackage (points) or CSV.

    CSV needs ``candidate_id`` and either ``lon, lat`` (WGS84) or ``x_utm, y_utm``; vector
    files need point geometries with a CRS, and an optional ``candidate_id`` (default: row).
    An optional ``capacity`` column is kept (places a new facility there would offer).

    Raises
    ------
    InputError
        Unreadable file, missing columns, non-point geometry or a non-finite coordinate;
        the message names the file, row and value.
    """
    source = Path(path)
    if not source.is_file():
        msg = f"candidates: {source} does not exist"
        raise InputError(msg)
    if source.suffix.lower() == ".csv":
        table = pd.read_csv(source)
        if "candidate_id" not in table.columns:
            msg = f"{source}: required column `candidate_id` is missing"
            raise MissingColumnError(msg)
        if {"lon", "lat"} <= set(table.columns):
            lon = _finite(table, "lon", source)
            lat = _finite(table, "lat", source)
            x, y = lonlat_to_utm(lon, lat, epsg=epsg)
        elif {"x_utm", "y_utm"} <= set(table.columns):
            x, y = _finite(table, "x_utm", source), _finite(table, "y_utm", source)
        else:
            msg = f"{source}: give `lon, lat` (WGS84) or `x_utm, y_utm` columns"
            raise MissingColumnError(msg)
        ids = table["candidate_id"].to_numpy()
    else:
        try:
            frame = gpd.read_file(source)
        except Exception as exc:
            msg = f"candidates: cannot read {source}: {exc}"
            raise InputError(msg) from exc
        if frame.crs is None:
            msg = f"{source}: the file declares no CRS; save it with one (e.g. EPSG:4326)"
            raise InputError(msg)
        kinds = frame.geometry.geom_type
        bad = np.flatnonzero((kinds != "Point").to_numpy())
        if bad.shape[0]:
            msg = f"{source} row {int(bad[0])}: geometry must be a Point, got {kinds.iloc[bad[0]]}"
            raise InputError(msg)
        projected = frame.to_crs(epsg)
        x, y = projected.geometry.x.to_numpy(), projected.geometry.y.to_numpy()
        table = pd.DataFrame(frame.drop(columns="geometry"))
        ids = (
            table["candidate_id"].to_numpy()
            if "candidate_id" in table.columns
            else np.arange(len(frame))
        )
    extra = {"capacity": _finite(table, "capacity", source)} if "capacity" in table.columns else {}
    return candidate_frame(ids, x, y, epsg=epsg, **extra)


def grid_candidates(
    city: City,
    *,
    max_slope: float = DEFAULT_MAX_SLOPE,
) -> gpd.GeoDataFrame:
    """One candidate per unit-grid cell with residents: its street node nearest the people.

    Parameters
    ----------
    city
        The City (grid cells with ground heights, buildings with people, walk network).
    max_slope
        Cells steeper than this (rise over run) get no candidate.

    Returns
    -------
    geopandas.GeoDataFrame
        ``candidate_id`` (``cell-<id>``), ``x_utm, y_utm, node, cell_id, slope``.
    """
    network = city.network
    people = city.buildings[city.buildings["population"] > 0]
    if people.empty:
        return candidate_frame([], [], [], epsg=network.crs_epsg)
    weights = people["population"].to_numpy(np.float64)
    centre = (
        pd.DataFrame({"cell_id": people["cell_id"].to_numpy(),
                      "wx": people["x_utm"].to_numpy(np.float64) * weights,
                      "wy": people["y_utm"].to_numpy(np.float64) * weights, "w": weights})
        .groupby("cell_id").sum()
    )  # fmt: skip
    slope = cell_slope(city)
    grid = city.grid
    ground = ground_nodes(network)
    nodes = np.flatnonzero(ground)
    col = np.floor((network.node_x_utm[nodes] - grid.origin_x_utm) / grid.cell_size_m)
    row = np.floor((network.node_y_utm[nodes] - grid.origin_y_utm) / grid.cell_size_m)
    cell = grid.cell_id(row.astype(np.int64), col.astype(np.int64))
    table = pd.DataFrame({"node": nodes, "cell_id": cell})
    table = table[table["cell_id"].isin(centre.index)]
    table = table.join(centre, on="cell_id")
    table["slope"] = table["cell_id"].map(slope).fillna(0.0)
    steep = table["slope"] > max_slope
    table = table[~steep]
    cx = table["wx"] / table["w"]
    cy = table["wy"] / table["w"]
    node = table["node"].to_numpy()
    table["d2"] = (network.node_x_utm[node] - cx) ** 2 + (network.node_y_utm[node] - cy) ** 2
    best = table.sort_values(["cell_id", "d2", "node"]).groupby("cell_id").head(1)
    node = best["node"].to_numpy(np.int64)
    logger.info(
        "candidates: %d cells with residents, %d with a street node; %d nodes on steep ground "
        "(> %.0f %%) left out",
        len(centre), len(best), int(steep.sum()), 100 * max_slope,
    )  # fmt: skip
    return candidate_frame(
        [f"cell-{c}" for c in best["cell_id"]],
        network.node_x_utm[node],
        network.node_y_utm[node],
        epsg=network.crs_epsg,
        node=node,
        cell_id=best["cell_id"].to_numpy(),
        slope=best["slope"].to_numpy(np.float64),
    )


def ground_nodes(network: WalkNetwork) -> npt.NDArray[np.bool_]:
    """Nodes touched by at least one arc on the ground (street, footway, path, steps...)."""
    on_ground = ~np.isin(network.edge_kind, np.asarray(_NOT_GROUND, dtype=np.uint8))
    flags = np.zeros(network.n_nodes, dtype=bool)
    flags[network.edge_tail[on_ground]] = True
    flags[network.edge_head[on_ground]] = True
    return flags


def cell_slope(city: City) -> pd.Series:
    """Terrain slope (rise over run) of each grid cell, from neighbours' ground heights.

    Central differences where both neighbours along an axis exist, one-sided where only one
    does; along an axis with no neighbour (a lone cell between rivers) the slope counts as 0.
    """
    cells = city.grid_cells
    grid = city.grid
    z = np.full((grid.n_rows, grid.n_cols), np.nan)
    rows = cells["row"].to_numpy(np.int64)
    cols = cells["col"].to_numpy(np.int64)
    z[rows, cols] = cells["z_m"].to_numpy(np.float64)
    gx = _derivative(z, grid.cell_size_m, axis=1)
    gy = _derivative(z, grid.cell_size_m, axis=0)
    slope = np.hypot(gx, gy)[rows, cols]
    return pd.Series(np.nan_to_num(slope), index=cells["cell_id"].to_numpy())


def _derivative(z: FloatArray, step_m: float, *, axis: int) -> FloatArray:
    """Central difference where both neighbours exist, one-sided where one does, else 0."""
    padded = np.pad(z, [(1, 1) if a == axis else (0, 0) for a in range(2)],
                    constant_values=np.nan)  # fmt: skip
    n = z.shape[axis]
    before = np.take(padded, range(n), axis=axis)
    after = np.take(padded, range(2, n + 2), axis=axis)
    has_b, has_a = np.isfinite(before), np.isfinite(after)
    with np.errstate(invalid="ignore"):
        central = (after - before) / (2 * step_m)
        forward = (after - z) / step_m
        backward = (z - before) / step_m
    out = np.where(has_a & has_b, central, np.where(has_a, forward, np.where(has_b, backward, 0.0)))
    return np.asarray(out, dtype=np.float64)


def _finite(table: pd.DataFrame, column: str, source: Path) -> FloatArray:
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.shape[0]:
        row = int(bad[0])
        value = table[column].iloc[row]
        msg = f"{source} row {row}: field `{column}` must be a finite number, got {value!r}"
        raise InputError(msg)
    return values
