// The province's five stars (seed 000, section 04): the branch league with the churn gate, and
// every grid district's verdict with each clause's reason and the records behind it. Managers
// import the branches' monthly figures here from a CSV.

import { h, fill, dialog, toast } from "/assets/console/dom.js";
import { t, when } from "/assets/console/i18n.js";
import { get, call, user } from "/assets/console/api.js";
import * as store from "/assets/console/store.js";

const MEASURES = ["installation", "maintenance", "answer_rate", "online_resolution", "churn"];
const pct = (r) => (r === null || r === undefined ? "n/a" : `${(r * 100).toFixed(2)}%`);

/** Fills `body` with the month's league and verdicts; `query` holds month and region_id. */
export async function fiveStar(body, query, reload) {
  const [league, verdicts] = await Promise.all([
    get(`/reports/province?month=${query.get("month")}`),
    get(`/reports/five-star/districts?${query}`),
  ]);
  const canImport = ["manager", "admin"].includes((user() || {}).role);
  const rules = league.rules;
  const leagueTable = h("table", { class: "scores", id: "province-table" },
    h("thead", {}, h("tr", {}, h("th", {}, t("province.branch")),
      MEASURES.map((m) => h("th", {}, t(`province.${m}`))), h("th", {}, t("province.churn_gate")), h("th", {}, t("province.source")))),
    h("tbody", {}, league.items.map((b) => h("tr", { dataset: { branch: b.code }, class: b.on_fixline ? "ours" : "" },
      h("td", {}, h("strong", {}, b.name), h("small", {}, b.code), b.on_fixline ? h("span", { class: "badge fixline" }, "fixline") : null),
      MEASURES.map((m) => {
        const p = b[m];
        return h("td", { class: `placing ${p.rate === null ? "na" : ""}`, dataset: { measure: m } },
          pct(p.rate), h("small", {}, p.rank ? t("province.rank", { n: p.rank }) : "—",
            p.num !== undefined ? ` · ${p.num}/${p.den}` : ""));
      }),
      h("td", { class: b.churn_gate.passed ? "gate passed" : "gate failed", title: b.churn_gate.reason }, b.churn_gate.passed ? "✓" : "✗"),
      h("td", {}, b.imported ? h("small", {}, b.imported.source, " · ", when(b.imported.imported_at)) : "—")))));

  const table = h("table", { class: "scores", id: "five-star-table" },
    h("thead", {}, h("tr", {}, h("th", {}, t("col.district")), h("th", {}, t("province.branch")),
      h("th", {}, t("scores.appraisal")), h("th", {}, t("scores.complaints")), h("th", {}, t("province.verdict")))),
    h("tbody", {}, verdicts.items.map((d) => h("tr", { dataset: { district: d.district_id } },
      h("td", {}, h("strong", {}, d.name), h("small", {}, d.code)),
      h("td", {}, d.branch_code || "—"),
      h("td", {}, d.appraisal ?? "—"),
      h("td", {}, String(d.complaints.upheld)),
      h("td", { class: "five-star", dataset: { eligible: String(d.five_star) } },
        d.five_star ? h("span", { class: "badge star" }, "★ ", t("province.five_star")) : h("span", { class: "badge none" }, t("province.not_five_star")),
        h("ul", { class: "clauses" }, d.clauses.map((c) =>
          h("li", { class: c.passed ? "passed" : "failed", dataset: { clause: c.clause } }, c.passed ? "✓ " : "✗ ",
            h("span", { class: "reason" }, c.reason), " ",
            h("button", { class: "link evidence", onclick: () => evidence(d, c) }, t("province.records"))))))))));

  fill(body,
    h("p", { class: "muted" }, t("province.rules", { top: rules.top, gap: rules.gap_points, churn: rules.churn_top, appraisal: rules.appraisal_min })),
    h("section", { class: "card" },
      h("h2", {}, t("province.league", { month: league.month }),
        canImport ? h("button", { id: "province-import", class: "ghost-dark", onclick: () => importDialog(league.month, reload) }, t("province.import")) : null),
      h("div", { class: "table-scroll" }, leagueTable)),
    h("section", { class: "card" }, h("h2", {}, t("province.verdicts")), h("div", { class: "table-scroll" }, table)));
}

/** The records behind a clause: tickets, complaints, appraisals or imports. */
async function evidence(d, c) {
  let items;
  try {
    items = (await get(c.evidence)).items;
  } catch (e) {
    toast(t("error", { m: e.message }), "error");
    return;
  }
  await dialog(`${d.name} · ${t(`clause.${c.clause}`)}`, () => h("table", { class: "drill", id: "evidence" }, items.map((x) => {
    const id = x.ticket_id || (x.ticket && x.ticket.id) || null;
    const what = id
      ? h("a", { href: `#/tickets/${id}` }, store.ticketRef({ external_ref: x.external_ref, id }))
      : x.score !== undefined ? `${x.month} · ${x.score}`
      : x.source !== undefined ? `${x.month} · ${x.source}`
      : x.category || x.id.slice(0, 8);
    return h("tr", { class: x.in_numerator === false ? "out" : "in" },
      h("td", {}, what),
      h("td", {}, when(x.created_at || x.received_at || x.recorded_at || x.imported_at || x.resolved_at)),
      h("td", {}, x.outcome || x.status || (x.churn !== undefined ? MEASURES.map((m) => x[m] === null ? null : `${t(`province.${m}`)} ${x[m]}%`).filter(Boolean).join(" · ") : "")),
      h("td", {}, x.in_numerator === undefined ? "" : x.in_numerator ? "✓" : "✗"));
  })));
}

/** A CSV of branch figures pasted or picked from a file, with its source. */
function importDialog(month, reload) {
  return dialog(t("province.import"), (close) => {
    const source = h("input", { name: "source", id: "import-source", required: true, placeholder: t("province.source_hint") });
    const text = h("textarea", { id: "import-csv", rows: 8, spellcheck: "false" },
      `month,branch_code,${MEASURES.join(",")}\n${month},`);
    const file = h("input", { type: "file", accept: ".csv,text/csv", onchange: async (e) => { text.value = await e.target.files[0].text(); } });
    const error = h("p", { class: "error", id: "import-error" });
    const submit = async (e) => {
      e.preventDefault();
      try {
        const q = new URLSearchParams({ source: source.value.trim() });
        const a = await call("POST", `/branches/figures/import?${q}`, text.value, { contentType: "text/csv" });
        toast(t("province.imported", { n: a.imported }));
        close(true);
        reload();
      } catch (err) {
        fill(error, err.field ? `${err.field}: ${err.message}` : err.message);
      }
    };
    return h("form", { class: "form", onsubmit: submit },
      h("label", {}, t("province.source"), source),
      h("label", {}, t("province.csv"), text), file, error,
      h("button", { type: "submit", id: "import-submit" }, t("province.import")));
  });
}
