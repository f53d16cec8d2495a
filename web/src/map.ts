/**
 * The map: MapLibre GL with the city's own layers only, base map included (cut by the server
 * from the City: relief, water, green, buildings, streets, names). The style has no glyphs,
 * sprites or remote sources (works offline): names are drawn with the browser's own fonts
 * (MapLibre ≥ 5.11 renders text locally when a style has no glyphs). A raster basemap tile URL
 * of the user's own can be set and is kept in localStorage; it is off by default.
 *
 * MapLibre 5's single bundle (worker inline) rather than 6's split main and worker modules:
 * the split ships the shared code twice, 460 KB gzipped against 275 KB, over the dashboard's
 * 400 KB budget for JavaScript.
 */
import maplibregl from "maplibre-gl";
import type { GeoJSONSource, LngLatBoundsLike, Map as MlMap } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import type { FeatureCollection } from "geojson";
import { token } from "./api/client";
import { lang, onLangChange, t, type TextKey } from "./i18n";

const BASEMAP_KEY = "shancheng.basemap";

/** The optional basemap tile URL ({z}/{x}/{y}), or "" for none. */
export function basemapUrl(): string {
  return localStorage.getItem(BASEMAP_KEY) ?? "";
}

/** Keep a basemap tile URL ("" removes it); maps made afterwards use it. */
export function setBasemapUrl(url: string): void {
  if (url) localStorage.setItem(BASEMAP_KEY, url);
  else localStorage.removeItem(BASEMAP_KEY);
}

/** MapLibre's own texts (controls, the canvas's name) in the chosen language. */
function mapLocale(): Record<string, string> {
  return {
    "Map.Title": t("map_title"),
    "NavigationControl.ZoomIn": t("zoom_in"),
    "NavigationControl.ZoomOut": t("zoom_out"),
    "NavigationControl.ResetBearing": t("reset_bearing"),
    "ScrollZoomBlocker.CtrlMessage": t("map_scroll_zoom"),
    "TouchPanBlocker.Message": t("map_touch_pan"),
  };
}

const STAFF_LAYERS = new Set(["pipes"]);

/**
 * A map in `container` named by the text `label` (translated with the page), opening on
 * `bounds` when the view knows them already (no tiles fetched for a view left at once).
 */
export function createMap(container: HTMLElement, label: TextKey, bounds?: LngLatBoundsLike | null, maxZoom = 18): MlMap {
  const tiles = basemapUrl();
  const map = new maplibregl.Map({
    container,
    style: {
      version: 8,
      sources: tiles ? { basemap: { type: "raster", tiles: [tiles], tileSize: 256 } } : {},
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#f3f1ec" } },
        ...(tiles ? [{ id: "basemap", type: "raster" as const, source: "basemap" }] : []),
      ],
    },
    ...(bounds ? { bounds, fitBoundsOptions: { padding: 40, maxZoom } } : { center: [106.55, 29.56] as [number, number], zoom: 11 }),
    // no fade-in of symbols and raster tiles: the map is final as soon as its tiles are drawn
    fadeDuration: 0,
    locale: mapLocale(),
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  container.setAttribute("role", "region");
  container.setAttribute("aria-label", t(label));
  container.dataset.i18nAria = label;
  // MapLibre writes its texts once: a language switch re-labels the controls and the canvas
  const relabel = (): void => {
    const texts = mapLocale();
    const set = (selector: string, text: string | undefined): void => {
      for (const el of container.querySelectorAll(selector)) {
        el.setAttribute("aria-label", text ?? "");
        el.setAttribute("title", text ?? "");
      }
    };
    set(".maplibregl-ctrl-zoom-in", texts["NavigationControl.ZoomIn"]);
    set(".maplibregl-ctrl-zoom-out", texts["NavigationControl.ZoomOut"]);
    set(".maplibregl-ctrl-compass", texts["NavigationControl.ResetBearing"]);
    map.getCanvas().setAttribute("aria-label", texts["Map.Title"] ?? "");
  };
  const stopRelabel = onLangChange(relabel);
  map.once("remove", stopRelabel);
  // the page's maps, for the e2e checks' rendered-feature queries (nothing reads it otherwise)
  ((window as unknown as { __shanchengMaps?: MlMap[] }).__shanchengMaps ??= []).push(map);
  map.once("remove", () => {
    const maps = (window as unknown as { __shanchengMaps: MlMap[] }).__shanchengMaps;
    maps.splice(maps.indexOf(map), 1);
  });
  // when the map last finished drawing (ms since the page's navigation began): the first
  // render's budget is read from here by the e2e check and `make bench-dashboard`
  map.on("idle", () => {
    container.dataset.idleMs = String(Math.round(performance.now()));
  });
  return map;
}

/** Resolve when the map's style is loaded (at once if it already is). */
export function ready(map: MlMap): Promise<void> {
  return new Promise((resolve) => {
    if (map.isStyleLoaded()) resolve();
    else map.once("load", () => resolve());
  });
}

const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

/** Set (or create) a GeoJSON source's data. */
export function setData(map: MlMap, id: string, data: FeatureCollection | string = EMPTY): void {
  const source = map.getSource(id) as GeoJSONSource | undefined;
  if (source) source.setData(data);
  else map.addSource(id, { type: "geojson", data, promoteId: undefined });
}

/** The bounds of a FeatureCollection's coordinates, or null when it has none. */
export function boundsOf(data: FeatureCollection): LngLatBoundsLike | null {
  let minX = Infinity,
    minY = Infinity,
    maxX = -Infinity,
    maxY = -Infinity;
  const visit = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === "number") {
      const [x, y] = c as [number, number];
      minX = Math.min(minX, x);
      minY = Math.min(minY, y);
      maxX = Math.max(maxX, x);
      maxY = Math.max(maxY, y);
    } else if (Array.isArray(c)) {
      for (const inner of c) visit(inner);
    }
  };
  for (const f of data.features) {
    if (f.geometry && "coordinates" in f.geometry) visit(f.geometry.coordinates);
  }
  return Number.isFinite(minX) ? [minX, minY, maxX, maxY] : null;
}

/** Fit the map to a FeatureCollection (no animation: tests and screenshots see the end state). */
export function fitTo(map: MlMap, data: FeatureCollection, maxZoom = 18): void {
  const bounds = boundsOf(data);
  if (bounds) map.fitBounds(bounds, { padding: 40, animate: false, maxZoom });
}

/** A colour ramp (light → dark green) for shares 0..1; grey for missing. */
export const SHARE_RAMP = [
  "case",
  ["==", ["typeof", ["get", "value"]], "number"],
  ["interpolate", ["linear"], ["get", "value"], 0, "#d7301f", 0.5, "#fdcc8a", 0.8, "#a1d99b", 1, "#238b45"],
  "#cccccc",
] as unknown as maplibregl.ExpressionSpecification;

/** A colour ramp for counts relative to a maximum `max`. */
export function countRamp(max: number): maplibregl.ExpressionSpecification {
  return [
    "case",
    ["==", ["typeof", ["get", "value"]], "number"],
    ["interpolate", ["linear"], ["get", "value"], 0, "#f7fbff", Math.max(max, 1), "#08519c"],
    "#cccccc",
  ] as unknown as maplibregl.ExpressionSpecification;
}

export { maplibregl };
export type { MlMap };

/** A legend over the map (bottom right): a title and colour swatches with their texts. */
export function legend(map: MlMap, title: string, items: Array<[string, string]>): void {
  const container = map.getContainer();
  container.querySelector(".map-legend")?.remove();
  const box = document.createElement("div");
  box.className = "map-legend";
  box.setAttribute("role", "note");
  const head = document.createElement("strong");
  head.textContent = title;
  box.append(head);
  for (const [colour, text] of items) {
    const row = document.createElement("div");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour;
    row.append(swatch, ` ${text}`);
    box.append(row);
  }
  container.append(box);
}

/** The legend items of SHARE_RAMP. */
export const SHARE_LEGEND: Array<[string, string]> = [
  ["#d7301f", "0 %"],
  ["#fdcc8a", "50 %"],
  ["#a1d99b", "80 %"],
  ["#238b45", "100 %"],
  ["#cccccc", "–"],
];

/** The TileJSON fields the dashboard reads. */
export interface TileJson {
  tiles: string[];
  minzoom: number;
  maxzoom: number;
  bounds?: [number, number, number, number];
  features?: number;
  /** The layers a vector tile holds (one, or several for a composite such as `base`). */
  vector_layers?: { id: string; minzoom?: number }[];
}

/**
 * Add the server's vector tiles of `layer` (GET /tiles/{layer}.json) as source `t-{layer}`;
 * the tile URLs are taken relative to this page's origin. Returns the TileJSON, or null when
 * the server has no such layer (the caller falls back to GeoJSON).
 */
export async function addTiles(map: MlMap, layer: string): Promise<TileJson | null> {
  try {
    // only staff-only layers (the pipes) carry the token (?access_token=): public tiles stay cacheable
    const bearer = STAFF_LAYERS.has(layer) ? token() : null;
    const auth = bearer ? `?access_token=${encodeURIComponent(bearer)}` : "";
    const tj = await tileJson(`${layer}.json${auth}`);
    if (!tj) return null;
    const tiles = [`${window.location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt${auth}`];
    if (!map.getSource(`t-${layer}`)) {
      map.addSource(`t-${layer}`, { type: "vector", tiles, minzoom: tj.minzoom, maxzoom: Math.min(tj.maxzoom, 16), bounds: tj.bounds });
    }
    return tj;
  } catch {
    return null;
  }
}

/** The name of a feature in the chosen language (English falls back to the local name). */
function nameField(): maplibregl.ExpressionSpecification {
  return (lang() === "en" ? ["coalesce", ["get", "name_en"], ["get", "name"]] : ["get", "name"]) as maplibregl.ExpressionSpecification;
}

// road classes of the server's `roads` layer (docs/dashboard-api.md, "Base map")
const ROAD_COLOURS = ["match", ["get", "class"],
  "primary", "#f0b75e",
  "secondary", "#f6d58e",
  ["tertiary", "residential", "service"], "#ffffff",
  "steps", "#a6761d",
  ["lift", "cable_car"], "#7a5195",
  "ferry", "#5b8db8",
  "#cfc8bc"] as unknown as maplibregl.ExpressionSpecification;
const ROAD_WIDTHS = ["interpolate", ["linear"], ["zoom"],
  10, ["match", ["get", "class"], "primary", 1.4, "secondary", 0.9, 0.4],
  16, ["match", ["get", "class"], "primary", 9, "secondary", 7, ["tertiary", "residential", "service"], 5, 1.8]] as unknown as maplibregl.ExpressionSpecification;
const CARRIAGEWAYS = ["match", ["get", "class"], ["primary", "secondary", "tertiary", "residential", "service"], true, false] as unknown as maplibregl.ExpressionSpecification;

/**
 * The base map, cut by the server from the City itself (works offline): hillshade and contour
 * lines from the DEM, water, green, buildings, streets by class and the names of units, main
 * streets and rivers in the chosen language. Drawn beneath whatever data layers the view has
 * already added (the names go on top), muted so the data stays readable. Layers the server
 * does not have are left out; without any, the view falls back to the walk network.
 */
export async function addStreets(map: MlMap): Promise<void> {
  const below = map.getStyle().layers.find((l) => l.id !== "background")?.id;
  const under = (spec: maplibregl.LayerSpecification): void => {
    map.addLayer(spec, below && map.getLayer(below) ? below : undefined);
  };
  // the vector layers come together in one tile per address (the server's composite `base`):
  // one source, one request and one redraw per tile rather than six
  const [hillshade, base] = await Promise.all([addRaster(map, "hillshade"), addTiles(map, "base")]);
  const has = new Set((base?.vector_layers ?? []).map((l) => l.id));
  const [water, green, contours, buildings, roads, labels] = ["water", "green", "contours", "buildings", "roads", "labels"].map((name) => has.has(name));
  if (hillshade) under({ id: "base-hillshade", type: "raster", source: "r-hillshade", paint: { "raster-opacity": 0.45, "raster-fade-duration": 0 } });
  if (green) under({ id: "base-green", type: "fill", source: "t-base", "source-layer": "green", paint: { "fill-color": "#d4e6c3", "fill-opacity": 0.8 } });
  if (water) under({ id: "base-water", type: "fill", source: "t-base", "source-layer": "water", paint: { "fill-color": "#9ccbe6" } });
  if (contours) {
    under({
      id: "base-contours",
      type: "line",
      source: "t-base",
      "source-layer": "contours",
      paint: { "line-color": "#a08c6c", "line-opacity": 0.55, "line-width": ["case", ["to-boolean", ["get", "index"]], 0.9, 0.35] },
    });
  }
  if (buildings) under({ id: "base-buildings", type: "fill", source: "t-base", "source-layer": "buildings", minzoom: 14, paint: { "fill-color": "#d9d3c9", "fill-outline-color": "#c2b9ab" } });
  if (roads) {
    // a grey casing under the carriageways, so white streets stand out from the ground
    under({ id: "base-roads-casing", type: "line", source: "t-base", "source-layer": "roads", filter: CARRIAGEWAYS, minzoom: 12, layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": "#b9b2a6", "line-gap-width": ROAD_WIDTHS, "line-width": 0.8 } });
    under({ id: "base-roads", type: "line", source: "t-base", "source-layer": "roads", layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": ROAD_COLOURS, "line-width": ROAD_WIDTHS } });
    under({
      id: "base-road-names",
      type: "symbol",
      source: "t-base",
      "source-layer": "roads",
      minzoom: 14,
      filter: ["has", "name"],
      layout: { "symbol-placement": "line", "text-field": nameField(), "text-size": 11 },
      paint: { "text-color": "#5a4a2a", "text-halo-color": "#ffffff", "text-halo-width": 1.4 },
    });
  } else if (await addTiles(map, "walk")) {
    under({ id: "streets", type: "line", source: "t-walk", "source-layer": "walk", paint: { "line-color": ["match", ["get", "kind"], "steps", "#a6761d", "#9aa3ab"], "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.4, 17, 2] } });
  }
  if (contours) {
    under({
      id: "base-contour-labels",
      type: "symbol",
      source: "t-base",
      "source-layer": "contours",
      minzoom: 14,
      filter: ["to-boolean", ["get", "index"]],
      layout: { "symbol-placement": "line", "text-field": ["concat", ["to-string", ["get", "elevation_m"]], " m"], "text-size": 10 },
      paint: { "text-color": "#7a6a50", "text-halo-color": "#ffffff", "text-halo-width": 1.2 },
    });
  }
  if (labels) {
    map.addLayer({
      id: "base-labels",
      type: "symbol",
      source: "t-base",
      "source-layer": "labels",
      layout: {
        "text-field": nameField(),
        "text-size": ["match", ["get", "kind"], "district", 15, "street", 13, "water", 13, 11],
        "symbol-sort-key": ["coalesce", ["get", "rank"], 10],
        "text-padding": 4,
      },
      paint: {
        "text-color": ["match", ["get", "kind"], "water", "#1f5f8b", "road", "#5a4a2a", "#1d2327"],
        "text-halo-color": "#ffffff",
        "text-halo-width": 1.6,
      },
    });
  }
  const relabel = (): void => {
    for (const id of ["base-labels", "base-road-names"]) {
      if (map.getLayer(id)) map.setLayoutProperty(id, "text-field", nameField());
    }
  };
  const stop = onLangChange(relabel);
  map.once("remove", stop);
}

const TILEJSONS = new Map<string, Promise<TileJson | null>>();

/** A layer's TileJSON (`name` is `{layer}.json` with its query), fetched once per page. */
function tileJson(name: string): Promise<TileJson | null> {
  let found = TILEJSONS.get(name);
  if (!found) {
    found = fetch(new URL(`/tiles/${name}`, window.location.origin))
      .then((r) => (r.ok ? (r.json() as Promise<TileJson>) : null))
      .catch(() => null);
    TILEJSONS.set(name, found);
  }
  return found;
}

/** Add the server's raster tiles of `layer` (GET /tiles/{layer}.json, PNG) as `r-{layer}`. */
async function addRaster(map: MlMap, layer: string): Promise<TileJson | null> {
  try {
    const tj = await tileJson(`${layer}.json`);
    if (!tj) return null;
    if (!map.getSource(`r-${layer}`)) {
      map.addSource(`r-${layer}`, { type: "raster", tiles: [`${window.location.origin}/tiles/${layer}/{z}/{x}/{y}.png`], tileSize: 256, minzoom: tj.minzoom, maxzoom: Math.min(tj.maxzoom, 16), bounds: tj.bounds });
    }
    return tj;
  } catch {
    return null;
  }
}

/** Fit the map to a TileJSON's bounds. */
export function fitBounds(map: MlMap, tj: TileJson | null): void {
  if (tj?.bounds) map.fitBounds(tj.bounds, { padding: 30, animate: false });
}
