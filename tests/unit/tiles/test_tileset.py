"""Tiles decoded with mapbox_vector_tile equal their source within the quantisation."""

from __future__ import annotations

import gzip

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from shancheng.errors import InputError, TileRequestError
from shancheng.tiles import TileSet, layer_from_frame, tile_of
from shancheng.tiles.mercator import (
    from_tile_units,
    lonlat_to_mercator,
    mercator_to_lonlat,
    tile_bounds,
    to_tile_units,
)

Z = 15


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(gzip.decompress(body), default_options={"y_coord_down": True})


def frame(geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs="EPSG:4326")


def units_of(lon, lat, z, x, y):
    return to_tile_units(*lonlat_to_mercator(lon, lat), tile_bounds(z, x, y))


def test_a_point_lands_on_its_pixel_with_its_attributes():
    lon, lat = 106.5770, 29.5576
    layer = layer_from_frame(
        "pois",
        frame([Point(lon, lat)], name=["解放碑"], count=[7], share=[0.25], flag=[True]),
        ["name", "count", "share", "flag"],
    )
    x, y = tile_of(lon, lat, Z)
    (feature,) = decode(TileSet({"pois": layer}).tile("pois", Z, x, y))["pois"]["features"]
    px, py = units_of([lon], [lat], Z, x, y)
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == [round(px[0]), round(py[0])]
    assert feature["properties"] == {"name": "解放碑", "count": 7, "share": 0.25, "flag": True}


def test_missing_values_are_left_out_of_the_attributes():
    layer = layer_from_frame("p", frame([Point(1.0, 1.0)], a=[np.nan], b=["x"]), ["a", "b"])
    x, y = tile_of(1.0, 1.0, 10)
    (feature,) = decode(TileSet({"p": layer}).tile("p", 10, x, y))["p"]["features"]
    assert feature["properties"] == {"b": "x"}


def test_a_line_across_tiles_is_clipped_to_each_tile_plus_buffer():
    # a street from west to east across the edge between two zoom-15 tiles
    x, y = tile_of(106.55, 29.56, Z)
    w, s, e, n = tile_bounds(Z, x, y)
    mid_y = (s + n) / 2
    lon, lat = mercator_to_lonlat([w - 200, e + 200], [mid_y, mid_y])  # into both neighbours
    line = LineString(zip(lon, lat, strict=True))
    layer = layer_from_frame("walk", frame([line], segment_id=[42]), ["segment_id"])
    tiles = TileSet({"walk": layer})
    for dx in (-1, 0, 1):
        (feature,) = decode(tiles.tile("walk", Z, x + dx, y))["walk"]["features"]
        coords = np.asarray(feature["geometry"]["coordinates"])
        assert feature["properties"] == {"segment_id": 42}
        assert coords[:, 0].min() >= -64
        assert coords[:, 0].max() <= 4096 + 64
        assert np.all(np.abs(coords[:, 1] - 2048) <= 1)
    assert tiles.tile("walk", Z, x, y + 1) == b""


def test_polygon_is_within_a_unit_of_the_source_and_wound_as_mvt_wants():
    x, y = tile_of(106.55, 29.56, Z)
    w, s, e, _ = tile_bounds(Z, x, y)
    size = e - w
    lon, lat = mercator_to_lonlat(
        [w + 0.25 * size, w + 0.75 * size], [s + 0.25 * size, s + 0.625 * size]
    )
    square = box(lon[0], lat[0], lon[1], lat[1])
    layer = layer_from_frame("cells", frame([square], cell_id=[3]), ["cell_id"])
    (feature,) = decode(TileSet({"cells": layer}).tile("cells", Z, x, y))["cells"]["features"]
    ring = np.asarray(feature["geometry"]["coordinates"][0], dtype=float)
    # corners by hand: x from 1024 to 3072, y (down) from 4096 - 0.625*4096 = 1536 to 3072
    assert sorted(set(ring[:, 0].tolist())) == [1024.0, 3072.0]
    assert sorted(set(ring[:, 1].tolist())) == [1536.0, 3072.0]
    # surveyor's formula in tile coordinates (y down): exterior rings are positive
    area = 0.5 * np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
    assert area == pytest.approx(2048 * 1536)


def test_decoded_lines_match_the_source_within_quantisation():
    rng = np.random.default_rng(5)
    x, y = tile_of(106.55, 29.56, 16)
    w, s, e, n = tile_bounds(16, x, y)
    lines = []
    for _ in range(50):
        mx = rng.uniform(w, e, 4)
        my = rng.uniform(s, n, 4)
        lon, lat = mercator_to_lonlat(mx, my)
        lines.append(LineString(zip(lon, lat, strict=True)))
    layer = layer_from_frame("l", frame(lines, i=list(range(50))), ["i"])
    layer = type(layer)("l", layer.geometry, layer.properties, simplify_units=0.0)
    decoded = decode(TileSet({"l": layer}).tile("l", 16, x, y))["l"]["features"]
    assert sorted(f["properties"]["i"] for f in decoded) == list(range(50))
    for feature in decoded:
        src = lines[feature["properties"]["i"]]
        got = np.asarray(feature["geometry"]["coordinates"], dtype=float)
        mx, my = from_tile_units(got[:, 0], got[:, 1], tile_bounds(16, x, y))
        lon, lat = mercator_to_lonlat(mx, my)
        expected = shapely.get_coordinates(src)
        unit_deg = 360 / 2**16 / 4096
        assert np.allclose(np.column_stack([lon, lat]), expected, atol=unit_deg)


def test_zoomed_out_tiles_keep_the_longest_lines():
    lines = [LineString([(0.0, 0.001 * i), (0.0001 * (i + 1), 0.001 * i)]) for i in range(100)]
    layer = layer_from_frame("l", frame(lines, i=list(range(100))), ["i"], max_features=10)
    (x, y) = tile_of(0.005, 0.05, 8)
    decoded = decode(TileSet({"l": layer}).tile("l", 8, x, y))["l"]["features"]
    assert sorted(f["properties"]["i"] for f in decoded) == list(range(90, 100))


def test_below_minzoom_and_far_away_tiles_are_empty():
    layer = layer_from_frame("p", frame([Point(10.0, 10.0)], a=[1]), ["a"], minzoom=12)
    tiles = TileSet({"p": layer})
    assert tiles.tile("p", 11, *tile_of(10.0, 10.0, 11)) == b""
    assert tiles.tile("p", 12, *tile_of(10.0, 10.0, 12)) != b""
    assert tiles.tile("p", 12, 0, 0) == b""


def test_bad_addresses_and_unknown_layers_are_refused():
    tiles = TileSet({"p": layer_from_frame("p", frame([Point(0, 0)], a=[1]), ["a"])})
    with pytest.raises(TileRequestError):
        tiles.tile("p", 2, 4, 0)
    with pytest.raises(KeyError):
        tiles.tile("nope", 0, 0, 0)


def test_bad_layer_inputs_name_the_problem():
    with pytest.raises(InputError, match="missing columns"):
        layer_from_frame("p", frame([Point(0, 0)], a=[1]), ["b"])
    with pytest.raises(InputError, match="WGS84"):
        layer_from_frame("p", frame([Point(0, 0)], a=[1]).set_crs(3857, allow_override=True), ["a"])
    with pytest.raises(InputError, match="points, lines or polygons"):
        layer_from_frame("p", frame([Point(0, 0), box(0, 0, 1, 1)], a=[1, 2]), ["a"])


def test_cache_returns_the_same_bytes_and_forgets_beyond_its_budget():
    pts = [Point(0.01 * i, 0.01 * i) for i in range(5)]
    layer = layer_from_frame("p", frame(pts, a=list(range(5))), ["a"])
    tiles = TileSet({"p": layer}, cache_bytes=1)
    first = tiles.tile("p", 5, *tile_of(0.0, 0.0, 5))
    assert tiles.tile("p", 5, *tile_of(0.0, 0.0, 5)) == first
    assert tiles._cached <= max(1, len(first))
