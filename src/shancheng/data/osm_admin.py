"""Administrative units from OpenStreetMap's ``boundary=administrative`` relations.

Where a city has no official code lists (a country the project has never seen), its units
come from the extract itself: every closed ``boundary=administrative`` area whose
``admin_level`` the country's table (``mappings/admin_levels.toml``, data not code) assigns
to one of shancheng's levels (city, district, street, community) becomes a unit. Its code
is generated from the OSM object and stays the same from one import to the next:
``R<relation id>`` (``W<way id>`` for a closed way), so counts or plans keyed by code survive
a re-import. Each unit's parent is the unit of the nearest level above that holds its
representative point; a level with no unit in the extract is skipped. If the table's city
level has no unit in the area, one city unit is made from the union of the others, coded
``CITY``.
"""

from __future__ import annotations

import itertools
import logging
import tomllib
from importlib import resources
from typing import TYPE_CHECKING

import geopandas as gpd
import osmium
import pandas as pd
import shapely

from shancheng.errors import BoundaryError, OsmInputError
from shancheng.geo.crs import WGS84_EPSG

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

logger = logging.getLogger(__name__)

LEVELS = ("city", "district", "street", "community")
_WKB = osmium.geom.WKBFactory()


def admin_levels_for(country: str, overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Return shancheng level → OSM ``admin_level`` for ``country`` (ISO code or "default").

    Examples
    --------
    >>> admin_levels_for("MC")
    {'city': 8, 'street': 10}
    >>> admin_levels_for("XX", {"street": 9})
    {'city': 8, 'street': 9}
    """
    table = tomllib.loads(
        (resources.files("shancheng.data") / "mappings" / "admin_levels.toml").read_text("utf-8")
    )
    levels = dict(table.get(country.upper(), table["default"]))
    levels.update(overrides or {})
    bad = sorted(set(levels) - set(LEVELS))
    if bad:
        msg = f"admin levels {bad} are not shancheng levels; use {', '.join(LEVELS)}"
        raise BoundaryError(msg)
    if len(set(levels.values())) != len(levels):
        msg = f"two shancheng levels share one OSM admin_level: {levels}"
        raise BoundaryError(msg)
    return {level: int(levels[level]) for level in LEVELS if level in levels}


def parse_admin_levels(text: str) -> dict[str, int]:
    """Read ``"city=8,street=10"`` (the ``--admin-levels`` option).

    Examples
    --------
    >>> parse_admin_levels("city=8, street=10")
    {'city': 8, 'street': 10}
    """
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if not value.strip().isdigit():
            msg = f"--admin-levels: {part!r} is not level=number (e.g. city=8,street=10)"
            raise BoundaryError(msg)
        out[name.strip()] = int(value)
    return out


def read_osm_admin_units(
    path: Path, levels: Mapping[str, int], *, area: shapely.Geometry | None = None
) -> gpd.GeoDataFrame:
    """Read the admin units of an extract as an ``admin_units`` layer.

    Parameters
    ----------
    path
        The ``.osm.pbf``/``.osm`` extract.
    levels
        shancheng level → OSM ``admin_level`` (:func:`admin_levels_for`).
    area
        Study area (WGS84): units that do not meet it are left out.

    Raises
    ------
    BoundaryError
        No boundary of the wanted admin levels lies in the area.
    OsmInputError
        The file cannot be read.
    """
    by_admin_level = {str(v): k for k, v in levels.items()}
    rows = []
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_areas()
            .with_filter(osmium.filter.KeyFilter("boundary"))
        )
        for obj in processor:
            if not isinstance(obj, osmium.osm.Area):
                continue
            if obj.tags.get("boundary") != "administrative":
                continue
            level = by_admin_level.get(str(obj.tags.get("admin_level", "")))
            if level is None:
                continue
            try:
                shape = shapely.from_wkb(_WKB.create_multipolygon(obj))
            except RuntimeError:
                continue
            prefix = "W" if obj.from_way() else "R"
            rows.append({
                "code": f"{prefix}{obj.orig_id()}",
                "name": obj.tags.get("name", ""),
                "name_en": obj.tags.get("name:en", ""),
                "level": level,
                "geometry": shape,
            })  # fmt: skip
    except RuntimeError as exc:
        msg = f"{path}: cannot read its boundaries ({exc})"
        raise OsmInputError(msg) from exc
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["code", "name", "name_en", "level",
                                                         "geometry"]),
                             geometry="geometry", crs=WGS84_EPSG)  # fmt: skip
    if area is not None and len(frame):
        frame = frame[frame.intersects(area)].reset_index(drop=True)
    if frame.empty:
        wanted = ", ".join(f"{k}={v}" for k, v in levels.items())
        msg = (
            f"{path}: no boundary=administrative area with admin_level {wanted} in the area; "
            "choose other levels (--admin-levels) or give code lists (--codes)"
        )
        raise BoundaryError(msg)
    frame = _with_city(frame)
    frame["parent_code"] = _parents(frame)
    logger.info("%s: %d admin units from OSM boundaries (%s)", path, len(frame),
                frame["level"].value_counts().to_dict())  # fmt: skip
    return frame[["code", "name", "name_en", "level", "parent_code", "geometry"]]


def _with_city(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep one city unit: the extract's own (largest) or the union of the units."""
    cities = frame[frame["level"] == "city"]
    rest = frame[frame["level"] != "city"]
    if len(cities):
        largest = cities.to_crs(cities.estimate_utm_crs()).area.idxmax()
        return pd.concat([cities.loc[[largest]], rest], ignore_index=True)
    city = gpd.GeoDataFrame({"code": ["CITY"], "name": ["city"], "name_en": ["city"],
                             "level": ["city"]},
                            geometry=[shapely.union_all(rest.geometry.to_numpy())],
                            crs=WGS84_EPSG)  # fmt: skip
    return pd.concat([city, rest], ignore_index=True)


def _parents(frame: gpd.GeoDataFrame) -> list[str]:
    """Parent of each unit: the unit of the nearest level above holding its inside point."""
    present = [level for level in LEVELS if (frame["level"] == level).any()]
    point = frame.geometry.representative_point()
    parents = [""] * len(frame)
    for upper, lower in itertools.pairwise(present):
        above = frame[frame["level"] == upper]
        for i in frame.index[frame["level"] == lower]:
            holding = above[above.contains(point[i])]
            chosen = holding if len(holding) else above
            parents[i] = str(chosen["code"].iloc[0])
    return parents
