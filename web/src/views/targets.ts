/**
 * Plan targets: each indicator of the plan against the measured figures by district, and the
 * figures no analysis measures (entered by a supervisor, kept with their history).
 */
import type { Cleanup } from "../app";
import { failed } from "../app";
import { currentUser, get, post } from "../api/client";
import type { Target } from "../api/contract";
import { h, labelled, toast } from "../dom";
import { fmt, lang, onLangChange, t } from "../i18n";
import { overdueTarget } from "./overview";

const UNIT_ZH: Record<string, string> = { "places per 1,000 residents": "个/千人", homes: "户", km: "公里" };

function value(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined) return "–";
  if (unit === "share" || unit === "%") return `${fmt(unit === "share" ? v * 100 : v, 1)} %`;
  return `${fmt(v, Number.isInteger(v) ? 0 : 2)} ${lang() === "zh" ? (UNIT_ZH[unit] ?? unit) : unit}`;
}

function meets(v: number | null | undefined, target: Target): boolean {
  if (v === null || v === undefined) return false;
  return target.direction === "at_most" ? v <= target.target_value : v >= target.target_value;
}

export async function mountTargets(root: HTMLElement): Promise<Cleanup> {
  const box = h("div", { class: "targets" });
  root.append(h("section", { class: "page", "aria-labelledby": "targets-title" }, h("h2", { id: "targets-title", i18n: "view_targets" }), box));
  let targets = await get<Target[]>("/targets");

  const entryForm = (target: Target): HTMLElement => {
    const v = h("input", { type: "number", step: "any", name: "value", required: true });
    const d = h("input", { type: "date", name: "date", required: true, value: new Date().toISOString().slice(0, 10) });
    const note = h("input", { type: "text", name: "note" });
    const form = h("form", { class: "row", "aria-label": `${t("enter_figure")}: ${lang() === "en" ? target.name_en : target.name_zh}`, "data-target": target.target_id },
      labelled("value", v), labelled("date", d), labelled("note", note), h("button", { type: "submit", class: "primary", i18n: "save" }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      post(`/targets/${encodeURIComponent(target.target_id)}/figures`, { value: Number(v.value), date: d.value, note: note.value })
        .then(async () => {
          toast(t("act_done"));
          targets = await get<Target[]>("/targets");
          render();
        })
        .catch(failed);
    });
    return form;
  };

  const render = (): void => {
    box.replaceChildren(
      ...targets.map((target) => {
        const name = lang() === "en" ? target.name_en : target.name_zh;
        const card = h("article", { class: "target", "data-target-id": target.target_id, "aria-label": name });
        card.append(
          h("h3", {}, name),
          h("p", {}, `${t("target")}: `, h("strong", {}, `${target.direction === "at_most" ? "≤" : "≥"} ${value(target.target_value, target.unit)}`), ` · ${t("due")}: ${target.due} `,
            overdueTarget(target) ? h("span", { class: "badge overdue", "data-overdue": "true", i18n: "overdue_target" }) : null),
          h("p", {}, `${t("level_city")}: `, h("strong", { class: `city-value ${meets(target.city_value, target) ? "ok" : "short"}` }, value(target.city_value, target.unit))),
        );
        if (target.source === "measured" && target.measured) {
          const tableEl = h("table", { class: "grid" }, h("caption", {}, `${t("measured")} (${t("level_district")})`));
          tableEl.append(h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("name")), h("th", { scope: "col" }, t("measured")), h("th", { scope: "col" }, t("target")))));
          tableEl.append(
            h("tbody", {}, ...target.measured.map((m) => {
              const share = target.target_value ? Math.min(1, (m.value ?? 0) / target.target_value) : 0;
              const unitName = lang() === "en" && m.name_en ? m.name_en : m.name;
              return h("tr", {},
                h("td", {}, unitName),
                h("td", { class: meets(m.value, target) ? "ok" : "short" }, value(m.value, target.unit)),
                h("td", {}, h("meter", { min: 0, max: 1, value: share, "aria-label": `${unitName} ${value(m.value, target.unit)}` })),
              );
            })),
          );
          card.append(tableEl);
        } else {
          const history = [...(target.history ?? [])].sort((a, b) => b.date.localeCompare(a.date));
          const latest = history[0];
          card.append(h("p", {}, `${t("manual")}: `, h("strong", { class: "latest" }, latest ? value(latest.value, target.unit) : "–"), latest ? ` (${latest.date})` : ""));
          if (history.length) {
            card.append(
              h("details", {}, h("summary", {}, `${t("history")} (${history.length})`),
                h("ul", { class: "history" }, ...history.map((x) => h("li", {}, `${x.date}: ${value(x.value, target.unit)} · `, h("span", { class: "user-data" }, `${x.entered_by}${x.note ? ` · ${x.note}` : ""}`))))),
            );
          }
          if (currentUser()) card.append(entryForm(target));
        }
        return card;
      }),
    );
  };
  render();
  const unsubscribe = onLangChange(render);
  return unsubscribe;
}
