/**
 * The HTTP client of the dashboard: one `request()` that adds the bearer token, decodes JSON
 * and turns error bodies into `ApiError`s with the server's message. Typed wrappers for the
 * documented endpoints use the types generated from the OpenAPI dump (`schema.d.ts`, made by
 * scripts/generate-client.sh); the dashboard routers' shapes come from `contract.ts`.
 */
import type { components } from "./schema";

export type CaseRead = components["schemas"]["CaseRead"];
export type EventRead = components["schemas"]["EventRead"];
export type AttachmentRead = components["schemas"]["AttachmentRead"];
export type IntakeRead = components["schemas"]["IntakeRead"];
export type CaseCreate = components["schemas"]["CaseCreate"];
export type ActionName = components["schemas"]["ActionIn"]["action"];
export type CaseStatus = components["schemas"]["CaseStatus"];
export type WorkflowRead = components["schemas"]["WorkflowRead"];
export type TokenRead = components["schemas"]["TokenRead"];

/**
 * A refused or failed request: HTTP status, the server's message (English, for logs) and its
 * stable code (`outside_city`, `permission_denied`, a validation type…), which the dashboard
 * translates; `field` names the request field the server blamed.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = "",
    readonly field = "",
  ) {
    super(message);
  }
}

const TOKEN_KEY = "shancheng.token";
const ME_KEY = "shancheng.me";
const USER_KEY = "shancheng.user";

/** The signed-in user's name, or null. */
export function currentUser(): string | null {
  return sessionStorage.getItem(USER_KEY);
}

/** The bearer token, or null. */
export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Forget the token (log out). */
export function logout(): void {
  meCache = null;
  sessionStorage.removeItem(ME_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/**
 * Log out: forget the token here at once, and revoke it on the server (`DELETE /auth/token`)
 * in the background, so a next login cannot race with the revocation. `keepalive` lets the
 * request outlive the page; offline, the token only expires.
 */
export function signOut(): void {
  const bearer = token();
  logout();
  if (!bearer) return;
  void fetch(new URL("/auth/token", window.location.origin), {
    method: "DELETE",
    headers: { Authorization: `Bearer ${bearer}` },
    keepalive: true,
  }).catch(() => undefined);
}

function codeOf(body: unknown): [string, string] {
  const detail = body && typeof body === "object" && "detail" in body ? (body as { detail: unknown }).detail : null;
  const first = Array.isArray(detail) ? (detail[0] as { code?: unknown; type?: unknown; loc?: unknown } | undefined) : undefined;
  if (!first) return ["", ""];
  const loc = Array.isArray(first.loc) ? first.loc.filter((p) => p !== "body" && p !== "query") : [];
  return [String(first.code ?? first.type ?? ""), loc.map(String).join(".")];
}

function messageOf(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => (d && typeof d === "object" && "msg" in d ? String((d as { msg: unknown }).msg) : String(d)))
        .join("; ");
    }
  }
  return fallback;
}

/** Query parameters; an array repeats its key (`?status=a&status=b`). */
export type Query = Record<string, string | number | boolean | string[] | undefined | null>;
type RequestOptions = { json?: unknown; form?: URLSearchParams; query?: Query };

/** Send a request to the API (same origin) and decode its JSON answer. */
export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  return (await exchange<T>(method, path, options))[0];
}

/** Send a request; return its decoded answer and the response headers. */
async function exchange<T>(method: string, path: string, options: RequestOptions): Promise<[T, Headers]> {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") url.searchParams.append(key, String(one));
    }
  }
  const headers: Record<string, string> = { Accept: "application/json" };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  }
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let decoded: unknown = null;
  try {
    decoded = text ? JSON.parse(text) : null;
  } catch {
    decoded = text;
  }
  if (!response.ok) {
    if (response.status === 401 && bearer) logout();
    const [code, field] = codeOf(decoded);
    throw new ApiError(response.status, messageOf(decoded, `${response.status} ${response.statusText}`), code || `http_${response.status}`, field);
  }
  return [decoded as T, response.headers];
}

/** One page of a list and the number of rows in all pages (the X-Total-Count header). */
export async function getPage<T>(path: string, query: Query): Promise<{ rows: T[]; total: number }> {
  const { body, total } = await getWithTotal<T[]>(path, query);
  return { rows: body, total: total ?? body.length };
}

/** A page of any shape (a GeoJSON page too) and the X-Total-Count header, null without one. */
export async function getWithTotal<T>(path: string, query: Query): Promise<{ body: T; total: number | null }> {
  const [body, headers] = await exchange<T>("GET", path, { query });
  const total = Number(headers.get("X-Total-Count") ?? NaN);
  return { body, total: Number.isFinite(total) ? total : null };
}

export type Me = components["schemas"]["MeRead"];
let meCache: Promise<Me | null> | null = null;

/** The signed-in user with their role, unit and routes (GET /auth/me); null when signed out. */
export function me(): Promise<Me | null> {
  const bearer = token();
  if (!bearer) return Promise.resolve(null);
  // kept for the tab with its token (a reload needs no round trip before the first view)
  const kept = sessionStorage.getItem(ME_KEY);
  if (!meCache && kept) {
    const [forToken, json] = JSON.parse(kept) as [string, Me];
    if (forToken === bearer) meCache = Promise.resolve(json);
  }
  meCache ??= get<Me>("/auth/me").then(
    (found) => {
      sessionStorage.setItem(ME_KEY, JSON.stringify([bearer, found]));
      return found;
    },
    (err: unknown) => {
      meCache = null;
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    },
  );
  return meCache;
}

/** Whether the signed-in user may call a route (its policy key, e.g. "GET /lifelines/sensors"). */
export async function may(route: string): Promise<boolean> {
  const user = await me();
  return user ? user.routes.includes(route) : false;
}

export const get = <T>(path: string, query?: Query) =>
  request<T>("GET", path, { query });
export const post = <T>(path: string, json: unknown) => request<T>("POST", path, { json });

/** Log in (POST /auth/token, OAuth2 password form) and keep the token for this tab. */
export async function login(username: string, password: string): Promise<void> {
  const form = new URLSearchParams({ username, password, grant_type: "password" });
  const answer = await request<TokenRead>("POST", "/auth/token", { form });
  meCache = null;
  sessionStorage.setItem(TOKEN_KEY, answer.access_token);
  sessionStorage.setItem(USER_KEY, username);
}

/** A filter of the case list (server-side). */
export interface CaseQuery {
  status?: CaseStatus | "";
  category?: string;
  unit?: string;
  overdue?: boolean;
  limit?: number;
  offset?: number;
}

/** One page of the cases in the user's scope, newest first, and the total (GET /cases). */
export function listCases(query: CaseQuery): Promise<{ rows: CaseRead[]; total: number }> {
  return getPage<CaseRead>("/cases", {
    status: query.status || undefined,
    category: query.category || undefined,
    unit: query.unit || undefined,
    overdue: query.overdue || undefined,
    limit: query.limit ?? 50,
    offset: query.offset ?? 0,
  });
}

export const getCase = (id: number) => get<CaseRead>(`/cases/${id}`);
export const caseEvents = (id: number) => get<EventRead[]>(`/cases/${id}/events`);
export const caseAttachments = (id: number) => get<AttachmentRead[]>(`/cases/${id}/attachments`);
export const actOnCase = (id: number, action: ActionName, note: string) =>
  post<CaseRead>(`/cases/${id}/actions`, { action, note });
export const reportCase = (body: CaseCreate) => post<IntakeRead>("/cases", body);

/**
 * Open a server-sent event stream; the token rides in `?access_token=` since EventSource sends
 * no headers. Returns a function that closes it.
 */
export function stream(
  path: string,
  handlers: Record<string, (data: unknown) => void>,
  onState: (up: boolean) => void = () => undefined,
): () => void {
  const url = new URL(path, window.location.origin);
  const bearer = token();
  if (bearer) url.searchParams.set("access_token", bearer);
  const source = new EventSource(url);
  source.addEventListener("open", () => onState(true));
  // the browser reconnects by itself after a drop; CLOSED means it gave up (e.g. a 404)
  source.addEventListener("error", () => onState(source.readyState === EventSource.OPEN));
  for (const [name, handle] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      try {
        handle(JSON.parse((event as MessageEvent<string>).data));
      } catch {
        /* a malformed event is skipped */
      }
    });
  }
  return () => source.close();
}
