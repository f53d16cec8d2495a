/**
 * Operations map: the city's units as a choropleth of one indicator, drilled down city →
 * district → street → community by clicking a unit (map or table); a breadcrumb goes back up.
 */
import type { Cleanup } from "../app";
import { get } from "../api/client";
import type { Geo, IndicatorRow, MeasureRead, UnitLevel, UnitProps } from "../api/contract";
import { h, labelled, select, table } from "../dom";
import { defineText, fmt, lang, onLangChange, pct, t, tOr, type DataKey } from "../i18n";
import { addStreets, basemapUrl, countRamp, createMap, fitTo, legend, maplibregl, ready, setBasemapUrl, SHARE_LEGEND, SHARE_RAMP, setData } from "../map";

const NEXT: Record<UnitLevel, UnitLevel | null> = {
  city: "district",
  district: "street",
  street: "community",
  community: null,
};

type IndicatorKey = Exclude<keyof IndicatorRow, "code" | "name" | "name_en" | "level" | "parent" | "residents" | "area_km2">;

/** The measures as the server's registry lists them (GET /city/measures): order, names, kinds. */
let MEASURES: MeasureRead[] = [];

function measureOf(key: IndicatorKey): MeasureRead | undefined {
  return MEASURES.find((m) => m.key === key);
}

function label(key: IndicatorKey): DataKey {
  const m = measureOf(key);
  return defineText(`data:measure_${key}`, m?.name_zh ?? key, m?.name_en ?? key);
}

interface Crumb {
  code: string | null;
  name: string;
  level: UnitLevel;
}

function isShare(key: IndicatorKey): boolean {
  return measureOf(key)?.kind === "share";
}

function show(key: IndicatorKey, value: number | null | undefined): string {
  if (isShare(key)) return pct(value);
  return fmt(value, measureOf(key)?.kind === "per_1000" ? 2 : 0);
}

function unitName(p: { name: string; name_en?: string | null }): string {
  return lang() === "en" && p.name_en ? p.name_en : p.name;
}

export async function mountOps(root: HTMLElement): Promise<Cleanup> {
  const mapBox = h("div", { class: "map", id: "ops-map" });
  const crumbs = h("nav", { class: "crumbs", "aria-label": t("breadcrumb"), "data-i18n-aria": "breadcrumb" });
  MEASURES = await get<MeasureRead[]>("/city/measures");
  const chooser = select(MEASURES.map((m) => [m.key, tOr(label(m.key as IndicatorKey), m.key)]), MEASURES[0]?.key ?? "");
  chooser.name = "indicator";
  const tableBox = h("div", { class: "table-box" });
  // the optional basemap (raster XYZ tiles of the user's own server); off by default
  const basemap = h("input", { type: "url", name: "basemap", value: basemapUrl(), placeholder: "http://127.0.0.1:8080/{z}/{x}/{y}.png" });
  const settings = h(
    "details",
    { class: "settings" },
    h("summary", { i18n: "settings" }),
    h("form", { class: "row", onsubmit: (e: Event) => {
      e.preventDefault();
      setBasemapUrl(basemap.value.trim());
      window.location.reload();
    } }, labelled("basemap", basemap), h("button", { type: "submit", i18n: "save" })),
  );
  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "ops-title" },
    h("h2", { id: "ops-title", i18n: "view_ops" }),
    crumbs,
    labelled("indicator", chooser),
    h("p", { class: "hint", i18n: "drill_hint" }),
    tableBox,
    settings,
  );
  root.append(h("div", { class: "split" }, mapBox, panel));
  const map = createMap(mapBox, t("view_ops"));
  await ready(map);

  const path: Crumb[] = [{ code: null, name: t("level_city"), level: "city" }];
  let units: Geo<UnitProps> = { type: "FeatureCollection", features: [] };
  let rows: IndicatorRow[] = [];
  let popup: maplibregl.Popup | null = null;

  setData(map, "units");
  map.addLayer({ id: "units-fill", type: "fill", source: "units", paint: { "fill-color": SHARE_RAMP, "fill-opacity": 0.75 } });
  await addStreets(map);
  map.addLayer({ id: "units-line", type: "line", source: "units", paint: { "line-color": "#334", "line-width": 1 } });

  const paint = (): void => {
    const key = chooser.value as IndicatorKey;
    const byCode = new Map(rows.map((r) => [r.code, r]));
    const data: Geo<UnitProps & { value: number | null }> = {
      type: "FeatureCollection",
      features: units.features.map((f) => ({
        ...f,
        properties: { ...f.properties, value: (byCode.get(f.properties.code)?.[key] as number | null | undefined) ?? null },
      })),
    };
    setData(map, "units", data);
    const max = Math.max(1, ...rows.map((r) => Number(r[key] ?? 0)));
    map.setPaintProperty("units-fill", "fill-color", isShare(key) ? SHARE_RAMP : countRamp(max));
    legend(map, tOr(label(key), key), isShare(key) ? SHARE_LEGEND : [["#f7fbff", "0"], ["#08519c", show(key, max)], ["#cccccc", "–"]]);
    const current = path[path.length - 1]!;
    const level = NEXT[current.level] ?? current.level;
    tableBox.replaceChildren(
      table<IndicatorRow>(
        "units_table",
        [
          ["name", (r) => unitName(units.features.find((f) => f.properties.code === r.code)?.properties ?? r)],
          ["residents", (r) => fmt(r.residents)],
          [label(key), (r) => show(key, r[key] as number | null)],
          ...(key === "cases_open" ? [] : [[label("cases_open"), (r: IndicatorRow) => fmt(r.cases_open)] as [DataKey, (r: IndicatorRow) => string]]),
        ],
        rows,
        NEXT[level] ? (r) => void drill({ code: r.code, name: r.name, level }) : undefined,
      ),
    );
    crumbs.replaceChildren(
      ...path.map((c, i) =>
        i === path.length - 1
          ? h("span", { "aria-current": "location" }, c.code ? c.name : t("level_city"))
          : h("button", { type: "button", class: "link", onclick: () => void goTo(i) }, c.code ? c.name : t("level_city")),
      ),
    );
  };

  const load = async (): Promise<void> => {
    const current = path[path.length - 1]!;
    const level = NEXT[current.level];
    if (!level) return;
    const query = { level, parent: current.code ?? undefined };
    [units, rows] = await Promise.all([
      get<Geo<UnitProps>>("/city/units", query),
      get<IndicatorRow[]>("/city/indicators", query),
    ]);
    root.dataset.level = level;
    paint();
    fitTo(map, units);
  };

  const drill = async (crumb: Crumb): Promise<void> => {
    if (!NEXT[crumb.level]) return;
    path.push(crumb);
    popup?.remove();
    await load();
  };

  const goTo = async (index: number): Promise<void> => {
    path.splice(index + 1);
    popup?.remove();
    await load();
  };

  map.on("click", "units-fill", (event) => {
    const f = event.features?.[0];
    if (!f) return;
    const p = f.properties as UnitProps & { value: number | null };
    const current = path[path.length - 1]!;
    const level = NEXT[current.level];
    if (level && NEXT[level]) {
      void drill({ code: p.code, name: unitName(p), level });
      return;
    }
    const key = chooser.value as IndicatorKey;
    popup?.remove();
    popup = new maplibregl.Popup({ closeButton: true })
      .setLngLat(event.lngLat)
      .setDOMContent(h("div", {}, h("strong", {}, unitName(p)), h("br"), `${tOr(label(key), key)}: ${show(key, p.value)}`))
      .addTo(map);
  });
  map.on("mouseenter", "units-fill", () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", "units-fill", () => (map.getCanvas().style.cursor = ""));
  chooser.addEventListener("change", paint);
  const unsubscribe = onLangChange(() => {
    for (const option of chooser.options) option.textContent = tOr(label(option.value as IndicatorKey), option.value);
    paint();
  });

  try {
    await load();
  } catch (err) {
    unsubscribe();
    map.remove();
    throw err;
  }
  return () => {
    unsubscribe();
    map.remove();
  };
}
