// Administration: users, API keys, the GeoJSON district import (which feature failed and why),
// rotas and the on-duty calendar of a region, and region policies. Each tab for the roles the
// server allows it.

import { h, fill, toast } from "/assets/console/dom.js";
import { t, when } from "/assets/console/i18n.js";
import { get, post, call } from "/assets/console/api.js";
import * as store from "/assets/console/store.js";

const ROLES = ["technician", "account_manager", "dispatcher", "agent", "manager", "admin"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const TABS = [
  { key: "users", roles: ["admin"], mount: users },
  { key: "keys", roles: ["admin"], mount: keys },
  { key: "import", roles: ["admin"], mount: importer },
  { key: "duty", roles: ["admin", "manager", "dispatcher"], mount: duty },
  { key: "policies", roles: ["admin", "manager"], mount: policies },
];

export const ADMIN_ROLES = ["admin", "manager", "dispatcher"];

export function mount(root, { user, query, go }) {
  const tabs = TABS.filter((x) => x.roles.includes(user.role));
  const current = tabs.find((x) => x.key === query.get("tab")) || tabs[0];
  const body = h("div", { id: "admin-body" });
  fill(root,
    h("div", { class: "toolbar" }, h("strong", {}, t("nav.admin")),
      h("div", { class: "tabs" }, tabs.map((x) => h("button", { class: x === current ? "tab active" : "tab", dataset: { tab: x.key }, onclick: () => go(`#/admin?tab=${x.key}`) }, t(`admin.${x.key}`))))),
    body);
  current.mount(body, user);
  return {};
}

/** A form's fields as an object of trimmed, non-empty strings. */
function values(form) {
  const out = {};
  for (const [k, v] of new FormData(form)) if (String(v).trim()) out[k] = String(v).trim();
  return out;
}

const problem = (x) => (x.field ? `${x.field}: ${x.message}` : x.message);

function regionChecks(name, selected = []) {
  return h("span", { class: "checks" }, [...store.regions.values()].map((r) =>
    h("label", {}, h("input", { type: "checkbox", name, value: r.id, checked: selected.includes(r.id) }), r.name)));
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

async function users(root) {
  const err = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "card row-form", id: "user-form", onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const v = values(form);
    const body = { username: v.username, display_name: v.display_name, role: v.role, password: v.password, region_ids: checked(form, "region_ids") };
    if (v.phone) body.phone = v.phone;
    try {
      await post("/admin/users", body);
      form.reset();
      store.refreshStaff();
      toast(t("admin.saved"));
      list();
    } catch (x) {
      err.textContent = problem(x);
    }
  } },
  h("h2", {}, t("admin.new_user")),
  h("div", { class: "row" },
    h("label", {}, t("signin.username"), h("input", { name: "username", required: true, autocomplete: "off" })),
    h("label", {}, t("admin.display_name"), h("input", { name: "display_name", required: true })),
    h("label", {}, t("admin.role"), h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r }, t(`role.${r}`))))),
    h("label", {}, t("intake.phone"), h("input", { name: "phone", inputmode: "tel" })),
    h("label", {}, t("signin.password"), h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" }))),
  regionChecks("region_ids"),
  h("button", { type: "submit" }, t("admin.create")), err);
  const table = h("div", { id: "users" });
  fill(root, form, table);

  async function list() {
    const items = (await get("/admin/users")).items;
    fill(table, h("table", { class: "scores" },
      h("thead", {}, h("tr", {}, ["signin.username", "admin.display_name", "admin.role", "intake.phone", "admin.regions", "admin.active"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, items.map((u) => h("tr", { dataset: { user: u.id } },
        h("td", {}, u.username), h("td", {}, u.display_name), h("td", {}, t(`role.${u.role}`)), h("td", {}, u.phone || ""),
        h("td", {}, u.region_ids.map((r) => (store.regions.get(r) || {}).name || r).join("、")),
        h("td", {}, h("input", { type: "checkbox", checked: u.active, "aria-label": t("admin.active"), onchange: async (e) => {
          try {
            await call("PATCH", `/admin/users/${u.id}`, { active: e.target.checked });
            toast(t("admin.saved"));
          } catch (x) {
            e.target.checked = !e.target.checked;
            toast(problem(x), "error");
          }
        } })))))));
  }
  list();
}

async function keys(root) {
  const err = h("p", { class: "error", role: "alert" });
  const secret = h("div", { class: "warning", id: "key-secret", hidden: true });
  const form = h("form", { class: "card row-form", id: "key-form", onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const v = values(form);
    const body = { name: v.name, purpose: v.purpose };
    const rs = checked(form, "region_ids");
    if (rs.length) body.region_ids = rs;
    if (v.expires) body.expires_at = new Date(`${v.expires}T23:59:59+08:00`).toISOString();
    try {
      const k = await post("/admin/api-keys", body);
      secret.hidden = false;
      fill(secret, h("strong", {}, t("admin.key_once")), h("code", { id: "key-value" }, k.key));
      form.reset();
      list();
    } catch (x) {
      err.textContent = problem(x);
    }
  } },
  h("h2", {}, t("admin.new_key")),
  h("div", { class: "row" },
    h("label", {}, t("admin.key_name"), h("input", { name: "name", required: true })),
    h("label", {}, t("admin.purpose"), h("select", { name: "purpose" }, h("option", { value: "intake" }, t("admin.purpose_intake")), h("option", { value: "complaints" }, t("admin.purpose_complaints")))),
    h("label", {}, t("admin.expires"), h("input", { name: "expires", type: "date" }))),
  regionChecks("region_ids"),
  h("button", { type: "submit" }, t("admin.create")), err);
  const table = h("div", { id: "keys" });
  fill(root, form, secret, table);

  async function list() {
    const items = (await get("/admin/api-keys")).items;
    fill(table, h("table", { class: "scores" },
      h("thead", {}, h("tr", {}, ["admin.key_name", "admin.prefix", "admin.purpose", "admin.regions", "admin.last_used", "admin.expires", ""].map((k) => h("th", {}, k ? t(k) : "")))),
      h("tbody", {}, items.map((k) => h("tr", { dataset: { key: k.id }, class: k.revoked_at ? "revoked" : "" },
        h("td", {}, k.name), h("td", {}, h("code", {}, k.prefix)), h("td", {}, t(`admin.purpose_${k.purpose}`)),
        h("td", {}, k.region_ids ? k.region_ids.map((r) => (store.regions.get(r) || {}).name || r).join("、") : t("board.all_regions")),
        h("td", {}, k.last_used_at ? when(k.last_used_at) : "—"),
        h("td", {}, k.expires_at ? when(k.expires_at) : "—"),
        h("td", {}, k.revoked_at ? t("admin.revoked") : h("button", { class: "small", onclick: async () => {
          try {
            await call("DELETE", `/admin/api-keys/${k.id}`);
            list();
          } catch (x) {
            toast(problem(x), "error");
          }
        } }, t("admin.revoke"))))))));
  }
  list();
}

async function importer(root) {
  const out = h("div", { id: "import-result" });
  const file = h("input", { type: "file", name: "file", accept: ".geojson,.json,application/geo+json,application/json", required: true });
  const form = h("form", { class: "card row-form", id: "import-form", onsubmit: async (e) => {
    e.preventDefault();
    fill(out);
    const v = values(form);
    let body;
    try {
      body = JSON.parse(await file.files[0].text());
    } catch (x) {
      fill(out, h("p", { class: "error" }, t("admin.not_json", { m: x.message })));
      return;
    }
    const q = new URLSearchParams({ crs: v.crs || "wgs84" });
    if (form.elements.replace.checked) q.set("replace", "true");
    try {
      const r = await post(`/districts/import?${q}`, body);
      fill(out, h("div", { class: "card ok" }, h("strong", {}, t("admin.imported")),
        h("p", {}, t("admin.created", { n: r.created.length }), " ", r.created.join("、")),
        h("p", {}, t("admin.replaced", { n: r.replaced.length }), " ", r.replaced.join("、")),
        r.regions_created.length ? h("p", {}, t("admin.regions_created", { n: r.regions_created.length })) : null));
      const ds = await get("/districts");
      ds.items.forEach((d) => store.districts.set(d.id, d));
    } catch (x) {
      // Which feature failed and why: the server names it in `field` (features[3].properties.code).
      const feature = x.field && x.field.match(/^features\[(\d+)\]/);
      fill(out, h("div", { class: "card failed", id: "import-error" },
        h("strong", {}, feature ? t("admin.feature_failed", { n: Number(feature[1]) + 1 }) : t("admin.import_failed")),
        x.field ? h("p", {}, h("code", {}, x.field)) : null,
        h("p", {}, x.message),
        feature && Array.isArray(body.features) && body.features[Number(feature[1])]
          ? h("pre", {}, JSON.stringify(body.features[Number(feature[1])].properties || {}, null, 1)) : null));
    }
  } },
  h("h2", {}, t("admin.import_title")),
  h("p", { class: "muted" }, t("admin.import_help")),
  h("div", { class: "row" }, file,
    h("label", {}, t("intake.crs"), h("select", { name: "crs" }, h("option", { value: "wgs84" }, "WGS-84"), h("option", { value: "gcj02" }, "GCJ-02"))),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "replace" }), t("admin.replace"))),
  h("button", { type: "submit" }, t("admin.import")));
  fill(root, form, out);
}

async function duty(root, user) {
  const regionSel = h("select", { id: "duty-region", onchange: () => load() }, [...store.regions.values()].map((r) => h("option", { value: r.id }, r.name)));
  const onDuty = h("div", { id: "on-duty" });
  const table = h("div", { id: "rotations" });
  const err = h("p", { class: "error", role: "alert" });
  const canEdit = ["admin", "manager", "dispatcher"].includes(user.role);
  const people = () => [...store.staff.values()].filter((p) => p.region_ids.includes(regionSel.value) && ["technician", "account_manager"].includes(p.role));
  const personSel = h("select", { name: "user_id" });
  const form = h("form", { class: "card row-form", id: "rotation-form", onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const v = values(form);
    const p = store.staff.get(v.user_id);
    const weekdays = checked(form, "weekdays").map(Number);
    try {
      await post(`/regions/${regionSel.value}/duty/rotations`, { user_id: v.user_id, role: p ? p.role : "technician", weekdays, start: v.start, end: v.end });
      toast(t("admin.saved"));
      load();
    } catch (x) {
      err.textContent = problem(x);
    }
  } },
  h("h2", {}, t("admin.new_rotation")),
  h("div", { class: "row" },
    h("label", {}, t("admin.person"), personSel),
    h("span", { class: "checks" }, DAYS.map((d, i) => h("label", {}, h("input", { type: "checkbox", name: "weekdays", value: String(i + 1) }), t(`day.${d}`)))),
    h("label", {}, t("admin.start"), h("input", { name: "start", type: "time", required: true, value: "08:00" })),
    h("label", {}, t("admin.end"), h("input", { name: "end", type: "time", required: true, value: "20:00" }))),
  h("button", { type: "submit" }, t("admin.create")), err);
  fill(root, h("div", { class: "toolbar" }, h("label", { class: "inline" }, t("scores.region"), regionSel)), onDuty, canEdit ? form : null, table);

  async function load() {
    // Staff may have changed since sign-in (a user just created, say).
    await store.refreshStaff();
    fill(personSel, people().map((p) => h("option", { value: p.id }, `${p.display_name || p.username} · ${t(`role.${p.role}`)}`)));
    const [now, rot] = await Promise.all([get(`/regions/${regionSel.value}/on-duty`), get(`/regions/${regionSel.value}/duty/rotations`)]);
    fill(onDuty, h("div", { class: "card" }, h("h2", {}, t("admin.on_duty_now")),
      now.on_duty.length ? h("ul", { class: "people" }, now.on_duty.map((p) => h("li", {}, `${p.display_name} · ${t(`role.${p.duty_role}`)}`))) : h("p", { class: "error" }, t("flag.nobody"))));
    // The week as a calendar: one column per weekday, each rota a block in it.
    const byDay = DAYS.map((_, i) => rot.items.filter((r) => r.weekday === i + 1).sort((a, b) => a.start.localeCompare(b.start)));
    fill(table, h("div", { class: "week", id: "duty-week" }, DAYS.map((d, i) => h("div", { class: "day" },
      h("h3", {}, t(`day.${d}`)),
      byDay[i].map((r) => h("div", { class: `shift ${r.role}`, dataset: { rotation: r.id } },
        h("strong", {}, `${r.start}–${r.end}`), h("span", {}, store.staffName(r.user_id)),
        canEdit ? h("button", { class: "ghost small", title: t("admin.delete"), onclick: async () => {
          try {
            await call("DELETE", `/regions/${regionSel.value}/duty/rotations/${r.id}`);
            load();
          } catch (x) {
            toast(problem(x), "error");
          }
        } }, "×") : null))))));
  }
  load();
}

async function policies(root) {
  const regionSel = h("select", { id: "policy-region", onchange: () => load() }, [...store.regions.values()].map((r) => h("option", { value: r.id }, r.name)));
  const box = h("div", { id: "policies" });
  fill(root, h("div", { class: "toolbar" }, h("label", { class: "inline" }, t("scores.region"), regionSel)), box);

  async function load() {
    const p = await get(`/regions/${regionSel.value}/policies`);
    fill(box, ["repair", "install"].map((kind) => {
      const cur = p.items.find((x) => x.kind === kind) || {};
      const err = h("p", { class: "error", role: "alert" });
      const cal = h("textarea", { name: "calendar", rows: 4, placeholder: JSON.stringify({ hours: { mon: ["08:30", "17:30"] }, holidays: [] }) }, cur.calendar ? JSON.stringify(cur.calendar) : "");
      const form = h("form", { class: "card row-form", dataset: { kind, updated: cur.updated_at || "" }, onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        const v = values(form);
        let calendar = null;
        try {
          calendar = v.calendar ? JSON.parse(v.calendar) : null;
        } catch (x) {
          err.textContent = `calendar: ${x.message}`;
          return;
        }
        const body = {
          promise_hours: v.promise_hours ? Number(v.promise_hours) : null,
          calendar,
          photo_required_for: (v.photo_required_for || "").split(/[,，\s]+/).filter(Boolean),
        };
        try {
          await call("PUT", `/regions/${regionSel.value}/policies/${kind}`, body);
          toast(t("admin.saved"));
          load();
        } catch (x) {
          err.textContent = problem(x);
        }
      } },
      h("h2", {}, t(`kind.${kind}`)),
      h("div", { class: "row" },
        h("label", {}, t("admin.promise_hours", { d: p.defaults[kind] && p.defaults[kind].promise_hours }), h("input", { name: "promise_hours", type: "number", min: "1", step: "0.5", value: cur.promise_hours ?? "" })),
        h("label", {}, t("admin.photo_required"), h("input", { name: "photo_required_for", value: (cur.photo_required_for || []).join(", ") }))),
      h("label", {}, t("admin.calendar"), cal),
      h("button", { type: "submit" }, t("admin.save")), err);
      return form;
    }));
    box.dataset.region = regionSel.value;
  }
  load();
}
