/**
 * The single-page app: a hash router over six views, the language switch and the login.
 * Each view is a `mount(root)` that returns its clean-up (closes streams, removes the map).
 * A view whose request is refused with 401 is replaced by the login form, then re-mounted.
 */
import "./style.css";
import { ApiError, currentUser, login, logout } from "./api/client";
import { h, labelled } from "./dom";
import { onLoginNeeded, type Cleanup, type View } from "./app";
import { lang, setLang, t, translate, type TextKey } from "./i18n";
import { mountOps } from "./views/ops";
import { mountCircles } from "./views/circles";
import { mountCases } from "./views/cases";
import { mountLifelines } from "./views/lifelines";
import { mountTargets } from "./views/targets";
import { mountCitizen } from "./views/citizen";


const VIEWS: Array<[string, TextKey, View]> = [
  ["ops", "view_ops", mountOps],
  ["circles", "view_circles", mountCircles],
  ["cases", "view_cases", mountCases],
  ["lifelines", "view_lifelines", mountLifelines],
  ["targets", "view_targets", mountTargets],
  ["citizen", "view_citizen", mountCitizen],
];

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
let cleanup: Cleanup | null = null;
let generation = 0;

function routeName(): string {
  const name = window.location.hash.replace(/^#\/?/, "").split(/[/?]/)[0] ?? "";
  return VIEWS.some(([n]) => n === name) ? name : "ops";
}

function renderNav(): void {
  nav.replaceChildren(
    ...VIEWS.map(([name, key]) => {
      const link = h("a", { href: `#/${name}`, i18n: key, "data-view": name });
      if (name === routeName()) link.setAttribute("aria-current", "page");
      return link;
    }),
  );
}

function renderWho(): void {
  const who = document.getElementById("who") as HTMLElement;
  const user = currentUser();
  who.textContent = user ?? "";
  (document.getElementById("logout") as HTMLButtonElement).hidden = !user;
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
        error.textContent = `${t("login_failed")}: ${err instanceof Error ? err.message : String(err)}`;
      });
  });
  window.setTimeout(() => user.focus(), 0);
  return form;
}

async function render(): Promise<void> {
  const mine = ++generation;
  cleanup?.();
  cleanup = null;
  renderNav();
  renderWho();
  const name = routeName();
  const view = (VIEWS.find(([n]) => n === name) ?? VIEWS[0]!)[2];
  document.body.dataset.view = name;
  main.replaceChildren();
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
      main.append(h("p", { class: "error", role: "alert" }, `${t("error")}: ${err instanceof Error ? err.message : String(err)}`));
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
document.getElementById("logout")?.addEventListener("click", () => {
  logout();
  void render();
});
window.addEventListener("hashchange", () => void render());
translate(document.body);
void render();
