// The province's five stars (seed 000, section 04): the branch league with the churn gate,
// every grid district's, call-center team's and hall's verdict with each clause's reason and
// the records behind it, staff stars with each team's top and bottom three, and the
// accountability ledger (seed 002). Managers import the branches' monthly figures from a CSV.

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

const verdictCell = (ok, clauses, onRecords) => h("td", { class: "five-star", dataset: { eligible: String(ok) } },
  ok ? h("span", { class: "badge star" }, "★ ", t("province.five_star_unit")) : h("span", { class: "badge none" }, t("province.not_five_star")),
  h("ul", { class: "clauses" }, clauses.map((c) =>
    h("li", { class: c.passed ? "passed" : "failed", dataset: { clause: c.clause } }, c.passed ? "✓ " : "✗ ",
      h("span", { class: "reason" }, c.reason), " ",
      onRecords ? h("button", { class: "link evidence", onclick: () => onRecords(c) }, t("province.records")) : null))));

/** Call-center teams (04-(3)) and business halls (04-(4)). */
export async function unitVerdicts(body, query) {
  const month = query.get("month");
  const [teams, halls] = await Promise.all([
    get(`/reports/five-star/teams?month=${month}`),
    get(`/reports/five-star/halls?month=${month}`),
  ]);
  const table = (id, report) => h("table", { class: "scores", id },
    h("thead", {}, h("tr", {}, h("th", {}, t("province.unit")), h("th", {}, t("province.branch")), h("th", {}, t("province.figures")), h("th", {}, t("province.verdict")))),
    h("tbody", {}, report.items.map((u) => h("tr", { dataset: { unit: u.unit_id } },
      h("td", {}, h("strong", {}, u.name), h("small", {}, u.code)),
      h("td", {}, u.branch_code),
      h("td", { class: "figures" }, u.figures ? unitFigures(u.figures) : "—"),
      verdictCell(u.five_star, u.clauses, (c) => evidence({ name: u.name }, c))))));
  fill(body,
    h("section", { class: "card" }, h("h2", {}, t("province.teams", { month })), h("div", { class: "table-scroll" }, table("teams-table", teams))),
    h("section", { class: "card" }, h("h2", {}, t("province.halls", { month })), h("div", { class: "table-scroll" }, table("halls-table", halls))));
}

function unitFigures(f) {
  const parts = [
    f.kpi !== null ? `KPI ${f.kpi}` : null,
    f.appraisal !== null ? `${t("province.appraisal")} ${f.appraisal}` : null,
    f.calls !== null ? `${t("province.calls")} ${f.calls}` : null,
    f.service_complaints !== null ? `${t("scores.complaints")} ${f.service_complaints}` : null,
  ].filter(Boolean);
  return h("small", {}, parts.join(" · "));
}

/** Staff stars: every technician's rating with its reasons, each team's top and bottom three. */
export async function staffStars(body, query) {
  const report = await get(`/reports/five-star/staff?${query}`);
  const stars = (n) => (n ? "★".repeat(n) + "☆".repeat(5 - n) : "—");
  const rated = report.items.filter((p) => p.score !== null);
  const groups = (list, title) => list.map((g) => h("section", { class: "card named", dataset: { group: g.code } },
    h("h2", {}, `${title} · ${g.name}`),
    h("div", { class: "cols" },
      h("div", {}, h("h3", {}, t("province.top3")), h("ol", { class: "top" }, g.top.map((p) => h("li", {}, `${p.display_name} (${p.score.toFixed(2)})`)))),
      h("div", {}, h("h3", {}, t("province.bottom3")), h("ol", { class: "bottom" }, g.bottom.map((p) => h("li", {}, `${p.display_name} (${p.score.toFixed(2)})`)))))));
  fill(body,
    groups(report.teams, t("province.team")),
    groups(report.branches, t("province.branch")),
    h("section", { class: "card" }, h("h2", {}, t("province.staff", { n: rated.length, month: report.month })),
      h("div", { class: "table-scroll" }, h("table", { class: "scores", id: "staff-table" },
        h("thead", {}, h("tr", {}, h("th", {}, t("col.assignee")), h("th", {}, t("province.team")), h("th", {}, t("scores.composite")), h("th", {}, t("province.stars")), h("th", {}, t("province.reasons")))),
        h("tbody", {}, rated.map((p) => h("tr", { dataset: { user: p.user_id } },
          h("td", {}, h("strong", {}, p.display_name), h("small", {}, p.username)),
          h("td", {}, p.team_code || "—"),
          h("td", { class: "composite" }, p.score.toFixed(2)),
          h("td", { class: "stars", dataset: { stars: String(p.stars) } }, stars(p.stars)),
          h("td", {}, h("ul", { class: "clauses" }, p.reasons.map((r) => h("li", {}, r))))))))),
      rated.length < report.items.length ? h("p", { class: "muted" }, t("province.unrated", { n: report.items.length - rated.length })) : null));
}

/** The accountability ledger: per person and per unit, each line with its complaint. */
export async function ledgerView(body, query) {
  const report = await get(`/reports/ledger?${query}`);
  const s = report.shares;
  const lines = (ls) => h("ul", { class: "clauses" }, ls.map((l) =>
    h("li", { dataset: { complaint: l.complaint_id } }, `${t(`level.${l.level}`)} · ${l.points} / ${l.deduction} · ${l.category} · ${when(l.received_at)}`)));
  fill(body,
    h("p", { class: "muted" }, t("province.shares", { p: s.person, t: s.team_leader, s: s.section_head, l: s.leadership })),
    report.people.length === 0 ? h("p", { class: "empty" }, t("province.no_ledger")) : null,
    h("div", { class: "cols" },
      h("section", { class: "card" }, h("h2", {}, t("province.ledger_people")),
        h("table", { class: "scores", id: "ledger-people" }, h("tbody", {}, report.people.map((p) => h("tr", { dataset: { user: p.user_id } },
          h("td", {}, h("strong", {}, p.display_name), h("small", {}, p.username)),
          h("td", { class: "points" }, String(p.points)),
          h("td", {}, lines(p.lines))))))),
      h("section", { class: "card" }, h("h2", {}, t("province.ledger_units")),
        h("table", { class: "scores", id: "ledger-units" }, h("tbody", {}, report.units.map((u) => h("tr", { dataset: { unit: u.code } },
          h("td", {}, h("strong", {}, u.name), h("small", {}, u.code)),
          h("td", { class: "points" }, String(u.points)),
          h("td", {}, lines(u.lines)))))))));
}
