"""The dashboard's layers from a real-shaped City: attributes equal their source tables."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shancheng.api.errors import install_error_handlers
from shancheng.api.routers import tiles as tiles_router
from shancheng.api.tilesets import city_tileset, tileset_from_settings
from shancheng.circles.evaluate import evaluate_city, write_evaluation
from shancheng.config import Settings
from shancheng.data.boundaries import read_boundaries
from shancheng.data.city import write_city
from shancheng.data.demo import generate_demo_city
from shancheng.data.demo.config import DemoConfig
from shancheng.tiles import TileSet, tile_of
from shancheng.tiles.mercator import lonlat_to_mercator, tile_bounds
from shancheng.tiles.sources import admin_layer


@pytest.fixture(scope="module")
def city():
    return generate_demo_city(DemoConfig.small())


@pytest.fixture(scope="module")
def evaluation(city):
    return evaluate_city(city)


@pytest.fixture(scope="module")
def tileset(city, evaluation):
    return city_tileset(city, residences=evaluation.residences, cells=evaluation.cells)


BASE_MAP = {"roads", "buildings", "water", "green", "contours", "labels", "hillshade"}


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(gzip.decompress(body), default_options={"y_coord_down": True})


def tiles_over(frame, z):
    w, s, e, n = frame.total_bounds
    x0, y0 = tile_of(w, n, z)
    x1, y1 = tile_of(e, s, z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def test_walk_tiles_hold_every_segment_with_its_network_time(city, tileset):
    net = city.network
    forward = {int(s): t for s, t, f in zip(net.edge_segment, net.edge_time_s,
                                             net.edge_forward, strict=True) if f}  # fmt: skip
    ids = city.walk_segments["segment_id"].to_numpy()
    seen = set()
    for x, y in tiles_over(city.walk_segments, 14):
        body = tileset.tile("walk", 14, x, y)
        for feature in decode(body)["walk"]["features"] if body else []:
            props = feature["properties"]
            row = int(np.flatnonzero(ids == props["segment_id"])[0])
            assert props["walk_time_s"] == pytest.approx(forward[row], abs=0.05)
            seen.add(props["segment_id"])
    assert seen == set(ids.tolist())


def test_coverage_points_carry_nearest_times_in_seconds(evaluation, tileset):
    res = evaluation.residences
    category = next(c.removesuffix("_walk_min") for c in res.columns if c.endswith("_walk_min"))
    by_id = dict(zip(res["residence_id"].astype(str), res[f"{category}_walk_min"], strict=True))
    covered = [c for c in res.columns if c.startswith("covered_")]
    share = dict(zip(res["residence_id"].astype(str),
                     res[covered].to_numpy(float).mean(axis=1), strict=True))  # fmt: skip
    checked = set()  # points within a tile's buffer also appear in the neighbour
    for x, y in tiles_over(res, 14):
        body = tileset.tile("coverage", 14, x, y)
        for feature in decode(body)["coverage"]["features"] if body else []:
            props = feature["properties"]
            minutes = by_id[props["residence_id"]]
            key = f"{category}_walk_time_s"
            if np.isnan(minutes):
                assert key not in props
            else:
                assert props[key] == pytest.approx(minutes * 60, abs=0.5)
            assert props["covered_share"] == pytest.approx(share[props["residence_id"]], abs=1e-4)
            checked.add(props["residence_id"])
    assert len(checked) == len(res)


def test_router_serves_gzip_mvt_204_400_404_422(tileset, city):
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(tiles_router.router)
    app.state.tiles = lambda: tileset
    client = TestClient(app)
    lon, lat = city.walk_segments.union_all().representative_point().coords[0]
    x, y = tile_of(lon, lat, 15)
    ok = client.get(f"/tiles/walk/15/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
    assert ok.status_code == 200
    assert ok.headers["content-type"] == tiles_router.MVT_MEDIA_TYPE
    assert ok.headers["content-encoding"] == "gzip"
    assert mapbox_vector_tile.decode(ok.content)["walk"]["features"]  # httpx un-gzips
    plain = client.get(f"/tiles/walk/15/{x}/{y}.mvt", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == ok.content
    assert client.get("/tiles/walk/15/0/0.mvt").status_code == 204
    assert client.get("/tiles/walk/2/4/0.mvt").status_code == 400
    assert client.get("/tiles/walk/25/0/0.mvt").status_code == 400
    assert client.get("/tiles/nope/1/0/0.mvt").status_code == 404
    assert client.get("/tiles/walk/a/0/0.mvt").status_code == 422
    meta = client.get("/tiles/walk.json").json()
    assert meta["tiles"][0].endswith("/tiles/walk/{z}/{x}/{y}.mvt")
    assert meta["minzoom"] == 12
    assert meta["features"] == len(city.walk_segments)
    # the pipes are critical infrastructure: listed and served to staff only
    assert set(client.get("/tiles").json()) == {
        "walk",
        "cells",
        "admin",
        "coverage",
        *BASE_MAP,
        "base",
    }
    assert client.get("/tiles/pipes.json").status_code == 401
    assert client.get(f"/tiles/pipes/15/{x}/{y}.mvt").status_code == 401


def test_install_indexes_the_configured_city_on_first_use(tmp_path, city, evaluation):
    write_city(city, tmp_path / "small")
    write_evaluation(evaluation, tmp_path / "circles" / "small", formats=("parquet",))
    app = FastAPI()
    tiles_router.install(app, Settings(data_dir=tmp_path, city="small"))
    tiles = app.state.tiles()
    assert app.state.tiles() is tiles
    assert set(tiles.layers) == {"walk", "cells", "pipes", "admin", "coverage", *BASE_MAP} - {
        "hillshade"
    }
    assert set(tiles.rasters) == {"hillshade"}
    assert len(tiles.layers["coverage"].geometry) == len(evaluation.residences)
    assert tileset_from_settings(Settings(data_dir=tmp_path, city="small")).layers.keys() == (
        tiles.layers.keys()
    )


@pytest.mark.data
def test_chongqing_districts_tile_with_yuzhong_where_it_is(shared_data):
    districts = read_boundaries(
        shared_data / "admin/chongqing_districts_amap_gcj02.geojson", level="district",
        code_column="district_code", name_column="district_name", datum="gcj02",
    )  # fmt: skip
    tiles = TileSet({"admin": admin_layer(districts)})
    yuzhong = districts[districts["code"] == "500103"].geometry.iloc[0]
    lon, lat = yuzhong.representative_point().coords[0]
    for z in (8, 11, 14):
        x, y = tile_of(lon, lat, z)
        features = decode(tiles.tile("admin", z, x, y))["admin"]["features"]
        px, py = (v[0] for v in _units(lon, lat, z, x, y))
        hits = [f["properties"]["code"] for f in features
                if shapely.geometry.shape(f["geometry"]).buffer(2).contains(
                    shapely.Point(px, py))]  # fmt: skip
        assert hits == ["500103"], (z, hits)


def _units(lon, lat, z, x, y):
    from shancheng.tiles.mercator import to_tile_units

    return to_tile_units(*lonlat_to_mercator([lon], [lat]), tile_bounds(z, x, y))


def test_a_missing_city_is_a_404_naming_it(tmp_path):
    app = FastAPI()
    install_error_handlers(app)
    tiles_router.install(app, Settings(data_dir=tmp_path, city="nowhere"))
    client = TestClient(app)
    for url in ("/tiles", "/tiles/walk.json", "/tiles/walk/0/0/0.mvt"):
        response = client.get(url)
        assert response.status_code == 404
        assert "nowhere" in response.text
