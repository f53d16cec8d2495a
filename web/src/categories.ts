/** The case categories (taxonomy), retired ones too, fetched once. */
import { get } from "./api/client";
import type { CaseCategory } from "./api/contract";
import { lang } from "./i18n";

export interface Category {
  code: string;
  zh: string;
  en: string;
  /** False once retired: no new reports, but old cases still show its name. */
  active: boolean;
}

let cache: Promise<Category[]> | null = null;

/** Every category, sorted by code; new reports take the ``active`` ones only. */
export function categories(): Promise<Category[]> {
  cache ??= get<CaseCategory[]>("/categories").then((rows) =>
    rows.map((r) => ({ code: r.code, zh: r.name_zh, en: r.name_en, active: r.active })),
  );
  cache.catch(() => (cache = null));
  return cache;
}

/** A category's name in the current language (the code when unknown). */
export function categoryName(list: Category[], code: string): string {
  const c = list.find((x) => x.code === code);
  return c ? (lang() === "en" ? c.en : c.zh) : code;
}
