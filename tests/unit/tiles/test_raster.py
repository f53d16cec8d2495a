"""Hillshade PNG tiles: resampled from the grid's shade, transparent where flat or outside."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from shancheng.errors import InputError, TileRequestError
from shancheng.geo.crs import lonlat_to_utm
from shancheng.geo.relief import HeightGrid
from shancheng.tiles import TileSet, tile_of
from shancheng.tiles.raster import GAIN, empty_png, hillshade_layer, render_png

LON, LAT = 106.55, 29.56  # central Chongqing, UTM 48N


def grid_around(heights_of, *, half_m=1500.0, cell=25.0):
    cx, cy = (float(v[0]) for v in lonlat_to_utm([LON], [LAT]))
    n = int(2 * half_m / cell)
    empty = HeightGrid(np.zeros((n, n)), cx - half_m, cy + half_m, cell, 32648)
    xx, yy = empty.cell_centres()
    return HeightGrid(heights_of(xx - cx, yy - cy), cx - half_m, cy + half_m, cell, 32648)


def decode(body):
    image = Image.open(io.BytesIO(body))
    assert image.mode == "LA" and image.size == (256, 256)
    return np.asarray(image)


def test_a_slope_tile_has_the_alpha_the_formula_gives():
    slope = 0.2  # rising to the east: faces west, half toward a sun from the north-west
    layer = hillshade_layer(grid_around(lambda x, _y: 300.0 + slope * x))
    x, y = tile_of(LON, LAT, 15)
    pixels = decode(render_png(layer, 15, x, y))
    shade = (0.5 * slope + math.sqrt(0.5)) / math.sqrt(1 + slope**2)
    alpha = round(min(1.0, GAIN * abs(shade - math.sqrt(0.5))) * 255)
    assert shade > math.sqrt(0.5)  # 0.5·0.2 > the 1/√(1.04) loss: a little brighter
    assert np.all(pixels[..., 0] == 255)  # brighter than flat: white
    assert np.all(np.abs(pixels[..., 1].astype(int) - alpha) <= 1)


def test_a_cone_tile_is_not_uniform_and_flat_or_outside_tiles_are_empty():
    cone = hillshade_layer(grid_around(lambda x, y: 400.0 - 0.3 * np.hypot(x, y)))
    x, y = tile_of(LON, LAT, 15)
    pixels = decode(render_png(cone, 15, x, y))
    assert len(np.unique(pixels[..., 1])) > 10
    assert set(np.unique(pixels[..., 0]).tolist()) == {0, 255}  # shadows and highlights
    far = tile_of(LON + 1.0, LAT, 15)
    assert render_png(cone, 15, *far) == b""
    flat = hillshade_layer(grid_around(lambda x, _y: 0.0 * x + 200.0))
    assert render_png(flat, 15, x, y) == b""
    assert np.all(decode(empty_png())[..., 1] == 0)


def test_pixels_beyond_the_grid_edge_are_transparent():
    cone = hillshade_layer(grid_around(lambda x, y: 400.0 - 0.3 * np.hypot(x, y), half_m=400.0))
    x, y = tile_of(LON, LAT, 14)  # 2.4 km wide: wider than the 800 m grid
    alpha = decode(render_png(cone, 14, x, y))[..., 1]
    assert alpha[0, 0] == alpha[-1, -1] == 0
    assert alpha.max() > 0


def test_the_tileset_serves_caches_and_describes_raster_layers():
    layer = hillshade_layer(grid_around(lambda x, y: 400.0 - 0.3 * np.hypot(x, y)))
    tiles = TileSet({}, rasters={"hillshade": layer})
    x, y = tile_of(LON, LAT, 15)
    first = tiles.png("hillshade", 15, x, y)
    assert tiles.png("hillshade", 15, x, y) is first
    meta = tiles.tilejson("hillshade", "http://t/{z}/{x}/{y}.png")
    assert meta["format"] == "png" and meta["tileSize"] == 256
    w, s, e, n = meta["bounds"]
    assert w < LON < e and s < LAT < n
    with pytest.raises(TileRequestError):
        tiles.png("hillshade", 3, 8, 0)
    with pytest.raises(KeyError):
        tiles.png("nope", 3, 0, 0)
    with pytest.raises(InputError, match="unique"):
        TileSet({"hillshade": None}, rasters={"hillshade": layer})
