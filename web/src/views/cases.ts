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
import { h, labelled, select, toast } from "../dom";
import { onLangChange, t, tOr, when } from "../i18n";
import { addStreets, createMap, fitTo, ready, setData } from "../map";

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
  const cats: Category[] = await categories().catch(() => []);
  // the workflow's stages in order, as the server defines them (GET /cases/workflow)
  const stages: CaseStatus[] = await get<WorkflowRead>("/cases/workflow")
    .then((w) => w.statuses.map((s) => s.value))
    .catch((): CaseStatus[] => []);
  const cases = new Map<number, CaseRead>();
  for (const c of await listCases({ limit: 500 })) cases.set(c.id, c);

  const fCategory = select([["", t("all")], ...cats.map((c): [string, string] => [c.code, `${c.code} ${categoryName(cats, c.code)}`])]);
  fCategory.name = "category";
  const fStage = select([["", t("all")], ...stages.map((s): [string, string] => [s, t(`st_${s}` as never)])]);
  fStage.name = "stage";
  const fUnit = select([["", t("all")]]);
  fUnit.name = "unit";
  const fOverdue = h("input", { type: "checkbox", name: "overdue" });
  const live = h("span", { class: "badge", "aria-live": "polite" }, "…");
  const list = h("div", { class: "table-box", id: "case-list" });
  const detail = h("section", { id: "case-detail", "aria-live": "polite", "aria-label": t("timeline") });
  const count = h("span", { class: "hint" });
  const mapBox = h("div", { class: "map", id: "cases-map" });
  const overdueLabel = h("label", { class: "field inline" }, fOverdue, h("span", { i18n: "overdue_only" }));
  const panel = h(
    "section",
    { class: "panel", "aria-labelledby": "cases-title" },
    h("h2", { id: "cases-title" }, h("span", { i18n: "view_cases" }), " ", live),
    h("fieldset", { class: "row" }, h("legend", { i18n: "filters" }), labelled("category", fCategory), labelled("stage", fStage), labelled("unit", fUnit), overdueLabel),
    count,
    detail,
    list,
  );
  root.append(h("div", { class: "split" }, mapBox, panel));
  const map = createMap(mapBox, t("case_list"));
  await ready(map);
  await addStreets(map);
  // the streets' (街道) outlines for orientation, when the server offers them
  await get<GeoJSON.FeatureCollection>("/city/units", { level: "street" })
    .then((units) => {
      setData(map, "units", units);
      map.addLayer({ id: "units-line", type: "line", source: "units", paint: { "line-color": "#556", "line-width": 1.2 } });
    })
    .catch(() => undefined);
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
  let fitted = false;

  const units = (): void => {
    const codes = new Set<string>();
    for (const c of cases.values()) {
      codes.add(c.district_code);
      codes.add(c.street_code);
    }
    const keep = fUnit.value;
    fUnit.replaceChildren(h("option", { value: "" }, t("all")), ...[...codes].sort().map((code) => h("option", { value: code }, code)));
    fUnit.value = keep;
  };

  const visible = (): CaseRead[] => {
    const now = Date.now();
    return [...cases.values()]
      .filter(
        (c) =>
          (!fCategory.value || c.category_code === fCategory.value) &&
          (!fStage.value || c.status === fStage.value) &&
          (!fUnit.value || [c.district_code, c.street_code, c.community_code, c.unit_code].includes(fUnit.value)) &&
          (!fOverdue.checked || isOverdue(c, now)),
      )
      .sort((a, b) => Date.parse(b.reported_at) - Date.parse(a.reported_at));
  };

  const render = (): void => {
    const rows = visible();
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
    if (!fitted && rows.length) {
      fitTo(map, data);
      fitted = true;
    }
    count.textContent = `${rows.length} / ${cases.size}`;
    const table = h("table", { class: "grid" });
    table.append(h("caption", { i18n: "case_list" }));
    table.append(
      h("thead", {}, h("tr", {}, ...(["reference", "category", "stage", "reported_at", "deadline"] as const).map((k) => h("th", { scope: "col", i18n: k })))),
    );
    const body = h("tbody");
    for (const c of rows.slice(0, 200)) {
      const tr = h(
        "tr",
        { class: `clickable${c.id === selected ? " selected" : ""}`, tabindex: 0, "data-case-id": c.id, "data-reference": c.reference ?? "" },
        h("td", {}, c.reference ?? String(c.id)),
        h("td", {}, categoryName(cats, c.category_code)),
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
      cases.set(c.id, c);
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
          h("p", {}, c.description || c.title || c.address),
          h("p", { class: "hint" }, `${t("department")}: ${c.department} · ${t("unit")}: ${c.unit_code} · ${t("deadline")}: ${when(c.deadline_at)}`),
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
      cases.set(c.id, c);
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
  for (const control of [fCategory, fStage, fUnit, fOverdue]) control.addEventListener("change", render);

  // live updates over SSE; without the stream (server without it) poll every 10 s instead
  let poll = 0;
  const closeStream = stream(
    "/stream/cases",
    {
      case: (data) => {
        const c = data as CaseRead;
        cases.set(c.id, c);
        units();
        render();
        if (c.id === selected) void openCase(c.id);
      },
    },
    (up) => {
      live.textContent = up ? t("live") : "…";
      if (up) live.dataset.i18n = "live";
      else delete live.dataset.i18n;
      if (!up && !poll) {
        poll = window.setInterval(() => {
          listCases({ limit: 500 })
            .then((rows) => {
              for (const c of rows) cases.set(c.id, c);
              units();
              render();
            })
            .catch((err: unknown) => (missing(err) ? undefined : failed(err)));
        }, 10_000);
      }
    },
  );
  const unsubscribe = onLangChange(() => {
    render();
    if (selected !== null) void openCase(selected);
  });
  units();
  render();
  return () => {
    closeStream();
    window.clearInterval(poll);
    unsubscribe();
    map.remove();
  };
}
