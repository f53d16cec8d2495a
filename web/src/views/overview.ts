/**
 * The first screen's summary: live counts (open and overdue cases, active alarms), the units
 * that need attention first per measure and level, the plan targets with progress and overdue
 * dates flagged, and trend charts (cases per day, on-time share per week, alarms per day).
 * Every figure is one the API gives (the e2e test compares them); nothing is computed here
 * that the server could disagree with, except sorting and counting rows it sent.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { get, getPage, may } from "../api/client";
import type { components } from "../api/schema";
import type { Alarm, IndicatorRow, MeasureRead, Target } from "../api/contract";
import { h } from "../dom";
import { defineText, fmt, lang, pct, t, tOr } from "../i18n";

type Trends = components["schemas"]["TrendsRead"];

/** The live counts; null where the user may not see the figure. */
export interface Counts {
  open: number | null;
  overdue: number | null;
  alarms: number | null;
}

/** Open and overdue cases (the list's X-Total-Count) and active alarms in the user's scope. */
export async function liveCounts(): Promise<Counts> {
  const [cases, lifelines] = await Promise.all([may("GET /cases"), may("GET /lifelines/alarms")]);
  const [open, overdue, alarms] = await Promise.all([
    cases ? getPage("/cases", { status: OPEN, limit: 1 }).then((p) => p.total) : null,
    cases ? getPage("/cases", { overdue: true, limit: 1 }).then((p) => p.total) : null,
    lifelines ? get<Alarm[]>("/lifelines/alarms", { active: true }).then((a) => a.length) : null,
  ]);
  return { open, overdue, alarms };
}

let OPEN: string[] = [];

/** The workflow's open stages (GET /cases/workflow), as the list's status filter. */
export async function loadOpenStatuses(): Promise<void> {
  const w = await get<{ statuses: Array<{ value: string; is_open: boolean }> }>("/cases/workflow");
  OPEN = w.statuses.filter((s) => s.is_open).map((s) => s.value);
}

/** A count card. */
function card(key: Parameters<typeof t>[0], value: number | null, id: string, tone = ""): HTMLElement {
  return h("div", { class: `count-card ${tone}`, id, "data-value": value ?? "" }, h("span", { class: "count", "aria-hidden": "false" }, value === null ? "–" : fmt(value)), h("span", { class: "count-label", i18n: key }));
}

/** The row of live counts. */
export function countCards(counts: Counts): HTMLElement {
  return h(
    "div",
    { class: "counts", role: "group", "aria-label": t("overview"), "data-i18n-aria": "overview" },
    counts.open !== null ? card("open_cases", counts.open, "count-open") : null,
    counts.overdue !== null ? card("overdue_cases", counts.overdue, "count-overdue", counts.overdue ? "bad" : "") : null,
    counts.alarms !== null ? card("active_alarms", counts.alarms, "count-alarms", counts.alarms ? "bad" : "") : null,
  );
}

function measureName(m: MeasureRead): string {
  return tOr(defineText(`data:measure_${m.key}`, m.name_zh, m.name_en), m.key);
}

function unitName(r: { name: string; name_en?: string | null }): string {
  return lang() === "en" && r.name_en ? r.name_en : r.name;
}

function show(m: MeasureRead, v: number | null | undefined): string {
  if (m.kind === "share") return pct(v);
  return fmt(v, m.kind === "per_1000" ? 2 : 0);
}

/**
 * The units of each level that fare worst on each measure (`worst` per measure and level),
 * worst first; units without a figure are left out (never ranked as 0).
 */
export function worstUnits(
  measures: MeasureRead[],
  byLevel: Array<[string, IndicatorRow[]]>,
  onPick: (row: IndicatorRow, level: string) => void,
  worst = 3,
): HTMLElement {
  const table = h("table", { class: "grid", id: "worst-units" }, h("caption", { i18n: "worst_units" }));
  table.append(h("thead", {}, h("tr", {}, h("th", { scope: "col", i18n: "indicator" }), h("th", { scope: "col", i18n: "by_level" }), h("th", { scope: "col", i18n: "worst_units" }))));
  const body = h("tbody");
  for (const m of measures) {
    for (const [level, rows] of byLevel) {
      const key = m.key as keyof IndicatorRow;
      const known = rows.filter((r) => typeof r[key] === "number" && Number.isFinite(r[key] as number));
      if (!known.length) continue;
      const sign = m.better === "higher" ? 1 : -1;
      const sorted = [...known].sort((a, b) => sign * ((a[key] as number) - (b[key] as number)));
      const cells = sorted.slice(0, worst).map((r) =>
        h("button", { type: "button", class: "chip", "data-code": r.code, "data-value": String(r[key]), onclick: () => onPick(r, level) }, `${unitName(r)} ${show(m, r[key] as number)}`),
      );
      body.append(h("tr", { "data-measure": m.key, "data-unit-level": level }, h("td", {}, measureName(m)), h("td", { class: "nowrap", i18n: `level_${level}` }), h("td", {}, ...cells)));
    }
  }
  table.append(body);
  return table;
}

/** Whether a target's city figure meets it. */
export function meets(v: number | null | undefined, target: Target): boolean {
  if (v === null || v === undefined) return false;
  return target.direction === "at_most" ? v <= target.target_value : v >= target.target_value;
}

/** Whether a target is past its due date and not met (`today` as YYYY-MM-DD). */
export function overdueTarget(target: Target, today = new Date().toISOString().slice(0, 10)): boolean {
  return String(target.due) < today && !meets(target.city_value, target);
}

/** The plan targets: progress toward each, overdue ones flagged. */
export function targetList(targets: Target[]): HTMLElement {
  const list = h("ul", { class: "target-progress", id: "target-progress", "aria-label": t("plan_progress") });
  for (const target of targets) {
    const name = lang() === "en" ? target.name_en : target.name_zh;
    const v = target.city_value;
    const progress = v === null || v === undefined || !target.target_value ? 0 : target.direction === "at_most" ? Math.min(1, target.target_value / Math.max(v, 1e-9)) : Math.min(1, v / target.target_value);
    const late = overdueTarget(target);
    list.append(
      h(
        "li",
        { "data-target-id": target.target_id, "data-overdue": late ? "true" : "false" },
        h("span", { class: "target-name" }, name),
        h("meter", { min: 0, max: 1, value: progress, "aria-label": `${name}: ${t("progress")} ${pct(progress)}` }),
        h("span", { class: meets(v, target) ? "ok" : "short" }, meets(v, target) ? t("met") : t("not_met")),
        h("span", { class: "hint" }, ` ${t("due")} ${target.due}`),
        late ? h("span", { class: "badge overdue", i18n: "overdue_target" }) : null,
      ),
    );
  }
  return list;
}

/** Alarms raised per day over the trend window's days (dates as YYYY-MM-DD, UTC). */
export function alarmsPerDay(alarms: Alarm[], days: string[]): number[] {
  const counts = new Map(days.map((d) => [d, 0]));
  for (const a of alarms) {
    const day = new Date(a.raised_at).toISOString().slice(0, 10);
    if (counts.has(day)) counts.set(day, (counts.get(day) ?? 0) + 1);
  }
  return days.map((d) => counts.get(d) ?? 0);
}

function chart(box: HTMLElement, title: string, x: number[], series: Array<[string, number[] | Array<number | null>, string]>, percent = false): uPlot {
  box.replaceChildren(h("h3", {}, title));
  const holder = h("div", { role: "img", "aria-label": title });
  box.append(holder);
  return new uPlot(
    {
      width: Math.max(260, box.clientWidth - 8 || 320),
      height: 150,
      scales: { x: { time: true }, y: percent ? { range: [0, 1] } : { auto: true } },
      series: [{ label: t("time") }, ...series.map(([label, , stroke]) => ({ label, stroke, width: 2, value: (_u: uPlot, v: number | null) => (v === null ? "–" : percent ? pct(v) : fmt(v)) }))],
      axes: [{}, { values: (_u, ticks) => ticks.map((v) => (percent ? `${Math.round(v * 100)}%` : fmt(v))) }],
      legend: { show: true },
    },
    [x, ...series.map(([, data]) => data)] as uPlot.AlignedData,
    holder,
  );
}

/** The trend charts: cases per day, on-time share per week and (for lifelines staff) alarms per day. */
export async function trendCharts(box: HTMLElement): Promise<() => void> {
  const plots: uPlot[] = [];
  if (!(await may("GET /stats/trends"))) return () => undefined;
  const trends = await get<Trends>("/stats/trends", { days: 56 });
  const days = trends.daily.map((d) => d.day);
  const x = days.map((d) => Date.parse(`${d}T12:00:00Z`) / 1000);
  const perDay = h("div", { class: "trend", id: "trend-cases" });
  const onTime = h("div", { class: "trend", id: "trend-ontime" });
  const alarmBox = h("div", { class: "trend", id: "trend-alarms" });
  box.replaceChildren(perDay, onTime, alarmBox);
  plots.push(chart(perDay, t("cases_per_day"), x, [[t("reported_n"), trends.daily.map((d) => d.reported), "#e6550d"], [t("closed_n"), trends.daily.map((d) => d.closed), "#31a354"]]));
  const wx = trends.weekly.map((w) => Date.parse(`${w.week}T00:00:00Z`) / 1000);
  plots.push(chart(onTime, t("on_time_share"), wx, [[t("on_time_share"), trends.weekly.map((w) => w.on_time_share ?? null), "#3182bd"]], true));
  if (await may("GET /lifelines/alarms")) {
    const alarms = await get<Alarm[]>("/lifelines/alarms");
    plots.push(chart(alarmBox, t("alarms_per_day"), x, [[t("alarms"), alarmsPerDay(alarms, days), "#d7301f"]]));
  } else alarmBox.remove();
  return () => plots.forEach((p) => p.destroy());
}
