/**
 * The citizen's category picker: a search box over the categories and a radio group with an
 * icon per kind of problem, none chosen at first. Radios keep it a form control for screen
 * readers and the keyboard (arrow keys move, the search narrows the list).
 */
import type { Category } from "../categories";
import { h } from "../dom";
import { lang, t } from "../i18n";

/** An icon for a category, from words of its English name (a hint for the eye only). */
export function iconFor(c: Category): string {
  const name = c.en.toLowerCase();
  const icons: Array<[RegExp, string]> = [
    [/crossing|pedestrian|jaywalk/, "🚸"],
    [/traffic|congestion|jam/, "🚦"],
    [/manhole|cover|drain|sewer/, "🕳️"],
    [/light|lamp/, "💡"],
    [/tree|green|grass|plant/, "🌳"],
    [/garbage|waste|litter|rubbish|trash|dump/, "🗑️"],
    [/water|pipe|leak|flood/, "💧"],
    [/gas/, "🔥"],
    [/park|vehicle|car|bike|bicycle/, "🚗"],
    [/road|pavement|street|sidewalk|pothole/, "🛣️"],
    [/noise/, "🔊"],
    [/sign|advert|poster/, "🪧"],
    [/build|construct|wall/, "🏗️"],
    [/stall|vendor|market|shop/, "🏪"],
  ];
  return icons.find(([re]) => re.test(name))?.[1] ?? "📍";
}

export interface Picker {
  element: HTMLElement;
  value(): string;
  clear(): void;
  focus(): void;
  relabel(): void;
}

/** A picker over `cats` (the active categories). */
export function categoryPicker(cats: Category[]): Picker {
  const search = h("input", { type: "search", name: "category-search", id: "category-search", autocomplete: "off", "aria-controls": "category-options" });
  const searchLabel = h("label", { for: "category-search", class: "field" }, h("span", { i18n: "search_category" }), search);
  const options = h("div", { class: "category-options", id: "category-options", role: "radiogroup", "aria-labelledby": "category-legend" });
  const legend = h("legend", { id: "category-legend", i18n: "choose_category" });
  const box = h("fieldset", { class: "category-picker" }, legend, searchLabel, options);
  const name = (c: Category): string => (lang() === "en" ? c.en : c.zh);
  const render = (): void => {
    const keep = value();
    const needle = search.value.trim().toLowerCase();
    const shown = cats.filter((c) => !needle || c.zh.includes(needle) || c.en.toLowerCase().includes(needle) || c.code.toLowerCase() === needle);
    options.replaceChildren(
      ...shown.map((c) =>
        h(
          "label",
          { class: "category-option" },
          h("input", { type: "radio", name: "category", value: c.code, checked: c.code === keep }),
          h("span", { class: "icon", "aria-hidden": "true" }, iconFor(c)),
          h("span", {}, name(c)),
        ),
      ),
    );
    if (!shown.length) options.append(h("p", { class: "hint" }, t("not_found")));
  };
  let chosen = "";
  const value = (): string => options.querySelector<HTMLInputElement>("input[name=category]:checked")?.value ?? chosen;
  options.addEventListener("change", () => (chosen = value()));
  search.addEventListener("input", render);
  render();
  return {
    element: box,
    value,
    clear: () => {
      chosen = "";
      search.value = "";
      render();
      for (const input of options.querySelectorAll<HTMLInputElement>("input")) input.checked = false;
    },
    focus: () => search.focus(),
    relabel: render,
  };
}
