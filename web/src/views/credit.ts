/**
 * Credit +: the public disclosure page (双公示: published penalties, licences, inspection draws)
 * for everyone; for staff, the entities of their scope with their credit tier and an entity's
 * page (its cases, decisions with the steps the user may take, tier changes and the reasons of
 * its tier), the decisions waiting for the user, and the inspection draw (for those who draw).
 */
import type { Cleanup } from "../app";
import { failed } from "../app";
import { get, may, post } from "../api/client";
import type { components } from "../api/schema";
import { h, select, table, toast } from "../dom";
import { defineText, fmt, onLangChange, tOr, type DataKey } from "../i18n";
import { addStreets, boundsOf, createMap, legend, ready, setData, type MlMap } from "../map";
import { decisionSteps, reasonItem, S, ud, word } from "./credit_steps";

type Disclosure = components["schemas"]["DisclosureRead"];
type PublicDecision = components["schemas"]["PublicDecisionRead"];
type PublicLicence = components["schemas"]["PublicLicenceRead"];
type PublicDraw = components["schemas"]["PublicDrawRead"];
type Entity = components["schemas"]["EntityRead"];
type EntityPage = components["schemas"]["EntityPage"];
type Decision = components["schemas"]["DecisionRead"];
type UnitFigures = components["schemas"]["UnitFiguresRead"];
type Draw = components["schemas"]["DrawRead"];

const K = {
  title: defineText("data:credit_title", "信用+ 执法信用", "Credit +: enforcement records"),
  decisions: defineText("data:credit_decisions", "行政处罚公示（双公示）", "Published decisions (double publicity)"),
  licences: defineText("data:credit_licences", "行政许可公示", "Published licences"),
  draws: defineText("data:credit_draws", "双随机抽查（随机种子公开）", "Double random draws (seeds published)"),
  entities: defineText("data:credit_entities", "市场主体及信用等级", "Entities and their credit tier"),
  number: defineText("data:credit_number", "决定书编号", "Decision number"),
  entity: defineText("data:credit_entity", "主体名称", "Entity"),
  code: defineText("data:credit_code", "统一社会信用代码", "Unified social credit code"),
  operator: defineText("data:credit_operator", "经营者", "Operator"),
  kind: defineText("data:credit_kind", "类别", "Kind"),
  status: defineText("data:credit_status", "状态", "Status"),
  basis: defineText("data:credit_basis", "法律依据", "Legal basis"),
  amount: defineText("data:credit_amount", "罚款（元）", "Fine (yuan)"),
  decided: defineText("data:credit_decided", "决定日期", "Decided on"),
  published: defineText("data:credit_published", "公示日期", "Published on"),
  due: defineText("data:credit_due", "公示期限", "Publish by"),
  licence: defineText("data:credit_licence", "许可证号", "Licence number"),
  authority: defineText("data:credit_authority", "许可机关", "Authority"),
  valid: defineText("data:credit_valid", "有效期", "Valid"),
  plan: defineText("data:credit_plan", "抽查计划", "Plan"),
  seed: defineText("data:credit_seed", "随机种子", "Seed"),
  population: defineText("data:credit_population", "抽取范围（户）", "Population"),
  drawn: defineText("data:credit_drawn", "抽取时间", "Drawn at"),
  tier: defineText("data:credit_tier", "信用等级", "Tier"),
  score: defineText("data:credit_score", "信用分", "Score"),
  address: defineText("data:credit_address", "地址", "Address"),
  allTiers: defineText("data:credit_all_tiers", "全部等级", "All tiers"),
  reasons: defineText("data:credit_reasons", "等级依据", "Why this tier"),
  cases: defineText("data:credit_cases", "关联案件", "Cases naming it"),
  changes: defineText("data:credit_changes", "等级变更记录", "Tier changes"),
  staffDecisions: defineText("data:credit_staff_decisions", "处罚决定", "Decisions"),
  back: defineText("data:credit_back", "返回列表", "Back to the list"),
  none: defineText("data:credit_none", "暂无", "None yet"),
  versions: defineText("data:credit_versions", "登记版本", "Record versions"),
  stats: defineText("data:credit_stats", "各单位执法统计", "Figures per unit"),
  unit: defineText("data:credit_unit", "单位", "Unit"),
  statDecisions: defineText("data:credit_stat_decisions", "处罚决定数", "Decisions"),
  statPublished: defineText("data:credit_stat_published", "已公示", "Published"),
  statOnTime: defineText("data:credit_stat_on_time", "按期公示", "Published on time"),
  statOverdue: defineText("data:credit_stat_overdue", "逾期未公示", "Overdue, unpublished"),
  statTiers: defineText("data:credit_stat_tiers", "信用等级分布", "Tier distribution"),
  pending: defineText("data:credit_pending", "待我处理的处罚决定", "Decisions waiting for me"),
  drawNew: defineText("data:credit_draw_new", "双随机抽查", "Double random inspection draw"),
  inspectors: defineText("data:credit_inspectors", "执法人员（逗号分隔）", "Inspectors (comma separated)"),
  runDraw: defineText("data:credit_run_draw", "抽取", "Draw"),
  rate: defineText("data:credit_rate", "抽中概率", "Chance of being drawn"),
  picked: defineText("data:credit_picked", "抽中", "Drawn"),
  team: defineText("data:credit_team", "检查组", "Team"),
  drawResult: defineText("data:credit_draw_result", "抽取结果", "Draw result"),
};
/** The colour of each tier on the map (A good … D bad; no tier yet grey). */
const TIER_COLOURS: Array<[string, string]> = [
  ["A", "#1a9850"],
  ["B", "#91cf60"],
  ["C", "#fc8d59"],
  ["D", "#d73027"],
];
const WORDS: Record<string, readonly [string, string]> = {
  penalty: ["行政处罚", "Penalty"],
  warning: ["警告", "Warning"],
  proposed: ["拟处罚", "Proposed"],
  decided: ["已决定", "Decided"],
  published: ["已公示", "Published"],
  appealed: ["复议中", "Appealed"],
  closed: ["已执行结案", "Closed"],
  revoked: ["已撤销", "Revoked"],
  withdrawn: ["已撤回", "Withdrawn"],
  individual: ["个体工商户", "Individual trader"],
  enterprise: ["企业", "Enterprise"],
  cooperative: ["农民专业合作社", "Cooperative"],
  other: ["其他", "Other"],
};
for (const [word, [zh, en]] of Object.entries(WORDS)) defineText(`data:credit_${word}`, zh, en);

const amount = (yuan: number): string => (yuan ? fmt(yuan, 0) : "–");

/** A section with a translated heading (a data text: it switches language like the rest). */
function section(key: DataKey, ...children: Array<Node | null>): HTMLElement {
  return h("section", { class: "credit-part" }, h("h3", { i18n: key }), ...children);
}

/** A table captioned by a data text (`table()` takes the app's keys for its caption). */
function grid<R>(caption: DataKey, columns: Array<[DataKey, (row: R) => string | Node]>, rows: R[], onRow?: (row: R) => void): Node {
  if (!rows.length) return h("p", { class: "hint", i18n: K.none });
  const el = table(K.none as never, columns, rows, onRow);
  const cap = el.querySelector("caption");
  if (cap) {
    cap.dataset.i18n = caption;
    cap.textContent = tOr(caption, caption);
  }
  return el;
}

function publicPage(page: Disclosure): HTMLElement {
  return h("div", { class: "credit-public" },
    section(K.decisions, grid<PublicDecision>(K.decisions, [
      [K.number, (d) => d.number],
      [K.entity, (d) => ud(d.entity_name)],
      [K.code, (d) => h("code", {}, d.entity_code)],
      [K.operator, (d) => ud(d.operator || "–")],
      [K.kind, (d) => word(d.kind)],
      [K.status, (d) => word(d.status)],
      [K.basis, (d) => ud(d.legal_basis.join("；"))],
      [K.amount, (d) => amount(d.amount_yuan)],
      [K.decided, (d) => d.decided_on],
      [K.published, (d) => d.published_on],
    ], page.decisions)),
    section(K.licences, grid<PublicLicence>(K.licences, [
      [K.licence, (x) => x.number],
      [K.kind, (x) => ud(x.kind)],
      [K.entity, (x) => ud(x.entity_name)],
      [K.code, (x) => h("code", {}, x.entity_code)],
      [K.authority, (x) => ud(x.authority)],
      [K.decided, (x) => x.decided_on],
      [K.valid, (x) => `${x.valid_from} – ${x.valid_until ?? "…"}`],
    ], page.licences)),
    section(K.draws, grid<PublicDraw>(K.draws, [
      [K.plan, (d) => ud(d.plan)],
      [K.seed, (d) => h("code", {}, String(d.seed))],
      [K.population, (d) => fmt(d.population.length)],
      [K.drawn, (d) => d.drawn_at.slice(0, 16).replace("T", " ")],
    ], page.draws)),
  );
}

function entityPage(page: EntityPage, back: () => void, after: () => void): HTMLElement {
  const e = page.entity;
  // named by its heading (an aria-label would carry the name outside the user-data marking)
  return h("article", { class: "credit-entity", "data-code": e.code, "aria-labelledby": "credit-entity-title" },
    h("button", { type: "button", i18n: K.back, onclick: back }),
    h("h3", { id: "credit-entity-title" }, ud(e.name), " ", h("span", { class: "badge", "data-tier": e.tier }, e.tier || "–")),
    h("p", {}, h("code", {}, e.code), ` · ${word(e.kind)} · `, ud(e.address)),
    h("p", {}, h("span", { i18n: K.score }), `: ${fmt(e.score, 1)} · `, h("span", { i18n: K.versions }), `: ${page.versions}`),
    section(K.reasons, page.reasons.length ? h("ul", { class: "reasons" }, ...page.reasons.map(reasonItem)) : h("p", { class: "hint", i18n: K.none })),
    section(K.cases, page.case_ids.length ? h("p", {}, ...page.case_ids.map((id) => h("a", { href: "#/cases", class: "case-ref", "data-case": id }, `#${id} `))) : h("p", { class: "hint", i18n: K.none })),
    section(K.staffDecisions, grid<Decision>(K.staffDecisions, [
      [K.number, (d) => String(d.id)],
      [K.kind, (d) => word(d.kind)],
      [K.status, (d) => word(d.status)],
      [K.amount, (d) => amount(d.amount_yuan)],
      [K.basis, (d) => ud(d.legal_basis.map((b) => `${b.law} ${b.article}`.trim()).join("；"))],
      [K.due, (d) => d.publish_due ?? "–"],
      [S.steps, (d) => decisionSteps(d, after)],
    ], page.decisions)),
    section(K.changes, h("ul", { class: "history" }, ...page.tier_changes.map((c) => h("li", {}, `${c.at.slice(0, 10)}: ${c.from_tier || "–"} → ${c.to_tier} (${fmt(c.score, 1)}) · `, h("span", { class: "user-data" }, c.actor))))),
  );
}

function statsTable(rows: UnitFigures[]): HTMLElement {
  return section(K.stats, grid<UnitFigures>(K.stats, [
    [K.unit, (u) => h("code", {}, u.unit_code)],
    [K.statDecisions, (u) => fmt(u.decisions)],
    [K.statPublished, (u) => fmt(u.published)],
    [K.statOnTime, (u) => fmt(u.published_on_time)],
    [K.statOverdue, (u) => fmt(u.overdue_unpublished)],
    [K.statTiers, (u) => ["A", "B", "C", "D"].map((x) => `${x}: ${fmt(u.tiers[x] ?? 0)}`).join(" · ")],
  ], rows));
}

/** The decisions on which the user may take a step now (the server lists the steps). */
function pendingTable(rows: Decision[], after: () => void): HTMLElement {
  return section(K.pending, grid<Decision>(K.pending, [
    [K.number, (d) => String(d.id)],
    [K.code, (d) => h("code", {}, d.entity_code)],
    [K.kind, (d) => word(d.kind)],
    [K.status, (d) => word(d.status)],
    [K.amount, (d) => amount(d.amount_yuan)],
    [K.due, (d) => d.publish_due ?? "–"],
    [S.steps, (d) => decisionSteps(d, after)],
  ], rows));
}

/** The draw form (for those whose routes hold `POST /credit/draws`) and the last result. */
function drawForm(last: Draw | null, done: (d: Draw) => void): HTMLElement {
  const plan = h("input", { type: "text", name: "plan", required: true, maxlength: 200 });
  const inspectors = h("input", { type: "text", name: "inspectors", required: true });
  const seed = h("input", { type: "number", name: "seed", min: 0, step: 1, required: true, value: Math.floor(Math.random() * 1e6) });
  const field = (key: DataKey, control: HTMLElement): HTMLElement => h("label", { class: "field" }, h("span", { i18n: key }), control);
  const form = h("form", { class: "credit-draw" }, field(K.plan, plan), field(K.inspectors, inspectors), field(K.seed, seed), h("button", { type: "submit", class: "primary", i18n: K.runDraw }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { plan: plan.value.trim(), inspectors: inspectors.value.split(/[,，\s]+/).filter(Boolean), seed: Number(seed.value) };
    post<Draw>("/credit/draws", body)
      .then((d) => {
        toast(`${tOr(S.done, "done")}: ${tOr(K.runDraw, "")} ${d.id}`);
        done(d);
      })
      .catch(failed);
  });
  return section(K.drawNew, form, last ? drawResult(last) : null);
}

/** Every entity of a draw with its tier and the chance its tier gave it; the drawn marked. */
function drawResult(d: Draw): Node {
  const picks = new Map(d.picks.map((p) => [p.code, p]));
  const rows = d.population.map(([code, tier]) => ({ code: code ?? "", tier: tier ?? "", pick: picks.get(code ?? "") }));
  const el = grid<(typeof rows)[number]>(K.drawResult, [
    [K.code, (r) => h("code", {}, r.code)],
    [K.tier, (r) => h("span", { class: "badge", "data-tier": r.tier }, r.tier || "–")],
    [K.rate, (r) => fmt(d.rates[r.tier || "unrated"] ?? 0, 2)],
    [K.picked, (r) => (r.pick ? `✓ ${fmt(r.pick.probability, 2)}` : "–")],
    [K.team, (r) => (r.pick ? ud(r.pick.inspectors.join("、")) : "–")],
  ], rows);
  if (el instanceof HTMLElement) el.dataset.draw = String(d.id);
  return el;
}

function points(rows: Entity[]): GeoJSON.FeatureCollection {
  return {
    type: "FeatureCollection",
    features: rows.map((e) => ({ type: "Feature", geometry: { type: "Point", coordinates: [e.lon, e.lat] }, properties: { code: e.code, tier: e.tier || "" } })),
  };
}

/** The staff map: the entities as points coloured by tier; a click opens the entity's page. */
async function entityMap(container: HTMLElement, rows: Entity[], onPick: (code: string) => void): Promise<MlMap> {
  const map = createMap(container, "view_credit", rows.length ? boundsOf(points(rows)) : null, 16);
  await ready(map);
  await addStreets(map);
  setData(map, "entities", points(rows));
  map.addLayer({
    id: "entities-dots",
    type: "circle",
    source: "entities",
    paint: {
      "circle-radius": 7,
      "circle-color": ["match", ["get", "tier"], ...TIER_COLOURS.flat(), "#999999"] as never,
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 1.5,
    },
  });
  map.on("click", "entities-dots", (e) => {
    const code = e.features?.[0]?.properties?.code as string | undefined;
    if (code) onPick(code);
  });
  map.on("mouseenter", "entities-dots", () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", "entities-dots", () => (map.getCanvas().style.cursor = ""));
  return map;
}

export async function mountCredit(root: HTMLElement): Promise<Cleanup> {
  const box = h("div", { class: "credit" });
  const staff = await may("GET /credit/entities");
  const mapBox = h("div", { class: "map credit-map", id: "credit-map" });
  const page = h("section", { class: "page", "aria-labelledby": "credit-title" }, h("h2", { id: "credit-title", i18n: K.title }));
  if (staff) page.append(mapBox);
  page.append(box);
  root.append(page);
  const disclosure = await get<Disclosure>("/credit/public");
  let entities: Entity[] = staff ? await get<Entity[]>("/credit/entities") : [];
  const figures: UnitFigures[] = staff && (await may("GET /credit/stats")) ? await get<UnitFigures[]>("/credit/stats") : [];
  const draws = staff && (await may("POST /credit/draws"));
  const pendingOf = async (): Promise<Decision[]> => (staff ? (await get<Decision[]>("/credit/decisions")).filter((d) => d.actions.length) : []);
  let pending = await pendingOf();
  let lastDraw: Draw | null = null;
  let open: EntityPage | null = null;
  let tier = "";

  const show = (e: Pick<Entity, "code">): void => {
    get<EntityPage>(`/credit/entities/${encodeURIComponent(e.code)}`)
      .then((page) => {
        open = page;
        render();
      })
      .catch(failed);
  };
  /** After a step: the decisions waiting, the entities' tiers and the open page, reloaded. */
  const reload = (): void => {
    Promise.all([pendingOf(), get<Entity[]>("/credit/entities", tier ? { tier } : undefined)])
      .then(([waiting, rows]) => {
        pending = waiting;
        entities = rows;
        if (map) setData(map, "entities", points(rows));
        if (open) show(open.entity);
        else render();
      })
      .catch(failed);
  };
  const filter = (): HTMLSelectElement => {
    const choice = select([["", tOr(K.allTiers, "")], ...["A", "B", "C", "D"].map((x): [string, string] => [x, x])], tier);
    choice.setAttribute("aria-label", tOr(K.tier, "tier"));
    choice.addEventListener("change", () => {
      tier = choice.value;
      get<Entity[]>("/credit/entities", tier ? { tier } : undefined)
        .then((rows) => {
          entities = rows;
          if (map) setData(map, "entities", points(rows));
          render();
        })
        .catch(failed);
    });
    return choice;
  };
  const render = (): void => {
    const parts: Node[] = [];
    if (staff && open) {
      parts.push(entityPage(open, () => {
        open = null;
        render();
      }, reload));
    } else if (staff) {
      if (pending.length) parts.push(pendingTable(pending, reload));
      parts.push(section(K.entities, filter(), grid<Entity>(K.entities, [
        [K.entity, (e) => ud(e.name)],
        [K.code, (e) => h("code", {}, e.code)],
        [K.kind, (e) => word(e.kind)],
        [K.tier, (e) => h("span", { class: "badge", "data-tier": e.tier }, e.tier || "–")],
        [K.score, (e) => fmt(e.score, 1)],
        [K.address, (e) => ud(e.address)],
      ], entities, show)));
    }
    if (staff && !open) parts.push(statsTable(figures));
    if (draws && !open) {
      parts.push(drawForm(lastDraw, (d) => {
        lastDraw = d;
        render();
      }));
    }
    parts.push(publicPage(disclosure));
    box.replaceChildren(...parts);
    if (map) legend(map, tOr(K.tier, "Tier"), [...TIER_COLOURS, ["#999999", "–"]]);
  };
  let map: MlMap | null = null;
  render();
  if (staff) {
    map = await entityMap(mapBox, entities, (code) => show({ code }));
    render();
  }
  const unsubscribe = onLangChange(render);
  return () => {
    unsubscribe();
    map?.remove();
  };
}
