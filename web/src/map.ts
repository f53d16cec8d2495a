/**
 * The map: MapLibre GL with the city's own layers only. The style has no glyphs, sprites or
 * remote sources (works offline); labels are HTML popups. A basemap tile URL (raster XYZ) can
 * be set by the user and is kept in localStorage; it is off by default.
 */
import * as maplibregl from "maplibre-gl";
import type { GeoJSONSource, LngLatBoundsLike, Map as MlMap } from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import "maplibre-gl/dist/maplibre-gl.css";
import type { FeatureCollection } from "geojson";
import { token } from "./api/client";

maplibregl.setWorkerUrl(workerUrl);

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

/** A map in `container`, with only a background (and the basemap when one is set). */
export function createMap(container: HTMLElement, label: string): MlMap {
  const tiles = basemapUrl();
  const map = new maplibregl.Map({
    container,
    style: {
      version: 8,
      sources: tiles ? { basemap: { type: "raster", tiles: [tiles], tileSize: 256 } } : {},
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#eef1ec" } },
        ...(tiles ? [{ id: "basemap", type: "raster" as const, source: "basemap" }] : []),
      ],
    },
    center: [106.55, 29.56],
    zoom: 11,
    attributionControl: false,
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  container.setAttribute("role", "region");
  container.setAttribute("aria-label", label);
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
export function fitTo(map: MlMap, data: FeatureCollection): void {
  const bounds = boundsOf(data);
  if (bounds) map.fitBounds(bounds, { padding: 30, animate: false });
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
}

/**
 * Add the server's vector tiles of `layer` (GET /tiles/{layer}.json) as source `t-{layer}`;
 * the tile URLs are taken relative to this page's origin. Returns the TileJSON, or null when
 * the server has no such layer (the caller falls back to GeoJSON).
 */
export async function addTiles(map: MlMap, layer: string): Promise<TileJson | null> {
  try {
    // staff-only layers (the pipes) take the signed-in user's token as ?access_token=
    const bearer = token();
    const auth = bearer ? `?access_token=${encodeURIComponent(bearer)}` : "";
    const response = await fetch(new URL(`/tiles/${layer}.json${auth}`, window.location.origin));
    if (!response.ok) return null;
    const tj = (await response.json()) as TileJson;
    const tiles = [`${window.location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt${auth}`];
    if (!map.getSource(`t-${layer}`)) {
      map.addSource(`t-${layer}`, { type: "vector", tiles, minzoom: tj.minzoom, maxzoom: Math.min(tj.maxzoom, 16), bounds: tj.bounds });
    }
    return tj;
  } catch {
    return null;
  }
}

/** The walkable street network under everything else (vector tiles; nothing if absent). */
export async function addStreets(map: MlMap, before?: string): Promise<void> {
  if (!(await addTiles(map, "walk"))) return;
  map.addLayer(
    {
      id: "streets",
      type: "line",
      source: "t-walk",
      "source-layer": "walk",
      paint: {
        "line-color": ["match", ["get", "kind"], "steps", "#a6761d", "#9aa3ab"],
        "line-width": ["interpolate", ["linear"], ["zoom"], 12, 0.4, 17, 2],
      },
    },
    before && map.getLayer(before) ? before : undefined,
  );
}

/** Fit the map to a TileJSON's bounds. */
export function fitBounds(map: MlMap, tj: TileJson | null): void {
  if (tj?.bounds) map.fitBounds(tj.bounds, { padding: 30, animate: false });
}
