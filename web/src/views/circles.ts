/**
 * Living circles: coverage choropleth per category and level, the gap areas and facilities,
 * a map click answers "how far to the nearest of each category" or draws isochrones, and a
 * draggable pin shows what adding a facility there would change. With the City's metro feed,
 * the same map and table compare walking with walk + transit (15/30/45 minutes door to door).
 */
import type { Cleanup } from "../app";
import { failed } from "../app";
import { ApiError, get, post } from "../api/client";
import type { CircleCategory, CoverageRow, Geo, NearestRow, TransitCoverageRow, UnitProps, WhatIf } from "../api/contract";
import { h, labelled, select, table } from "../dom";
import { fmt, lang, onLangChange, pct, t } from "../i18n";
import { addStreets, createMap, fitTo, legend, maplibregl, ready, SHARE_LEGEND, SHARE_RAMP, setData } from "../map";

const ISO_COLOURS = ["#08519c", "#3182bd", "#9ecae1"];

export async function mountCircles(root: HTMLElement): Promise<Cleanup> {
  const cats = await get<CircleCategory[]>("/circles/categories");
  const catName = (c: CircleCategory): string => `${lang() === "en" ? c.name_en : c.name_zh} (${c.level.replace("min", lang() === "en" ? " min" : "分钟")})`;
  // one option per requirement (a category at one circle level): "park at 10 min" and "park at
  // 15 min" are two questions, sent with their circle
  const keyOf = (c: CircleCategory): string => `${c.category}@${parseInt(c.level, 10)}`;
  const category = select(cats.map((c) => [keyOf(c), catName(c)]), cats[0] ? keyOf(cats[0]) : "");
  const chosen = (): { category: string; circle: number; complete: boolean } => {
    const [cat = "", circle = "0"] = category.value.split("@");
    return { category: cat, circle: Number(circle), complete: cat.startsWith("complete_") };
  };
  category.name = "category";
  const level = select([["district", t("level_district")], ["street", t("level_street")], ["community", t("level_community")]], "street");
  level.name = "level";
  // walking, or walk + transit within 15/30/45 minutes door to door (the City's GTFS feed)
  const modeLabel = (v: string): string => (v === "walk" ? t("mode_walk") : `${t("mode_transit")} ≤ ${v} ${t("minutes")}`);
  const access = select(["walk", "15", "30", "45"].map((v) => [v, modeLabel(v)]), "walk");
  access.name = "access";
  const gaps = h("input", { type: "checkbox", name: "gaps", checked: true });
  const facilities = h("input", { type: "checkbox", name: "facilities", checked: true });
  const metro = h("input", { type: "checkbox", name: "metro" });
  const modeNearest = h("input", { type: "radio", name: "click-mode", value: "nearest", checked: true });
  const modeIso = h("input", { type: "radio", name: "click-mode", value: "isochrone" });
  const whatifButton = h("button", { type: "button", id: "whatif-start", i18n: "whatif" });
  const atCentre = h("button", { type: "button", id: "ask-centre", i18n: "at_centre" });
  const answer = h("div", { id: "circles-answer", "aria-live": "polite" });
  const coverageBox = h("div", { class: "table-box" });
  const mapBox = h("div", { class: "map", id: "circles-map" });
  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "circles-title" },
    h("h2", { id: "circles-title", i18n: "view_circles" }),
    h("div", { class: "row" }, labelled("category", category), labelled("level", level), labelled("access_mode", access)),
    h("div", { class: "row" },
      h("label", { class: "field inline" }, gaps, h("span", { i18n: "show_gaps" })),
      h("label", { class: "field inline" }, facilities, h("span", { i18n: "show_facilities" })),
      h("label", { class: "field inline" }, metro, h("span", { i18n: "show_metro" })),
    ),
    h("fieldset", { class: "row" }, h("legend", { i18n: "click_mode" }),
      h("label", { class: "field inline" }, modeNearest, h("span", { i18n: "mode_nearest" })),
      h("label", { class: "field inline" }, modeIso, h("span", { i18n: "mode_isochrone" })),
      atCentre,
    ),
    whatifButton,
    answer,
    coverageBox,
  );
  root.append(h("div", { class: "split" }, mapBox, panel));
  const map = createMap(mapBox, "view_circles");
  await ready(map);
  for (const id of ["units", "gaps", "facilities", "isochrones"]) setData(map, id);
  map.addLayer({ id: "units-fill", type: "fill", source: "units", paint: { "fill-color": SHARE_RAMP, "fill-opacity": 0.7 } });
  await addStreets(map);
  map.addLayer({ id: "units-line", type: "line", source: "units", paint: { "line-color": "#445", "line-width": 0.8 } });
  // gap areas: one light tint with a thin outline (a dashed outline per cell became a mesh)
  map.addLayer({ id: "gaps-fill", type: "fill", source: "gaps", paint: { "fill-color": "#49006a", "fill-opacity": 0.22 } });
  map.addLayer({ id: "gaps-line", type: "line", source: "gaps", paint: { "line-color": "#49006a", "line-width": 0.8, "line-opacity": 0.6 } });
  map.addLayer({
    id: "isochrones-fill",
    type: "fill",
    source: "isochrones",
    paint: { "fill-color": ["match", ["get", "minutes"], 5, ISO_COLOURS[0]!, 10, ISO_COLOURS[1]!, ISO_COLOURS[2]!], "fill-opacity": 0.35 },
  });
  map.addLayer({ id: "facilities-dots", type: "circle", source: "facilities", paint: { "circle-radius": 5, "circle-color": "#542788", "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
  // the metro (from the City's GTFS feed): lines, stations and their 15-minute walk catchments
  for (const id of ["metro-lines", "metro-stations", "metro-catchments"]) setData(map, id);
  map.addLayer({ id: "metro-catchments-fill", type: "fill", source: "metro-catchments", paint: { "fill-color": "#d95f02", "fill-opacity": 0.18 } });
  map.addLayer({ id: "metro-lines-line", type: "line", source: "metro-lines", paint: { "line-color": "#d95f02", "line-width": 3.5 } });
  map.addLayer({ id: "metro-stations-dots", type: "circle", source: "metro-stations", paint: { "circle-radius": 6, "circle-color": "#ffffff", "circle-stroke-color": "#d95f02", "circle-stroke-width": 3 } });

  let units: Geo<UnitProps> | null = null;
  let unitsLevel = "";
  let rows: CoverageRow[] = [];
  let fitted = false;
  let popup: maplibregl.Popup | null = null;

  // each change of the form starts a load; only the newest may draw (answers can come back
  // out of order, and an older one must not replace the newer figures)
  let coverageSeq = 0;
  const loadCoverage = async (): Promise<void> => {
    const mine = ++coverageSeq;
    const stale = (): boolean => mine !== coverageSeq;
    const lv = level.value;
    if (unitsLevel !== lv) {
      const fetched = await get<Geo<UnitProps>>("/city/units", { level: lv });
      if (stale()) return;
      units = fetched;
      unitsLevel = lv;
    }
    const c = chosen();
    if (access.value !== "walk") {
      await loadTransitCoverage(lv, c, stale);
      return;
    }
    const fetched = await get<CoverageRow[]>("/circles/coverage", { category: c.category, level: lv, circle: c.complete ? undefined : c.circle });
    if (stale()) return;
    rows = fetched;
    const share = new Map(rows.map((r) => [r.code, r.share]));
    setData(map, "units", { type: "FeatureCollection", features: units!.features.map((f) => ({ ...f, properties: { ...f.properties, value: share.get(f.properties.code) ?? null } })) });
    legend(map, `${t("coverage")} · ${category.selectedOptions[0]?.textContent ?? ""}`, [...SHARE_LEGEND, ["#49006a55", t("show_gaps")]]);
    if (!fitted) {
      fitTo(map, units!);
      fitted = true;
    }
    coverageBox.replaceChildren(
      table<CoverageRow>("coverage", [
        ["name", (r) => (lang() === "en" && r.name_en ? r.name_en : r.name)],
        ["residents", (r) => fmt(r.residents)],
        ["covered", (r) => fmt(r.covered_residents)],
        ["coverage", (r) => pct(r.share)],
      ], [...rows].sort((a, b) => (a.share ?? 0) - (b.share ?? 0))),
    );
  };

  // walk + transit: the choropleth is the share with transit, the table sets it beside walking
  const loadTransitCoverage = async (lv: string, c: { category: string; complete: boolean }, stale: () => boolean): Promise<void> => {
    const paint = (share: Map<string, number | null>): void =>
      setData(map, "units", { type: "FeatureCollection", features: units!.features.map((f) => ({ ...f, properties: { ...f.properties, value: share.get(f.properties.code) ?? null } })) });
    if (c.complete) {
      paint(new Map());
      coverageBox.replaceChildren(h("p", { class: "notice", id: "transit-note", i18n: "transit_per_category" }));
      return;
    }
    const found = await get<TransitCoverageRow[]>("/circles/transit/coverage", { category: c.category, level: lv, minutes: Number(access.value) });
    if (stale()) return;
    paint(new Map(found.map((r) => [r.code, r.transit_share])));
    legend(map, `${modeLabel(access.value)} · ${category.selectedOptions[0]?.textContent ?? ""}`, SHARE_LEGEND);
    if (!fitted) {
      fitTo(map, units!);
      fitted = true;
    }
    if (!found.length) {
      coverageBox.replaceChildren(h("p", { class: "notice", id: "transit-note", i18n: "no_metro" }));
      return;
    }
    const gain = (r: TransitCoverageRow): number => (r.transit_share ?? 0) - (r.walk_share ?? 0);
    const box = table<TransitCoverageRow>("transit_table", [
      ["name", (r) => (lang() === "en" && r.name_en ? r.name_en : r.name)],
      ["residents", (r) => fmt(r.residents)],
      ["walk_share", (r) => pct(r.walk_share)],
      ["transit_share", (r) => pct(r.transit_share)],
      ["transit_gain", (r) => `+${fmt(gain(r) * 100, 1)} ${t("pct_points")}`],
    ], [...found].sort((a, b) => (a.transit_share ?? 0) - (b.transit_share ?? 0)));
    box.id = "transit-table";
    coverageBox.replaceChildren(box);
  };

  const loadLayers = async (): Promise<void> => {
    const c = chosen();
    const [g, f] = await Promise.all([
      gaps.checked ? get<GeoJSON.FeatureCollection>("/circles/gaps", { category: c.category, circle: c.complete ? undefined : c.circle }) : undefined,
      // a complete circle has no facilities of its own: every category's would be too many
      facilities.checked && !c.complete ? get<GeoJSON.FeatureCollection>("/circles/facilities", { category: c.category }) : undefined,
    ]);
    setData(map, "gaps", g);
    setData(map, "facilities", f);
  };

  const refresh = (): void => {
    Promise.all([loadCoverage(), loadLayers()]).catch(failed);
  };

  const nearest = async (lon: number, lat: number): Promise<void> => {
    const found = await get<NearestRow[]>("/circles/nearest", { lon, lat });
    const names = new Map(cats.map((c) => [c.category, lang() === "en" ? c.name_en : c.name_zh]));
    const body = table<NearestRow>("mode_nearest", [
      ["category", (r) => names.get(r.category) ?? r.category],
      ["walk_time", (r) => (r.walk_time_s === null ? `> ${fmt(r.cutoff_s / 60)} ${t("minutes")}` : `${fmt(r.walk_time_s / 60, 1)} ${t("minutes")}`)],
      ["threshold", (r) => h("span", { class: r.within_threshold ? "ok" : "short" }, `${r.within_threshold ? "✓" : "✗"} ${fmt(r.threshold_s / 60)} ${t("minutes")}`)],
      ["name", (r) => r.facility_name ?? "–"],
    ], found);
    body.id = "nearest-table";
    answer.replaceChildren(body);
    popup?.remove();
    const mine = found.find((r) => r.category === chosen().category);
    popup = new maplibregl.Popup()
      .setLngLat([lon, lat])
      .setDOMContent(h("div", {}, `${names.get(chosen().category) ?? chosen().category}: ${mine && mine.walk_time_s !== null ? `${fmt(mine.walk_time_s / 60, 1)} ${t("minutes")}` : t("beyond")}`))
      .addTo(map);
  };

  const isochrone = async (lon: number, lat: number): Promise<void> => {
    const iso = await get<GeoJSON.FeatureCollection>("/circles/isochrone", { lon, lat, minutes: "5,10,15" });
    // draw the largest first so the smaller ones stay visible on top
    iso.features.sort((a, b) => Number(b.properties?.minutes ?? 0) - Number(a.properties?.minutes ?? 0));
    setData(map, "isochrones", iso);
    answer.replaceChildren(
      h("p", { id: "isochrone-legend", class: "legend" }, ...[5, 10, 15].map((m, i) => h("span", {}, h("span", { class: "dot", style: `display:inline-block;background:${ISO_COLOURS[i]}` }), ` ${m} ${t("minutes")}`))),
    );
  };

  const ask = (lon: number, lat: number): void => {
    if (modeIso.checked) void isochrone(lon, lat).catch(failed);
    else void nearest(lon, lat).catch(failed);
  };
  map.on("click", (e) => ask(e.lngLat.lng, e.lngLat.lat));
  // the same from the keyboard: the map's centre (move it with the arrow keys first)
  atCentre.addEventListener("click", () => {
    const c = map.getCenter();
    ask(c.lng, c.lat);
  });

  // what-if: drag a pin where a new facility of the category would be
  const pin = new maplibregl.Marker({ draggable: true, element: h("div", { class: "pin", title: t("whatif_hint") }) });
  const unitNames = new Map<string, string>();
  const whatif = async (): Promise<void> => {
    const p = pin.getLngLat();
    const c = chosen();
    if (c.complete) {
      answer.replaceChildren(h("p", { class: "notice", role: "alert", i18n: "choose_category" }));
      return;
    }
    let r: WhatIf;
    try {
      r = await post<WhatIf>("/circles/whatif", { category: c.category, lon: p.lng, lat: p.lat });
    } catch (err) {
      // a pin in the river or beyond the city: say so, and leave no old figures on screen
      if (err instanceof ApiError && err.status === 422) {
        answer.replaceChildren(h("p", { class: "notice", role: "alert", id: "whatif-outside", i18n: "whatif_outside" }));
        return;
      }
      throw err;
    }
    if (!unitNames.size) {
      const [d, st] = await Promise.all(["district", "street"].map((lv) => get<Geo<UnitProps>>("/city/units", { level: lv })));
      for (const f of [...d!.features, ...st!.features]) unitNames.set(f.properties.code, lang() === "en" && f.properties.name_en ? f.properties.name_en : f.properties.name);
    }
    const before = new Map(r.before.map((x) => [`${x.level}:${x.code}`, x.share]));
    type Row = WhatIf["after"][number];
    const changed = r.after.filter((x) => Math.abs((before.get(`${x.level}:${x.code}`) ?? 0) - (x.share ?? 0)) > 1e-9);
    answer.replaceChildren(
      h("p", {}, `${t("newly_covered")}: `, h("strong", { id: "newly-covered" }, fmt(r.residents_newly_covered))),
      table<Row>("whatif_table", [
        ["name", (x) => `${unitNames.get(x.code) ?? x.code} (${t(`level_${x.level}` as "level_street")})`],
        ["before", (x) => pct(before.get(`${x.level}:${x.code}`))],
        ["after", (x) => pct(x.share)],
      ], changed.length ? changed : r.after.filter((x) => x.level === "district")),
    );
  };
  pin.on("dragend", () => void whatif().catch(failed));
  whatifButton.addEventListener("click", () => {
    pin.setLngLat(map.getCenter()).addTo(map);
    answer.replaceChildren(h("p", { class: "hint" }, t("whatif_hint")));
    void whatif().catch(failed);
  });

  for (const control of [category, level, access, gaps, facilities]) control.addEventListener("change", refresh);
  const loadMetro = async (): Promise<void> => {
    const on = metro.checked;
    const [lines, stations, catchments] = on
      ? await Promise.all([
          get<GeoJSON.FeatureCollection>("/circles/lines"),
          get<GeoJSON.FeatureCollection>("/circles/stations"),
          get<GeoJSON.FeatureCollection>("/circles/stations/catchments", { minutes: 15 }),
        ])
      : [undefined, undefined, undefined];
    setData(map, "metro-lines", lines);
    setData(map, "metro-stations", stations);
    setData(map, "metro-catchments", catchments);
    if (on && stations && !stations.features.length) answer.replaceChildren(h("p", { class: "notice", i18n: "no_metro" }));
  };
  metro.addEventListener("change", () => void loadMetro().catch(failed));
  map.on("click", "metro-stations-dots", (e) => {
    const p = e.features?.[0]?.properties as { stop_name?: string; residents_10min?: number; residents_15min?: number; climb_max_s?: number } | undefined;
    if (!p) return;
    answer.replaceChildren(
      h("div", { id: "station-answer" },
        h("h3", {}, h("span", { class: "user-data" }, p.stop_name ?? "")),
        h("p", {}, `${t("residents_10min")}: ${fmt(p.residents_10min)} · ${t("residents_15min")}: ${fmt(p.residents_15min)}`),
        h("p", {}, `${t("climb_max")}: ${fmt((p.climb_max_s ?? 0) / 60, 1)} ${t("minutes")}`)),
    );
  });
  const unsubscribe = onLangChange(() => {
    for (const option of category.options) {
      const c = cats.find((x) => keyOf(x) === option.value);
      if (c) option.textContent = catName(c);
    }
    for (const option of access.options) option.textContent = modeLabel(option.value);
    for (const option of level.options) option.textContent = t(`level_${option.value}` as "level_street");
  });
  await Promise.all([loadCoverage(), loadLayers()]);
  return () => {
    unsubscribe();
    map.remove();
  };
}
