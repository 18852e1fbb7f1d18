// The manager's scoreboard: the monthly district table with each metric against its target,
// the composite score and rank, the internal league star with every clause's reason, the
// tickets behind any number, a 12-month trend, a district map coloured by score, CSV, the
// technician and region roll-ups, and the province's five stars (province.js).

import { h, fill, dialog, toast } from "/assets/console/dom.js";
import { t, when } from "/assets/console/i18n.js";
import { get, call } from "/assets/console/api.js";
import { now } from "/assets/console/clocks.js";
import { districtMap } from "/assets/console/map.js";
import * as store from "/assets/console/store.js";
import { fiveStar, unitVerdicts, staffStars, ledgerView } from "/assets/console/province.js";
import { workOrders, visitsReport } from "/assets/console/analysis.js";

export const METRICS = ["dispatch", "contact", "arrival", "install_timeliness", "repair_timeliness", "callback_coverage", "satisfaction"];
const COLORS = ["#0b5cad", "#c62828", "#2e7d32", "#b26a00", "#6a1b9a", "#00838f", "#ad1457", "#4e342e", "#283593", "#558b2f", "#ef6c00", "#37474f"];

const pct = (r) => (r === null || r === undefined ? "n/a" : `${(r * 100).toFixed(1)}%`);

/** Satisfaction by how customers answered: phone callbacks and SMS surveys. */
const channels = (c) => `${t("scores.by_phone")} ${c.phone.num}/${c.phone.den} · ${t("scores.by_sms")} ${c.sms.num}/${c.sms.den}`;

/** The month before the server's current one, as YYYY-MM. */
function lastMonth() {
  const d = new Date(now());
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - 1);
  return d.toISOString().slice(0, 7);
}

function monthsBack(month, n) {
  const [y, m] = month.split("-").map(Number);
  const d = new Date(Date.UTC(y, m - 1 - n, 1));
  return d.toISOString().slice(0, 7);
}

export function mount(root, { go, query }) {
  const state = { month: query.get("month") || lastMonth(), tab: query.get("tab") || "districts", region: query.get("region") || "", selected: null };
  const month = h("input", { type: "month", id: "scores-month", value: state.month, onchange: (e) => { state.month = e.target.value; nav(); } });
  const region = h("select", { id: "scores-region", onchange: (e) => { state.region = e.target.value; nav(); } },
    h("option", { value: "" }, t("board.all_regions")),
    [...store.regions.values()].map((r) => h("option", { value: r.id, selected: r.id === state.region }, r.name)));
  const tabs = h("div", { class: "tabs" }, ["districts", "work_orders", "visits", "five_star", "units", "staff", "ledger", "technicians", "regions"].map((k) =>
    h("button", { class: k === state.tab ? "tab active" : "tab", dataset: { tab: k }, onclick: () => { state.tab = k; nav(); } }, t(`scores.tab_${k}`))));
  // The visits tab has no spreadsheet of its own.
  const csv = h("button", { id: "scores-csv", class: "ghost-dark", onclick: download, hidden: state.tab === "visits" }, t("scores.csv"));
  const body = h("div", { id: "scores-body" }, h("p", { class: "empty" }, t("board.loading")));
  fill(root, h("div", { class: "toolbar" }, h("strong", {}, t("scores.title")), month, region, tabs, csv), body);

  function nav() {
    const q = new URLSearchParams({ month: state.month, tab: state.tab });
    if (state.region) q.set("region", state.region);
    go(`#/scores?${q}`);
  }

  function queryString() {
    const q = new URLSearchParams({ month: state.month });
    if (state.region) q.set("region_id", state.region);
    return q;
  }

  async function download() {
    try {
      const [path, name] = {
        five_star: ["/reports/five-star/districts", "five-star-districts"],
        units: ["/reports/five-star/teams", "five-star-teams"],
        staff: ["/reports/five-star/staff", "five-star-staff"],
        ledger: ["/reports/ledger", "ledger"],
        work_orders: ["/reports/work-orders", "work-orders"],
      }[state.tab] || ["/reports/districts", "districts"];
      const q = state.tab === "units" ? new URLSearchParams({ month: state.month }) : queryString();
      const res = await call("GET", `${path}?${q}&format=csv`, undefined, { raw: true });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const a = h("a", { href: url, download: `${name}-${state.month}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      toast(t("error", { m: e.message }), "error");
    }
  }

  let map = null;
  let chart = null;
  async function load() {
    try {
      if (state.tab === "districts") await districts();
      else if (state.tab === "five_star") await fiveStar(body, queryString(), load);
      else if (state.tab === "units") await unitVerdicts(body, queryString());
      else if (state.tab === "staff") await staffStars(body, queryString());
      else if (state.tab === "ledger") await ledgerView(body, queryString());
      else if (state.tab === "work_orders") await workOrders(body, queryString());
      else if (state.tab === "visits") await visitsReport(body, new URLSearchParams({ month: state.month }));
      else await rollups(state.tab);
    } catch (e) {
      fill(body, h("p", { class: "error" }, t("error", { m: e.message })));
    }
  }

  async function districts() {
    const q = queryString();
    const trendQ = new URLSearchParams({ from: monthsBack(state.month, 11), to: state.month });
    if (state.region) trendQ.set("region_id", state.region);
    const [report, trend] = await Promise.all([get(`/reports/districts?${q}`), get(`/reports/districts/trend?${trendQ}`)]);
    const table = h("table", { class: "scores", id: "scores-table" },
      h("thead", {}, h("tr", {},
        h("th", {}, t("scores.rank")), h("th", {}, t("col.district")),
        METRICS.map((m) => h("th", { title: `${t("scores.target")} ${pct(report.rules.targets[m])}` }, t(`metric.${m}`), h("small", {}, pct(report.rules.targets[m])))),
        h("th", {}, t("scores.complaints")), h("th", {}, t("scores.appraisal")), h("th", {}, t("scores.composite")), h("th", {}, t("scores.five_star")))),
      h("tbody", {}, report.items.map((d) => h("tr", { dataset: { district: d.district_id }, class: state.selected === d.district_id ? "selected" : "", onclick: () => select(d) },
        h("td", { class: "rank" }, d.rank ?? "—"),
        h("td", {}, h("strong", {}, d.name), h("small", {}, d.code)),
        METRICS.map((m) => {
          const x = d.metrics[m];
          return h("td", { class: `metric ${x.meets_target === null ? "na" : x.meets_target ? "meets" : "misses"}`, dataset: { metric: m } },
            h("button", { class: "link", title: `${x.num} / ${x.den}`, onclick: (e) => { e.stopPropagation(); drill(d, m); } }, pct(x.rate)),
            h("small", {}, `${x.num}/${x.den}`),
            m === "satisfaction" ? h("small", { class: "channels" }, channels(d.satisfaction_by_channel)) : null);
        }),
        h("td", {}, h("button", { class: "link", onclick: (e) => { e.stopPropagation(); drill(d, "complaints"); } }, String(d.complaints.upheld)),
          d.complaints.handled ? h("small", { class: "timeliness", title: t("scores.complaint_timeliness") }, `${t("scores.on_time")} ${d.complaints.handled_on_time}/${d.complaints.handled}`) : null),
        h("td", {}, d.appraisal ?? "—"),
        h("td", { class: "composite" }, d.composite === null ? "n/a" : d.composite.toFixed(2)),
        h("td", { class: "five-star", dataset: { eligible: String(d.league_star.eligible) } },
          d.league_star.eligible ? h("span", { class: "badge star" }, "★ ", t("scores.five_star")) : h("span", { class: "badge none" }, t("scores.not_five_star")),
          h("ul", { class: "clauses" }, d.league_star.clauses.map((c) =>
            h("li", { class: c.passed ? "passed" : "failed", dataset: { clause: c.clause } }, c.passed ? "✓ " : "✗ ", h("span", { class: "reason" }, c.reason)))))))));
    const trendBox = h("div", { class: "chart", id: "scores-trend" });
    const mapBox = h("div", { class: "map scores-map", id: "scores-map" });
    const rates = h("div", { class: "rates", id: "scores-rates" }, h("p", { class: "empty" }, t("scores.pick")));
    fill(body,
      h("p", { class: "muted" }, t("scores.ranked_among", { n: report.ranked_among, month: report.month })),
      h("div", { class: "table-scroll" }, table),
      h("div", { class: "cols" },
        h("section", { class: "card" }, h("h2", {}, t("scores.trend")), trendBox),
        h("section", { class: "card" }, h("h2", {}, t("scores.map")), mapBox)),
      h("section", { class: "card" }, h("h2", {}, t("scores.rates")), rates));
    drawTrend(trendBox, trend);
    drawMap(mapBox, report);
    const first = report.items.find((d) => d.district_id === state.selected) || report.items[0];
    if (first) select(first, report);

    function select(d) {
      state.selected = d.district_id;
      for (const tr of table.querySelectorAll("tbody tr")) tr.classList.toggle("selected", tr.dataset.district === d.district_id);
      fill(rates, h("h3", {}, `${d.name} (${d.code})`), METRICS.map((m) => {
        const x = d.metrics[m];
        const target = report.rules.targets[m];
        const bar = h("span", { class: `bar ${x.meets_target === false ? "misses" : "meets"}` });
        const mark = h("span", { class: "target" });
        bar.style.width = `${Math.round((x.rate ?? 0) * 100)}%`;
        mark.style.left = `${Math.round(target * 100)}%`;
        return h("div", { class: "rate" }, h("span", { class: "label" }, t(`metric.${m}`)), h("span", { class: "track" }, bar, mark), h("span", { class: "value" }, `${pct(x.rate)} / ${pct(target)}`));
      }));
    }
  }

  function drawTrend(el, trend) {
    if (!window.uPlot || !trend.items.length) return;
    const xs = trend.months.map((m) => Date.UTC(+m.slice(0, 4), +m.slice(5, 7) - 1, 1) / 1000);
    const data = [xs, ...trend.items.map((d) => d.points.map((p) => p.composite))];
    chart && chart.destroy();
    chart = new uPlot({
      width: Math.max(320, el.clientWidth || 560),
      height: 280,
      scales: { x: { time: true }, y: { range: [60, 100] } },
      axes: [{ values: (u, vals) => vals.map((v) => new Date(v * 1000).toISOString().slice(0, 7)) }, {}],
      series: [{}, ...trend.items.map((d, i) => ({ label: d.code, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
    }, data, el);
  }

  function drawMap(el, report) {
    const score = new Map(report.items.map((d) => [d.district_id, d]));
    const colour = (c) => (c === null || c === undefined ? "#b0bec5" : c >= 95 ? "#2e7d32" : c >= 90 ? "#9ccc65" : c >= 85 ? "#fbc02d" : "#e53935");
    districtMap(el, (d) => {
      const s = score.get(d.id);
      return { fillColor: colour(s && s.composite), fillOpacity: 0.55, className: `district scored${s && s.league_star.eligible ? " five-star" : ""}` };
    }).then((m) => {
      map && map.remove();
      map = m.map;
    });
  }

  async function drill(d, metric) {
    const q = new URLSearchParams({ month: state.month, metric, limit: "500" });
    let items;
    try {
      items = (await get(`/reports/districts/${d.district_id}/tickets?${q}`)).items;
    } catch (e) {
      toast(t("error", { m: e.message }), "error");
      return;
    }
    await dialog(`${d.name} · ${metric === "complaints" ? t("scores.complaints") : t(`metric.${metric}`)}`, () =>
      h("table", { class: "drill", id: "drill" }, items.map((x) => {
        const id = x.ticket_id || (x.ticket && x.ticket.id) || null;
        return h("tr", { class: x.in_numerator ? "in" : "out" },
          h("td", {}, id ? h("a", { href: `#/tickets/${id}` }, store.ticketRef({ external_ref: x.external_ref, id })) : x.id.slice(0, 8)),
          h("td", {}, when(x.created_at || x.received_at || x.resolved_at)),
          h("td", {}, x.outcome || x.status || ""),
          h("td", {}, x.in_numerator ? "✓" : "✗"));
      })));
  }

  async function rollups(kind) {
    const report = await get(`/reports/${kind}?${queryString()}`);
    fill(body, h("div", { class: "table-scroll" }, h("table", { class: "scores", id: "scores-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("scores.rank")), h("th", {}, t(kind === "technicians" ? "col.assignee" : "scores.region")),
        METRICS.map((m) => h("th", {}, t(`metric.${m}`))), h("th", {}, t("scores.complaints")), h("th", {}, t("scores.composite")))),
      h("tbody", {}, report.items.map((l) => h("tr", {},
        h("td", { class: "rank" }, l.rank ?? "—"),
        h("td", {}, h("strong", {}, l.name), h("small", {}, l.code)),
        METRICS.map((m) => h("td", { class: `metric ${l.metrics[m].meets_target === null ? "na" : l.metrics[m].meets_target ? "meets" : "misses"}` }, pct(l.metrics[m].rate), h("small", {}, `${l.metrics[m].num}/${l.metrics[m].den}`))),
        h("td", {}, String(l.complaints.upheld)),
        h("td", { class: "composite" }, l.composite === null ? "n/a" : l.composite.toFixed(2))))))));
  }

  load();
  return {
    unmount() {
      chart && chart.destroy();
      map && map.remove();
    },
  };
}
