// The sign-in form the console and the phone app share.

import { h } from "/assets/console/dom.js";
import { t } from "/assets/console/i18n.js";
import * as api from "/assets/console/api.js";

/** A sign-in form; a successful sign-in is announced through `api.onSession`. */
export function signInForm(message, buttonClass = "") {
  const err = h("p", { class: "error", role: "alert" }, message || "");
  const form = h("form", { class: "signin", id: "signin", onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const f = new FormData(form);
    try {
      await api.signIn(String(f.get("username")), String(f.get("password")));
    } catch (x) {
      err.textContent = t("signin.failed", { m: x.message });
    }
  } },
  h("h1", {}, t("app.title")),
  h("label", {}, t("signin.username"), h("input", { name: "username", autocomplete: "username", required: true, autofocus: true })),
  h("label", {}, t("signin.password"), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
  h("button", { type: "submit", class: buttonClass }, t("signin.submit")),
  err);
  return form;
}
