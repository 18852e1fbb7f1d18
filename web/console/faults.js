// Network faults above the board: the open ones with their calls, area and promised
// restoration, and the dispatcher's actions on them. Their linked calls leave the board's
// rows (a storm of hundreds would bury the ordinary repairs) unless asked for.

import { h, fill, dialog, toast } from "/assets/console/dom.js";
import { t, when } from "/assets/console/i18n.js";
import { get, post } from "/assets/console/api.js";
import * as store from "/assets/console/store.js";
import { now } from "/assets/console/clocks.js";

/** Mounts the strip into `root`; `onShow(faultId | null)` filters the board to a fault's calls. */
export function strip(root, { user, onShow }) {
  const canAct = ["dispatcher", "admin"].includes(user.role);
  let faults = [];
  let showing = null;
  let queued = false;

  async function load() {
    try {
      faults = (await get("/network-faults")).items;
    } catch (e) {
      faults = [];
    }
    // A fault restored or dismissed meanwhile: back to the whole board.
    if (showing && !faults.some((f) => f.id === showing)) {
      showing = null;
      onShow(null);
    }
    draw();
  }

  async function act(f, path, body = {}) {
    try {
      await post(`/network-faults/${encodeURIComponent(f.id)}/${path}`, body);
      toast(t(`fault.done.${path}`));
    } catch (e) {
      toast(t("error", { m: e.message }), "error");
    }
    // The linked calls' changes reach the board through its stream.
    await load();
  }

  async function estimate(f) {
    const at = await dialog(t("fault.estimate_title", { title: f.title }), (close) => {
      const input = h("input", { type: "datetime-local", id: "fault-estimate", required: true });
      return h("form", { onsubmit: (e) => { e.preventDefault(); close(input.value); } },
        h("label", {}, t("fault.estimate_at"), input),
        h("button", { type: "submit" }, t("fault.estimate")));
    });
    if (at) await act(f, "estimate", { estimate_at: new Date(at).toISOString() });
  }

  /** A known outage or planned maintenance over a district, opened by hand. */
  async function open() {
    const body = await dialog(t("fault.open_title"), (close) => {
      const cause = h("select", { name: "cause", id: "fault-cause" },
        ["reported", "planned"].map((c) => h("option", { value: c }, t(`fault.cause.${c}`))));
      const title = h("input", { name: "title", id: "fault-title", required: true, maxlength: "200" });
      const district = h("select", { name: "district", id: "fault-district", required: true },
        [...store.districts.values()].sort((a, b) => (a.code < b.code ? -1 : 1))
          .map((d) => h("option", { value: d.id }, `${d.code} ${d.name}`)));
      const until = h("input", { type: "datetime-local", id: "fault-until" });
      return h("form", { id: "fault-open-form", onsubmit: (e) => {
        e.preventDefault();
        const b = { cause: cause.value, title: title.value.trim(), district_id: district.value };
        if (until.value) b.estimate_at = new Date(until.value).toISOString();
        close(b);
      } },
        h("label", {}, t("fault.cause"), cause),
        h("label", {}, t("fault.title"), title),
        h("label", {}, t("fault.district"), district),
        h("label", {}, t("fault.until"), until),
        h("button", { type: "submit" }, t("fault.open")));
    });
    if (!body) return;
    try {
      const made = await post("/network-faults", body);
      toast(t("fault.opened", { n: made.tickets }));
    } catch (e) {
      toast(t("error", { m: e.message }), "error");
    }
    await load();
  }

  /** Gives the fault to a crew: its lead, one of the region's technicians (on duty first). */
  async function crew(f) {
    const people = [...store.staff.values()]
      .filter((p) => p.role === "technician" && p.region_ids.includes(f.region_id))
      .sort((a, b) => (b.on_duty - a.on_duty) || a.open_tickets - b.open_tickets);
    const lead = await dialog(t("fault.crew_title", { title: f.title }), (close) =>
      h("ol", { class: "suggestions", id: "crew-choices" }, people.map((p) => h("li", {},
        h("button", { class: "suggestion", dataset: { user: p.id }, onclick: () => close(p) },
          h("strong", {}, p.display_name || p.username),
          h("span", {}, p.on_duty ? t("fault.on_duty") : t("fault.off_duty")),
          h("span", {}, t("assign.open", { n: p.open_tickets })))))));
    if (lead) await act(f, "crew", { lead_id: lead.id });
  }

  function crewLine(f) {
    if (!f.crew) return null;
    const who = store.staffName(f.crew.lead_id);
    const state = f.crew.outcome ? t(`fault.crew_${f.crew.outcome}`) : t("fault.crew_waiting", { at: when(f.crew.ack_due_at) });
    return h("span", { class: `crew ${f.crew.outcome || "waiting"}` }, t("fault.crew_line", { who, state }));
  }

  function card(f) {
    const late = !f.restored_at && Date.parse(f.promised_at) < now();
    return h("li", { class: `fault ${f.status}${late ? " late" : ""}`, dataset: { id: f.id } },
      h("strong", {}, t(`fault.status.${f.status}`)),
      h("span", { class: "title" }, f.title),
      h("span", { class: "calls" }, t("fault.calls", { n: f.calls })),
      h("span", {}, f.district_id ? store.districtName(f.district_id) : ""),
      crewLine(f),
      h("small", {}, t("fault.promised", { at: when(f.estimate_at || f.promised_at) })),
      h("button", { class: "small ghost show", onclick: () => { showing = showing === f.id ? null : f.id; onShow(showing); draw(); } },
        t(showing === f.id ? "fault.hide_calls" : "fault.show_calls")),
      canAct && f.status === "suspected" ? h("button", { class: "small confirm", onclick: () => act(f, "confirm") }, t("fault.confirm")) : null,
      canAct ? h("button", { class: "small ghost crew", onclick: () => crew(f) }, t("fault.crew")) : null,
      canAct ? h("button", { class: "small ghost estimate", onclick: () => estimate(f) }, t("fault.estimate")) : null,
      canAct ? h("button", { class: "small restore", onclick: () => act(f, "restore") }, t("fault.restore")) : null,
      canAct ? h("button", { class: "small ghost dismiss", onclick: () => act(f, "dismiss") }, t("fault.dismiss")) : null);
  }

  function draw() {
    root.hidden = faults.length === 0;
    fill(root, h("ul", { class: "faults", id: "faults" }, faults.map(card)));
  }

  // Every change to a fault shows on the board's stream (its calls linked, resolved, routed
  // again): look again soon after the board changes, and only then.
  function changed() {
    if (queued) return;
    queued = true;
    setTimeout(() => { queued = false; load(); }, 1000);
  }

  const unsubscribe = store.subscribe(changed);
  load();
  return {
    open,
    unmount() {
      unsubscribe();
    },
  };
}
