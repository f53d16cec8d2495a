"""Vector tiles for the dashboard's large layers (street network, coverage, cells, pipes).

Pure: layers come in as GeoDataFrames and tiles go out as bytes; no web framework here
(the API's ``/tiles`` router serves them). :mod:`~shancheng.tiles.mercator` has the tile
math, :mod:`~shancheng.tiles.layer` the indexed, clipped and simplified layers,
:mod:`~shancheng.tiles.tileset` the encoding and the cache, :mod:`~shancheng.tiles.sources`
the dashboard's layers.
"""

from __future__ import annotations

from shancheng.tiles.layer import TileLayer, layer_from_frame, tile_features
from shancheng.tiles.mercator import TileBounds, check_tile, tile_bounds, tile_of
from shancheng.tiles.tileset import TileSet

__all__ = [
    "TileBounds",
    "TileLayer",
    "TileSet",
    "check_tile",
    "layer_from_frame",
    "tile_bounds",
    "tile_features",
    "tile_of",
]
