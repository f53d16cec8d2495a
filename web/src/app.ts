/** What views need from the shell without importing it: report errors, ask for a login. */
import { ApiError } from "./api/client";
import { toast } from "./dom";
import { t, tOr } from "./i18n";

export type Cleanup = () => void;
export type View = (root: HTMLElement) => Promise<Cleanup>;

let loginHook: () => void = () => undefined;

/** The shell registers how to show the login form. */
export function onLoginNeeded(hook: () => void): void {
  loginHook = hook;
}

/** Show the login form in place of the current view (re-mounted after login). */
export function requireLogin(): void {
  loginHook();
}

/**
 * An error in the chosen language: the server's error code translated (the English message is
 * for logs), with the field it names; a failed connection says so.
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const text = tOr(`err_${err.code}`, t("err_other"));
    return err.field && !isKnown(err.code) ? `${text} (${t("field_label")}: ${err.field})` : text;
  }
  if (err instanceof TypeError) return t("err_network");
  return t("err_other");
}

function isKnown(code: string): boolean {
  return tOr(`err_${code}`, "") !== "" && !["case_input", "query", "missing"].includes(code);
}

/** Report an error of a background request (a 401 asks for login). */
export function failed(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) requireLogin();
  else toast(`${t("error")}: ${errorText(err)}`, "error");
}

/** Whether an error means "this endpoint is not there (yet)". */
export function missing(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 404 || err.status === 405);
}
