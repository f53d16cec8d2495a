"""The base map's layers over the demo city: named roads at street zoom, relief, labels."""

from __future__ import annotations

import io

import mapbox_vector_tile
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from shancheng.api.errors import install_error_handlers
from shancheng.api.routers import tiles as tiles_router
from shancheng.api.tilesets import city_tileset
from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.geo.crs import utm_to_lonlat
from shancheng.tiles import tile_of
from shancheng.tiles.basemap import roads_layer


@pytest.fixture(scope="module")
def city():
    return generate_demo_city(DemoConfig.small())


@pytest.fixture(scope="module")
def client(city):
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(tiles_router.router)
    tiles = city_tileset(city)
    app.state.tiles = lambda: tiles
    return TestClient(app)


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def centre_of(frame):
    point = frame.union_all().representative_point()
    return point.x, point.y


def test_roads_at_street_zoom_carry_classes_and_names_in_both_languages(city, client):
    nanbin = city.walk_segments[city.walk_segments["name"] == "南滨路"]
    x, y = tile_of(*centre_of(nanbin), 15)
    r = client.get(f"/tiles/roads/15/{x}/{y}.mvt")
    assert r.status_code == 200
    features = decode(r.content)["roads"]["features"]
    named = [f["properties"] for f in features if "name" in f["properties"]]
    assert {
        "class": "primary",
        "name": "南滨路",
        "name_en": "Nanbin Road",
        "bridge": False,
    } in named
    unnamed = [f["properties"] for f in features if "name" not in f["properties"]]
    assert unnamed and all("name_en" not in p for p in unnamed)  # absent, never ""
    assert {f["properties"]["class"] for f in features} >= {"primary", "residential"}


def test_zoomed_out_road_tiles_hold_only_the_main_roads(city, client):
    lon, lat = centre_of(city.walk_segments)
    x, y = tile_of(lon, lat, 10)
    classes = {f["properties"]["class"]
               for f in decode(client.get(f"/tiles/roads/10/{x}/{y}.mvt").content)["roads"]["features"]}  # fmt: skip
    assert classes == {"primary"}


def test_merged_roads_keep_every_piece(city):
    layer = roads_layer(city.walk_segments)
    assert layer.sizes_m.sum() == pytest.approx(
        city.walk_segments.to_crs(3857).length.sum(), rel=1e-6
    )
    assert len(layer.geometry) < len(city.walk_segments)


def test_hillshade_png_over_the_hills_is_not_uniform_and_beyond_is_transparent(city, client):
    grid = city.terrain
    row, col = np.unravel_index(np.argmax(grid.heights_m), grid.shape)
    xx, yy = grid.cell_centres()
    lon, lat = (float(v[0]) for v in utm_to_lonlat([xx[row, col]], [yy[row, col]]))
    x, y = tile_of(lon, lat, 15)
    r = client.get(f"/tiles/hillshade/15/{x}/{y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == (256, 256) and image.mode == "LA"
    alpha = np.asarray(image)[..., 1]
    assert alpha.std() > 5
    far = client.get("/tiles/hillshade/15/0/0.png")
    assert far.status_code == 200
    assert np.asarray(Image.open(io.BytesIO(far.content)))[..., 1].max() == 0
    assert client.get("/tiles/hillshade/2/4/0.png").status_code == 400
    assert client.get("/tiles/hillshade/25/0/0.png").status_code == 400
    assert client.get("/tiles/hillshade/a/0/0.png").status_code == 422
    assert client.get("/tiles/roads/15/0/0.png").status_code == 404
    assert client.get("/tiles/hillshade/15/0/0.mvt").status_code == 404


def test_tilejson_describes_the_base_map_layers(client):
    meta = client.get("/tiles/hillshade.json").json()
    assert meta["format"] == "png" and meta["tiles"][0].endswith("/tiles/hillshade/{z}/{x}/{y}.png")
    assert meta["tileSize"] == 256
    roads = client.get("/tiles/roads.json").json()
    assert roads["minzoom"] == 10 and roads["format"] == "pbf"
    assert roads["vector_layers"][0]["fields"] == {"class": "String", "name": "String",
                                                   "name_en": "String", "bridge": "Boolean"}  # fmt: skip
    listed = client.get("/tiles").json()
    assert {"roads", "buildings", "water", "green", "contours", "labels", "hillshade"} <= set(
        listed
    )
    assert client.get("/tiles/contours.json").json()["vector_layers"][0]["fields"] == {
        "elevation_m": "Number",
        "index": "Boolean",
    }


def test_contours_and_labels_tiles(city, client):
    grid = city.terrain
    row, col = np.unravel_index(np.argmax(grid.heights_m), grid.shape)
    xx, yy = grid.cell_centres()
    lon, lat = (float(v[0]) for v in utm_to_lonlat([xx[row, col]], [yy[row, col]]))
    x, y = tile_of(lon, lat, 14)
    contours = decode(client.get(f"/tiles/contours/14/{x}/{y}.mvt").content)["contours"]
    props = [f["properties"] for f in contours["features"]]
    assert props and all(p["elevation_m"] % 10 == 0 for p in props)
    assert all(p["index"] == (p["elevation_m"] % 50 == 0) for p in props)
    lon, lat = centre_of(city.admin_units)
    labels = []
    for z in (12,):
        x0, y0 = tile_of(*city.admin_units.total_bounds[[0, 3]], z)
        x1, y1 = tile_of(*city.admin_units.total_bounds[[2, 1]], z)
        for tx in range(x0, x1 + 1):
            for ty in range(y0, y1 + 1):
                r = client.get(f"/tiles/labels/{z}/{tx}/{ty}.mvt")
                if r.status_code == 200:
                    labels += [f["properties"] for f in decode(r.content)["labels"]["features"]]
    kinds = {p["kind"] for p in labels}
    assert {"district", "street", "community", "road", "water"} <= kinds
    assert {"name": "南滨路", "name_en": "Nanbin Road", "kind": "road", "rank": 2} in labels
    assert all(1 <= p["rank"] <= 4 for p in labels)


def test_the_composite_base_tile_is_its_layers_tiles_together(city, client):
    """`base` holds, in one tile, exactly what each base-map layer's own tile holds."""
    meta = client.get("/tiles/base.json").json()
    members = [v["id"] for v in meta["vector_layers"]]
    assert set(members) <= {"water", "green", "contours", "buildings", "roads", "labels"}
    assert {"roads", "contours", "labels", "buildings"} <= set(members)
    assert meta["minzoom"] == min(client.get(f"/tiles/{m}.json").json()["minzoom"] for m in members)
    grid = city.terrain
    xx, yy = grid.cell_centres()
    lon, lat = (float(v[0]) for v in utm_to_lonlat([xx[grid.shape[0] // 2, grid.shape[1] // 2]],
                                                    [yy[grid.shape[0] // 2, grid.shape[1] // 2]]))  # fmt: skip
    for z in (12, 15):
        x, y = tile_of(lon, lat, z)
        base = client.get(f"/tiles/base/{z}/{x}/{y}.mvt")
        assert base.status_code == 200
        together = decode(base.content)
        apart = {}
        for member in members:
            own = client.get(f"/tiles/{member}/{z}/{x}/{y}.mvt")
            if own.status_code == 200:
                apart.update(decode(own.content))
        assert together == apart and len(apart) >= 2
    assert client.get("/tiles/base/15/0/0.mvt").status_code == 204  # nothing of the city there
    assert client.get("/tiles/base/15/0/0.png").status_code == 404
    assert "base" in client.get("/tiles").json()


def test_a_composite_must_name_vector_layers_of_the_set():
    from shancheng.errors import InputError
    from shancheng.tiles import TileSet

    with pytest.raises(InputError, match=r"unknown members: \['nope'\]"):
        TileSet({}, composites={"base": ("nope",)})
