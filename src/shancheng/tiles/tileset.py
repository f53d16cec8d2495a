"""A set of tile layers served as gzip-compressed Mapbox Vector Tiles (and PNG rasters), cached.

:meth:`TileSet.tile` cuts one layer's features for a tile (:func:`~shancheng.tiles.layer.
tile_features`), encodes them (:func:`~shancheng.tiles.mvt.encode_layer`; rounded to integer
tile units: the quantisation is 1/4096 of the tile's width) and gzips the result, which is
what the browser receives with ``Content-Encoding: gzip``. Encoded tiles are kept in a
least-recently-used cache bounded in bytes, so panning back over a tile costs nothing.
Raster layers (the shaded relief, :mod:`~shancheng.tiles.raster`) are rendered to PNG by
:meth:`TileSet.png` and share that cache. A *composite* layer serves several vector layers in
one tile (an MVT tile is a list of layers, so their encoded bytes are simply concatenated):
the base map is one source and one request per tile in the browser, not six.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from shancheng.errors import InputError
from shancheng.tiles.layer import tile_features
from shancheng.tiles.mercator import EXTENT, check_tile
from shancheng.tiles.mvt import encode_layer
from shancheng.tiles.raster import render_png

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from shancheng.tiles.layer import TileLayer
    from shancheng.tiles.raster import RasterLayer

DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
"""Encoded tiles kept in memory (compressed bytes)."""


class TileSet:
    """Named tile layers, encoded on demand and cached (thread-safe).

    Parameters
    ----------
    layers
        The layers by name (the name in the URL).
    rasters
        Raster layers by name (PNG tiles); names must differ from ``layers``'.
    cache_bytes
        Most compressed bytes the tile cache holds before it forgets the oldest tiles.
    extent, buffer
        Tile units across a tile, and kept beyond each edge.
    composites
        Composite layers by name: the vector layers each serves together, in drawing order
        (a name must not be a layer's; every member must be a vector layer).
    """

    def __init__(
        self,
        layers: Mapping[str, TileLayer],
        *,
        rasters: Mapping[str, RasterLayer] | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        extent: int = EXTENT,
        buffer: int = 64,
        composites: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.layers = dict(layers)
        self.rasters = dict(rasters or {})
        self.composites = {name: tuple(members) for name, members in (composites or {}).items()}
        both = sorted(set(self.layers) & set(self.rasters))
        if both:
            msg = f"tile layer names must be unique; {both} are both vector and raster layers"
            raise InputError(msg)
        for name, members in self.composites.items():
            unknown = sorted(set(members) - set(self.layers))
            if name in self.layers or name in self.rasters or unknown or not members:
                msg = (
                    f"composite tile layer {name!r} must have a name of its own and members "
                    f"among the vector layers; unknown members: {unknown}"
                )
                raise InputError(msg)
        self.extent = extent
        self.buffer = buffer
        self._cache_bytes = cache_bytes
        self._cache: OrderedDict[tuple[str, int, int, int], bytes] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()

    def tile(self, layer: str, z: int, x: int, y: int) -> bytes:
        """Return tile ``z/x/y`` of ``layer`` as gzip-compressed MVT; ``b""`` if it is empty.

        Raises
        ------
        KeyError
            If there is no layer called ``layer``.
        TileRequestError
            If ``z/x/y`` lies outside the pyramid.
        """
        check_tile(z, x, y)
        if layer in self.composites:
            members = self.composites[layer]

            def join() -> bytes:
                parts = [self.tile(member, z, x, y) for member in members]
                data = b"".join(gzip.decompress(part) for part in parts if part)
                return gzip.compress(data, 6) if data else b""

            return self._cached_tile((layer, z, x, y), join)
        source = self.layers[layer]

        def make() -> bytes:
            geoms, rows = tile_features(source, z, x, y, extent=self.extent, buffer=self.buffer)
            properties = source.properties.iloc[rows].reset_index(drop=True)
            data = encode_layer(layer, source.kind, geoms, properties, extent=self.extent)
            return gzip.compress(data, 6) if data else b""

        return self._cached_tile((layer, z, x, y), make)

    def png(self, layer: str, z: int, x: int, y: int) -> bytes:
        """Return tile ``z/x/y`` of raster ``layer`` as PNG; ``b""`` if it shows nothing.

        Raises
        ------
        KeyError
            If there is no raster layer called ``layer``.
        TileRequestError
            If ``z/x/y`` lies outside the pyramid.
        """
        check_tile(z, x, y)
        source = self.rasters[layer]
        return self._cached_tile((layer, z, x, y), lambda: render_png(source, z, x, y))

    def _cached_tile(self, key: tuple[str, int, int, int], make: Callable[[], bytes]) -> bytes:
        """Return the cached body of ``key``, or make it and keep it (oldest forgotten first)."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        body = make()
        with self._lock:
            if key not in self._cache:
                self._cache[key] = body
                self._cached += len(body)
                while self._cached > self._cache_bytes and self._cache:
                    _, old = self._cache.popitem(last=False)
                    self._cached -= len(old)
        return body

    def clear_cache(self) -> None:
        """Forget every encoded tile (benchmarks measure cold tiles this way)."""
        with self._lock:
            self._cache.clear()
            self._cached = 0

    def tilejson(self, layer: str, url: str) -> dict[str, Any]:
        """Describe ``layer`` in TileJSON 3.0 (``url`` is the tile URL template)."""
        if layer in self.rasters:
            raster = self.rasters[layer]
            return {
                "tilejson": "3.0.0",
                "name": layer,
                "tiles": [url],
                "format": "png",
                "tileSize": 256,
                "minzoom": raster.minzoom,
                "maxzoom": raster.maxzoom,
                "bounds": list(raster.bounds_lonlat),
            }
        if layer in self.composites:
            return self._composite_tilejson(layer, url)
        source = self.layers[layer]
        fields = {c: _field_type(source.properties[c].dtype) for c in source.properties.columns}
        return {
            "tilejson": "3.0.0",
            "name": layer,
            "tiles": [url],
            "minzoom": source.minzoom,
            "maxzoom": 22,
            "format": "pbf",
            "bounds": list(source.bounds_lonlat),
            "vector_layers": [{"id": layer, "fields": fields, "minzoom": source.minzoom}],
            "geometry": source.kind,
            "features": len(source.geometry),
        }

    def _composite_tilejson(self, layer: str, url: str) -> dict[str, Any]:
        """TileJSON of a composite: its members' ``vector_layers``, zooms and bounds joined."""
        members = [self.tilejson(member, url) for member in self.composites[layer]]
        bounds = [m["bounds"] for m in members]
        return {
            "tilejson": "3.0.0",
            "name": layer,
            "tiles": [url],
            "minzoom": min(m["minzoom"] for m in members),
            "maxzoom": max(m["maxzoom"] for m in members),
            "format": "pbf",
            "bounds": [
                min(b[0] for b in bounds),
                min(b[1] for b in bounds),
                max(b[2] for b in bounds),
                max(b[3] for b in bounds),
            ],
            "vector_layers": [v for m in members for v in m["vector_layers"]],
            "features": sum(m["features"] for m in members),
        }


def _field_type(dtype: object) -> str:
    """TileJSON field type: Number, Boolean or String."""
    kind = getattr(dtype, "kind", "O")
    if kind in "iuf":
        return "Number"
    return "Boolean" if kind == "b" else "String"
