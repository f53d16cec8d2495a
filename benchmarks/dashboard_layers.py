"""Large map layers in the browser: one GeoJSON vs Mapbox Vector Tiles, same data, one run.

Data: the largest real street network in ../shared/data (Malta 2018 OSM, imported with
``build_city``, flat) and its living-circles coverage (``evaluate_city``; residents placed in
the OSM buildings at one per 40 m² of floor, 2 floors where untagged, since the extract has no
population), plus Chongqing's 38 detailed district polygons (GCJ-02 → WGS84 by the project's
loader) for the admin layer's tile times. The layers: ``walk`` (street pieces with walking
times), ``cells`` (grid cells with coverage shares) and ``coverage`` (residences with the
nearest time per category and the share of needs met).

Server side it measures the GeoJSON body (serialised with 6 decimals, ≈ 0.1 m; raw and gzip
bytes and time) against the tiles of the first view (1280 x 800 at zoom 14 over Valletta,
cold cache) and the cold time per tile by zoom. In headless Chromium (Debian's, SwiftShader
WebGL: software rendering, so absolute frame times are those of a slow GPU-less machine) a
minimal MapLibre page loads either transport; it records the time until the map is idle
(everything loaded and drawn), then pans and zooms programmatically for about 7 s and
records the requestAnimationFrame intervals (median, p95, longest). Runs alternate
MVT / GeoJSON so both see the same machine load; a transport that is not idle within
``--idle-timeout`` is reported as such.

    .venv/bin/python benchmarks/dashboard_layers.py [--repeats 2] [--idle-timeout 600]
    .venv/bin/python benchmarks/dashboard_layers.py --no-server-side --cache-geojson

MapLibre GL JS comes from npm (``npm install`` into ~/.cache/shancheng-bench/maplibre).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import socket
import subprocess
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import shapely

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MALTA = SHARED / "networks/osm/malta_2018-08-27_geofabrik.osm.pbf"
DISTRICTS = SHARED / "admin/chongqing_districts_amap_gcj02.geojson"
MAPLIBRE = "maplibre-gl@5.6.2"
NPM_DIR = Path.home() / ".cache/shancheng-bench/maplibre"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking"]  # fmt: skip
VIEW = (1280, 800)
CENTRE = (14.497, 35.893)  # Valletta / Floriana / Msida: the densest streets
START_ZOOM = 14.0
SHARE = "kindergarten_5min_share"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare():
    """Import Malta, place residents, evaluate the circles; read Chongqing's districts."""
    from shancheng.circles.evaluate import evaluate_city
    from shancheng.data.boundaries import read_boundaries
    from shancheng.data.city import AGE_GROUPS
    from shancheng.data.importer import ImportOptions, build_city

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        city, _ = build_city(ImportOptions(osm=MALTA, name="Malta"))
    b = city.buildings
    floors = b["levels"].fillna(2.0).to_numpy(float)
    people = np.maximum(1.0, np.round(b["footprint_m2"].to_numpy(float) * floors / 40.0))
    b["population"] = people
    for group, share in zip(AGE_GROUPS, (0.03, 0.03, 0.07, 0.04, 0.63, 0.20), strict=True):
        b[group] = people * share
    evaluation = evaluate_city(city)
    districts = read_boundaries(DISTRICTS, level="district", code_column="district_code",
                                name_column="district_name", datum="gcj02")  # fmt: skip
    print(
        f"prepared in {time.perf_counter() - started:.1f} s (not counted): "
        f"{len(city.walk_segments):,} street pieces, {len(evaluation.residences):,} "
        f"residences, {len(evaluation.cells):,} cells, {len(districts)} districts "
        f"({shapely.get_num_coordinates(districts.geometry.to_numpy()).sum():,} vertices)"
    )
    return city, evaluation, districts


def geojson_body(tileset) -> bytes:
    """The same three layers as one FeatureCollection (property ``layer``), 6 decimals."""
    import geopandas as gpd
    import pandas as pd

    from shancheng.tiles.mercator import mercator_to_lonlat

    parts = []
    for name in ("walk", "cells", "coverage"):
        layer = tileset.layers[name]
        geoms = shapely.transform(
            layer.geometry, lambda xy: np.column_stack(mercator_to_lonlat(xy[:, 0], xy[:, 1]))
        )
        geoms = shapely.set_precision(geoms, 1e-6)
        parts.append(gpd.GeoDataFrame(layer.properties.assign(layer=name), geometry=geoms,
                                      crs=4326))  # fmt: skip
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
    return frame.to_json(drop_id=True, na="drop").encode()


def first_view_tiles(z: int = int(START_ZOOM)) -> list[tuple[int, int, int]]:
    """Tiles MapLibre needs for the first view (512 px tiles at the map's zoom)."""
    from shancheng.tiles.mercator import HALF_WORLD_M, lonlat_to_mercator

    mx, my = lonlat_to_mercator([CENTRE[0]], [CENTRE[1]])
    size = 2 * HALF_WORLD_M / 2**z
    cx = (mx[0] + HALF_WORLD_M) / size
    cy = (HALF_WORLD_M - my[0]) / size
    half_w, half_h = VIEW[0] / 512 / 2, VIEW[1] / 512 / 2
    xs = range(int(np.floor(cx - half_w)), int(np.floor(cx + half_w)) + 1)
    ys = range(int(np.floor(cy - half_h)), int(np.floor(cy + half_h)) + 1)
    return [(z, x, y) for x in xs for y in ys]


def server_side(tileset, districts_tiles) -> None:
    started = time.perf_counter()
    body = geojson_body(tileset)
    made = time.perf_counter() - started
    started = time.perf_counter()
    packed = gzip.compress(body, 6)
    zipped = time.perf_counter() - started
    print(
        f"\nGeoJSON, whole layers: {len(body) / 1e6:.1f} MB raw, {len(packed) / 1e6:.1f} MB gzip; "
        f"serialise {made:.2f} s + gzip {zipped:.2f} s = {made + zipped:.2f} s before the first "
        "byte"
    )
    for label, layers in (("walk+cells+coverage", ("walk", "cells", "coverage")),):
        tileset.clear_cache()
        started = time.perf_counter()
        sizes = [len(tileset.tile(n, *t)) for t in first_view_tiles() for n in layers]
        took = time.perf_counter() - started
        print(
            f"MVT first view ({label}, {len(sizes)} tiles, cold): {sum(sizes) / 1e3:.0f} kB gzip, "
            f"{took:.2f} s to cut and encode them all"
        )
    encoders(tileset)
    print("\ncold CPU time per tile (all tiles of the layer's extent, or 60 sampled):")
    print(
        f"{'layer':9} {'z':>3} {'tiles':>6} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} "
        f"{'median kB':>10} {'max kB':>8}"
    )
    rng = np.random.default_rng(0)
    for name, tiles, zooms in (("walk", tileset, (12, 13, 14, 15, 16)),
                               ("cells", tileset, (10, 12, 14)),
                               ("coverage", tileset, (12, 14, 16)),
                               ("admin", districts_tiles, (6, 8, 10, 12))):  # fmt: skip
        for z in zooms:
            addresses = _tiles_over(tiles.layers[name], z)
            if len(addresses) > 60:
                addresses = [addresses[i] for i in rng.choice(len(addresses), 60, replace=False)]
            tiles.clear_cache()
            times, sizes = [], []
            for x, y in addresses:
                t0 = time.process_time()
                sizes.append(len(tiles.tile(name, z, x, y)) / 1e3)
                times.append(1e3 * (time.process_time() - t0))
            print(
                f"{name:9} {z:3d} {len(addresses):6d} {np.median(times):10.1f} "
                f"{np.percentile(times, 95):8.1f} {max(times):8.1f} {np.median(sizes):10.1f} "
                f"{max(sizes):8.1f}"
            )


def encoders(tileset) -> None:
    """Encode the first view's tiles with ours and with mapbox-vector-tile (same features)."""
    import mapbox_vector_tile
    import pandas as pd

    from shancheng.tiles.layer import tile_features
    from shancheng.tiles.mvt import encode_layer

    cut = ours = peer = 0.0
    n_features = 0
    for address in first_view_tiles():
        for name in ("walk", "cells", "coverage"):
            layer = tileset.layers[name]
            t0 = time.process_time()
            geoms, rows = tile_features(layer, *address)
            props = layer.properties.iloc[rows].reset_index(drop=True)
            t1 = time.process_time()
            encode_layer(name, layer.kind, geoms, props)
            t2 = time.process_time()
            features = [
                {"geometry": g, "properties": {k: v for k, v in r.items() if not pd.isna(v)}}
                for g, r in zip(geoms, props.to_dict("records"), strict=True)
            ]
            mapbox_vector_tile.encode([{"name": name, "features": features}],
                                      default_options={"y_coord_down": True})  # fmt: skip
            t3 = time.process_time()
            cut, ours, peer = cut + t1 - t0, ours + t2 - t1, peer + t3 - t2
            n_features += len(rows)
    print(
        f"encoders on the first view ({n_features:,} features): cut {cut:.2f} s; encode: "
        f"shancheng.tiles.mvt {ours:.3f} s, mapbox-vector-tile {peer:.2f} s "
        f"(ratio {peer / ours:.0f}x)"
    )


def _tiles_over(layer, z):
    from shancheng.tiles import tile_of

    w, s, e, n = layer.bounds_lonlat
    x0, y0 = tile_of(w, n, z)
    x1, y1 = tile_of(e, s, z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


PAGE = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/maplibre-gl.css">
<style>html,body,#map{margin:0;width:100%;height:100%}</style></head>
<body><div id="map"></div><script src="/static/maplibre-gl.js"></script><script>
const mode = new URLSearchParams(location.search).get("mode");
const tiles = (n, minzoom) => ({type: "vector", minzoom, maxzoom: 16,
  tiles: [location.origin + "/tiles/" + n + "/{z}/{x}/{y}.mvt"]});
const sources = mode === "geojson"
  ? {all: {type: "geojson", data: "/bench/all.geojson"}}
  : {walk: tiles("walk", 12), cells: tiles("cells", 0), coverage: tiles("coverage", 12)};
const src = (n) => mode === "geojson"
  ? {source: "all", filter: ["==", ["get", "layer"], n]} : {source: n, "source-layer": n};
window.__t0 = performance.now();
const map = new maplibregl.Map({container: "map", center: [CENTRE], zoom: ZOOM,
  attributionControl: false, fadeDuration: 0,
  style: {version: 8, sources, layers: [
    {id: "bg", type: "background", paint: {"background-color": "#f4f1ea"}},
    {id: "cells", type: "fill", ...src("cells"), paint: {"fill-opacity": 0.45,
      "fill-color": ["interpolate", ["linear"], ["coalesce", ["get", "SHARE"], 0],
                     0, "#d7301f", 1, "#1a9850"]}},
    {id: "walk", type: "line", ...src("walk"), paint: {"line-width": 1.2,
      "line-color": ["interpolate", ["linear"], ["coalesce", ["get", "walk_time_s"], 0],
                     0, "#2b83ba", 60, "#d7191c"]}},
    {id: "coverage", type: "circle", ...src("coverage"), minzoom: 12, paint: {
      "circle-radius": 3, "circle-color": ["interpolate", ["linear"],
        ["coalesce", ["get", "covered_share"], 0], 0, "#d7301f", 1, "#1a9850"]}}]}});
map.once("idle", () => { window.__idle = performance.now() - window.__t0; });
window.runPan = async () => {
  const deltas = []; let last = performance.now(); let running = true;
  const tick = (t) => {
    deltas.push(t - last); last = t; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const moves = [{offset: [900, 0]}, {offset: [0, 600]}, {zoom: 15.5}, {offset: [-900, -300]},
                 {zoom: 13}, {offset: [700, 500]}, {zoom: 14}];
  for (const m of moves) {  // a move that never ends gives up after 3 s
    const done = Promise.race([new Promise((r) => map.once("moveend", r)),
                               new Promise((r) => setTimeout(r, 3000))]);
    if (m.offset) map.panBy(m.offset, {duration: 1000}); else map.zoomTo(m.zoom, {duration: 1000});
    await done;
  }
  running = false;
  return deltas;
};
</script></body></html>"""


def maplibre_dist() -> Path:
    dist = NPM_DIR / "node_modules/maplibre-gl/dist"
    if not (dist / "maplibre-gl.js").is_file():
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        command = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR), MAPLIBRE]
        subprocess.run(command, check=True)
    return dist


def serve(tileset, page: str, *, cache_geojson: bool = False):
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, Response
    from fastapi.staticfiles import StaticFiles

    from shancheng.api.routers import tiles as tiles_router

    app = FastAPI()
    app.include_router(tiles_router.router)
    app.state.tiles = lambda: tileset
    app.state.geojson_s = []

    cached = gzip.compress(geojson_body(tileset), 6) if cache_geojson else None

    @app.get("/bench/all.geojson")
    def all_geojson() -> Response:
        if cached is not None:  # browser cost only: the body was made before the clock
            return Response(cached, media_type="application/geo+json",
                            headers={"Content-Encoding": "gzip"})  # fmt: skip
        started = time.perf_counter()  # serialised per request, as a live endpoint would
        body = gzip.compress(geojson_body(tileset), 6)
        app.state.geojson_s.append(time.perf_counter() - started)
        return Response(body, media_type="application/geo+json",
                        headers={"Content-Encoding": "gzip"})  # fmt: skip

    @app.get("/")
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    app.mount("/static", StaticFiles(directory=maplibre_dist()), name="static")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, app


def browser(tileset, repeats: int, idle_timeout_s: float, *, cache_geojson: bool) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    page_html = (PAGE.replace("CENTRE", f"{CENTRE[0]}, {CENTRE[1]}")
                 .replace("ZOOM", str(START_ZOOM)).replace("SHARE", SHARE))  # fmt: skip
    base, server, app = serve(tileset, page_html, cache_geojson=cache_geojson)
    rows = []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for run in range(repeats):
            for mode in ("mvt", "geojson"):
                tileset.clear_cache()
                context = chromium.new_context(viewport={"width": VIEW[0], "height": VIEW[1]})
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e, got=errors: got.append(str(e)[:200]))
                data: list[int] = []
                page.on("response", lambda r, got=data: got.append(
                    int(r.headers.get("content-length", 0))) if ("/tiles/" in r.url
                    or "geojson" in r.url) else None)  # fmt: skip
                started = time.perf_counter()
                print(f"  {mode} run {run}: loading", flush=True)
                page.goto(f"{base}/?mode={mode}")
                try:
                    page.wait_for_function("window.__idle !== undefined",
                                           timeout=idle_timeout_s * 1000)  # fmt: skip
                except PlaywrightTimeout:
                    print(f"  {mode} run {run}: not idle after {idle_timeout_s} s", flush=True)
                    rows.append((run, mode, None, None, None, None, 0, 0, len(data), errors))
                    context.close()
                    continue
                idle_s = time.perf_counter() - started
                print(f"  {mode} run {run}: idle after {idle_s:.1f} s", flush=True)
                before = len(data)
                deltas = np.asarray(page.evaluate("window.runPan()"))
                rows.append((run, mode, idle_s, float(np.median(deltas)),
                             float(np.percentile(deltas, 95)), float(deltas.max()),
                             int((deltas > 50).sum()), len(deltas),
                             f"{before}+{len(data) - before}", errors))  # fmt: skip
                context.close()
        chromium.close()
    server.should_exit = True
    print(
        f"\nheadless Chromium {VIEW[0]}x{VIEW[1]}, zoom {START_ZOOM} over Valletta, then 7 moves "
        "of 1 s (pan 900 px, pan 600 px, zoom 15.5, pan, zoom 13, pan, zoom 14):"
    )
    print(
        f"{'run':>3} {'mode':8} {'to idle s':>9} {'frame median ms':>16} {'p95 ms':>7} "
        f"{'max ms':>7} {'>50 ms':>6} {'frames':>6} {'requests (load+pan)':>20}"
    )
    for run, mode, idle, med, p95, longest, slow, frames, requests, errors in rows:
        if idle is None:
            print(
                f"{run:3d} {mode:8} {'> ' + str(idle_timeout_s):>9}  (not idle in time; "
                f"{requests} requests answered)"
            )
        else:
            print(
                f"{run:3d} {mode:8} {idle:9.2f} {med:16.1f} {p95:7.1f} {longest:7.0f} "
                f"{slow:6d} {frames:6d} {requests:>20}"
            )
        if errors:
            print(f"    page errors: {errors[:3]}")
    print(
        "GeoJSON serialisation + gzip per request, s: "
        + ", ".join(f"{t:.2f}" for t in app.state.geojson_s)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="browser runs per transport")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-server-side", action="store_true", help="browser part only")
    parser.add_argument(
        "--cache-geojson",
        action="store_true",
        help="serialise the GeoJSON before the browser runs (browser cost only)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=600.0,
        help="give up waiting for the map to be idle after this many seconds",
    )
    args = parser.parse_args()
    os.environ.setdefault("SHANCHENG_QUIET", "1")
    from shancheng.api.tilesets import city_tileset
    from shancheng.tiles import TileSet
    from shancheng.tiles.sources import admin_layer

    city, evaluation, districts = prepare()
    started = time.perf_counter()
    tileset = city_tileset(city, residences=evaluation.residences, cells=evaluation.cells)
    admin = TileSet({"admin": admin_layer(districts)})
    print(
        f"tile layers indexed (projection + STRtree) in {time.perf_counter() - started:.2f} s: "
        + ", ".join(f"{k} {len(v.geometry):,} {v.kind}s" for k, v in tileset.layers.items())
    )
    if not args.no_server_side:
        server_side(tileset, admin)
    if not args.no_browser:
        browser(tileset, args.repeats, args.idle_timeout, cache_geojson=args.cache_geojson)
    print(f"\npeak RSS {peak_rss_mb():.0f} MB; load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
