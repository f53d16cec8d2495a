/**
 * Operations map: the city's units as a choropleth of one indicator, drilled down city →
 * district → street → community by clicking a unit (map or table); a breadcrumb goes back up.
 */
import type { Cleanup } from "../app";
import { failed } from "../app";
import { get } from "../api/client";
import type { Geo, IndicatorRow, MeasureRead, Target, UnitLevel, UnitProps } from "../api/contract";
import { countCards, liveCounts, loadOpenStatuses, targetList, trendCharts, worstUnits } from "./overview";
import { ideasStatsSection } from "./ideas";
import { h, labelled, select, table } from "../dom";
import { defineText, fmt, lang, onLangChange, pct, t, tOr, translate, type DataKey } from "../i18n";
import { addStreets, basemapUrl, countRamp, createMap, boundsOf, fitTo, legend, maplibregl, ready, setBasemapUrl, SHARE_LEGEND, SHARE_RAMP, setData } from "../map";

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
  // the map starts at once, beside the data requests (the first render is on the budget)
  const split = h("div", { class: "split ops-split" }, mapBox);
  const opsBox = h("div", { class: "ops" }, h("h2", { class: "sr-only", i18n: "overview" }), split);
  root.append(opsBox);
  const firstUnits = get<Geo<UnitProps>>("/city/units", { level: "district" });
  const map = createMap(mapBox, "view_ops", boundsOf(await firstUnits));
  const based = ready(map).then(() => addStreets(map));
  const [measures, districts, streets, targets] = await Promise.all([
    get<MeasureRead[]>("/city/measures"),
    get<IndicatorRow[]>("/city/indicators", { level: "district" }),
    get<IndicatorRow[]>("/city/indicators", { level: "street" }),
    get<Target[]>("/targets").catch((): Target[] => []),
    loadOpenStatuses(),
  ]).catch((err: unknown) => {
    map.remove();
    throw err;
  });
  MEASURES = measures;
  // the first screen opens on the first measure that tells the districts apart (one that is
  // 0 % everywhere, as the complete circle on a young city, says nothing at a glance)
  const varies = (m: MeasureRead): boolean => new Set(districts.map((r) => r[m.key as IndicatorKey])).size > 1;
  const first = MEASURES.find(varies) ?? MEASURES[0];
  const chooser = select(MEASURES.map((m) => [m.key, tOr(label(m.key as IndicatorKey), m.key)]), first?.key ?? "");
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
  const counts = h("div", { class: "counts-box", "aria-live": "polite" });
  const worstBox = h("div", { class: "worst-box" });
  const targetBox = h("section", { class: "overview-targets", "aria-labelledby": "targets-progress-title" }, h("h3", { id: "targets-progress-title", i18n: "plan_progress" }));
  const trendsBox = h("div", { class: "trends" });
  split.append(panel);
  split.before(counts);
  opsBox.append(h("div", { class: "overview-grid" }, worstBox, targetBox, trendsBox));
  // Golden Ideas: participation and overdue answers per district (not awaited: off the budget)
  void ideasStatsSection()
    .then((section) => {
      if (section) {
        opsBox.append(section);
        translate(section);
      }
    })
    .catch(() => undefined);
  await based;

  const path: Crumb[] = [{ code: null, name: t("level_city"), level: "city" }];
  let units: Geo<UnitProps> = { type: "FeatureCollection", features: [] };
  let rows: IndicatorRow[] = [];
  let popup: maplibregl.Popup | null = null;

  setData(map, "units");
  // the units' colours over relief, water and buildings, under the streets and the names
  const above = ["base-roads-casing", "base-roads", "base-labels"].find((id) => map.getLayer(id));
  map.addLayer({ id: "units-fill", type: "fill", source: "units", paint: { "fill-color": SHARE_RAMP, "fill-opacity": 0.55 } }, above);
  map.addLayer({ id: "units-line", type: "line", source: "units", paint: { "line-color": "#334", "line-width": 1 } }, map.getLayer("base-labels") ? "base-labels" : undefined);

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
    // worst first, as the measure's direction says; units without a figure last
    const sign = measureOf(key)?.better === "lower" ? -1 : 1;
    const value = (r: IndicatorRow): number => {
      const v = r[key] as number | null;
      return typeof v === "number" && Number.isFinite(v) ? sign * v : Infinity;
    };
    rows = [...rows].sort((a, b) => value(a) - value(b));
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
    // the city's districts were read with the first screen; deeper levels are asked for
    [units, rows] = current.code === null
      ? await Promise.all([firstUnits, Promise.resolve(districts)])
      : await Promise.all([get<Geo<UnitProps>>("/city/units", query), get<IndicatorRow[]>("/city/indicators", query)]);
    root.dataset.level = level;
    paint();
    fitTo(map, units);
  };

  // after each step the keyboard stays in the table (focus would otherwise drop to the top)
  const keepFocus = (): void => {
    const target = tableBox.querySelector<HTMLElement>("tbody tr") ?? crumbs.querySelector<HTMLElement>("[aria-current]");
    target?.focus();
  };

  const drill = async (crumb: Crumb): Promise<void> => {
    if (!NEXT[crumb.level]) return;
    path.push(crumb);
    popup?.remove();
    await load();
    keepFocus();
  };

  const goTo = async (index: number): Promise<void> => {
    path.splice(index + 1);
    popup?.remove();
    await load();
    keepFocus();
  };

  const renderOverview = (): void => {
    worstBox.replaceChildren(
      worstUnits(MEASURES, [["district", districts], ["street", streets]], (row, level) => {
        chooser.value = chooser.value || MEASURES[0]!.key;
        if (level === "district") void goTo(0).then(() => drill({ code: row.code, name: unitName(row), level: "district" }));
        else void goTo(0).then(() => drill({ code: row.parent, name: unitName(districts.find((d) => d.code === row.parent) ?? row), level: "district" }));
      }),
    );
    targetBox.replaceChildren(h("h3", { id: "targets-progress-title", i18n: "plan_progress" }), targetList(targets));
  };
  renderOverview();
  let closeTrends: () => void = () => undefined;
  // the counts and charts come once the map has drawn (they are below it; the map first)
  map.once("idle", () => {
    void liveCounts().then((c) => counts.replaceChildren(countCards(c))).catch(failed);
    void trendCharts(trendsBox).then((close) => (closeTrends = close)).catch(failed);
  });

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
    renderOverview();
    void trendCharts(trendsBox).then((close) => {
      closeTrends();
      closeTrends = close;
    });
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
    closeTrends();
    map.remove();
  };
}
