/**
 * Credit +: the workflow steps in the browser. A decision's buttons come from that decision's
 * `actions`, and a case's "link" and "propose" forms from the case's `actions`
 * (`GET /credit/cases/{id}`): the server decides who may do what; nothing here copies its rules.
 * Also the words of a tier's reasons (codes and figures from the server, sentences here).
 */
import { failed } from "../app";
import { get, may, post } from "../api/client";
import type { components } from "../api/schema";
import { h, select, toast } from "../dom";
import { defineText, fmt, tOr, type DataKey } from "../i18n";

type Decision = components["schemas"]["DecisionRead"];
type DecisionStep = Decision["actions"][number];
type CaseCredit = components["schemas"]["CaseCreditRead"];
type Entity = components["schemas"]["EntityRead"];
type Reason = components["schemas"]["ReasonRead"];

export const S = {
  steps: defineText("data:credit_steps", "操作", "Steps"),
  done: defineText("data:credit_step_done", "已完成", "Done"),
  panel: defineText("data:credit_case_panel", "信用+：责任主体与处罚", "Credit +: responsible entity and decisions"),
  linked: defineText("data:credit_linked", "责任主体", "Responsible entity"),
  notLinked: defineText("data:credit_not_linked", "尚未关联市场主体", "Not linked to an entity yet"),
  suggestions: defineText("data:credit_suggestions", "建议的主体（位置附近或文字提及）", "Suggested entities (nearby or named in the text)"),
  named: defineText("data:credit_named", "文字提及", "named in the text"),
  metres: defineText("data:credit_metres", "米", "m"),
  link: defineText("data:credit_link", "关联此主体", "Link this entity"),
  codeField: defineText("data:credit_code_field", "统一社会信用代码", "Unified social credit code"),
  propose: defineText("data:credit_propose", "提出处罚建议", "Propose a decision"),
  kindField: defineText("data:credit_kind_field", "类别", "Kind"),
  amountField: defineText("data:credit_amount_field", "罚款（元）", "Fine (yuan)"),
  lawField: defineText("data:credit_law_field", "法律依据", "Law"),
  articleField: defineText("data:credit_article_field", "条款", "Article"),
  factsField: defineText("data:credit_facts_field", "违法事实", "Facts"),
  noteField: defineText("data:credit_note_field", "说明", "Note"),
};
const STEPS: Record<DecisionStep, readonly [string, string]> = {
  decide: ["作出决定", "Decide"],
  withdraw: ["撤回", "Withdraw"],
  publish: ["公示", "Publish"],
  appeal: ["登记复议/诉讼", "Record an appeal"],
  uphold: ["维持", "Uphold"],
  revoke: ["撤销", "Revoke"],
  close: ["执行结案", "Close"],
};
for (const [step, [zh, en]] of Object.entries(STEPS)) defineText(`data:credit_step_${step}`, zh, en);

/** Event kinds and references in reasons, and the sentences of the reasons' codes. */
const REASON_WORDS: Record<string, readonly [string, string]> = {
  penalty_severe: ["重大行政处罚", "Heavy penalty"],
  case_linked: ["关联案件", "Case naming it"],
  inspection_failed: ["抽查不合格", "Inspection failed"],
  inspection_passed: ["抽查合格", "Inspection passed"],
  head: ["{kind}（{ref} {id}，{on}）：", "{kind} ({ref} {id}, {on}): "],
  ref_decision: ["决定", "decision"],
  ref_case: ["案件", "case"],
  "ref_draw pick": ["抽查", "draw pick"],
  counted: ["{weight} × {factor}（{age} 天，半衰期 {half} 天）= {change}", "{weight} × {factor} ({age} d, half-life {half} d) = {change}"],
  expired: ["已过 {days} 天公示期，不再计入", "past its {days}-day publicity; no longer counts"],
  repaired: ["已于 {on} 信用修复，不再计入；修复理由：", "repaired on {on}, no longer counts; reason: "],
};
for (const [w, [zh, en]] of Object.entries(REASON_WORDS)) defineText(`data:credit_${w}`, zh, en);

/** A word the server sends as a code (a status, a kind), in the current language. */
export const word = (code: string): string => tOr(`data:credit_${code}`, code);
/** A text entered by people (names, laws, notes): shown as written, in no language of ours. */
export const ud = (text: string): HTMLElement => h("span", { class: "user-data" }, text);

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "");
}

/** A tier's reason in the current language, from its code and figures. */
export function reasonItem(r: Reason): HTMLElement {
  if (r.code === "text") return h("li", {}, ud(String(r.params.text ?? "")));
  const [refKind, refId] = [r.ref.replace(/ \d+$/, ""), r.ref.match(/\d+$/)?.[0] ?? ""];
  const head = fill(word("head"), { kind: word(r.kind), ref: word(`ref_${refKind}`), id: refId, on: r.on ?? "" });
  const p = r.params;
  const num = (key: string, digits: number): string => fmt(Number(p[key]), digits);
  if (r.code === "repaired") {
    return h("li", { "data-reason": r.code, "data-ref": r.ref }, head, fill(word("repaired"), { on: String(p.repaired_on) }), ud(String(p.repair_reason)));
  }
  const values: Record<string, string> =
    r.code === "expired"
      ? { days: num("publicity_days", 0) }
      : { weight: `${Number(p.weight) > 0 ? "+" : ""}${num("weight", 0)}`, factor: num("factor", 2), age: num("age_days", 0), half: num("half_life_days", 0), change: `${Number(p.change) > 0 ? "+" : ""}${num("change", 1)}` };
  return h("li", { "data-reason": r.code, "data-ref": r.ref }, head, fill(word(r.code), values));
}

/** The buttons of a decision's allowed steps (none: a dash), with a note field. */
export function decisionSteps(d: Decision, after: (d: Decision) => void): HTMLElement {
  if (!d.actions.length) return h("span", {}, "–");
  const note = h("input", { type: "text", name: "note", "aria-label": tOr(S.noteField, "note"), class: "note" });
  const buttons = d.actions.map((step) =>
    h("button", {
      type: "button", class: "primary", "data-step": step,
      onclick: () => {
        post<Decision>(`/credit/decisions/${d.id}/actions`, { action: step, note: note.value })
          .then((next) => {
            toast(`${tOr(S.done, "done")}: ${word(`step_${step}`)}`);
            after(next);
          })
          .catch(failed);
      },
    }, word(`step_${step}`)),
  );
  return h("div", { class: "row steps", role: "group", "data-decision": d.id }, note, ...buttons);
}

function field(key: DataKey, control: HTMLElement): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", { i18n: key }), control);
}

/** One decision as a line: number, kind, status, fine, and the steps. */
function decisionLine(d: Decision, after: (d: Decision) => void): HTMLElement {
  return h("li", { "data-decision-id": d.id, "data-status": d.status },
    `#${d.id} ${word(d.kind)} · `, h("span", { class: "badge" }, word(d.status)), ` · ${d.amount_yuan ? fmt(d.amount_yuan) : "–"} · `,
    decisionSteps(d, after));
}

function entityLine(e: Entity): HTMLElement {
  return h("p", { class: "linked-entity", "data-code": e.code }, h("span", { i18n: S.linked }), ": ", ud(e.name), " ", h("code", {}, e.code), " ", h("span", { class: "badge", "data-tier": e.tier }, e.tier || "–"));
}

/**
 * The case page's enforcement panel: the linked entity, the suggestions with a link button
 * each (when the server offers `link`), the proposal form (when it offers `propose`), and the
 * case's decisions with their steps. Null for a user who may not see enforcement records.
 */
export async function caseCreditPanel(caseId: number): Promise<HTMLElement | null> {
  if (!(await may("GET /credit/cases/{case_id}"))) return null;
  const box = h("section", { class: "credit-case", "data-case": caseId, "aria-label": tOr(S.panel, "") });
  const refresh = (): void => {
    get<CaseCredit>(`/credit/cases/${caseId}`)
      .then((c) => box.replaceChildren(...panel(c, refresh)))
      .catch(failed);
  };
  box.replaceChildren(...panel(await get<CaseCredit>(`/credit/cases/${caseId}`), refresh));
  return box;
}

function panel(c: CaseCredit, refresh: () => void): Node[] {
  const parts: Node[] = [h("h4", { i18n: S.panel }), c.entity ? entityLine(c.entity) : h("p", { class: "hint", i18n: S.notLinked })];
  const link = (code: string): void => {
    post<Entity>(`/credit/cases/${c.case_id}/link`, { code })
      .then(() => refresh())
      .catch(failed);
  };
  if (c.actions.includes("link")) {
    parts.push(h("p", { class: "hint", i18n: S.suggestions }));
    parts.push(h("ul", { class: "suggestions" }, ...c.suggestions.map((s) =>
      h("li", { "data-code": s.code }, ud(s.name), " ", h("code", {}, s.code), ` · ${fmt(s.distance_m)} `, h("span", { i18n: S.metres }),
        s.named_in_text ? h("span", { class: "badge", i18n: S.named }) : null, " ",
        h("button", { type: "button", "data-link": s.code, onclick: () => link(s.code) }, tOr(S.link, "link"))))));
  }
  if (c.actions.includes("propose")) parts.push(proposalForm(c, refresh));
  if (c.decisions.length) parts.push(h("ul", { class: "case-decisions" }, ...c.decisions.map((d) => decisionLine(d, refresh))));
  return parts;
}

function proposalForm(c: CaseCredit, refresh: () => void): HTMLElement {
  const code = h("input", { type: "text", name: "code", value: c.entity?.code ?? c.suggestions[0]?.code ?? "", maxlength: 18 });
  const kind = select([["penalty", word("penalty")], ["warning", word("warning")]], "penalty");
  kind.name = "kind";
  const amount = h("input", { type: "number", name: "amount_yuan", min: 0, step: 1, value: 0 });
  const law = h("input", { type: "text", name: "law" });
  const article = h("input", { type: "text", name: "article" });
  const facts = h("textarea", { name: "facts", rows: 2 });
  const form = h("form", { class: "credit-propose" },
    field(S.codeField, code), field(S.kindField, kind), field(S.amountField, amount),
    field(S.lawField, law), field(S.articleField, article), field(S.factsField, facts),
    h("button", { type: "submit", class: "primary", i18n: S.propose }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = {
      case_id: c.case_id, code: code.value.trim(), kind: kind.value,
      amount_yuan: Number(amount.value || 0), facts: facts.value,
      legal_basis: [{ law: law.value.trim(), article: article.value.trim() }],
    };
    post<Decision>("/credit/decisions", body)
      .then(() => {
        toast(tOr(S.done, "done"));
        refresh();
      })
      .catch(failed);
  });
  return form;
}
