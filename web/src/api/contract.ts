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

export type MeasureRead = Schemas["MeasureRead"];

export type CircleCategory = Schemas["CategoryRead"];

export type CaseCategory = Schemas["CaseCategoryRead"];

export type CoverageRow = Schemas["UnitCoverage"];
export type TransitCoverageRow = Schemas["UnitTransitCoverage"];

export type NearestRow = Schemas["NearestRead"];

export type WhatIf = Schemas["WhatIfRead"];

export type NetworkRow = Schemas["NetworkRead"];

export interface SensorProps {
  sensor_id: string;
  kind: string;
  unit: string;
  last_value: number | null;
  last_time: string | null;
  network?: string;
  state: "alarm" | "ok" | "no_data" | string;
}

export type ReadingBucket = Schemas["ReadingBucket"];

export type Alarm = Schemas["AlarmRead"];

export type Isolation = Schemas["IsolationRead"];

export type Target = Schemas["TargetRead"];

export type PublicCase = Schemas["PublicCaseRead"];

export type Geo<P> = FeatureCollection<Geometry, P>;
