/** The case categories (taxonomy) from the Open311 service list, fetched once. */
import { get } from "./api/client";
import { lang } from "./i18n";

export interface Category {
  code: string;
  zh: string;
  en: string;
  group: string;
}

let cache: Promise<Category[]> | null = null;

/** Every category the center takes reports for, sorted by code. */
export function categories(): Promise<Category[]> {
  cache ??= get<Array<{ service_code: string; service_name: string; group: string }>>("/open311/services.json").then(
    (rows) =>
      rows.map((r) => {
        const space = r.service_name.indexOf(" ");
        return {
          code: r.service_code,
          zh: space > 0 ? r.service_name.slice(0, space) : r.service_name,
          en: space > 0 ? r.service_name.slice(space + 1) : r.service_name,
          group: r.group,
        };
      }),
  );
  cache.catch(() => (cache = null));
  return cache;
}

/** A category's name in the current language (the code when unknown). */
export function categoryName(list: Category[], code: string): string {
  const c = list.find((x) => x.code === code);
  return c ? (lang() === "en" ? c.en : c.zh) : code;
}
