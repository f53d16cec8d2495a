/**
 * The citizen page (phone-sized): place a pin (tap the map, drag the pin, use the current
 * position, or the map centre from the keyboard), choose a category, add a photo and a text,
 * send → a reference; follow a report's progress by its reference. No login needed.
 */
import type { Cleanup } from "../app";
import { failed } from "../app";
import { ApiError, get, reportCase, type CaseCreate } from "../api/client";
import type { Geo, PublicCase, UnitProps } from "../api/contract";
import { categories, type Category } from "../categories";
import { h, labelled, toast } from "../dom";
import { lang, onLangChange, t, tOr, when } from "../i18n";
import { addStreets, boundsOf, createMap, maplibregl, ready, setData } from "../map";
import { categoryPicker } from "./picker";
import { flushQueue, queueReport } from "../offline";

type Photo = { content_base64: string; content_type: string; filename: string };

/**
 * The photo as the server will keep it, made here already: drawn on a canvas and re-encoded as
 * JPEG, which leaves every metadata block (EXIF position, device) behind, and at most 2048 px.
 */
async function cleanPhoto(file: File): Promise<{ photo: Photo; url: string }> {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 2048 / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d")?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const url = canvas.toDataURL("image/jpeg", 0.88);
  const name = file.name.replace(/\.[^.]*$/, "") || "photo";
  return { photo: { content_base64: url.slice(url.indexOf(",") + 1), content_type: "image/jpeg", filename: `${name}.jpg` }, url };
}

/** The page's link to follow a report: bookmarkable and shareable. */
export function followLink(reference: string): string {
  return `${window.location.origin}/ui/#/citizen?ref=${encodeURIComponent(reference)}`;
}

/** A report's progress: the public endpoint, or the Open311 record when that is missing. */
async function lookup(reference: string): Promise<PublicCase> {
  try {
    return await get<PublicCase>(`/cases/public/${encodeURIComponent(reference)}`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const rows = await get<Array<{ service_request_id: string; service_code: string; status: string; requested_datetime: string; updated_datetime: string; extended_attributes?: { events?: Array<{ to_status?: string; at?: string }> } }>>(
      `/open311/requests/${encodeURIComponent(reference)}.json`,
      { extensions: "true" },
    );
    const row = rows[0];
    if (!row) throw err;
    const events = row.extended_attributes?.events ?? [];
    return {
      reference: row.service_request_id,
      category: row.service_code,
      stage: row.status,
      stage_zh: row.status,
      timeline: events.length
        ? events.map((e) => ({ stage: e.to_status ?? "", stage_zh: e.to_status ?? "", at: e.at ?? "" }))
        : [{ stage: row.status, stage_zh: row.status, at: row.updated_datetime }],
    };
  }
}

export async function mountCitizen(root: HTMLElement): Promise<Cleanup> {
  const cats: Category[] = (await categories().catch(() => [])).filter((c) => c.active);
  const mapBox = h("div", { class: "map", id: "citizen-map" });
  const where = h("p", { class: "hint", id: "pin-where", "aria-live": "polite" }, t("pin_needed"));
  // no category is chosen for the reporter: a forgotten choice must not file a wrong report
  const picker = categoryPicker(cats);
  const photo = h("input", { type: "file", name: "photo", accept: "image/jpeg,image/png,image/webp", capture: "environment" });
  const preview = h("div", { class: "photo-preview", id: "photo-preview", "aria-live": "polite" });
  let cleaned: Photo | null = null;
  photo.addEventListener("change", () => {
    const file = photo.files?.[0];
    cleaned = null;
    preview.replaceChildren();
    if (!file) return;
    cleanPhoto(file)
      .then(({ photo: p, url }) => {
        cleaned = p;
        preview.replaceChildren(
          h("img", { src: url, alt: t("photo_preview") }),
          h("p", { class: "hint", i18n: "photo_preview" }),
          h("button", { type: "button", i18n: "remove_photo", onclick: () => {
            photo.value = "";
            cleaned = null;
            preview.replaceChildren();
          } }),
        );
      })
      .catch(failed);
  });
  const text = h("textarea", { name: "description", rows: 3, maxlength: 4000 });
  const result = h("div", { id: "report-result", role: "status", "aria-live": "polite" });
  const refInput = h("input", { type: "text", name: "reference", autocomplete: "off" });
  const progress = h("div", { id: "follow-result", "aria-live": "polite" });
  let pin: [number, number] | null = null;

  const placeButton = h("button", { type: "button", i18n: "pin_here" });
  const geoButton = h("button", { type: "button", i18n: "use_position" });
  const submit = h("button", { type: "submit", class: "primary", i18n: "submit" });
  const form = h(
    "form",
    { class: "report", "aria-labelledby": "citizen-title" },
    h("h2", { id: "citizen-title", i18n: "citizen_title" }),
    h("p", { class: "hint", i18n: "citizen_hint" }),
    mapBox,
    where,
    h("div", { class: "row" }, placeButton, geoButton),
    picker.element,
    labelled("photo", photo),
    preview,
    labelled("description", text),
    // what the public will see of the report, said before it is sent
    h("p", { class: "hint", id: "public-notice", i18n: "public_notice" }),
    submit,
    result,
  );
  const follow = h(
    "form",
    { class: "follow", "aria-labelledby": "follow-title" },
    h("h2", { id: "follow-title", i18n: "follow" }),
    labelled("reference", refInput),
    h("button", { type: "submit", i18n: "lookup" }),
    progress,
  );
  root.append(h("div", { class: "citizen" }, form, follow));

  // a link may carry the place (#/citizen?lon=..&lat=.., e.g. a QR code on a lamp post)
  const query = new URLSearchParams(window.location.hash.split("?")[1] ?? "");
  const at = [Number(query.get("lon")), Number(query.get("lat"))] as [number, number];
  const linked = query.has("lon") && query.has("lat") && at.every(Number.isFinite);
  // the city's districts as a light outline; the map opens on them (or on the linked place)
  const districts = await get<Geo<UnitProps>>("/city/units", { level: "district" }).catch(
    (): Geo<UnitProps> => ({ type: "FeatureCollection", features: [] }),
  );
  const map = createMap(mapBox, "pin_at", linked ? [at[0] - 0.002, at[1] - 0.002, at[0] + 0.002, at[1] + 0.002] : boundsOf(districts));
  await ready(map);
  await addStreets(map);
  const marker = new maplibregl.Marker({ draggable: true, element: h("div", { class: "pin", "aria-hidden": "true" }) });
  const place = (lon: number, lat: number): void => {
    pin = [lon, lat];
    marker.setLngLat(pin).addTo(map);
    where.textContent = `${t("pin_at")}: ${lon.toFixed(5)}, ${lat.toFixed(5)}`;
    mapBox.dataset.pin = `${lon},${lat}`;
  };
  marker.on("dragend", () => {
    const p = marker.getLngLat();
    place(p.lng, p.lat);
  });
  map.on("click", (e) => place(e.lngLat.lng, e.lngLat.lat));
  placeButton.addEventListener("click", () => {
    const c = map.getCenter();
    place(c.lng, c.lat);
  });
  geoButton.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition(
      (p) => {
        place(p.coords.longitude, p.coords.latitude);
        map.jumpTo({ center: [p.coords.longitude, p.coords.latitude], zoom: 16 });
      },
      () => toast(t("position_failed"), "error"),
      { enableHighAccuracy: true, timeout: 10_000 },
    );
  });
  setData(map, "districts", districts);
  map.addLayer({ id: "districts-line", type: "line", source: "districts", paint: { "line-color": "#557", "line-width": 1 } });
  if (linked) place(at[0], at[1]);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!pin) {
      toast(t("pin_needed"), "error");
      return;
    }
    if (!picker.value()) {
      toast(t("no_category"), "error");
      picker.focus();
      return;
    }
    submit.disabled = true;
    const body: CaseCreate = { category_code: picker.value(), address: "", title: "", lon: pin[0], lat: pin[1], description: text.value, photos: cleaned ? [cleaned] : [] };
    const clear = (): void => {
      text.value = "";
      photo.value = "";
      cleaned = null;
      preview.replaceChildren();
      picker.clear();
    };
    reportCase(body)
      .then((answer) => {
        showSent(answer.case.reference ?? String(answer.case.id));
        clear();
      })
      .catch((err: unknown) => {
        // no connection: the report waits on this phone and goes when the network is back
        if (err instanceof TypeError || !navigator.onLine) {
          queueReport(body);
          result.replaceChildren(h("p", { class: "notice", id: "queued", i18n: "queued_offline" }));
          clear();
        } else failed(err);
      })
      .finally(() => (submit.disabled = false));
  });

  const showSent = (ref: string): void => {
    const link = followLink(ref);
    result.replaceChildren(
      h("p", {}, t("report_sent")),
      h("p", {}, `${t("your_reference")}: `, h("strong", { id: "reference" }, ref)),
      h("p", {}, h("a", { href: link, id: "follow-link" }, t("follow_link"))),
    );
    refInput.value = ref;
  };
  const show = (ref: string): void => {
    lookup(ref)
      .then((c) => {
        progress.replaceChildren(
          h("p", {}, `${t("stage")}: `, h("strong", { id: "public-stage", "data-stage": c.stage }, lang() === "zh" ? c.stage_zh || tOr(`st_${c.stage}`, c.stage) : tOr(`st_${c.stage}`, c.stage))),
          h("ol", { class: "timeline" }, ...c.timeline.map((e) => h("li", {}, `${lang() === "zh" ? e.stage_zh : tOr(`st_${e.stage}`, e.stage)} · ${when(e.at)}`))),
        );
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) progress.replaceChildren(h("p", { class: "error" }, t("not_found")));
        else failed(err);
      });
  };
  follow.addEventListener("submit", (event) => {
    event.preventDefault();
    const ref = refInput.value.trim();
    if (!ref) return;
    // the address bar then holds the link to this report's progress (bookmark, share)
    history.replaceState(null, "", `#/citizen?ref=${encodeURIComponent(ref)}`);
    show(ref);
  });
  const linkedRef = query.get("ref");
  if (linkedRef) {
    refInput.value = linkedRef;
    show(linkedRef);
    follow.scrollIntoView();
  }
  // reports kept offline go now if the network is back, and whenever it comes back
  const sendQueued = (): void => {
    void flushQueue(reportCase, failed).then((sent) => {
      for (const ref of sent) {
        showSent(ref);
        toast(t("queued_sent"));
      }
    });
  };
  window.addEventListener("online", sendQueued);
  sendQueued();
  const unsubscribe = onLangChange(() => picker.relabel());
  return () => {
    unsubscribe();
    window.removeEventListener("online", sendQueued);
    map.remove();
  };
}
