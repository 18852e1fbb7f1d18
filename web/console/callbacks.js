// The call center's callback queue (due first; record the result and the customer's ratings)
// and complaints (record one; a manager verifies it with the person responsible).

import { h, fill, toast } from "/assets/console/dom.js";
import { t, when, category } from "/assets/console/i18n.js";
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
  const canHandle = ["agent", "dispatcher", "manager", "account_manager", "admin"].includes(user.role);
  const list = h("div", { id: "complaints" }, h("p", { class: "empty" }, t("board.loading")));
  const error = h("p", { class: "error", role: "alert" });
  const district = h("select", { name: "district_id", id: "complaint-district" }, h("option", { value: "" }, "—"),
    [...store.districts.values()].map((d) => h("option", { value: d.id }, `${d.name} (${d.code})`)));
  const form = h("form", { class: "card complaint-form", id: "complaint-form", onsubmit: record },
    h("h2", {}, t("cp.record")),
    h("div", { class: "row" },
      h("label", {}, t("cp.source"), h("select", { name: "source", required: true, onchange: sourceChanged }, ["hotline", "12345", "12315", "walk_in"].map((s) => h("option", { value: s }, t(`cp.source_${s}`))))),
      h("label", { class: "for-own" }, t("cp.kind"), h("select", { name: "kind" }, ["general", "simple"].map((k) => h("option", { value: k }, t(`cp.kind_${k}`))))),
      h("label", { class: "for-hotline", hidden: true }, t("cp.reply_due"), h("input", { name: "reply_due_at", type: "datetime-local" })),
      h("label", {}, t("col.district"), district),
      h("label", {}, t("cp.ticket"), h("input", { name: "ticket_id", placeholder: "UUID" })),
      h("label", {}, t("intake.name"), h("input", { name: "customer_name", maxlength: 100 })),
      h("label", {}, t("intake.phone"), h("input", { name: "customer_phone", inputmode: "tel" })),
      h("label", {}, t("cp.category"), h("input", { name: "category", required: true, maxlength: 64 }))),
    h("label", {}, t("cp.description"), h("textarea", { name: "description", required: true, rows: 2, maxlength: 2000 })),
    h("button", { type: "submit" }, t("cp.save")), error);
  fill(root, h("div", { class: "toolbar" }, h("strong", {}, t("cp.title"))), form, list);

  /** A 12345 / 12315 case runs on the hotline's deadline; the others are simple or general. */
  function sourceChanged() {
    const hotline = ["12345", "12315"].includes(form.elements.source.value);
    form.querySelector(".for-hotline").hidden = !hotline;
    form.elements.reply_due_at.required = hotline;
    form.querySelector(".for-own").hidden = hotline;
  }

  async function record(e) {
    e.preventDefault();
    error.textContent = "";
    const body = {};
    for (const [k, v] of new FormData(form)) if (String(v).trim()) body[k] = String(v).trim();
    if (["12345", "12315"].includes(body.source)) {
      delete body.kind;
      if (body.reply_due_at) body.reply_due_at = new Date(body.reply_due_at).toISOString();
    } else {
      delete body.reply_due_at;
    }
    try {
      await post("/complaints", body);
      form.reset();
      sourceChanged();
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
      h("thead", {}, h("tr", {}, ["cp.received", "cp.source", "col.district", "cp.category", "cp.description", "cp.handling", "cp.status", ""].map((k) => h("th", {}, k ? t(k) : "")))),
      h("tbody", {}, items.map((c) => h("tr", { dataset: { complaint: c.id } },
        h("td", {}, when(c.received_at)),
        h("td", {}, t(`cp.source_${c.source}`)),
        h("td", {}, store.districtName(c.district_id)),
        h("td", {}, category(c.category)),
        h("td", { class: "wrap" }, c.description, c.verification_note ? h("small", {}, c.verification_note) : null),
        h("td", { class: `handling ${c.handling.state}` }, handling(c)),
        h("td", { class: `status ${c.status}` }, t(`cp.status_${c.status}`)),
        h("td", {}, canVerify && c.status === "open" ? verifyForm(c, techs) : c.responsible_user_id ? store.staffName(c.responsible_user_id) : ""))))));
  }

  /** The handling clock: state, due time, on time or late, the rung reached, and its actions. */
  function handling(c) {
    const hd = c.handling;
    const late = hd.on_time === false;
    const parts = [
      h("span", { class: `flag ${late ? "late" : hd.on_time ? "ok" : ""}` }, t(`cp.handling_${hd.state}`)),
      hd.due_at ? h("small", {}, t("cp.due", { at: when(hd.due_at) })) : null,
      late ? h("small", { class: "late" }, t("cp.late_rung", { n: hd.escalation_level })) : null,
      hd.reply ? h("small", { class: "reply" }, hd.reply) : null,
      c.owner_user_id ? h("small", {}, t("cp.owner", { name: store.staffName(c.owner_user_id) })) : null,
    ];
    if (!canHandle) return parts;
    const act = async (path, body) => {
      try {
        await post(`/complaints/${c.id}/${path}`, body);
        load();
      } catch (x) {
        toast(x.field ? `${x.field}: ${x.message}` : x.message);
      }
    };
    if (hd.state === "handling") {
      const reply = h("input", { name: "reply", required: true, maxlength: 2000, placeholder: t("cp.reply") });
      parts.push(h("form", { class: "reply-form", onsubmit: (e) => { e.preventDefault(); act("reply", { reply: reply.value.trim() }); } },
        reply, h("button", { type: "submit", class: "small" }, t("cp.answer"))));
    } else if (hd.state === "replied") {
      parts.push(h("div", { class: "row" },
        h("button", { class: "small accept", onclick: () => act("close", { accepted: true }) }, t("cp.accepted")),
        h("button", { class: "small not-accepted", onclick: () => act("close", { accepted: false }) }, t("cp.not_accepted"))));
    } else {
      parts.push(h("button", { class: "small reopen", onclick: () => act("reopen", { reason: t("cp.reopen_reason") }) }, t("cp.reopen")));
    }
    return parts;
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
