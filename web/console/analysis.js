// The monthly work-order analysis: tickets by kind, fault category, source and resolution with
// counts, shares and the change from last month, repeat faults and the addresses that come
// back; a count opens the tickets behind it.

import { h, fill, dialog, toast } from "/assets/console/dom.js";
import { t, when } from "/assets/console/i18n.js";
import { get } from "/assets/console/api.js";
import * as store from "/assets/console/store.js";

const DIMENSIONS = [["by_kind", "kind"], ["by_category", "category"], ["by_source", "source"], ["by_resolution", "resolution"]];

/** A share's bar, sized through the CSSOM (the console's policy refuses inline styles). */
function bar(share) {
  const el = h("span", { class: "bar" });
  el.style.width = `${Math.round(share)}px`;
  return el;
}

/** Fills `body` with the analysis of `query` (month, region_id). */
export async function workOrders(body, query) {
  const a = await get(`/reports/work-orders?${query}`);
  const change = (n) => (n > 0 ? `+${n}` : String(n));
  const label = (dim, key) => (dim === "source" || dim === "kind" ? t(`analysis.${dim}.${key}`) : key);
  const table = ([field, dim]) => h("section", { class: "card" },
    h("h2", {}, t(`analysis.${dim}`)),
    h("table", { class: "scores analysis", id: `analysis-${dim}` },
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, t("analysis.count")), h("th", {}, t("analysis.share")), h("th", {}, t("analysis.change")))),
      h("tbody", {}, a[field].map((c) => h("tr", { dataset: { key: c.key } },
        h("td", {}, label(dim, c.key)),
        h("td", {}, h("button", { class: "link", onclick: () => tickets(dim, c.key, label(dim, c.key)) }, String(c.count))),
        h("td", { class: "share" }, bar(c.share), `${c.share.toFixed(2)}%`),
        h("td", { class: c.change > 0 ? "up" : c.change < 0 ? "down" : "" }, change(c.change)))))));
  const r = a.repeats;
  const pct = (x) => (x === null ? "n/a" : `${(x * 100).toFixed(2)}%`);
  fill(body,
    h("p", { class: "muted", id: "analysis-summary" }, t("analysis.summary", { month: a.month, n: a.recorded, p: a.previous_recorded, r: a.resolved })),
    h("div", { class: "cols" }, table(DIMENSIONS[0]), table(DIMENSIONS[2])),
    h("div", { class: "cols" }, table(DIMENSIONS[1]), table(DIMENSIONS[3])),
    h("section", { class: "card", id: "analysis-repeats" },
      h("h2", {}, t("analysis.repeats", { d: r.window_days })),
      h("p", {}, t("analysis.repeat_rate", { n: r.repeated, of: r.repairs, rate: pct(r.rate), ftf: pct(r.first_time_fix), p: r.previous_repeated }), " ",
        h("button", { class: "link", id: "analysis-repeat-tickets", onclick: () => tickets("repeat", "", t("analysis.repeats", { d: r.window_days })) }, t("province.records"))),
      h("ol", {}, a.top_repeat_addresses.map((x) => h("li", {}, `${x.address} · ${x.repeats}`)))));

  async function tickets(dimension, key, title) {
    const q = new URLSearchParams(query);
    q.set("dimension", dimension);
    if (key) q.set("key", key);
    let items;
    try {
      items = (await get(`/reports/work-orders/tickets?${q}`)).items;
    } catch (e) {
      toast(t("error", { m: e.message }), "error");
      return;
    }
    await dialog(title, () => h("table", { class: "drill", id: "analysis-drill" }, items.map((x) => h("tr", {},
      h("td", {}, h("a", { href: `#/tickets/${x.ticket_id}` }, store.ticketRef({ external_ref: x.external_ref, id: x.ticket_id }))),
      h("td", {}, when(x.created_at)),
      h("td", {}, x.fault_category),
      h("td", {}, x.address),
      h("td", {}, x.repeat_of ? `↺ ${store.ticketRef({ id: x.repeat_of })}` : x.resolution_code || "")))));
  }
}

/** Household visits (百人访百户): each person's month against the target. */
export async function visitsReport(body, query) {
  const r = await get(`/reports/visits?${query}`);
  fill(body,
    h("p", { class: "muted", id: "visits-summary" }, t("visits.summary", { month: r.month, n: r.visits, people: r.people, met: r.met, target: r.target })),
    h("table", { class: "scores visits", id: "visits-report" },
      h("thead", {}, h("tr", {}, ["visits.person", "visits.role", "visits.count", "visits.percent", "visits.tickets", "visits.complaints"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, r.items.map((p) => h("tr", { dataset: { user: p.username }, class: p.met ? "met" : "" },
        h("td", {}, h("strong", {}, p.display_name), h("small", {}, p.username)),
        h("td", {}, t(`role.${p.role}`)),
        h("td", {}, `${p.visits} / ${p.target}`),
        h("td", { class: "share" }, bar(Math.min(p.percent ?? 0, 100)), p.percent === null ? "n/a" : `${p.percent.toFixed(2)}%`),
        h("td", {}, String(p.tickets_opened)),
        h("td", {}, String(p.complaints_opened)))))));
}
