/**
 * Bottlenecks: the candidate projects at school gates and major junctions (GET
 * /mobility/bottlenecks), ranked by score, on the map and in a table; a candidate's
 * components (each weighted part of its score) and the reason in the chosen language.
 */
import type { Cleanup } from "../app";
import { failed } from "../app";
import { get } from "../api/client";
import type { components } from "../api/schema";
import { h, labelled, select, table } from "../dom";
import { defineText, fmt, lang, onLangChange, t, tOr } from "../i18n";
import { addStreets, boundsOf, createMap, maplibregl, ready, setData } from "../map";

type Candidate = components["schemas"]["BottleneckRead"];

/** Names of the score's components and of the candidate kinds, in both languages. */
const WORDS: Record<string, [string, string]> = {
  school_gate: ["校门", "school gate"],
  junction: ["路口", "junction"],
  steep_unprotected_main: ["学生陡坡横穿无保护干道", "pupils crossing main roads on steep routes without a crossing or signal"],
  unprotected_main: ["学生横穿无保护干道", "pupils crossing main roads without a crossing or signal"],
  unprotected_minor: ["学生横穿无保护支路", "pupils crossing minor roads without a crossing"],
  kerb_pressure: ["校门接送车辆超出路边停靠长度", "cars at the gate beyond the kerb length"],
  reports: ["周边交通类市民投诉", "citizens' traffic reports nearby"],
  through_movement: ["过境交通量大", "heavy through traffic"],
  unprotected_pupils: ["无保护横穿的学生", "pupils crossing without protection"],
  pupils: ["涉及学生多", "many pupils affected"],
};

function word(key: string): string {
  return tOr(defineText(`data:mobility_${key}`, ...(WORDS[key] ?? [key, key.replaceAll("_", " ")])), key);
}

/** The reason in the chosen language: the two largest components, in words. */
export function reasonOf(c: Candidate): string {
  const parts = Object.entries(c.components)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([k]) => word(k));
  return parts.length ? parts.join(lang() === "en" ? "; " : "；") : "–";
}

export async function mountMobility(root: HTMLElement): Promise<Cleanup> {
  const kind = select([["all", t("all")], ["school_gate", word("school_gate")], ["junction", word("junction")]], "all");
  kind.name = "kind";
  const mapBox = h("div", { class: "map", id: "mobility-map" });
  const listBox = h("div", { class: "table-box", id: "bottleneck-list" });
  const detail = h("section", { id: "bottleneck-detail", "aria-live": "polite", "aria-label": t("bottleneck_detail") });
  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "mobility-title" },
    h("h2", { id: "mobility-title", i18n: "view_mobility" }),
    h("p", { class: "hint", i18n: "mobility_hint" }),
    labelled("bottleneck_kind", kind),
    detail,
    listBox,
  );
  root.append(h("div", { class: "split" }, mapBox, panel));
  let rows = await get<Candidate[]>("/mobility/bottlenecks", { limit: 60 });
  const points = (list: Candidate[]): GeoJSON.FeatureCollection => ({
    type: "FeatureCollection",
    features: list.map((c) => ({ type: "Feature", geometry: { type: "Point", coordinates: [c.lon, c.lat] }, properties: { rank: c.rank, kind: c.kind, score: c.score, id: c.candidate_id } })),
  });
  const map = createMap(mapBox, "view_mobility", rows.length ? boundsOf(points(rows)) : null, 16);
  await ready(map);
  await addStreets(map);
  setData(map, "candidates", points(rows));
  map.addLayer({
    id: "candidates-dots",
    type: "circle",
    source: "candidates",
    paint: {
      "circle-radius": ["interpolate", ["linear"], ["get", "score"], 0, 4, 1, 14],
      "circle-color": ["match", ["get", "kind"], "school_gate", "#d95f02", "#7570b3"],
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 1.5,
      "circle-opacity": 0.85,
    },
  });
  map.addLayer({ id: "candidates-rank", type: "symbol", source: "candidates", layout: { "text-field": ["to-string", ["get", "rank"]], "text-size": 11, "text-allow-overlap": true }, paint: { "text-color": "#ffffff" } });
  let popup: maplibregl.Popup | null = null;

  const show = (c: Candidate): void => {
    const parts = Object.entries(c.components).sort((a, b) => b[1] - a[1]);
    detail.replaceChildren(
      h("article", { class: "case", "data-candidate": c.candidate_id },
        h("h3", {}, `${c.rank}. `, h("span", { class: "user-data" }, c.name), ` (${word(c.kind)})`),
        h("p", {}, `${t("score")}: ${fmt(c.score, 3)} · ${t("pupils")}: ${fmt(c.pupils)} · ${t("residents")}: ${fmt(c.residents)}`),
        h("p", { class: "reason" }, `${t("reason")}: ${reasonOf(c)}`),
        h("table", { class: "grid" },
          h("caption", { i18n: "score_parts" }),
          h("tbody", {}, ...parts.map(([k, v]) => h("tr", {}, h("td", {}, word(k)), h("td", {}, fmt(v, 3)), h("td", {}, h("meter", { min: 0, max: c.score || 1, value: v, "aria-label": `${word(k)} ${fmt(v, 3)}` })))))),
      ),
    );
    popup?.remove();
    popup = new maplibregl.Popup().setLngLat([c.lon, c.lat]).setDOMContent(h("div", {}, h("strong", {}, `${c.rank}. `, h("span", { class: "user-data" }, c.name)), h("br"), reasonOf(c))).addTo(map);
    map.easeTo({ center: [c.lon, c.lat], duration: 0 });
  };

  const render = (): void => {
    listBox.replaceChildren(
      table<Candidate>(
        "bottleneck_list",
        [
          ["rank", (c) => String(c.rank)],
          ["name", (c) => h("span", { class: "user-data" }, c.name)],
          ["bottleneck_kind", (c) => word(c.kind)],
          ["score", (c) => fmt(c.score, 3)],
          ["reason", (c) => reasonOf(c)],
        ],
        rows,
        show,
      ),
    );
  };
  kind.addEventListener("change", () => {
    get<Candidate[]>("/mobility/bottlenecks", { limit: 60, kind: kind.value })
      .then((found) => {
        rows = found;
        setData(map, "candidates", points(rows));
        render();
      })
      .catch(failed);
  });
  map.on("click", "candidates-dots", (e) => {
    const id = e.features?.[0]?.properties?.id as string | undefined;
    const c = rows.find((x) => x.candidate_id === id);
    if (c) show(c);
  });
  render();
  const unsubscribe = onLangChange(() => {
    render();
    for (const option of kind.options) option.textContent = option.value === "all" ? t("all") : word(option.value);
  });
  return () => {
    unsubscribe();
    popup?.remove();
    map.remove();
  };
}
