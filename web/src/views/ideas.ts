/**
 * Golden Ideas (金点子): a campaign's page (map and list, sorted by supports, newest or
 * answered), an idea's page (supports, the official answer, the timeline), the form to propose
 * (phone-sized: fields stacked, the place from a tap on the map) with the near-duplicate ideas
 * shown while writing, and for staff the moderation and answering queue. Public reads are the
 * server's masked view; a signed-in author also sees their own hidden idea and why.
 */
import type { Cleanup } from "../app";
import { failed } from "../app";
import { ApiError, currentUser, get, may, post, request, token } from "../api/client";
import type { components } from "../api/schema";
import { categories, categoryName } from "../categories";
import { h, select, toast } from "../dom";
import { defineText, fmt, onLangChange, tOr, when, type DataKey } from "../i18n";
import { addStreets, boundsOf, createMap, maplibregl, ready, setData, type MlMap } from "../map";

type Campaign = components["schemas"]["CampaignRead"];
type Idea = components["schemas"]["IdeaRead"];
type IdeaPage = components["schemas"]["IdeaPage"];
type Similar = components["schemas"]["SimilarRead"];
type UnitStats = components["schemas"]["UnitStatsRead"];
type Flag = components["schemas"]["FlagRead"];
type Merged = components["schemas"]["MergeRead"];
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
  mergeInto: defineText("data:ideas_merge_into", "重复了哪个建议（合并到）", "Repeats this idea (merge into)"),
  merge: defineText("data:ideas_merge", "合并", "Merge"),
  mergedNote: defineText("data:ideas_merged_note", "已合并，转移的支持数：", "Merged; supports carried over: "),
  caseCategory: defineText("data:ideas_case_category", "案件类别", "Case category"),
  toCase: defineText("data:ideas_to_case_button", "转为案件", "Open a case"),
  planCategory: defineText("data:ideas_plan_category", "设施类别（规划目录代码）", "Facility category (planning catalogue code)"),
  toPlan: defineText("data:ideas_to_plan_button", "列为规划候选点", "Make it a planning site"),
  flags: defineText("data:ideas_flags", "可疑支持（新账号集中支持）", "Suspicious supports (bursts of new accounts)"),
  flagged: defineText("data:ideas_flagged", "可疑", "Suspicious"),
  flagLine: defineText("data:ideas_flag_line", "来自新账号的支持：", "Supports from new accounts: "),
  since: defineText("data:ideas_since", "起始于", "since"),
  resolve: defineText("data:ideas_resolve", "已核查", "Looked into"),
  photos: defineText("data:ideas_photos", "照片", "Photos"),
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
const ANSWER_STEPS: readonly string[] = ["evaluate", "accept", "decline", "start", "finish"];

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

/**
 * The staff's tools on an idea: one form per action the server lists in ``idea.actions``
 * (hide or show, merge into another idea, the answer steps allowed now, open a case, make it
 * a planning site). ``others`` are the campaign's ideas a duplicate may be merged into.
 */
function staffTools(idea: Idea, others: Idea[], reload: () => void): HTMLElement | null {
  const can = new Set(idea.actions ?? []);
  const forms: HTMLElement[] = [];
  const key = `${idea.id}`;
  const form = (cls: string, submit: () => Promise<unknown>, ...children: Array<Node | null>): HTMLFormElement => {
    const el = h("form", { class: cls }, ...children);
    el.addEventListener("submit", (e) => {
      e.preventDefault();
      submit().then(reload).catch(failed);
    });
    return el;
  };
  if (can.has("hide") || can.has("show")) {
    const hidden = can.has("show");
    const reason = h("input", { name: "reason", maxlength: 4000, id: `reason-${key}` });
    forms.push(form("row moderate", () => post(`/ideas/${idea.id}/moderation`, { hide: !hidden, reason: reason.value.trim() }),
      field(K.reason, reason), h("button", { type: "submit", i18n: hidden ? K.show : K.hide })));
  }
  const targets = others.filter((o) => o.id !== idea.id && o.moderation === "visible");
  if (can.has("merge") && targets.length) {
    const into = select(targets.map((o): [string, string] => [String(o.id), `#${o.id} ${o.title}`]), String(targets[0]?.id ?? ""));
    into.name = "into";
    into.id = `into-${key}`;
    into.classList.add("user-data");
    forms.push(form("row merge-form", () => post<Merged>(`/ideas/${idea.id}/merge`, { into_id: Number(into.value) })
      .then((m) => toast(`${tOr(K.mergedNote, "merged")}${fmt(m.moved)}`)),
    field(K.mergeInto, into), h("button", { type: "submit", i18n: K.merge })));
  }
  const steps = ANSWER_STEPS.filter((a) => can.has(a));
  if (steps.length) {
    const step = select(steps.map((a): [string, string] => [a, word(a)]), steps[0]);
    step.name = "step";
    step.id = `step-${key}`;
    const text = h("textarea", { name: "answer", rows: 2, maxlength: 4000, id: `answer-${key}` });
    forms.push(form("answer-form", () => post(`/ideas/${idea.id}/answer`, { action: step.value, text: text.value.trim() }),
      field(K.step, step), field(K.text, text), h("button", { type: "submit", i18n: K.apply })));
  }
  if (can.has("to_case")) {
    const code = h("select", { name: "category", id: `case-category-${key}` });
    void categories().then((list) => code.replaceChildren(...list.filter((c) => c.active)
      .map((c) => h("option", { value: c.code }, `${c.code} ${categoryName(list, c.code)}`))));
    forms.push(form("row case-form", () => post(`/ideas/${idea.id}/case`, { category_code: code.value }),
      field(K.caseCategory, code), h("button", { type: "submit", i18n: K.toCase })));
  }
  if (can.has("to_plan")) {
    const facility = h("input", { name: "facility", required: true, maxlength: 64, id: `facility-${key}` });
    forms.push(form("row plan-form", () => post(`/ideas/${idea.id}/plan`, { facility_category: facility.value.trim() }),
      field(K.planCategory, facility), h("button", { type: "submit", i18n: K.toPlan })));
  }
  return forms.length ? h("section", { class: "idea-staff", "data-actions": (idea.actions ?? []).join(" ") }, ...forms) : null;
}

/**
 * The idea's photos (served re-encoded, without metadata). A hidden idea's photos need the
 * viewer's token (its author or staff), which an image tag cannot send: fetched, then shown.
 */
function photoStrip(idea: Idea): HTMLElement | null {
  if (!idea.photos) return null;
  const images = Array.from({ length: idea.photos }, (_, k) => {
    const url = `/ideas/${idea.id}/photos/${k}`;
    const img = h("img", { alt: `${tOr(K.photos, "photo")} ${k + 1}`, loading: "lazy", class: "idea-photo" });
    const bearer = token();
    if (idea.moderation === "visible" || !bearer) img.src = url;
    else {
      void fetch(url, { headers: { Authorization: `Bearer ${bearer}` } })
        .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
        .then((blob) => (img.src = URL.createObjectURL(blob)))
        .catch(() => undefined);
    }
    return img;
  });
  return h("section", { class: "idea-photos" }, h("h4", { i18n: K.photos }), ...images);
}

function ideaPage(page: IdeaPage, signedIn: boolean, others: Idea[], back: () => void, reload: () => void): HTMLElement {
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
    photoStrip(idea),
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
    staffTools(idea, others, reload),
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
  let renders = 0;
  const render = (): void => {
    head.replaceChildren(
      h("h3", {}, ud(campaign.title)),
      h("p", { class: "campaign-meta" },
        h("span", { i18n: K.phases }), `: ${campaign.open_phases.map(word).join(" · ") || "–"} · `,
        h("span", { i18n: K.threshold }), `: ${fmt(campaign.threshold)}`),
    );
    if (openPage) {
      body.replaceChildren(ideaPage(openPage, signedIn, ideas, () => {
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
    const drawn = ++renders;
    // the queue arrives later: only onto the list it was asked for (not an idea's page since)
    if (staff) void queue().then((q) => {
      if (drawn === renders && !openPage) body.append(q);
    }).catch(failed);
  };
  const queue = async (): Promise<HTMLElement> => {
    const [rows, flags] = await Promise.all([
      get<Idea[]>("/ideas/queue", { campaign_id: campaign.id }),
      (await may("GET /ideas/flags")) ? get<Flag[]>("/ideas/flags") : Promise.resolve([] as Flag[]),
    ]);
    const reloadQueue = (): void => {
      void reloadList().then(render).catch(failed);
    };
    const flagged = new Set(flags.map((f) => f.idea_id));
    const mine = flags.filter((f) => rows.some((r) => r.id === f.idea_id));
    const flagList = mine.length
      ? h("section", { class: "ideas-flags" }, h("h4", { i18n: K.flags }),
        h("ul", {}, ...mine.map((f) => h("li", { "data-flag": f.id, "data-idea": f.idea_id },
          h("a", { href: "#/ideas", onclick: (e: Event) => {
            e.preventDefault();
            open(f.idea_id);
          } }, `#${f.idea_id}`), " · ", h("span", { i18n: K.flagLine }), fmt(f.supports), " · ",
          h("span", { i18n: K.since }), ` ${when(f.window_start)} `,
          h("button", { type: "button", i18n: K.resolve, onclick: () => {
            post(`/ideas/flags/${f.id}/resolve`, {}).then(reloadQueue).catch(failed);
          } })))))
      : null;
    const item = (i: Idea): HTMLElement => h("li", { class: "queue-item", "data-idea": i.id },
      h("p", { class: "queue-head" },
        h("a", { href: "#/ideas", class: "queue-open", onclick: (e: Event) => {
          e.preventDefault();
          open(i.id);
        } }, `#${i.id} `, ud(i.title)),
        " · ", h("span", { class: "idea-supports" }, fmt(i.supports)), " ", h("span", { i18n: K.supports }), " ",
        h("span", { class: "badge", "data-status": i.answer_status }, word(i.answer_status)),
        i.moderation === "hidden" ? h("span", { class: "badge hidden-badge" }, word("hide")) : null,
        flagged.has(i.id) ? h("span", { class: "badge flag-badge" }, h("span", { i18n: K.flagged })) : null),
      staffTools(i, ideas, reloadQueue));
    return h("section", { class: "ideas-queue", "aria-label": tOr(K.queue, "queue") }, h("h3", { i18n: K.queue }),
      flagList, h("ol", { class: "queue-list" }, ...rows.map(item)));
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
