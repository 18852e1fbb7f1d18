// One ticket: details, every stage clock, the timeline with due and applied times, the SMS
// history with attempts and receipts, photos, and the actions the caller's role allows.

import { h, fill, toast, dialog } from "/assets/console/dom.js";
import { t, tOr, when, span, category } from "/assets/console/i18n.js";
import { get, post, blobUrl } from "/assets/console/api.js";
import * as clocks from "/assets/console/clocks.js";
import * as store from "/assets/console/store.js";
import { assignTicket } from "/assets/console/board.js";

export function mount(root, { user, id, go }) {
  const urls = [];
  let alive = true;

  async function load() {
    let tk;
    try {
      tk = await store.reload(id);
    } catch (e) {
      fill(root, h("p", { class: "error" }, t("error", { m: e.message })));
      return;
    }
    const board = ["dispatcher", "manager", "account_manager", "agent", "admin"].includes(user.role);
    const photoRoles = ["technician", "account_manager", "dispatcher", "manager", "admin"].includes(user.role);
    const [events, sms, photos, postponements] = await Promise.all([
      get(`/tickets/${id}/events`).then((r) => r.items).catch(() => []),
      board ? get(`/tickets/${id}/notifications`).then((r) => r.items).catch(() => []) : [],
      photoRoles ? get(`/tickets/${id}/photos`).then((r) => r.items).catch(() => []) : [],
      get(`/tickets/${id}/postponements`).then((r) => r.items).catch(() => []),
    ]);
    if (!alive) return;
    const photoBox = h("div", { class: "photos" }, photos.length ? null : t("ticket.no_photos"));
    fill(root,
      h("p", {}, h("a", { href: "#/board" }, "← ", t("ticket.back"))),
      h("h1", { id: "ticket-title" }, `${store.ticketRef(tk)} · ${tk.customer.name}`,
        h("small", {}, ` ${t(`kind.${tk.kind}`)} · ${t(`status.${tk.status}`)}`)),
      h("div", { class: "cols" },
        h("section", { class: "card" },
          h("h2", {}, t("ticket.details")),
          h("dl", {},
            h("dt", {}, t("ticket.phone")), h("dd", {}, h("a", { href: `tel:${tk.customer.phone}` }, tk.customer.phone)),
            h("dt", {}, t("ticket.address")), h("dd", {}, tk.address),
            h("dt", {}, t("col.district")), h("dd", {}, store.districtName(tk.district_id)),
            h("dt", {}, t("ticket.fault")), h("dd", {}, `${category(tk.fault.category)} — ${tk.fault.description}`),
            h("dt", {}, t("col.assignee")), h("dd", {}, tk.assignee_id ? store.staffName(tk.assignee_id) : t("unassigned")),
            h("dt", {}, t("ticket.created")), h("dd", {}, when(tk.created_at)),
            tk.appointment_at ? [h("dt", {}, t("ticket.appointment")), h("dd", {}, when(tk.appointment_at))] : null),
          h("h2", {}, t("col.stages")),
          h("table", { class: "stages" }, clocks.stages(tk).map((s) => h("tr", {},
            h("th", {}, t(`stage.${s.stage}`)),
            h("td", {}, s.due ? t("ticket.due", { t: when(new Date(s.due).toISOString()) }) : "—"),
            h("td", {}, s.done ? when(new Date(s.done).toISOString()) : s.due ? span((s.due - clocks.now()) / 1000) : ""),
            h("td", { class: `outcome ${s.outcome || ""}` }, s.outcome ? t(`done.${s.outcome}`) : "")))),
          postponements.length ? [h("h2", {}, t("ticket.postponements")), h("ul", { class: "postponements", id: "postponements" }, postponements.map((p) => postponement(tk, p)))] : null,
          h("div", { class: "actions" }, actions(tk))),
        h("section", { class: "card" },
          h("h2", {}, t("ticket.timeline")),
          h("ol", { class: "timeline", id: "timeline" }, events.map((e) => h("li", {},
            h("time", {}, when(e.at)),
            h("strong", { title: e.kind }, tOr(`event.${e.kind}`, e.kind)),
            e.detail && e.detail.due_at ? h("small", {}, t("ticket.due", { t: when(e.detail.due_at) })) : null,
            h("code", {}, compact(e.detail))))),
          h("h2", {}, t("ticket.sms")),
          sms.length ? h("table", { class: "sms", id: "sms" }, sms.map((m) => h("tr", {},
            h("td", {}, when(m.created_at)),
            h("td", {}, m.to),
            h("td", {}, m.purpose),
            h("td", {}, m.status, m.delivered_at ? h("small", {}, ` ✓ ${when(m.delivered_at)}`) : null),
            h("td", {}, m.attempts.map((a) => h("div", { class: "attempt" }, `#${a.attempt} ${when(a.at)} ${a.provider} ${a.outcome}`))),
            h("td", { class: "body" }, m.text)))) : h("p", {}, t("ticket.no_sms")),
          h("h2", {}, t("ticket.photos")),
          photoBox)));
    for (const p of photos) {
      blobUrl(`/tickets/${id}/photos/${p.id}`).then((u) => {
        urls.push(u);
        photoBox.append(h("img", { src: u, alt: p.purpose, class: "photo" }));
      }).catch(() => {});
    }
  }

  function postponement(tk, p) {
    const decide = ["account_manager", "dispatcher", "admin"].includes(user.role) && p.status === "pending";
    const act = (verdict) => async () => {
      try {
        await post(`/tickets/${tk.id}/postponements/${p.id}/${verdict}`, {});
        toast(t(verdict === "confirm" ? "ticket.pp_confirmed" : "ticket.pp_declined"));
        load();
      } catch (e) {
        toast(t("error", { m: e.message }), "error");
      }
    };
    return h("li", { dataset: { request: p.id }, class: p.status },
      h("strong", {}, t(`ticket.pp_${p.status}`)), " ",
      t("ticket.pp_to", { t: when(p.new_promised_at) }), " · ", p.reason, " · ", when(p.requested_at),
      decide ? [" ", h("button", { class: "small", onclick: act("confirm") }, t("ticket.pp_confirm")), " ",
        h("button", { class: "small ghost-dark", onclick: act("decline") }, t("ticket.pp_decline"))] : null);
  }

  function actions(tk) {
    const out = [];
    if (store.OPEN.includes(tk.status) && ["dispatcher", "admin"].includes(user.role)) {
      out.push(h("button", { id: "ticket-assign", onclick: async () => (await assignTicket(tk)) && load() }, t("assign.button")));
    }
    const open = store.OPEN.includes(tk.status);
    const act = (label, path, body) => h("button", { onclick: async () => {
      try {
        await post(`/tickets/${tk.id}/${path}`, typeof body === "function" ? await body() : body);
        load();
      } catch (e) {
        toast(t("error", { m: e.message }), "error");
      }
    } }, label);
    if (open && ["dispatcher", "agent", "admin"].includes(user.role)) {
      out.push(act(t("ticket.cancel"), "cancel", async () => {
        const reason = await dialog(t("ticket.cancel"), (close) => {
          const input = h("input", { name: "reason", required: true, placeholder: t("ticket.cancel_reason") });
          return h("form", { onsubmit: (e) => { e.preventDefault(); close(input.value); } }, input, h("button", { type: "submit" }, t("ticket.cancel")));
        });
        if (!reason) throw new Error(t("ticket.cancel_reason"));
        return { reason };
      }));
    }
    if (tk.status === "resolved" && ["dispatcher", "agent", "account_manager", "admin"].includes(user.role)) {
      out.push(act(t("ticket.close_ticket"), "close", {}));
    }
    return out;
  }

  load();
  return {
    unmount() {
      alive = false;
      urls.forEach((u) => URL.revokeObjectURL(u));
    },
    keys: { Escape: () => go("#/board") },
  };
}

function compact(detail) {
  if (!detail || typeof detail !== "object") return "";
  return Object.entries(detail)
    .filter(([k]) => k !== "due_at")
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" · ");
}
