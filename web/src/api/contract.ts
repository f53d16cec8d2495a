/**
 * Shapes of the dashboard routers in docs/dashboard-api.md (city, circles, lifelines, targets,
 * streams). The generated `schema.d.ts` covers the endpoints the server documents; these
 * hand-written types follow the contract for the rest, so the app builds against it before the
 * routers land and the compiler checks the contract's names wherever the app reads them.
 */
import type { FeatureCollection, Geometry } from "geojson";
import type { components } from "./schema";

type Schemas = components["schemas"];

export type UnitLevel = "city" | "district" | "street" | "community";

export interface UnitProps {
  code: string;
  name: string;
  name_en?: string | null;
  level: UnitLevel;
  parent: string | null;
  residents: number;
  area_km2: number;
}

export type IndicatorRow = Schemas["UnitIndicators"];

export type CircleCategory = Schemas["CategoryRead"];

export type CoverageRow = Schemas["UnitCoverage"];

export type NearestRow = Schemas["NearestRead"];

export type WhatIf = Schemas["WhatIfRead"];

export interface NetworkRow {
  network: string;
  kind: "water" | "gas" | "drainage";
  pipes: number;
  length_m: number;
}

export interface SensorProps {
  sensor_id: string;
  kind: string;
  unit: string;
  last_value: number | null;
  last_time: string | null;
  state: string;
}

export interface ReadingBucket {
  time: string;
  min: number;
  mean: number;
  max: number;
}

export interface Alarm {
  alarm_id: number | string;
  sensor_id: string;
  level: string;
  rule: string;
  value: number;
  unit: string;
  raised_at: string;
  state: "raised" | "acknowledged" | "cleared";
  case_id?: number | null;
}

export interface Isolation {
  pipe_id: string | number;
  valves_to_close: Array<string | number>;
  segments_lost: number;
  side_effect_segments: number;
  customers: number;
  residents: number;
  critical_facilities: Array<{ facility_id: string | number; category: string; name: string }>;
  geometry: FeatureCollection;
}

export interface Target {
  target_id: string;
  name_zh: string;
  name_en: string;
  unit: string;
  target_value: number;
  due: string;
  source: "measured" | "manual";
  measured: Array<{ code: string; name: string; value: number | null }> | null;
  history: Array<{ value: number; date: string; note: string; entered_by: string }> | null;
}

export interface PublicCase {
  reference: string;
  category: string;
  stage: string;
  stage_zh: string;
  timeline: Array<{ stage: string; at: string }>;
}

export type Geo<P> = FeatureCollection<Geometry, P>;
