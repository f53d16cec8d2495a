"""Which tiles the dashboard serves: the City's layers and the living-circles results.

:func:`city_tileset` assembles the :class:`~shancheng.tiles.TileSet` from a City (street
network, grid cells, pipes, administrative units) and, when given, the ``residences`` and
``cells`` tables of ``circles evaluate`` (coverage). :func:`tileset_from_settings` reads them
from ``<data_dir>/<city>`` and ``<data_dir>/circles/<city>`` (results are used when present).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import geopandas as gpd

from shancheng.data.city import read_city
from shancheng.tiles import TileSet
from shancheng.tiles.basemap import (
    areas_layer,
    buildings_layer,
    contours_layer,
    labels_layer,
    roads_layer,
)
from shancheng.tiles.raster import hillshade_layer
from shancheng.tiles.sources import (
    admin_layer,
    cells_layer,
    coverage_layer,
    pipes_layer,
    walk_layer,
)

if TYPE_CHECKING:
    from shancheng.config import Settings
    from shancheng.data.city import City
    from shancheng.indicators.citystate import CityState
    from shancheng.tiles import TileLayer
    from shancheng.tiles.raster import RasterLayer

logger = logging.getLogger(__name__)


def city_tileset(
    city: City,
    *,
    residences: gpd.GeoDataFrame | None = None,
    cells: gpd.GeoDataFrame | None = None,
    admin_units: gpd.GeoDataFrame | None = None,
) -> TileSet:
    """Index the dashboard's large layers of ``city`` (each built once; tiles cut on demand).

    Besides the data layers, the base map's: ``roads``, ``buildings``, ``water``, ``green``,
    ``contours``, ``labels`` (also together, as the composite ``base``) and the raster
    ``hillshade`` (when the City has a terrain grid).

    Parameters
    ----------
    city
        The City.
    residences, cells
        The ``residences`` and ``cells`` tables of ``circles evaluate``; without
        ``residences`` there is no ``coverage`` layer, without ``cells`` the ``cells`` layer
        has the City's grid cells without shares.
    admin_units
        Administrative units to draw instead of the City's own (e.g. detailed boundaries).
    """
    started = time.perf_counter()
    units = admin_units if admin_units is not None else city.admin_units
    layers: dict[str, TileLayer] = {
        "walk": walk_layer(city.walk_segments, city.network),
        "cells": cells_layer(cells if cells is not None else city.grid_cells),
        "pipes": pipes_layer({"water": city.water_links, "gas": city.gas_links}),
        "admin": admin_layer(units),
        "roads": roads_layer(city.walk_segments),
        "buildings": buildings_layer(city.buildings),
        "water": areas_layer("water", city.water),
        "green": areas_layer("green", city.green),
        "contours": contours_layer(city.terrain),
        "labels": labels_layer(units, city.walk_segments, city.water, city.green),
    }
    rasters: dict[str, RasterLayer] = {}
    if city.terrain is not None:
        rasters["hillshade"] = hillshade_layer(city.terrain)
    if residences is not None:
        layers["coverage"] = coverage_layer(residences)
    logger.info(
        "tile layers of %r indexed in %.2f s: %s", city.name, time.perf_counter() - started,
        ", ".join(f"{k} {len(v.geometry):,}" for k, v in layers.items()),
    )  # fmt: skip
    base = tuple(name for name in BASE_MAP_LAYERS if len(layers[name].geometry))
    return TileSet(layers, rasters=rasters, composites={"base": base} if base else None)


BASE_MAP_LAYERS = ("water", "green", "contours", "buildings", "roads", "labels")
"""The vector layers of the base map, served together as the composite layer ``base`` (the
ones that hold something): one source and one request per tile for the browser."""


def tileset_of_state(state: CityState) -> TileSet:
    """Index the layers of the dashboard's City state (its City and its own circles evaluation).

    The server builds that state once for every router, so the tiles neither read the City a
    second time nor depend on a ``circles evaluate`` folder that may be stale or missing.
    """
    evaluation = state.evaluation
    return city_tileset(
        state.city, residences=evaluation.layer("residences"), cells=evaluation.layer("cells")
    )


def tileset_from_settings(settings: Settings) -> TileSet:
    """Read the configured City (and its circles results, if written) and index its layers."""
    city = read_city(settings.city_dir, verify=False)
    results = settings.data_dir / "circles" / settings.city
    tables = {
        name: gpd.read_parquet(results / f"{name}.parquet")
        for name in ("residences", "cells")
        if (results / f"{name}.parquet").is_file()
    }
    return city_tileset(city, residences=tables.get("residences"), cells=tables.get("cells"))
