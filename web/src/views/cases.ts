/**
 * Cases: a live map and list of the cases in the operator's scope (SSE /stream/cases keeps
 * them current), filters by category, stage, unit and overdue, and a case detail with its
 * timeline, photo and the workflow actions the operator may take (the server lists them per
 * case and user; the dashboard keeps no copy of the workflow or the role policy).
 */
import type { Cleanup } from "../app";
import { failed, missing, requireLogin } from "../app";
import {
  actOnCase,
  caseAttachments,
  caseEvents,
  currentUser,
  get,
  getCase,
  listCases,
  stream,
  type ActionName,
  type AttachmentRead,
  type CaseRead,
  type CaseStatus,
  type WorkflowRead,
} from "../api/client";
import { categories, categoryName, type Category } from "../categories";
import type { Geo, UnitProps } from "../api/contract";
import type { components } from "../api/schema";
import { h, labelled, select, toast } from "../dom";
import { lang, onLangChange, t, tOr, when } from "../i18n";

type Department = components["schemas"]["DepartmentRead"];
import { addStreets, boundsOf, createMap, fitTo, ready, setData } from "../map";
import { caseCreditPanel } from "./credit_steps";

const STAGE_COLOURS: Record<string, string> = {
  reported: "#e6550d",
  registered: "#fd8d3c",
  dispatched: "#3182bd",
  in_progress: "#6baed6",
  responded: "#756bb1",
  verified: "#31a354",
  closed: "#999999",
  rejected: "#bbbbbb",
  merged: "#bbbbbb",
};

/** Open (the server's own sets: not closed, rejected or merged) and past its stage deadline. */
export function isOverdue(c: CaseRead, now = Date.now()): boolean {
  return !!c.deadline_at && c.is_open && Date.parse(c.deadline_at) < now;
}

export async function mountCases(root: HTMLElement): Promise<Cleanup> {
  if (!currentUser()) {
    requireLogin();
    return () => undefined;
  }
  // the first page of cases opens the map on its bounds, while the rest of the view's data comes
  const none = (): Geo<UnitProps> => ({ type: "FeatureCollection", features: [] });
  const firstPage = await listCases({ limit: 50, offset: 0 });
  const mapBox = h("div", { class: "map", id: "cases-map" });
  const split = h("div", { class: "split" }, mapBox);
  root.append(split);
  const dots: GeoJSON.FeatureCollection = {
    type: "FeatureCollection",
    features: firstPage.rows.map((c) => ({ type: "Feature", geometry: { type: "Point", coordinates: [c.lon, c.lat] }, properties: {} })),
  };
  const map = createMap(mapBox, "case_list", dots.features.length ? boundsOf(dots) : null, 16);
  const based = ready(map).then(() => addStreets(map));
  const [cats, stages, districtUnits, streetUnits, departments] = await Promise.all([
    categories().catch((): Category[] => []),
    // the workflow's stages in order, as the server defines them (GET /cases/workflow)
    get<WorkflowRead>("/cases/workflow")
      .then((w) => w.statuses.map((s) => s.value))
      .catch((): CaseStatus[] => []),
    // names, never codes: the units (districts and streets) and departments, from the API
    get<Geo<UnitProps>>("/city/units", { level: "district" }).catch(none),
    get<Geo<UnitProps>>("/city/units", { level: "street" }).catch(none),
    get<Department[]>("/departments").catch((): Department[] => []),
  ]).catch((err: unknown) => {
    map.remove();
    throw err;
  });
  const unitNames = new Map<string, UnitProps>([...districtUnits.features, ...streetUnits.features].map((f) => [f.properties.code, f.properties]));
  const unitName = (code: string): string => {
    const u = unitNames.get(code);
    return u ? (lang() === "en" && u.name_en ? u.name_en : u.name) : code;
  };
  const departmentName = (code: string): string => {
    const d = departments.find((x) => x.code === code);
    return d ? (lang() === "en" ? d.name_en : d.name_zh) : code;
  };
  // one page of the server's filtered list; the stream and the filters reload it
  const PAGE = 50;
  let page: CaseRead[] = [];
  let total = 0;
  let offset = 0;

  const fCategory = select([["", t("all")], ...cats.map((c): [string, string] => [c.code, categoryName(cats, c.code)])]);
  fCategory.name = "category";
  const fStage = select([["", t("all")], ...stages.map((s): [string, string] => [s, t(`st_${s}` as never)])]);
  fStage.name = "stage";
  const fUnit = h("select", { name: "unit" });
  const fillUnits = (): void => {
    const keep = fUnit.value;
    const name = (u: UnitProps): string => (lang() === "en" && u.name_en ? u.name_en : u.name);
    fUnit.replaceChildren(
      h("option", { value: "" }, t("all")),
      ...districtUnits.features.map((d) =>
        h("optgroup", { label: name(d.properties) },
          h("option", { value: d.properties.code }, name(d.properties)),
          ...streetUnits.features.filter((s) => s.properties.parent === d.properties.code).map((s) => h("option", { value: s.properties.code }, `· ${name(s.properties)}`)),
        ),
      ),
    );
    fUnit.value = keep;
  };
  fillUnits();
  const pager = h("div", { class: "pager" });
  const fOverdue = h("input", { type: "checkbox", name: "overdue" });
  const live = h("span", { class: "badge", "aria-live": "polite" }, "…");
  const list = h("div", { class: "table-box", id: "case-list" });
  const detail = h("section", { id: "case-detail", "aria-live": "polite", "aria-label": t("timeline") });
  const count = h("span", { class: "hint" });
  const overdueLabel = h("label", { class: "field inline" }, fOverdue, h("span", { i18n: "overdue_only" }));
  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "cases-title" },
    h("h2", { id: "cases-title" }, h("span", { i18n: "view_cases" }), " ", live),
    h("fieldset", { class: "row" }, h("legend", { i18n: "filters" }), labelled("category", fCategory), labelled("stage", fStage), labelled("unit", fUnit), overdueLabel),
    count,
    detail,
    pager,
    list,
  );
  split.append(panel);
  await based;
  // no case yet: the city's streets give the view
  if (!dots.features.length) fitTo(map, streetUnits);
  // the streets' (街道) outlines for orientation
  setData(map, "units", streetUnits);
  map.addLayer({ id: "units-line", type: "line", source: "units", paint: { "line-color": "#556", "line-width": 1.2 } });
  setData(map, "cases");
  map.addLayer({
    id: "cases-dots",
    type: "circle",
    source: "cases",
    paint: {
      "circle-radius": ["case", ["get", "selected"], 9, 5],
      "circle-color": ["get", "colour"],
      "circle-stroke-color": ["case", ["get", "overdue"], "#b00020", "#ffffff"],
      "circle-stroke-width": ["case", ["get", "overdue"], 2.5, 1],
    },
  });
  let selected: number | null = null;

  // the filters go to the server (GET /cases with X-Total-Count); a page is PAGE rows
  let refit = false; // the map opened on the first page already
  const reload = async (): Promise<void> => {
    const answer = await listCases({
      status: fStage.value as CaseStatus | "",
      category: fCategory.value,
      unit: fUnit.value,
      overdue: fOverdue.checked,
      limit: PAGE,
      offset,
    });
    page = answer.rows;
    total = answer.total;
    render();
  };
  let pending = 0;
  const reloadSoon = (): void => {
    window.clearTimeout(pending);
    pending = window.setTimeout(() => void reload().catch(failed), 500);
  };

  const render = (): void => {
    const rows = page;
    const now = Date.now();
    const data: GeoJSON.FeatureCollection = {
      type: "FeatureCollection",
      features: rows.map((c) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [c.lon, c.lat] },
        properties: { id: c.id, colour: STAGE_COLOURS[c.status] ?? "#333", overdue: isOverdue(c, now), selected: c.id === selected },
      })),
    };
    setData(map, "cases", data);
    // the map fits its cases when the filters or the page change, and when a case arrives
    // outside the view; one case alone is shown at street scale, not at a metre's
    const outside = data.features.some((f) => !map.getBounds().contains((f.geometry as GeoJSON.Point).coordinates as [number, number]));
    if (rows.length && (refit || outside)) fitTo(map, data, 16);
    refit = false;
    count.textContent = "";
    pager.replaceChildren(
      h("button", { type: "button", "data-page": "prev", disabled: offset === 0, onclick: () => turn(-PAGE) }, t("page_prev")),
      h("span", { id: "case-count", "data-total": total, "aria-live": "polite" }, t("page_of").replace("{a}", String(total ? offset + 1 : 0)).replace("{b}", String(offset + rows.length)).replace("{n}", String(total))),
      h("button", { type: "button", "data-page": "next", disabled: offset + PAGE >= total, onclick: () => turn(PAGE) }, t("page_next")),
    );
    const table = h("table", { class: "grid" });
    table.append(h("caption", { i18n: "case_list" }));
    table.append(
      h("thead", {}, h("tr", {}, ...(["reference", "category", "stage", "reported_at", "deadline"] as const).map((k) => h("th", { scope: "col", i18n: k })))),
    );
    const body = h("tbody");
    for (const c of rows) {
      const tr = h(
        "tr",
        { class: `clickable${c.id === selected ? " selected" : ""}`, tabindex: 0, "data-case-id": c.id, "data-reference": c.reference ?? "" },
        h("td", {}, c.reference ?? String(c.id)),
        h("td", { class: "category" }, categoryName(cats, c.category_code)),
        h("td", {}, h("span", { class: "badge", "data-stage": c.status }, tOr(`st_${c.status}`, c.status))),
        h("td", {}, when(c.reported_at)),
        h("td", {}, isOverdue(c, now) ? h("span", { class: "badge overdue" }, t("overdue")) : when(c.deadline_at)),
      );
      const open = (): void => void openCase(c.id);
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          open();
        }
      });
      body.append(tr);
    }
    table.append(body);
    list.replaceChildren(table);
  };

  const openCase = async (id: number): Promise<void> => {
    selected = id;
    render();
    try {
      const [c, events] = await Promise.all([getCase(id), caseEvents(id)]);
      page = page.map((x) => (x.id === c.id ? c : x));
      // every photo of the case (the report's and any added on later steps), bytes at /blobs/{sha256}
      const attachments = await caseAttachments(id).catch((): AttachmentRead[] => []);
      const photos = attachments.flatMap((a) => (a.kind === "photo" && a.url ? [a.url] : []));
      const note = h("input", { type: "text", name: "note" });
      // the actions this user may take on this case now, as the server decides them
      const buttons = (c.actions ?? []).map((action) =>
        h("button", { type: "button", class: "primary", "data-action": action, onclick: () => void act(c.id, action, note.value) }, tOr(`act_${action}`, action)),
      );
      detail.replaceChildren(
        h(
          "article",
          { class: "case", "aria-labelledby": "case-title" },
          h("h3", { id: "case-title" }, `${c.reference ?? c.id} · ${categoryName(cats, c.category_code)}`),
          h("button", { type: "button", class: "link", onclick: () => closeDetail() }, t("close_detail")),
          h("p", {}, h("span", { class: "badge", "data-stage": c.status, id: "case-stage" }, tOr(`st_${c.status}`, c.status)), " ", isOverdue(c) ? h("span", { class: "badge overdue" }, t("overdue")) : null),
          h("p", { class: "user-data" }, c.description || c.title || c.address),
          h("p", { class: "hint" }, `${t("department")}: ${departmentName(c.department)} · ${t("unit")}: ${unitName(c.street_code)}, ${unitName(c.district_code)} · ${t("deadline")}: ${when(c.deadline_at)}`),
          photos.length ? h("div", { class: "photos" }, ...photos.map((url, i) => h("img", { src: url, alt: `${t("photos")} ${i + 1}` }))) : null,
          h("h4", { i18n: "timeline" }),
          h(
            "ol",
            { class: "timeline" },
            ...events.map((e) => h("li", {}, h("strong", {}, tOr(`act_${e.action}`, e.action)), ` → ${tOr(`st_${e.to_status}`, e.to_status)} · ${e.actor} · ${when(e.at)}`, e.note ? h("div", { class: "hint" }, e.note) : null)),
          ),
          buttons.length ? h("div", { class: "row", role: "group", "aria-label": t("actions") }, labelled("note", note), ...buttons) : null,
        ),
      );
      // enforcement (Credit +): the case's entity, suggestions, proposal and decisions, for
      // those whose routes hold it; its forms and buttons come from the server's `actions`
      const credit = await caseCreditPanel(c.id).catch((err: unknown) => {
        failed(err);
        return null;
      });
      if (credit && selected === c.id) detail.querySelector("article.case")?.append(credit);
      map.easeTo({ center: [c.lon, c.lat], duration: 0 });
    } catch (err) {
      failed(err);
    }
  };

  const closeDetail = (): void => {
    selected = null;
    detail.replaceChildren();
    render();
  };

  const act = async (id: number, action: ActionName, note: string): Promise<void> => {
    try {
      const c = await actOnCase(id, action, note);
      page = page.map((x) => (x.id === c.id ? c : x));
      toast(`${t("act_done")}: ${tOr(`act_${action}`, action)}`);
      await openCase(id);
    } catch (err) {
      failed(err);
    }
  };

  map.on("click", "cases-dots", (e) => {
    const id = e.features?.[0]?.properties?.id as number | undefined;
    if (id !== undefined) void openCase(id);
  });
  map.on("mouseenter", "cases-dots", () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", "cases-dots", () => (map.getCanvas().style.cursor = ""));
  const turn = (by: number): void => {
    offset = Math.max(0, offset + by);
    refit = true;
    void reload().catch(failed);
  };
  for (const control of [fCategory, fStage, fUnit, fOverdue]) {
    control.addEventListener("change", () => {
      offset = 0;
      refit = true;
      void reload().catch(failed);
    });
  }

  // live updates over SSE; without the stream (server without it) poll every 10 s instead
  let poll = 0;
  const closeStream = stream(
    "/stream/cases",
    {
      case: (data) => {
        const c = data as CaseRead;
        reloadSoon();
        if (c.id === selected) void openCase(c.id);
      },
    },
    (up) => {
      live.textContent = up ? t("live") : "…";
      if (up) live.dataset.i18n = "live";
      else delete live.dataset.i18n;
      if (!up && !poll) {
        poll = window.setInterval(() => {
          reload().catch((err: unknown) => (missing(err) ? undefined : failed(err)));
        }, 10_000);
      }
    },
  );
  const unsubscribe = onLangChange(() => {
    fillUnits();
    for (const option of fCategory.options) if (option.value) option.textContent = categoryName(cats, option.value);
    for (const option of fStage.options) if (option.value) option.textContent = t(`st_${option.value}` as never);
    if (fCategory.options[0]) fCategory.options[0].textContent = t("all");
    if (fStage.options[0]) fStage.options[0].textContent = t("all");
    render();
    if (selected !== null) void openCase(selected);
  });
  page = firstPage.rows;
  total = firstPage.total;
  render();
  return () => {
    closeStream();
    window.clearInterval(poll);
    window.clearTimeout(pending);
    unsubscribe();
    map.remove();
  };
}
