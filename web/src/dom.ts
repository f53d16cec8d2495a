/** Small DOM helpers: build elements, labelled controls, tables and notices. */
import { t, tOr, type DataKey, type TextKey } from "./i18n";

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Create an element with attributes (`on*` keys add listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Node | string | null | undefined | false>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "i18n") {
      el.dataset.i18n = String(value);
      el.textContent = tOr(String(value), String(value));
    } else if (key === "i18nAria") {
      el.dataset.i18nAria = String(value);
      el.setAttribute("aria-label", t(value as TextKey));
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

let uid = 0;

/** A `<label>` + control pair; the label's text is translated (`key`). */
export function labelled<E extends HTMLElement>(key: TextKey, control: E): HTMLLabelElement {
  if (!control.id) control.id = `c${++uid}`;
  const label = h("label", { for: control.id, class: "field" });
  label.append(h("span", { i18n: key }), control);
  return label;
}

/** A `<select>` with options [value, text]. */
export function select(options: Array<[string, string]>, value = ""): HTMLSelectElement {
  const el = h("select");
  for (const [v, text] of options) el.append(h("option", { value: v }, text));
  el.value = value;
  return el;
}

/** Show a short message in the live region (screen readers announce it). */
export function toast(message: string, kind: "info" | "error" = "info"): void {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.className = kind;
  window.setTimeout(() => {
    if (box.textContent === message) box.textContent = "";
  }, 5000);
}

/** A table with translated headers and rows; `onRow` makes rows keyboard-activatable. */
export function table<R>(
  caption: TextKey,
  columns: Array<[TextKey | DataKey, (row: R) => string | Node]>,
  rows: R[],
  onRow?: (row: R) => void,
): HTMLTableElement {
  const el = h("table", { class: "grid" });
  el.append(h("caption", { i18n: caption }));
  const head = h("tr");
  for (const [key] of columns) head.append(h("th", { scope: "col", i18n: key }));
  el.append(h("thead", {}, head));
  const body = h("tbody");
  for (const row of rows) {
    const tr = h("tr");
    for (const [, cell] of columns) tr.append(h("td", {}, cell(row)));
    if (onRow) {
      tr.tabIndex = 0;
      tr.classList.add("clickable");
      tr.addEventListener("click", () => onRow(row));
      tr.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          onRow(row);
        }
      });
    }
    body.append(tr);
  }
  el.append(body);
  return el;
}

/** A notice that the server lacks an endpoint (the view still shows what it can). */
export function unavailable(what: string): HTMLElement {
  return h("p", { class: "notice", role: "note" }, `${t("not_available")}: ${what}`);
}
