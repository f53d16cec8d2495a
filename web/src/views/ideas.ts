/**
 * Golden Ideas (金点子): a campaign's page (map and list, sorted by supports, newest or
 * answered), an idea's page (supports, the official answer, the timeline), the form to propose
 * (phone-sized: fields stacked, the place from a tap on the map) with the near-duplicate ideas
 * shown while writing, and for staff the moderation and answering queue. Public reads are the
 * server's masked view; a signed-in author also sees their own hidden idea and why.
 */
import type { Cleanup } from "../app";
import { failed } from "../app";
import { ApiError, currentUser, get, may, post, request } from "../api/client";
import type { components } from "../api/schema";
import { h, select, toast } from "../dom";
import { defineText, fmt, onLangChange, tOr, when, type DataKey } from "../i18n";
import { addStreets, boundsOf, createMap, maplibregl, ready, setData, type MlMap } from "../map";

type Campaign = components["schemas"]["CampaignRead"];
type Idea = components["schemas"]["IdeaRead"];
type IdeaPage = components["schemas"]["IdeaPage"];
type Similar = components["schemas"]["SimilarRead"];
type UnitStats = components["schemas"]["UnitStatsRead"];
type Sort = "supports" | "newest" | "answered";

const K = {
  title: defineText("data:ideas_title", "金点子", "Golden Ideas"),
  none: defineText("data:ideas_none", "还没有活动", "No campaign yet"),
  noIdeas: defineText("data:ideas_no_ideas", "还没有建议", "No idea yet"),
  threshold: defineText("data:ideas_threshold", "答复门槛（支持数）", "Supports for an answer"),
  phases: defineText("data:ideas_phases", "当前阶段", "Open now"),
  sortBy: defineText("data:ideas_sort", "排序", "Sort by"),
  bySupports: defineText("data:ideas_by_supports", "支持最多", "Most supported"),
  byNewest: defineText("data:ideas_by_newest", "最新", "Newest"),
  byAnswered: defineText("data:ideas_by_answered", "已答复", "Answered"),
  supports: defineText("data:ideas_supports", "支持", "Supports"),
  support: defineText("data:ideas_support", "支持这个建议", "Support this idea"),
  withdraw: defineText("data:ideas_withdraw", "撤回支持", "Withdraw my support"),
  answer: defineText("data:ideas_answer", "官方答复", "Official answer"),
  due: defineText("data:ideas_due", "答复期限", "Answer due"),
  timeline: defineText("data:ideas_timeline", "进展", "Timeline"),
  back: defineText("data:ideas_back", "返回列表", "Back to the list"),
  propose: defineText("data:ideas_propose", "提出建议", "Propose an idea"),
  ideaTitle: defineText("data:ideas_idea_title", "标题", "Title"),
  body: defineText("data:ideas_body", "建议内容", "Your idea"),
  category: defineText("data:ideas_category", "类别", "Category"),
  place: defineText("data:ideas_place", "点击地图选择位置（可不选）", "Tap the map to place it (optional)"),
  placed: defineText("data:ideas_placed", "已选位置", "Place chosen"),
  send: defineText("data:ideas_send", "提交", "Send"),
  similar: defineText("data:ideas_similar", "类似的建议，可以直接支持", "Similar ideas you could support instead"),
  signIn: defineText("data:ideas_sign_in", "登录后可提出和支持建议", "Sign in to propose and support ideas"),
  hidden: defineText("data:ideas_hidden", "已被隐藏，原因：", "Hidden by the moderators, because: "),
  merged: defineText("data:ideas_merged", "已合并到建议", "Merged into idea"),
  queue: defineText("data:ideas_queue", "审核与答复队列", "Moderation and answering queue"),
  hide: defineText("data:ideas_hide", "隐藏", "Hide"),
  show: defineText("data:ideas_show", "恢复显示", "Show again"),
  reason: defineText("data:ideas_reason", "原因（作者可见）", "Reason (the author sees it)"),
  step: defineText("data:ideas_step", "答复步骤", "Answer step"),
  text: defineText("data:ideas_text", "答复内容", "Answer text"),
  apply: defineText("data:ideas_apply", "确定", "Apply"),
  stats: defineText("data:ideas_stats", "金点子：各单位参与与答复", "Golden Ideas per unit"),
  unit: defineText("data:ideas_unit", "单位", "Unit"),
  ideas: defineText("data:ideas_ideas", "建议", "Ideas"),
  dueCount: defineText("data:ideas_due_count", "应答复", "Answers due"),
  answered: defineText("data:ideas_answered", "已答复", "Answered"),
  overdue: defineText("data:ideas_overdue", "逾期", "Overdue"),
  rate: defineText("data:ideas_rate", "答复率", "Answer rate"),
  days: defineText("data:ideas_days", "答复用时（中位，天）", "Days to answer (median)"),
  outcomeCase: defineText("data:ideas_outcome_case", "已转为案件", "Became case"),
  outcomePlan: defineText("data:ideas_outcome_plan", "已列为规划候选点", "Candidate site for planning"),
};
const WORDS: Record<string, readonly [string, string]> = {
  pending: ["待答复", "Awaiting an answer"],
  evaluating: ["评估中", "Being evaluated"],
  accepted: ["已采纳", "Accepted"],
  declined: ["不予采纳", "Declined"],
  in_progress: ["实施中", "In progress"],
  done: ["已完成", "Done"],
  collecting: ["征集", "Collecting"],
  supporting: ["支持", "Supporting"],
  review: ["评审", "Review"],
  results: ["公布", "Results"],
  propose: ["提出", "Proposed"],
  hide: ["被隐藏", "Hidden"],
  restore: ["恢复显示", "Shown again"],
  evaluate: ["开始评估", "Evaluation started"],
  accept: ["采纳", "Accepted"],
  decline: ["不予采纳", "Declined"],
  start: ["开始实施", "Work started"],
  finish: ["完成", "Done"],
  merged: ["合并到其他建议", "Merged into another"],
  absorbed: ["合并了重复建议", "Absorbed a repeat"],
  to_case: ["转为案件", "Became a case"],
  to_plan: ["列为规划候选点", "Became a planning site"],
  staff: ["工作人员", "Staff"],
};
for (const [word, [zh, en]] of Object.entries(WORDS)) defineText(`data:ideas_${word}`, zh, en);
const word = (code: string): string => tOr(`data:ideas_${code}`, code);
const ud = (text: string): HTMLElement => h("span", { class: "user-data" }, text);
const ANSWER_STEPS = ["evaluate", "accept", "decline", "start", "finish"] as const;

function points(ideas: Idea[]): GeoJSON.FeatureCollection {
  return {
    type: "FeatureCollection",
    features: ideas
      .filter((i) => i.lon !== null && i.lat !== null)
      .map((i) => ({ type: "Feature", geometry: { type: "Point", coordinates: [i.lon as number, i.lat as number] }, properties: { id: i.id, supports: i.supports } })),
  };
}

/** A labelled control whose label is a data text (switches language with the page). */
function field(key: DataKey, control: HTMLElement): HTMLLabelElement {
  control.id ||= `f-${key.replace(/\W/g, "-")}`;
  return h("label", { for: control.id, class: "field" }, h("span", { i18n: key }), control);
}

function ideaCard(idea: Idea, open: (id: number) => void): HTMLElement {
  const card = h("li", { class: "idea-card", "data-idea": idea.id, tabindex: 0 },
    h("strong", {}, ud(idea.title)),
    h("span", { class: "idea-supports" }, `${fmt(idea.supports)} `, h("span", { i18n: K.supports })),
    h("span", { class: "badge", "data-status": idea.answer_status }, word(idea.answer_status)),
    idea.moderation === "hidden" ? h("span", { class: "badge hidden-badge" }, word("hide")) : null,
  );
  card.addEventListener("click", () => open(idea.id));
  card.addEventListener("keydown", (e) => {
    if (e.key === "Enter") open(idea.id);
  });
  return card;
}

function timeline(page: IdeaPage): HTMLElement {
  return h("ol", { class: "history idea-timeline" },
    ...page.timeline.map((s) => h("li", { "data-action": s.action },
      `${when(s.at)} · ${word(s.action)}`,
      s.actor === "staff" ? ` · ${word("staff")}` : h("span", { class: "user-data" }, ` · ${s.actor}`),
      s.note ? h("span", { class: "user-data" }, ` — ${s.note}`) : null)),
  );
}

/** The staff's tools on an idea's page: hide or show (with a reason), one answer step. */
function staffTools(idea: Idea, reload: () => void): HTMLElement {
  const reason = h("input", { name: "reason", maxlength: 4000 });
  const hidden = idea.moderation === "hidden";
  const moderate = h("form", { class: "row moderate" }, field(K.reason, reason),
    h("button", { type: "submit", i18n: hidden ? K.show : K.hide }));
  moderate.addEventListener("submit", (e) => {
    e.preventDefault();
    post(`/ideas/${idea.id}/moderation`, { hide: !hidden, reason: reason.value.trim() }).then(reload).catch(failed);
  });
  const step = select(ANSWER_STEPS.map((s): [string, string] => [s, word(s)]), "evaluate");
  step.name = "step";
  const text = h("textarea", { name: "answer", rows: 2, maxlength: 4000 });
  const answer = h("form", { class: "answer-form" }, field(K.step, step), field(K.text, text),
    h("button", { type: "submit", i18n: K.apply }));
  answer.addEventListener("submit", (e) => {
    e.preventDefault();
    post(`/ideas/${idea.id}/answer`, { action: step.value, text: text.value.trim() }).then(reload).catch(failed);
  });
  return h("section", { class: "idea-staff" }, moderate, answer);
}

function ideaPage(page: IdeaPage, signedIn: boolean, staff: boolean, back: () => void, reload: () => void): HTMLElement {
  const idea = page.idea;
  const toggle = h("button", { type: "button", class: "support-button", i18n: idea.supported_by_me ? K.withdraw : K.support });
  toggle.addEventListener("click", () => {
    const done = idea.supported_by_me
      ? request(`DELETE`, `/ideas/${idea.id}/support`)
      : post(`/ideas/${idea.id}/support`, {});
    done.then(reload).catch(failed);
  });
  const outcome = idea.outcome === "case"
    ? h("p", { class: "outcome" }, h("span", { i18n: K.outcomeCase }), ` ${idea.case_reference}`)
    : idea.outcome === "plan" ? h("p", { class: "outcome", i18n: K.outcomePlan }) : null;
  return h("article", { class: "idea-page", "data-idea": idea.id, "aria-labelledby": `idea-${idea.id}-title` },
    h("button", { type: "button", i18n: K.back, onclick: back }),
    h("h3", { id: `idea-${idea.id}-title` }, ud(idea.title)),
    idea.moderation === "hidden" ? h("p", { class: "notice hidden-reason", role: "note" }, h("span", { i18n: K.hidden }), ud(idea.moderation_reason)) : null,
    idea.merged_into_id ? h("p", { class: "notice" }, h("span", { i18n: K.merged }), ` #${idea.merged_into_id}`) : null,
    h("p", { class: "idea-body" }, ud(idea.body)),
    h("p", { class: "idea-meta" }, ud(idea.author), ` · ${when(idea.created_at)} · `, ud(idea.category)),
    h("p", { class: "idea-count" }, h("strong", { class: "idea-supports" }, fmt(idea.supports)), " ", h("span", { i18n: K.supports })),
    signedIn && idea.moderation === "visible" ? toggle : signedIn ? null : h("p", { class: "hint", i18n: K.signIn }),
    h("section", { class: "idea-answer" },
      h("h4", { i18n: K.answer }),
      h("p", {}, h("span", { class: "badge", "data-status": idea.answer_status }, word(idea.answer_status)),
        idea.due_at ? h("span", {}, " · ", h("span", { i18n: K.due }), ` ${when(idea.due_at)}`) : null),
      idea.answer_text ? h("p", { class: "answer-text" }, ud(idea.answer_text)) : null,
      outcome),
    h("section", {}, h("h4", { i18n: K.timeline }), timeline(page)),
    staff ? staffTools(idea, reload) : null,
  );
}

/** The form to propose, with the near-duplicate ideas listed while the resident writes. */
function proposeForm(campaign: Campaign, place: () => [number, number] | null, sent: (idea: Idea) => void, open: (id: number) => void): HTMLElement {
  const title = h("input", { name: "title", required: true, maxlength: 200 });
  const body = h("textarea", { name: "body", required: true, rows: 4, maxlength: 4000 });
  const category = select(campaign.categories.map((c): [string, string] => [c, c]), campaign.categories[0] ?? "");
  category.name = "category";
  category.classList.add("user-data"); // the campaign's categories are its officials' words
  const similar = h("ul", { class: "similar", "aria-live": "polite" });
  let timer = 0;
  const look = (): void => {
    window.clearTimeout(timer);
    const text = `${title.value} ${body.value}`.trim();
    if (text.length < 2) return;
    timer = window.setTimeout(() => {
      const at = place();
      const query = { text, ...(at ? { lon: at[0], lat: at[1] } : {}) };
      get<Similar[]>(`/ideas/campaigns/${campaign.id}/similar`, query)
        .then((rows) => similar.replaceChildren(...(rows.length ? [h("li", { class: "hint", i18n: K.similar })] : []),
          ...rows.map((r) => h("li", {}, h("a", { href: "#/ideas", "data-similar": r.id, onclick: (e: Event) => {
            e.preventDefault();
            open(r.id);
          } }, ud(r.title))))))
        .catch(() => undefined);
    }, 300);
  };
  title.addEventListener("input", look);
  body.addEventListener("input", look);
  const form = h("form", { class: "propose", "aria-label": tOr(K.propose, "propose") },
    h("h3", { i18n: K.propose }), field(K.ideaTitle, title), field(K.body, body), field(K.category, category),
    h("p", { class: "hint place-hint", i18n: K.place }), similar, h("button", { type: "submit", i18n: K.send }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const at = place();
    post<Idea>(`/ideas/campaigns/${campaign.id}/ideas`, {
      title: title.value.trim(), body: body.value.trim(), category: category.value,
      ...(at ? { lon: at[0], lat: at[1] } : {}),
    })
      .then((idea) => {
        form.reset();
        similar.replaceChildren();
        toast(tOr(K.propose, "sent"));
        sent(idea);
      })
      .catch(failed);
  });
  return form;
}

async function ideasMap(container: HTMLElement, ideas: Idea[], onPick: (id: number) => void, onPlace: (lonLat: [number, number]) => void): Promise<MlMap> {
  const placed = points(ideas);
  // the ideas' places, or the city's districts before any idea has one
  const bounds = placed.features.length ? boundsOf(placed) : boundsOf(await get<GeoJSON.FeatureCollection>("/city/units", { level: "district" }));
  const map = createMap(container, "view_ideas", bounds, 15);
  await ready(map);
  await addStreets(map);
  setData(map, "ideas", points(ideas));
  map.addLayer({
    id: "ideas-dots",
    type: "circle",
    source: "ideas",
    paint: {
      "circle-radius": ["interpolate", ["linear"], ["get", "supports"], 0, 5, 50, 10, 500, 16] as never,
      "circle-color": "#d9822b",
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 1.5,
    },
  });
  let marker: maplibregl.Marker | null = null;
  map.on("click", (e) => {
    const hit = map.queryRenderedFeatures(e.point, { layers: ["ideas-dots"] })[0];
    const id = hit?.properties?.id as number | undefined;
    if (id) return onPick(id);
    marker?.remove();
    marker = new maplibregl.Marker({ color: "#1f6feb" }).setLngLat(e.lngLat).addTo(map);
    onPlace([e.lngLat.lng, e.lngLat.lat]);
  });
  return map;
}

export async function mountIdeas(root: HTMLElement): Promise<Cleanup> {
  const page = h("section", { class: "page ideas", "aria-labelledby": "ideas-title" }, h("h2", { id: "ideas-title", i18n: K.title }));
  root.append(page);
  const campaigns = await get<Campaign[]>("/ideas/campaigns");
  const campaign = campaigns[0];
  if (!campaign) {
    page.append(h("p", { class: "hint", i18n: K.none }));
    return () => undefined;
  }
  const signedIn = !!currentUser();
  const staff = await may("GET /ideas/queue");
  const hashId = Number(new URLSearchParams(window.location.hash.split("?")[1] ?? "").get("idea") ?? "");
  let sort: Sort = "supports";
  let ideas = await get<Idea[]>(`/ideas/campaigns/${campaign.id}/ideas`, { sort });
  let openPage: IdeaPage | null = null;
  let placed: [number, number] | null = null;
  const head = h("div", { class: "campaign-head" });
  const mapBox = h("div", { class: "map ideas-map", id: "ideas-map" });
  const body = h("div", { class: "ideas-body" });
  page.append(head, h("div", { class: "split ideas-split" }, mapBox, body));

  const reloadList = async (): Promise<void> => {
    ideas = await get<Idea[]>(`/ideas/campaigns/${campaign.id}/ideas`, { sort });
    if (map) setData(map, "ideas", points(ideas));
  };
  const open = (id: number): void => {
    get<IdeaPage>(`/ideas/${id}`)
      .then((p) => {
        openPage = p;
        render();
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) {
          openPage = null;
          void reloadList().then(render);
        } else failed(err);
      });
  };
  const reloadOpen = (): void => {
    if (openPage) open(openPage.idea.id);
    void reloadList();
  };
  const render = (): void => {
    head.replaceChildren(
      h("h3", {}, ud(campaign.title)),
      h("p", { class: "campaign-meta" },
        h("span", { i18n: K.phases }), `: ${campaign.open_phases.map(word).join(" · ") || "–"} · `,
        h("span", { i18n: K.threshold }), `: ${fmt(campaign.threshold)}`),
    );
    if (openPage) {
      body.replaceChildren(ideaPage(openPage, signedIn, staff, () => {
        openPage = null;
        render();
      }, reloadOpen));
      return;
    }
    const sorter = h("div", { class: "row sort", role: "group", "aria-label": tOr(K.sortBy, "sort") },
      ...([["supports", K.bySupports], ["newest", K.byNewest], ["answered", K.byAnswered]] as Array<[Sort, DataKey]>).map(([value, key]) =>
        h("button", { type: "button", i18n: key, "data-sort": value, "aria-pressed": String(sort === value), onclick: () => {
          sort = value;
          void reloadList().then(render).catch(failed);
        } })));
    const list = ideas.length
      ? h("ol", { class: "idea-list" }, ...ideas.map((i) => ideaCard(i, open)))
      : h("p", { class: "hint", i18n: K.noIdeas });
    const parts: Array<Node> = [sorter, list];
    if (signedIn && campaign.open_phases.includes("collecting")) {
      parts.unshift(proposeForm(campaign, () => placed, (idea) => {
        void reloadList().then(() => open(idea.id));
      }, open));
    } else if (!signedIn) parts.unshift(h("p", { class: "hint", i18n: K.signIn }));
    body.replaceChildren(...parts);
    if (staff) void queue().then((q) => body.append(q)).catch(failed);
  };
  const queue = async (): Promise<HTMLElement> => {
    const rows = await get<Idea[]>("/ideas/queue", { campaign_id: campaign.id });
    return h("section", { class: "ideas-queue", "aria-label": tOr(K.queue, "queue") }, h("h3", { i18n: K.queue }),
      h("ol", { class: "idea-list" }, ...rows.map((i) => ideaCard(i, open))));
  };
  let map: MlMap | null = null;
  render();
  if (hashId) open(hashId);
  map = await ideasMap(mapBox, ideas, open, (lonLat) => {
    placed = lonLat;
    toast(tOr(K.placed, "placed"));
  });
  const unsubscribe = onLangChange(render);
  return () => {
    unsubscribe();
    map?.remove();
    map = null; // a request still on its way finds no map to draw on
  };
}

/** The operations view's participation figures per district (staff with the statistics). */
export async function ideasStatsSection(): Promise<HTMLElement | null> {
  if (!(await may("GET /ideas/stats"))) return null;
  const rows = await get<UnitStats[]>("/ideas/stats", { level: "district" });
  const cols: Array<[DataKey, (r: UnitStats) => string]> = [
    [K.unit, (r) => r.unit_code],
    [K.ideas, (r) => fmt(r.ideas)],
    [K.supports, (r) => fmt(r.supports)],
    [K.dueCount, (r) => fmt(r.answers_due)],
    [K.answered, (r) => fmt(r.answered)],
    [K.overdue, (r) => fmt(r.overdue)],
    [K.rate, (r) => (r.answer_rate === null ? "–" : `${fmt(r.answer_rate * 100)}%`)],
    [K.days, (r) => (r.median_answer_days === null ? "–" : fmt(r.median_answer_days, 1))],
  ];
  return h("section", { class: "ideas-stats", "aria-labelledby": "ideas-stats-title" },
    h("h3", { id: "ideas-stats-title", i18n: K.stats }),
    h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ...cols.map(([key]) => h("th", { scope: "col", i18n: key })))),
      h("tbody", {}, ...rows.map((r) => h("tr", { "data-unit": r.unit_code }, ...cols.map(([, cell]) => h("td", {}, cell(r))))))));
}
