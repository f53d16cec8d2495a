/**
 * The single-page app: a hash router over six views, the language switch and the login.
 * Each view is a `mount(root)` that returns its clean-up (closes streams, removes the map).
 * A view whose request is refused with 401 is replaced by the login form, then re-mounted.
 */
import "./style.css";
import { ApiError, currentUser, login, me, signOut, type Me } from "./api/client";
import { h, labelled } from "./dom";
import { errorText, onLoginNeeded, type Cleanup, type View } from "./app";
import { lang, setLang, t, tOr, translate, type TextKey } from "./i18n";
import { mountOps } from "./views/ops";
import { mountCircles } from "./views/circles";
import { mountCases } from "./views/cases";
import { mountLifelines } from "./views/lifelines";
import { mountTargets } from "./views/targets";
import { mountCitizen } from "./views/citizen";
import { mountMobility } from "./views/mobility";
import { mountCredit } from "./views/credit";
import { mountIdeas } from "./views/ideas";


/** The views: name, title, mount, and the route the user must be admitted to (null: public). */
const VIEWS: Array<[string, TextKey, View, string | null]> = [
  ["ops", "view_ops", mountOps, "GET /city/indicators"],
  ["circles", "view_circles", mountCircles, null],
  ["cases", "view_cases", mountCases, "GET /cases"],
  ["lifelines", "view_lifelines", mountLifelines, "GET /lifelines/sensors"],
  ["targets", "view_targets", mountTargets, null],
  ["mobility", "view_mobility", mountMobility, null],
  ["credit", "view_credit", mountCredit, null],
  ["ideas", "view_ideas", mountIdeas, null],
  ["citizen", "view_citizen", mountCitizen, null],
];
let user: Me | null = null;

/** Whether the signed-in user (or a visitor) may open a view: its route, from GET /auth/me. */
function opens(route: string | null): boolean {
  return route === null || (user?.routes.includes(route) ?? false);
}

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
let cleanup: Cleanup | null = null;
let generation = 0;

function routeName(): string {
  const name = window.location.hash.replace(/^#\/?/, "").split(/[/?]/)[0] ?? "";
  if (VIEWS.some(([n]) => n === name)) return name;
  return (VIEWS.find(([, , , route]) => opens(route)) ?? VIEWS[1]!)[0];
}

function renderNav(): void {
  nav.replaceChildren(
    ...VIEWS.filter(([, , , route]) => opens(route)).map(([name, key]) => {
      const link = h("a", { href: `#/${name}`, i18n: key, "data-view": name });
      if (name === routeName()) link.setAttribute("aria-current", "page");
      return link;
    }),
  );
}

function renderWho(): void {
  const who = document.getElementById("who") as HTMLElement;
  const signedIn = currentUser();
  // the user name is the user's own text (not translated); role and unit are
  who.replaceChildren(
    h("span", { class: "user-data" }, user?.username ?? signedIn ?? ""),
    user ? ` · ${tOr(`role_${user.role}`, user.role)} · ${lang() === "en" ? user.unit_name_en : user.unit_name}` : "",
  );
  (document.getElementById("logout") as HTMLButtonElement).hidden = !signedIn;
  (document.getElementById("login") as HTMLButtonElement).hidden = !!signedIn;
  const button = document.getElementById("lang") as HTMLButtonElement;
  button.textContent = t("lang_button");
  button.setAttribute("aria-label", t("lang_label"));
}

/** The login form; `done` runs after a successful login. */
function loginForm(done: () => void): HTMLElement {
  const user = h("input", { name: "username", autocomplete: "username", required: true });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "login", "aria-labelledby": "login-title" },
    h("h2", { id: "login-title", i18n: "login_title" }),
    h("p", { i18n: "login_needed" }),
    labelled("username", user),
    labelled("password", pass),
    h("button", { type: "submit", i18n: "login" }),
    error,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    login(user.value.trim(), pass.value)
      .then(() => {
        renderWho();
        done();
      })
      .catch((err: unknown) => {
        const wrong = err instanceof ApiError && err.status === 401;
        error.textContent = wrong ? t("login_failed") : `${t("login_failed")}: ${errorText(err)}`;
      });
  });
  window.setTimeout(() => user.focus(), 0);
  return form;
}

async function render(): Promise<void> {
  const mine = ++generation;
  cleanup?.();
  cleanup = null;
  user = await me().catch(() => null);
  if (mine !== generation) return;
  renderNav();
  renderWho();
  const name = routeName();
  const [, , mount, route] = VIEWS.find(([n]) => n === name) ?? VIEWS[0]!;
  document.body.dataset.view = name;
  main.replaceChildren();
  if (!opens(route)) {
    // a visitor logs in; a signed-in user whose role does not open the view is told so
    if (!currentUser()) main.replaceChildren(loginForm(() => void render()));
    else main.replaceChildren(h("p", { class: "notice", role: "alert", i18n: "err_permission_denied" }));
    translate(document.body);
    return;
  }
  const view = mount;
  main.setAttribute("aria-busy", "true");
  try {
    const done = await view(main);
    if (mine !== generation) done();
    else cleanup = done;
  } catch (err) {
    if (mine !== generation) return;
    if (err instanceof ApiError && err.status === 401) {
      main.replaceChildren(loginForm(() => void render()));
    } else {
      main.append(h("p", { class: "error", role: "alert" }, `${t("error")}: ${errorText(err)}`));
    }
  } finally {
    main.removeAttribute("aria-busy");
    translate(document.body);
  }
}

onLoginNeeded(() => {
  cleanup?.();
  cleanup = null;
  main.replaceChildren(loginForm(() => void render()));
  translate(main);
});

document.getElementById("lang")?.addEventListener("click", () => {
  setLang(lang() === "zh" ? "en" : "zh");
  renderWho();
});
document.getElementById("login")?.addEventListener("click", () => {
  main.replaceChildren(loginForm(() => void render()));
  translate(main);
});
document.getElementById("logout")?.addEventListener("click", () => {
  signOut();
  void render();
});
window.addEventListener("hashchange", () => void render());
// installable, and the shell opens on a bad connection (public/sw.js); not in `npm run dev`.
// Registered once the first screen is drawn (the page has loaded and the browser is idle): its
// install fetches and caches the shell again, which would otherwise compete with the first
// map for the CPU (seen: a third of a second of a cold load on two cores)
if ("serviceWorker" in navigator && import.meta.env.PROD) {
  const register = (): void => {
    void navigator.serviceWorker.register("/ui/sw.js", { scope: "/ui/" }).catch(() => undefined);
  };
  const whenIdle = (): void => {
    if (typeof window.requestIdleCallback === "function") window.requestIdleCallback(register, { timeout: 5000 });
    else setTimeout(register, 2000);
  };
  if (document.readyState === "complete") whenIdle();
  else window.addEventListener("load", whenIdle, { once: true });
}
translate(document.body);
void render();
