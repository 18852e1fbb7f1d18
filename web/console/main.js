// The console's shell: sign-in, the navigation, hash routes, keyboard shortcuts.

import { h, fill, dialog } from "/assets/console/dom.js";
import { t, toggleLanguage, language } from "/assets/console/i18n.js";
import * as api from "/assets/console/api.js";
import * as store from "/assets/console/store.js";
import * as board from "/assets/console/board.js";
import * as ticket from "/assets/console/ticket.js";
import * as map from "/assets/console/map.js";
import * as intake from "/assets/console/intake.js";
import * as scores from "/assets/console/scores.js";
import { mountCallbacks, mountComplaints } from "/assets/console/callbacks.js";
import * as admin from "/assets/console/admin.js";
import { signInForm } from "/assets/console/signin.js";

const view = document.getElementById("view");
const top = document.querySelector("header.top");
let current = null;
let user = null;

const ROUTES = [
  { path: /^#\/board$/, nav: "board", mount: board.mount, roles: ["dispatcher", "manager", "account_manager", "agent", "admin"] },
  { path: /^#\/map$/, nav: "map", mount: map.mount, roles: ["dispatcher", "manager", "account_manager", "agent", "admin"] },
  { path: /^#\/intake$/, nav: "intake", mount: intake.mount, roles: ["agent", "dispatcher", "admin"] },
  { path: /^#\/callbacks$/, nav: "callbacks", mount: mountCallbacks, roles: ["agent", "dispatcher", "manager", "admin"] },
  { path: /^#\/complaints$/, nav: "complaints", mount: mountComplaints, roles: ["agent", "dispatcher", "manager", "account_manager", "admin"] },
  { path: /^#\/scores$/, nav: "scores", mount: scores.mount, roles: ["manager", "dispatcher", "admin"] },
  { path: /^#\/admin$/, nav: "admin", mount: admin.mount, roles: admin.ADMIN_ROLES },
  { path: /^#\/tickets\/([\w-]+)$/, mount: ticket.mount, roles: null },
];

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

let ready = false;

function route() {
  // Views read the store: none is drawn before it has loaded (a click or a link during the
  // load routes once it is done).
  if (!user || !ready) return;
  const [hash, search] = (location.hash || "#/board").split("?");
  const r = ROUTES.find((x) => x.path.test(hash) && (!x.roles || x.roles.includes(user.role)));
  if (!r) return go("#/board");
  current && current.unmount && current.unmount();
  const m = hash.match(r.path);
  const el = h("section", { class: `view view-${r.nav || "ticket"}` });
  fill(view, el);
  current = r.mount(el, { user, go, id: m[1], query: new URLSearchParams(search || "") }) || {};
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.nav === r.nav);
}

function shell() {
  document.documentElement.lang = language();
  document.title = t("app.title");
  top.hidden = false;
  fill(document.getElementById("nav"),
    ROUTES.filter((r) => r.nav && r.roles.includes(user.role)).map((r) =>
      h("a", { href: `#/${r.nav}`, dataset: { nav: r.nav } }, t(`nav.${r.nav}`))));
  document.getElementById("who").textContent = `${user.display_name || user.username} · ${user.role}`;
  document.getElementById("lang").textContent = t("nav.lang");
  document.getElementById("signout").textContent = t("nav.signout");
}

function signInScreen(message) {
  top.hidden = true;
  document.title = t("app.title");
  fill(view, signInForm(message));
}

async function signedIn(u) {
  user = u;
  ready = false;
  if (!u) {
    current && current.unmount && current.unmount();
    current = null;
    store.halt();
    signInScreen();
    return;
  }
  shell();
  fill(view, h("p", { class: "empty" }, t("board.loading")));
  try {
    await store.start(u);
  } catch (e) {
    fill(view, h("p", { class: "error" }, t("error", { m: e.message })));
    return;
  }
  ready = true;
  route();
}

function cheatSheet() {
  const rows = [
    ["/", "sc.search"], ["j", "sc.next"], ["k", "sc.prev"], ["Enter", "sc.open"], ["a", "sc.assign"],
    ["1–9", "sc.pick"], ["g b", "sc.board"], ["g m", "sc.map"], ["g i", "sc.intake"], ["g s", "sc.scores"], ["?", "sc.help"], ["Esc", "sc.escape"],
  ];
  return dialog(t("shortcuts.title"), () =>
    h("table", { class: "shortcuts", id: "shortcuts" }, rows.map(([k, d]) => h("tr", {}, h("td", {}, h("kbd", {}, k)), h("td", {}, t(d))))));
}

let pendingG = false;
document.addEventListener("keydown", (e) => {
  if (!user || e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) || document.querySelector("dialog[open]");
  if (typing) {
    if (e.key === "Escape" && e.target.blur) e.target.blur();
    return;
  }
  if (pendingG) {
    pendingG = false;
    const to = { b: "#/board", m: "#/map", i: "#/intake", s: "#/scores" }[e.key];
    if (to) {
      e.preventDefault();
      go(to);
    }
    return;
  }
  if (e.key === "g") {
    pendingG = true;
    setTimeout(() => (pendingG = false), 1500);
    return;
  }
  if (e.key === "?") {
    e.preventDefault();
    cheatSheet();
    return;
  }
  const fn = current && current.keys && current.keys[e.key];
  if (fn) {
    e.preventDefault();
    fn();
  }
});

document.getElementById("help").addEventListener("click", cheatSheet);
document.getElementById("lang").addEventListener("click", () => {
  toggleLanguage();
  shell();
  route();
});
document.getElementById("signout").addEventListener("click", () => api.signOut());
window.addEventListener("hashchange", route);
api.onSession(signedIn);

api.resume().then((u) => (u ? signedIn(u) : signInScreen())).catch(() => signInScreen());
