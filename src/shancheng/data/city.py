"""The City format: every layer an analysis needs, the same whether demo or real data.

On disk a City is a directory of GeoParquet files, one per layer, with geometry in WGS84
(EPSG:4326) and projected ``x_utm``/``y_utm`` columns where points matter, plus a
``manifest.json`` holding the format version, name, origin (seed and config for the demo), CRS,
per-layer row counts and sha256, and summary totals. :func:`write_city` never leaves a
half-written City: it writes a temporary sibling directory and renames it into place.
:func:`read_city` checks every layer and column and names the file at fault.

Format version 2 adds the base map's layers, all optional (a version 1 City reads as one
without them): ``water`` and ``green`` polygons (:data:`OPTIONAL_LAYERS`), the terrain as a
GeoTIFF height grid (``terrain.tif``, :mod:`shancheng.data.relief`) and, on
``walk_segments``, the columns ``road_class`` (one of :data:`ROAD_CLASSES`), ``name`` and
``name_en``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from shancheng.data.relief import read_height_grid, write_height_grid
from shancheng.data.staged import staged_directory
from shancheng.errors import CityFormatError, CRSMismatchError, MissingColumnError
from shancheng.geo.crs import UTM_48N_EPSG, WGS84_EPSG
from shancheng.geo.grid import UnitGrid
from shancheng.network.speed import EdgeKind
from shancheng.network.walk import WalkNetwork, build_walk_network

if TYPE_CHECKING:
    import pandas as pd

    from shancheng.geo.relief import HeightGrid

logger = logging.getLogger(__name__)

FORMAT_NAME = "shancheng-city"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Format versions :func:`read_city` reads (version 1 has no base map layers)."""
MANIFEST = "manifest.json"
TERRAIN_FILE = "terrain.tif"
AGE_GROUPS = ("age_0_2", "age_3_5", "age_6_11", "age_12_14", "age_15_59", "age_60_plus")
"""Age-group columns of ``buildings``: nursery, kindergarten, primary, middle, working, seniors."""

_UNIT_CODES = ("cell_id", "community_code", "street_code", "district_code")
_NODE_COLUMNS = ("node_id", "kind", "x_utm", "y_utm", "z_m", "building_id", "population")
_LINK_COLUMNS = ("link_id", "kind", "from_node", "to_node", "length_m", "diameter_mm",
                 "material", "install_year", "status")  # fmt: skip
LAYERS: dict[str, tuple[str, ...]] = {
    "admin_units": ("code", "name", "name_en", "level", "parent_code"),
    "grid_cells": ("cell_id", "row", "col", "x_utm", "y_utm", "z_m", *_UNIT_CODES[1:]),
    "walk_nodes": ("node_id", "x_utm", "y_utm", "z_m"),
    "walk_segments": ("segment_id", "tail", "head", "length_m", "kind", "oneway",
                      "fixed_time_s"),
    "buildings": ("building_id", "x_utm", "y_utm", "z_m", "footprint_m2", "levels",
                  "population", *AGE_GROUPS, *_UNIT_CODES),
    "facilities": ("facility_id", "category", "name", "capacity", "capacity_unit", "x_utm",
                   "y_utm", *_UNIT_CODES),
    "water_nodes": _NODE_COLUMNS,
    "water_links": _LINK_COLUMNS,
    "gas_nodes": _NODE_COLUMNS,
    "gas_links": _LINK_COLUMNS,
    "sensors": ("sensor_id", "network", "kind", "unit", "range_min", "range_max",
                "element_kind", "element_id", "x_utm", "y_utm"),
}  # fmt: skip
"""Every layer of a City and its required columns (besides ``geometry``)."""
OPTIONAL_LAYERS: dict[str, tuple[str, ...]] = {
    "water": ("kind", "name", "name_en"),
    "green": ("kind", "name", "name_en"),
    "turn_restrictions": ("from_segment", "via_node", "to_segment", "restriction"),
}
"""Optional layers (format 2). The base map's polygons: ``water`` of kind ``river``, ``lake``
or ``water``; ``green`` of kind ``park``, ``forest`` or ``grass``; names in the local language
and in English (empty where unknown). ``turn_restrictions``: OSM's ``type=restriction``
relations on the walk segments (``restriction`` = ``no_*`` / ``only_*``; the geometry is the
via node), read by the drive network."""
ROAD_CLASSES = ("primary", "secondary", "tertiary", "residential", "service", "footway", "path",
                "steps", "lift", "cable_car", "ferry")  # fmt: skip
"""Values of the optional ``walk_segments.road_class``, main roads first: ``lift`` covers
lifts and escalators; bridges keep their road's class (their ``kind`` says bridge)."""


@dataclass(frozen=True, eq=False)
class City:
    """One city: its layers as GeoDataFrames (WGS84), its walk network and its metadata.

    Attributes
    ----------
    name
        Human-readable name.
    admin_units, grid_cells, walk_nodes, walk_segments, buildings, facilities, water_nodes,
    water_links, gas_nodes, gas_links, sensors
        The layers; :data:`LAYERS` lists their required columns.
    network
        The directed walk network built from ``walk_nodes`` and ``walk_segments``.
    metadata
        Origin of the data (``source``, ``seed``, ``config``), the unit ``grid`` and notes
        such as the demo's deliberate ``gaps``; written to the manifest.
    water, green
        The base map's polygons (:data:`OPTIONAL_LAYERS`), or ``None``.
    turn_restrictions
        Turn bans of the drive network (:data:`OPTIONAL_LAYERS`), or ``None``.
    terrain
        The ground as a height grid in the compute CRS, or ``None``.
    """

    name: str
    admin_units: gpd.GeoDataFrame
    grid_cells: gpd.GeoDataFrame
    walk_nodes: gpd.GeoDataFrame
    walk_segments: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    water_nodes: gpd.GeoDataFrame
    water_links: gpd.GeoDataFrame
    gas_nodes: gpd.GeoDataFrame
    gas_links: gpd.GeoDataFrame
    sensors: gpd.GeoDataFrame
    network: WalkNetwork
    metadata: dict[str, Any] = field(default_factory=dict)
    water: gpd.GeoDataFrame | None = None
    green: gpd.GeoDataFrame | None = None
    turn_restrictions: gpd.GeoDataFrame | None = None
    terrain: HeightGrid | None = None

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """Return the layer called ``name`` (one of :data:`LAYERS`)."""
        if name not in LAYERS:
            msg = f"unknown City layer {name!r}; layers are {', '.join(LAYERS)}"
            raise CityFormatError(msg)
        return getattr(self, name)

    @property
    def grid(self) -> UnitGrid:
        """The unit grid the ``cell_id`` columns refer to (from ``metadata['grid']``)."""
        spec = self.metadata.get("grid")
        if not isinstance(spec, dict):
            msg = f"City {self.name!r}: metadata has no 'grid' entry describing the unit grid"
            raise CityFormatError(msg)
        return UnitGrid(**spec)


def network_from_layers(
    walk_nodes: pd.DataFrame,
    walk_segments: pd.DataFrame,
    *,
    source: str = "walk_segments",
    crs_epsg: int = UTM_48N_EPSG,
) -> WalkNetwork:
    """Build the walk network from the ``walk_nodes`` and ``walk_segments`` tables.

    ``crs_epsg`` is the projected CRS of ``x_utm``/``y_utm``: UTM 48N for Chongqing and the
    demo, the city's own UTM zone for real cities elsewhere.
    """
    node_ids = walk_nodes["node_id"].to_numpy()
    if not np.array_equal(node_ids, np.arange(node_ids.shape[0])):
        msg = f"{source}: walk_nodes.node_id must be 0..n-1 in row order"
        raise CityFormatError(msg)
    return build_walk_network(
        walk_nodes["x_utm"].to_numpy(),
        walk_nodes["y_utm"].to_numpy(),
        walk_nodes["z_m"].to_numpy(),
        walk_segments["tail"].to_numpy(),
        walk_segments["head"].to_numpy(),
        walk_segments["length_m"].to_numpy(),
        walk_segments["kind"].to_numpy(),
        oneway=walk_segments["oneway"].to_numpy(dtype=bool),
        fixed_time_s=walk_segments["fixed_time_s"].to_numpy(dtype=np.float64),
        segment_rise_m=(
            walk_segments["rise_m"].to_numpy(dtype=np.float64)
            if "rise_m" in walk_segments.columns
            else None
        ),
        crs_epsg=crs_epsg,
        source=source,
    )


def write_city(city: City, directory: str | Path) -> Path:
    """Write ``city`` as GeoParquet layers plus ``manifest.json`` into ``directory``.

    The files are written into a temporary sibling directory first and renamed into place at
    the end, so an interrupted write leaves the previous City (or nothing) behind.

    Raises
    ------
    CityFormatError
        If ``directory`` exists, is not empty and holds no City (it is never overwritten).
    """
    target = Path(directory)
    with staged_directory(target, marker=MANIFEST, what="City", error=CityFormatError) as staging:
        layers = {}
        frames = {name: city.layer(name) for name in LAYERS}
        frames.update({n: f for n in OPTIONAL_LAYERS if (f := getattr(city, n)) is not None})
        for name, frame in frames.items():
            path = staging / f"{name}.parquet"
            frame.to_parquet(path, index=False)
            layers[name] = {"file": path.name, "rows": len(frame), "sha256": _sha256(path)}
        extra: dict[str, Any] = {}
        if city.terrain is not None:
            write_height_grid(city.terrain, staging / TERRAIN_FILE)
            rows, cols = city.terrain.shape
            extra["terrain"] = {
                "file": TERRAIN_FILE, "sha256": _sha256(staging / TERRAIN_FILE),
                "crs": f"EPSG:{city.terrain.crs_epsg}", "cell_m": city.terrain.cell_m,
                "rows": rows, "cols": cols,
            }  # fmt: skip
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "name": city.name,
            "crs": {"storage": f"EPSG:{WGS84_EPSG}", "compute": f"EPSG:{city.network.crs_epsg}"},
            "layers": layers,
            "summary": summarize_city(city),
            **extra,
            **city.metadata,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (staging / MANIFEST).write_text(text, encoding="utf-8")
    logger.info("wrote City %r to %s", city.name, target)
    return target


def read_city(directory: str | Path, *, verify: bool = True) -> City:
    """Read a City directory written by :func:`write_city` (demo or real data).

    Parameters
    ----------
    directory
        The City directory.
    verify
        Also compare each file's sha256 and row count with the manifest.

    Raises
    ------
    CityFormatError
        The directory, the manifest or a layer file is missing or unreadable, or a layer
        disagrees with the manifest; the message names the file.
    MissingColumnError
        A required column is absent; the message names the file and the column.
    CRSMismatchError
        A layer is not stored in WGS84 (EPSG:4326).
    """
    root = Path(directory)
    manifest = read_manifest(root)
    layers = {name: _read_layer(root, name, manifest, verify=verify) for name in LAYERS}
    listed = manifest.get("layers", {})
    optional = {
        name: _read_layer(root, name, manifest, verify=verify, columns=columns)
        for name, columns in OPTIONAL_LAYERS.items()
        if name in listed
    }
    compute = str(manifest.get("crs", {}).get("compute", f"EPSG:{UTM_48N_EPSG}"))
    network = network_from_layers(
        layers["walk_nodes"],
        layers["walk_segments"],
        source=str(root / "walk_segments.parquet"),
        crs_epsg=int(compute.removeprefix("EPSG:")),
    )
    known = {"format", "format_version", "name", "crs", "layers", "summary", "terrain"}
    metadata = {key: value for key, value in manifest.items() if key not in known}
    return City(name=str(manifest.get("name", root.name)), network=network, metadata=metadata,
                terrain=_read_terrain(root, manifest, verify=verify), **layers,
                **optional)  # fmt: skip


def _read_terrain(root: Path, manifest: dict[str, Any], *, verify: bool) -> HeightGrid | None:
    """Read the terrain grid the manifest lists, if any (checking its sha256 when asked)."""
    entry = manifest.get("terrain")
    if not isinstance(entry, dict):
        return None
    path = root / str(entry.get("file", TERRAIN_FILE))
    if not path.is_file():
        msg = f"{path}: the terrain grid listed in {MANIFEST} is missing"
        raise CityFormatError(msg)
    if verify and entry.get("sha256") != _sha256(path):
        msg = f"{path}: sha256 differs from {MANIFEST}; the file changed after it was written"
        raise CityFormatError(msg)
    return read_height_grid(path)


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """Read and check ``manifest.json`` of a City directory."""
    root = Path(directory)
    path = root / MANIFEST
    if not root.is_dir():
        msg = f"{root}: no such City directory (write one with `shancheng demo`)"
        raise CityFormatError(msg)
    if not path.is_file():
        msg = f"{path}: missing; {root} is not a City directory"
        raise CityFormatError(msg)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{path}: not readable JSON ({exc})"
        raise CityFormatError(msg) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        msg = f"{path}: field `format` must be {FORMAT_NAME!r}"
        raise CityFormatError(msg)
    if manifest.get("format_version") not in READABLE_VERSIONS:
        found = manifest.get("format_version")
        versions = " or ".join(str(v) for v in READABLE_VERSIONS)
        msg = f"{path}: field `format_version` must be {versions}, got {found!r}"
        raise CityFormatError(msg)
    return manifest


def _read_layer(
    root: Path,
    name: str,
    manifest: dict[str, Any],
    *,
    verify: bool,
    columns: tuple[str, ...] | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer and check its columns, CRS, and (optionally) hash and rows."""
    path = root / f"{name}.parquet"
    if not path.is_file():
        msg = f"{path}: layer `{name}` is missing from the City directory"
        raise CityFormatError(msg)
    try:
        frame = gpd.read_parquet(path)
    except Exception as exc:  # pyarrow and geopandas raise many kinds
        msg = f"{path}: not a readable GeoParquet file ({type(exc).__name__}: {exc})"
        raise CityFormatError(msg) from exc
    for column in (*(LAYERS[name] if columns is None else columns), "geometry"):
        if column not in frame.columns:
            msg = (
                f"{path}: required column `{column}` is missing (found: {', '.join(frame.columns)})"
            )
            raise MissingColumnError(msg)
    if frame.crs is None or frame.crs.to_epsg() != WGS84_EPSG:
        msg = f"{path}: geometry must be stored in EPSG:{WGS84_EPSG} (lon/lat), got {frame.crs}"
        raise CRSMismatchError(msg)
    expected = manifest.get("layers", {}).get(name, {})
    if verify and expected:
        if expected.get("sha256") != _sha256(path):
            msg = f"{path}: sha256 differs from {MANIFEST}; the file changed after it was written"
            raise CityFormatError(msg)
        if expected.get("rows") != len(frame):
            msg = f"{path}: {len(frame)} rows but {MANIFEST} says {expected.get('rows')}"
            raise CityFormatError(msg)
    return frame


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def summarize_city(city: City) -> dict[str, int | float]:
    """Headline numbers of a City: network size, people, units, facilities, pipes, sensors."""
    units = city.admin_units["level"].value_counts()
    kinds = city.walk_segments["kind"].to_numpy()
    summary: dict[str, int | float] = {
        "walk_nodes": city.network.n_nodes,
        "walk_arcs": city.network.n_edges,
        "walk_segments": len(city.walk_segments),
        "steps_segments": int(np.count_nonzero(kinds == EdgeKind.STEPS)),
        "bridges": int(np.count_nonzero(kinds == EdgeKind.BRIDGE)),
        "residents": int(city.buildings["population"].sum()),
        "buildings": len(city.buildings),
        "districts": int(units.get("district", 0)),
        "streets": int(units.get("street", 0)),
        "communities": int(units.get("community", 0)),
        "grid_cells": len(city.grid_cells),
        "facilities": len(city.facilities),
        "sensors": len(city.sensors),
    }
    for category, count in sorted(city.facilities["category"].value_counts().items()):
        summary[f"facilities_{category}"] = int(count)
    for network, links in (("water", city.water_links), ("gas", city.gas_links)):
        pipes = links["kind"] == "pipe"
        summary[f"{network}_pipes_km"] = round(float(links.loc[pipes, "length_m"].sum()) / 1e3, 3)
        summary[f"{network}_valves"] = int((links["kind"] == "valve").sum())
    return summary
