/**
 * Shapes of the dashboard routers in docs/dashboard-api.md (city, circles, lifelines, targets,
 * streams). The generated `schema.d.ts` covers the endpoints the server documents; these
 * hand-written types follow the contract for the rest, so the app builds against it before the
 * routers land and the compiler checks the contract's names wherever the app reads them.
 */
import type { FeatureCollection, Geometry } from "geojson";

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

export interface IndicatorRow {
  code: string;
  name: string;
  level: UnitLevel;
  residents: number;
  circle_coverage_share: number | null;
  childcare_places_per_1000: number | null;
  pipe_monitoring_share: number | null;
  cases_open: number;
  cases_overdue: number;
  on_time_share: number | null;
}

export interface CircleCategory {
  category: string;
  name_zh: string;
  name_en: string;
  level: string;
  cutoff_s: number;
}

export interface CoverageRow {
  code: string;
  name: string;
  residents: number;
  covered_residents: number;
  share: number | null;
}

export interface NearestRow {
  category: string;
  walk_time_s: number | null;
  cutoff_s: number;
  facility_id: string | number | null;
  facility_name: string | null;
}

export interface WhatIf {
  category: string;
  residents_newly_covered: number;
  before: Array<{ code: string; share: number }>;
  after: Array<{ code: string; share: number }>;
  level: string;
}

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
