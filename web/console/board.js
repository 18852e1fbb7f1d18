// The dispatcher's board: every open ticket of the caller's regions, most urgent first, each
// with the clock of the stage it is racing and every seed stage's state; live.

import { h, fill, dialog, toast } from "/assets/console/dom.js";
import { t, span } from "/assets/console/i18n.js";
import { post, get } from "/assets/console/api.js";
import * as clocks from "/assets/console/clocks.js";
import * as store from "/assets/console/store.js";
import { strip } from "/assets/console/faults.js";

const SOON = 5 * 60_000;

export function mount(root, { user, go }) {
  const canAssign = ["dispatcher", "admin"].includes(user.role);
  // `fault`: the network fault whose linked calls are shown (none are, otherwise).
  const state = { q: "", region: "", status: "", flagged: false, queue: false, selected: null, fault: null };
  // Only the rows in view exist (plus a margin): a board of thousands stays as light as one of
  // fifty. Every row has the same height, so the scroll position says which rows are in view.
  const rows = new Map();
  let shown = [];
  let order = [];
  const search = h("input", { type: "search", id: "board-search", placeholder: t("board.search"), oninput: (e) => { state.q = e.target.value.trim().toLowerCase(); render(); } });
  const region = h("select", { id: "board-region", onchange: (e) => { state.region = e.target.value; render(); } },
    h("option", { value: "" }, t("board.all_regions")),
    [...store.regions.values()].map((r) => h("option", { value: r.id }, r.name)));
  const status = h("select", { id: "board-status", onchange: (e) => { state.status = e.target.value; render(); } },
    h("option", { value: "" }, t("board.all_status")),
    store.OPEN.map((s) => h("option", { value: s }, t(`status.${s}`))));
  const flagged = h("label", {}, h("input", { type: "checkbox", onchange: (e) => { state.flagged = e.target.checked; render(); } }), t("board.only_flagged"));
  const queue = h("label", {}, h("input", { type: "checkbox", onchange: (e) => { state.queue = e.target.checked; render(); } }), t("board.only_queue"));
  const count = h("span", { class: "count", id: "board-count" });
  const liveBadge = h("span", { class: "live", id: "board-live" });
  const tbody = h("tbody");
  const above = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: "7" }));
  const below = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: "7" }));
  const empty = h("p", { class: "empty", hidden: true }, t("board.empty"));
  const table = h("table", { class: "board", id: "board" },
    h("thead", {}, h("tr", {},
      ["clock", "ticket", "customer", "district", "assignee", "stages", "flags"].map((c) => h("th", { class: `c-${c}` }, t(`col.${c}`))))),
    tbody);
  const faultBox = h("div", { class: "fault-strip", id: "fault-strip", hidden: true });
  const faults = strip(faultBox, { user, onShow: (id) => { state.fault = id; render(); } });
  const openFault = canAssign ? h("button", { class: "small ghost", id: "fault-open", onclick: () => faults.open() }, t("fault.open")) : null;
  fill(root,
    faultBox,
    h("div", { class: "toolbar" }, search, region, status, flagged, queue, openFault, count, liveBadge),
    table,
    empty);

  function matches(tk) {
    if ((tk.network_fault_id || null) !== state.fault) return false;
    if (state.region && tk.region_id !== state.region) return false;
    if (state.status && tk.status !== state.status) return false;
    if (state.flagged && !(tk.flagged || tk.escalation_level > 0)) return false;
    if (state.queue && tk.assignee_id) return false;
    if (!state.q) return true;
    const hay = [tk.customer.name, tk.customer.phone, tk.address, tk.external_ref || "", tk.id,
      store.staffName(tk.assignee_id), store.districtName(tk.district_id)].join(" ").toLowerCase();
    return hay.includes(state.q);
  }

  function row(tk) {
    let tr = rows.get(tk.id);
    if (!tr) {
      tr = h("tr", { dataset: { id: tk.id }, tabindex: "-1",
        onclick: () => select(tk.id),
        ondblclick: () => go(`#/tickets/${tk.id}`) });
      rows.set(tk.id, tr);
    }
    tr.ticket = tk;
    const cur = clocks.current(tk);
    const flags = clocks.flags(tk);
    fill(tr,
      h("td", { class: "c-clock" }, h("span", { class: "clock" }),
        h("small", {}, tk.network_fault_id ? t("fault.with_fault") : cur ? t(`stage.${cur.stage}`) : "")),
      h("td", { class: "c-ticket" },
        h("a", { href: `#/tickets/${tk.id}` }, store.ticketRef(tk)),
        h("small", {}, `${t(`kind.${tk.kind}`)} · ${t(`status.${tk.status}`)}`)),
      h("td", { class: "c-customer" }, h("span", {}, tk.customer.name), h("small", {}, tk.customer.phone), h("small", { class: "addr" }, tk.address)),
      h("td", { class: "c-district" }, store.districtName(tk.district_id)),
      h("td", { class: "c-assignee" },
        tk.assignee_id ? h("span", {}, store.staffName(tk.assignee_id))
          : tk.network_fault_id ? h("span", { class: "linked" }, t("fault.linked"))
          : h("span", { class: "queue" }, t("unassigned")),
        canAssign ? h("button", { class: "small assign", onclick: (e) => { e.stopPropagation(); assign(tk.id); } }, t("assign.button")) : null),
      h("td", { class: "c-stages" }, clocks.stages(tk).map((s) => h("span", { class: `stage ${s.outcome || (s.due ? "running" : "idle")}`, dataset: { stage: s.stage, due: s.due || "" } }, t(`stage.${s.stage}`)))),
      h("td", { class: "c-flags" }, flags.map((f) => h("span", { class: `flag ${f.kind}`, title: f.title || null }, t(f.key, { n: f.n })))));
    tr.classList.toggle("queue", !tk.assignee_id && !tk.network_fault_id);
    tr.classList.toggle("selected", state.selected === tk.id);
    tick(tr);
    return tr;
  }

  // The countdown of one row, by the server's clock.
  function tick(tr) {
    const tk = tr.ticket;
    if (!tk) return;
    const ms = clocks.left(tk);
    const el = tr.firstChild && tr.firstChild.firstChild;
    if (!el) return;
    if (ms === Infinity) el.textContent = "—";
    else el.textContent = ms < 0 ? t("overdue", { t: span(ms / 1000) }) : span(ms / 1000);
    tr.classList.toggle("overdue", ms < 0);
    tr.classList.toggle("soon", ms >= 0 && ms < SOON);
    for (const chip of tr.querySelectorAll(".stage.running")) {
      const due = Number(chip.dataset.due);
      chip.classList.toggle("late-now", due && due < clocks.now());
    }
  }

  // Filters and sorts; then draws the rows in view. `changed`: the tickets to rebuild (null: all).
  function render(changed = null) {
    if (!store.isLoaded()) {
      count.textContent = t("board.loading");
      return;
    }
    const all = [...store.tickets.values()];
    shown = all.filter(matches).sort(clocks.urgency);
    order = shown.map((x) => x.id);
    for (const id of changed === null ? [...rows.keys()] : changed) {
      const tr = rows.get(id);
      if (tr) {
        tr.remove();
        rows.delete(id);
      }
    }
    const linked = state.fault ? 0 : all.filter((x) => x.network_fault_id).length;
    count.textContent = t(linked ? "board.count_linked" : "board.count", { shown: shown.length, total: all.length, linked });
    table.dataset.shown = String(shown.length);
    empty.hidden = shown.length > 0;
    liveBadge.textContent = t(`live.${store.live()}`);
    liveBadge.className = `live ${store.live()}`;
    draw();
    // For the measurements of the first render (BENCHMARKS.md).
    if (!performance.getEntriesByName("board-rendered").length) performance.mark("board-rendered");
  }

  const ROW = 64;
  const MARGIN = 10;
  let drawQueued = false;
  // The rows in view, in order, between two spacers standing for the rest.
  function draw() {
    const top = table.getBoundingClientRect().top + window.scrollY + table.tHead.offsetHeight;
    const first = Math.max(0, Math.floor((window.scrollY + 48 - top) / ROW) - MARGIN);
    const last = Math.min(shown.length, first + Math.ceil(window.innerHeight / ROW) + 2 * MARGIN);
    const want = shown.slice(first, last);
    const keep = new Set(want.map((x) => x.id));
    for (const [id, tr] of rows) {
      if (!keep.has(id)) {
        tr.remove();
        rows.delete(id);
      }
    }
    above.style.height = `${first * ROW}px`;
    below.style.height = `${(shown.length - last) * ROW}px`;
    if (!above.parentNode) tbody.prepend(above);
    let at = above.nextSibling;
    for (const tk of want) {
      const tr = rows.get(tk.id) || row(tk);
      if (tr !== at) tbody.insertBefore(tr, at);
      else at = at.nextSibling;
    }
    tbody.append(below);
  }
  function scrolled() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      draw();
    });
  }
  window.addEventListener("scroll", scrolled, { passive: true });
  window.addEventListener("resize", scrolled);

  function select(id) {
    state.selected = id;
    for (const tr of tbody.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    const i = order.indexOf(id);
    if (i < 0) return;
    // Into view first (the row may not exist yet), then marked.
    const top = table.getBoundingClientRect().top + window.scrollY + table.tHead.offsetHeight + i * ROW;
    if (top < window.scrollY + 48) window.scrollTo(0, top - 48);
    else if (top + ROW > window.scrollY + window.innerHeight) window.scrollTo(0, top + ROW - window.innerHeight);
    draw();
    const tr = rows.get(id);
    if (tr) tr.classList.add("selected");
  }

  function move(by) {
    if (!order.length) return;
    const i = order.indexOf(state.selected);
    const next = i < 0 ? 0 : Math.min(order.length - 1, Math.max(0, i + by));
    select(order[next]);
  }

  async function assign(id) {
    const tk = store.tickets.get(id);
    if (tk && (await assignTicket(tk))) await store.reload(id);
  }

  const timer = setInterval(() => rows.forEach(tick), 1000);
  const unsubscribe = store.subscribe(render);
  render();

  return {
    unmount() {
      clearInterval(timer);
      unsubscribe();
      faults.unmount();
      window.removeEventListener("scroll", scrolled);
      window.removeEventListener("resize", scrolled);
    },
    keys: {
      "/": () => search.focus(),
      j: () => move(1),
      k: () => move(-1),
      Enter: () => state.selected && go(`#/tickets/${state.selected}`),
      a: () => canAssign && state.selected && assign(state.selected),
    },
  };
}

/** The on-duty technicians of the ticket's region, as routing ranks them, in a dialog; resolves
 * to the one picked (click, or 1-9), or null. */
export async function pickTechnician(tk) {
  let list;
  try {
    list = (await get(`/tickets/${encodeURIComponent(tk.id)}/suggestions`)).items;
  } catch (e) {
    toast(t("error", { m: e.message }), "error");
    return null;
  }
  return dialog(t("assign.title", { ref: store.ticketRef(tk) }), (close) => {
    if (!list.length) return h("p", { class: "empty" }, t("assign.none"));
    const onKey = (e) => {
      const n = Number(e.key);
      if (n >= 1 && n <= list.length && !list[n - 1].holder) close(list[n - 1]);
    };
    const ol = h("ol", { class: "suggestions", id: "suggestions", tabindex: "0", onkeydown: onKey },
      list.map((s, i) => h("li", {},
        h("button", { class: "suggestion", dataset: { user: s.user_id }, onclick: () => close(s), disabled: s.holder },
          h("kbd", {}, String(i + 1)),
          h("strong", {}, s.display_name || s.username),
          h("span", {}, s.distance_m === null ? t("assign.no_position") : t("assign.distance", { d: (s.distance_m / 1000).toFixed(1) })),
          h("span", {}, t("assign.open", { n: s.open_tickets })),
          s.holder ? h("em", {}, t("assign.holder")) : null))));
    setTimeout(() => ol.focus(), 0);
    return ol;
  });
}

/** Gives `tk` to a technician the dispatcher picks among the suggestions; answers whether it
 * was given (a refusal is shown). */
export async function assignTicket(tk) {
  const chosen = await pickTechnician(tk);
  if (!chosen) return false;
  try {
    await post(`/tickets/${encodeURIComponent(tk.id)}/assign`, { assignee_id: chosen.user_id });
    toast(t("assign.done", { name: chosen.display_name || chosen.username }));
    return true;
  } catch (e) {
    toast(t("error", { m: e.message }), "error");
    return false;
  }
}
