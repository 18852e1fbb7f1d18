// The call center's callback queue (due first; record the result and the customer's ratings)
// and complaints (record one; a manager verifies it with the person responsible).

import { h, fill, toast } from "/assets/console/dom.js";
import { t, when } from "/assets/console/i18n.js";
import { get, post } from "/assets/console/api.js";
import * as store from "/assets/console/store.js";

const OUTCOMES = ["satisfied", "basically_satisfied", "unsatisfied", "unreachable"];

export function mountCallbacks(root, { go }) {
  const list = h("div", { class: "queue", id: "callbacks" }, h("p", { class: "empty" }, t("board.loading")));
  const showAll = h("label", {}, h("input", { type: "checkbox", id: "callbacks-all", onchange: load }), t("cb.all_due"));
  fill(root, h("div", { class: "toolbar" }, h("strong", {}, t("cb.title")), showAll, h("span", { class: "count", id: "callbacks-count" })), list);

  async function load() {
    const q = new URLSearchParams({ status: "due", limit: "200" });
    if (showAll.querySelector("input").checked) q.set("due_only", "false");
    let items;
    try {
      items = (await get(`/callbacks?${q}`)).items;
    } catch (e) {
      fill(list, h("p", { class: "error" }, t("error", { m: e.message })));
      return;
    }
    document.getElementById("callbacks-count").textContent = t("cb.count", { n: items.length });
    fill(list, items.length ? items.map(card) : h("p", { class: "empty" }, t("cb.empty")));
  }

  function card(c) {
    const tk = c.ticket || {};
    const error = h("p", { class: "error", role: "alert" });
    const rating = (name) => h("label", {}, t(`cb.${name}`),
      h("select", { name }, h("option", { value: "" }, "—"), [5, 4, 3, 2, 1].map((n) => h("option", { value: String(n) }, "★".repeat(n)))));
    const outcome = h("select", { name: "outcome", required: true }, h("option", { value: "" }, t("cb.outcome")),
      OUTCOMES.map((o) => h("option", { value: o }, t(`cb.${o}`))));
    const note = h("input", { name: "note", maxlength: 1000, placeholder: t("cb.note") });
    const form = h("form", { class: "callback card", dataset: { callback: c.id }, onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      const f = new FormData(form);
      const ratings = {};
      for (const k of ["attitude", "timeliness", "quality"]) if (f.get(k)) ratings[k] = Number(f.get(k));
      const body = { outcome: String(f.get("outcome")) };
      if (Object.keys(ratings).length) body.ratings = ratings;
      if (String(f.get("note")).trim()) body.note = String(f.get("note")).trim();
      try {
        const r = await post(`/callbacks/${c.id}/result`, body);
        toast(r.follow_up_ticket_id ? t("cb.saved_follow_up") : t("cb.saved"));
        load();
      } catch (x) {
        error.textContent = x.field ? `${x.field}: ${x.message}` : x.message;
      }
    } },
    h("header", {},
      h("strong", {}, tk.customer ? tk.customer.name : c.ticket_id.slice(0, 8)),
      tk.customer ? h("a", { href: `tel:${tk.customer.phone}` }, tk.customer.phone) : null,
      h("a", { href: `#/tickets/${c.ticket_id}` }, store.ticketRef({ external_ref: tk.external_ref, id: c.ticket_id })),
      h("span", { class: c.due_now ? "flag bad" : "flag info" }, t("cb.due", { t: when(c.due_at) })),
      c.attempts ? h("span", { class: "flag warn" }, t("cb.attempts", { n: c.attempts })) : null),
    h("p", { class: "muted" }, `${store.districtName(c.district_id)} · ${tk.address || ""} · ${tk.fault ? tk.fault.description : ""} · ${store.staffName(c.technician_id)}`),
    h("div", { class: "row" }, outcome, rating("attitude"), rating("timeliness"), rating("quality"), note, h("button", { type: "submit" }, t("cb.save"))),
    error);
    return form;
  }

  load();
  return {};
}

export function mountComplaints(root, { user }) {
  const canVerify = ["manager", "admin"].includes(user.role);
  const list = h("div", { id: "complaints" }, h("p", { class: "empty" }, t("board.loading")));
  const error = h("p", { class: "error", role: "alert" });
  const district = h("select", { name: "district_id", id: "complaint-district" }, h("option", { value: "" }, "—"),
    [...store.districts.values()].map((d) => h("option", { value: d.id }, `${d.name} (${d.code})`)));
  const form = h("form", { class: "card complaint-form", id: "complaint-form", onsubmit: record },
    h("h2", {}, t("cp.record")),
    h("div", { class: "row" },
      h("label", {}, t("cp.source"), h("select", { name: "source", required: true }, ["hotline", "12345", "12315", "walk_in"].map((s) => h("option", { value: s }, t(`cp.source_${s}`))))),
      h("label", {}, t("col.district"), district),
      h("label", {}, t("cp.ticket"), h("input", { name: "ticket_id", placeholder: "UUID" })),
      h("label", {}, t("intake.name"), h("input", { name: "customer_name", maxlength: 100 })),
      h("label", {}, t("intake.phone"), h("input", { name: "customer_phone", inputmode: "tel" })),
      h("label", {}, t("cp.category"), h("input", { name: "category", required: true, maxlength: 64 }))),
    h("label", {}, t("cp.description"), h("textarea", { name: "description", required: true, rows: 2, maxlength: 2000 })),
    h("button", { type: "submit" }, t("cp.save")), error);
  fill(root, h("div", { class: "toolbar" }, h("strong", {}, t("cp.title"))), form, list);

  async function record(e) {
    e.preventDefault();
    error.textContent = "";
    const body = {};
    for (const [k, v] of new FormData(form)) if (String(v).trim()) body[k] = String(v).trim();
    try {
      await post("/complaints", body);
      form.reset();
      toast(t("cp.saved"));
      load();
    } catch (x) {
      error.textContent = x.field ? `${x.field}: ${x.message}` : x.message;
    }
  }

  async function load() {
    let items;
    try {
      items = (await get("/complaints?limit=200")).items;
    } catch (e) {
      fill(list, h("p", { class: "error" }, t("error", { m: e.message })));
      return;
    }
    const techs = [...store.staff.values()];
    fill(list, h("table", { class: "scores complaints" },
      h("thead", {}, h("tr", {}, ["cp.received", "cp.source", "col.district", "cp.category", "cp.description", "cp.status", ""].map((k) => h("th", {}, k ? t(k) : "")))),
      h("tbody", {}, items.map((c) => h("tr", { dataset: { complaint: c.id } },
        h("td", {}, when(c.received_at)),
        h("td", {}, t(`cp.source_${c.source}`)),
        h("td", {}, store.districtName(c.district_id)),
        h("td", {}, c.category),
        h("td", { class: "wrap" }, c.description, c.verification_note ? h("small", {}, c.verification_note) : null),
        h("td", { class: `status ${c.status}` }, t(`cp.status_${c.status}`)),
        h("td", {}, canVerify && c.status === "open" ? verifyForm(c, techs) : c.responsible_user_id ? store.staffName(c.responsible_user_id) : ""))))));
  }

  function verifyForm(c, techs) {
    const err = h("small", { class: "error" });
    const f = h("form", { class: "verify", onsubmit: async (e) => {
      e.preventDefault();
      const d = new FormData(f);
      const body = { verdict: String(d.get("verdict")), note: String(d.get("note")).trim() };
      if (d.get("responsible_user_id")) body.responsible_user_id = String(d.get("responsible_user_id"));
      if (d.get("deduction")) body.deduction = Number(d.get("deduction"));
      try {
        await post(`/complaints/${c.id}/verify`, body);
        toast(t("cp.verified"));
        load();
      } catch (x) {
        err.textContent = x.field ? `${x.field}: ${x.message}` : x.message;
      }
    } },
    h("select", { name: "verdict" }, h("option", { value: "upheld" }, t("cp.status_upheld")), h("option", { value: "dismissed" }, t("cp.status_dismissed"))),
    h("select", { name: "responsible_user_id" }, h("option", { value: "" }, t("cp.responsible")),
      techs.filter((p) => !c.region_id || p.region_ids.includes(c.region_id)).map((p) => h("option", { value: p.id }, p.display_name || p.username))),
    h("input", { name: "deduction", type: "number", min: "0", step: "0.5", placeholder: t("cp.deduction") }),
    h("input", { name: "note", required: true, placeholder: t("cp.note") }),
    h("button", { type: "submit", class: "small" }, t("cp.verify")), err);
    return f;
  }

  load();
  return {};
}
