// The technicians' phone app: my jobs, most urgent first, with their countdowns; acknowledge,
// check in, resolve (photos, the customer's signature) and ask for a postponement, online or
// not. Every action is queued on the phone with its action id and the time it was taken, and
// sent (POST /me/sync) whenever there is signal; the server applies each once.

import { h, fill, toast } from "/assets/console/dom.js";
import { t, addWords, span, when } from "/assets/console/i18n.js";
import * as api from "/assets/console/api.js";
import * as clocks from "/assets/console/clocks.js";
import * as db from "/assets/app/db.js";
import { navigationLinks } from "/assets/app/geo.js";
import { WORDS } from "/assets/app/words.js";
import { signInForm } from "/assets/console/signin.js";

addWords(WORDS);
api.useStorage(localStorage);

const view = document.getElementById("view");
const bar = document.getElementById("status");
const CODES = ["fixed", "replaced_device", "line_repaired", "reconfigured", "customer_side", "no_fault_found"];
const OPEN = ["dispatched", "acknowledged", "on_site", "postponed"];

let me = null;
let jobs = [];
let version = null;
let route = { name: "list" };
let syncing = false;
let stopStream = null;
let online = navigator.onLine;
const notes = []; // conflicts and refusals the technician has not dismissed yet

// ---- the list, kept on the phone ------------------------------------------------------------

async function loadKept() {
  jobs = (await db.get("jobs")) || [];
  version = (await db.get("version")) ?? null;
  jobs.forEach(clocks.learn);
}

async function keep() {
  await db.put("jobs", jobs);
  await db.put("version", version);
}

/** Brings the list up to date: only what changed since the version kept, when there is one. */
async function refresh() {
  if (!online) return;
  try {
    if (version === null) {
      const list = await api.get("/me/tickets");
      jobs = list.items;
      version = list.version;
    } else {
      const d = await api.get(`/me/changes?since=${encodeURIComponent(version)}`);
      if (d.reset) jobs = d.changed;
      else {
        const gone = new Set(d.removed.map((r) => r.ticket_id));
        const fresh = new Map(d.changed.map((x) => [x.id, x]));
        jobs = jobs.filter((j) => !gone.has(j.id) && !fresh.has(j.id)).concat(d.changed);
      }
      version = d.version;
    }
    jobs = jobs.filter((j) => OPEN.includes(j.status));
    jobs.forEach(clocks.learn);
    await keep();
    render();
  } catch (e) {
    if (e instanceof TypeError) setOnline(false);
  }
}

// ---- the queue ------------------------------------------------------------------------------

function actionId() {
  return crypto.randomUUID();
}

/** Queues an action taken now and shows its effect at once; sends it when there is signal. */
async function act(type, ticket, fields, effect) {
  await db.enqueue({ type, action_id: actionId(), ticket_id: ticket.id, device_at: new Date().toISOString(), fields, state: "waiting", label: t(`act.${type}`), ref: ticket.external_ref || ticket.id.slice(-6) });
  if (effect) {
    Object.assign(ticket, effect);
    await keep();
  }
  render();
  sync();
}

async function queuePhotos(ticket, files, signature) {
  const parts = files.map((f) => ({ name: "photo", blob: f, filename: f.name || "photo.jpg" }));
  if (signature) parts.push({ name: "signature", blob: signature, filename: "signature.png" });
  if (!parts.length) return;
  await db.enqueue({ type: "photos", action_id: actionId(), ticket_id: ticket.id, device_at: new Date().toISOString(), parts, state: "waiting", label: t("act.photos", { n: parts.length }), ref: ticket.external_ref || ticket.id.slice(-6) });
}

function wire(a) {
  return { type: a.type, action_id: a.action_id, ticket_id: a.ticket_id, device_at: a.device_at, ...a.fields };
}

/** Sends what is waiting, oldest first: photos on their own (before the resolve that needs
 * them), the other actions in batches. Stops at the first network failure and tries again. */
async function sync() {
  if (syncing || !online || !api.user()) return;
  syncing = true;
  try {
    for (;;) {
      const waiting = (await db.queued()).filter((a) => a.state === "waiting");
      if (!waiting.length) break;
      if (waiting[0].type === "photos") {
        await upload(waiting[0]);
        continue;
      }
      const batch = [];
      for (const a of waiting) {
        if (a.type === "photos" || batch.length === 100) break;
        batch.push(a);
      }
      const answer = await api.post("/me/sync", { actions: batch.map(wire) });
      for (const [i, r] of answer.results.entries()) await settle(batch[i], r);
    }
    await flushFixes();
    await refresh();
  } catch (e) {
    if (e instanceof TypeError) setOnline(false);
    setTimeout(sync, 5000);
  } finally {
    syncing = false;
    render();
  }
}

async function settle(a, r) {
  if (r.outcome === "applied" || r.outcome === "duplicate") {
    await db.drop(a.seq);
    return;
  }
  const message = r.outcome === "conflict" ? conflictWords(r.conflict, a) : t("sync.rejected", { what: a.label, ref: a.ref, why: r.problem ? `${r.problem.field || ""} ${r.problem.detail || ""}` : "" });
  notes.push({ id: a.action_id, kind: r.outcome, text: message });
  await db.drop(a.seq);
}

function conflictWords(c, a) {
  const key = `conflict.${c.reason}`;
  return t(key, { ref: a.ref, name: c.assignee_name || "", what: a.label });
}

async function upload(a) {
  const form = new FormData();
  for (const p of a.parts) form.append(p.name, p.blob, p.filename);
  form.append("stage", "resolve");
  try {
    // Safe to send again: the server keeps each image once and answers a repeat as it was kept.
    await api.call("POST", `/tickets/${a.ticket_id}/photos`, form);
    await db.drop(a.seq);
  } catch (e) {
    if (e instanceof TypeError) throw e;
    notes.push({ id: a.action_id, kind: "rejected", text: t("sync.rejected", { what: a.label, ref: a.ref, why: e.message }) });
    await db.drop(a.seq);
  }
}

// ---- positions while a job is open ----------------------------------------------------------

let watch = null;
let fixes = [];

function follow() {
  const busy = jobs.some((j) => ["acknowledged", "on_site"].includes(j.status));
  if (busy && watch === null && navigator.geolocation) {
    watch = navigator.geolocation.watchPosition((p) => {
      fixes.push({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: Math.min(p.coords.accuracy, 100000), at: new Date(p.timestamp).toISOString() });
      db.put("fixes", fixes);
      if (fixes.length >= 20) flushFixes().catch(() => {});
    }, () => {}, { enableHighAccuracy: true, maximumAge: 30_000 });
  } else if (!busy && watch !== null) {
    navigator.geolocation.clearWatch(watch);
    watch = null;
  }
}

async function flushFixes() {
  if (!fixes.length || !online) return;
  const batch = fixes.slice(0, 500);
  await api.post("/me/positions", { fixes: batch });
  fixes = fixes.slice(batch.length);
  await db.put("fixes", fixes);
}

// ---- live ------------------------------------------------------------------------------------

function listen() {
  stopStream && stopStream();
  stopStream = api.stream("/me/stream", {
    onOpen: () => refresh(),
    onEvent: (e) => {
      if (e.event === "assigned" || e.event === "reassigned_to") alert();
      refresh();
    },
  });
}

let audio = null;
function alert() {
  navigator.vibrate && navigator.vibrate([200, 100, 200]);
  try {
    audio ??= new AudioContext();
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = 880;
    g.gain.value = 0.15;
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.25);
  } catch {
    // No sound without a tap first; the vibration and the list say it anyway.
  }
}

let probe = null;

function setOnline(v) {
  if (online === v) return;
  online = v;
  clearInterval(probe);
  if (v) {
    sync();
    listen();
  } else {
    // The phone may think it has signal while the server is out of reach (a captive portal,
    // a dead cell): ask the server itself every 15 s.
    probe = setInterval(() => {
      fetch("/healthz", { cache: "no-store" }).then((r) => r.ok && setOnline(true)).catch(() => {});
    }, 15_000);
  }
  render();
}

window.addEventListener("online", () => setOnline(true));
window.addEventListener("offline", () => setOnline(false));

// ---- screens ----------------------------------------------------------------------------------

async function render() {
  // Signed out: the sign-in form stays (a sync that failed with the session must not draw over it).
  if (!api.user()) return;
  const waiting = (await db.queued()).filter((a) => a.state === "waiting");
  fill(bar,
    h("span", { class: online ? "net on" : "net off", id: "net" }, online ? t("app.online") : t("app.offline")),
    waiting.length ? h("span", { class: "pending", id: "pending" }, t("app.pending", { n: waiting.length })) : h("span", { class: "synced", id: "pending" }, t("app.synced")));
  const box = h("div", { class: "notes", id: "notes" }, notes.map((n) =>
    h("div", { class: `note ${n.kind}`, dataset: { action: n.id } }, h("span", {}, n.text),
      h("button", { class: "ghost", "aria-label": t("close"), onclick: () => { notes.splice(notes.indexOf(n), 1); render(); } }, "×"))));
  if (route.name === "job") {
    const job = jobs.find((j) => j.id === route.id);
    if (!job) {
      route = { name: "list" };
      return render();
    }
    fill(view, box, jobScreen(job, waiting));
  } else fill(view, box, listScreen(waiting));
  follow();
}

function countdown(j) {
  const ms = clocks.left(j);
  if (ms === Infinity) return "";
  return ms < 0 ? t("overdue", { t: span(ms / 1000) }) : span(ms / 1000);
}

function listScreen(waiting) {
  const sorted = [...jobs].sort(clocks.urgency);
  // What was done here and has not reached the server yet, in the order it will be sent.
  const queue = waiting.length ? h("section", { class: "waiting", id: "waiting" }, h("h2", {}, t("app.pending", { n: waiting.length })),
    h("ol", {}, waiting.map((a) => h("li", { dataset: { action: a.action_id } }, h("strong", {}, a.label), ` · ${a.ref} · `, when(a.device_at))))) : null;
  if (!sorted.length) return [queue, h("p", { class: "empty" }, t("app.no_jobs"))];
  return [queue, h("ul", { class: "jobs", id: "jobs" }, sorted.map((j) => {
    const cur = clocks.current(j);
    const queued = waiting.filter((a) => a.ticket_id === j.id).length;
    return h("li", { class: `job ${clocks.left(j) < 0 ? "overdue" : ""}`, dataset: { id: j.id }, onclick: () => open(j.id) },
      h("div", { class: "top" }, h("strong", { class: "clock" }, countdown(j)), h("span", { class: "stage" }, cur ? t(`stage.${cur.stage}`) : ""),
        h("span", { class: "status" }, t(`status.${j.status}`)), queued ? h("span", { class: "queued" }, t("app.queued", { n: queued })) : null,
        j.network_fault_id ? h("span", { class: "fault" }, t("app.with_fault")) : null),
      h("div", { class: "who" }, j.customer.name, " · ", j.fault.category),
      h("div", { class: "addr" }, j.address),
      h("a", { class: "button small call", href: `tel:${j.customer.phone}`, onclick: (e) => e.stopPropagation() }, t("app.call")));
  }))];
}

function open(id) {
  route = { name: "job", id };
  history.pushState({ id }, "", `#/job/${id}`);
  render();
}

window.addEventListener("popstate", () => {
  const m = location.hash.match(/^#\/job\/(.+)$/);
  route = m ? { name: "job", id: m[1] } : { name: "list" };
  render();
});

function jobScreen(j, waiting) {
  const nav = j.location ? navigationLinks(j.location.lat, j.location.lon, j.address) : null;
  const queued = waiting.filter((a) => a.ticket_id === j.id);
  return h("div", { class: "job-screen", id: "job" },
    h("button", { class: "back", onclick: () => history.back() }, "← ", t("app.my_jobs")),
    h("h1", {}, j.customer.name, h("small", {}, ` ${j.external_ref || ""}`)),
    h("p", { class: "clockline" }, h("strong", { class: "clock" }, countdown(j)), " ", t(`status.${j.status}`)),
    j.network_fault_id ? h("p", { class: "fault-note", id: "fault-note" }, t("app.fault_note")) : null,
    h("p", {}, j.address),
    h("p", {}, `${j.fault.category} — ${j.fault.description}`),
    j.appointment_at ? h("p", {}, t("ticket.appointment"), ": ", when(j.appointment_at)) : null,
    h("div", { class: "big-buttons" },
      h("a", { class: "button", href: `tel:${j.customer.phone}`, id: "call" }, t("app.call")),
      nav ? h("a", { class: "button", href: nav.amap, id: "nav-amap", target: "_blank", rel: "noopener" }, t("app.amap")) : null,
      nav ? h("a", { class: "button", href: nav.baidu, id: "nav-baidu", target: "_blank", rel: "noopener" }, t("app.baidu")) : null),
    queued.length ? h("ul", { class: "queued-list" }, queued.map((a) => h("li", {}, a.label))) : null,
    actions(j));
}

function localInput(ms) {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function actions(j) {
  const out = [];
  if (j.status === "dispatched") {
    const when = h("input", { type: "datetime-local", name: "appointment_at", required: true, value: localInput(Date.now() + 3600_000) });
    const note = h("input", { name: "contact_note", required: true, placeholder: t("app.contact_note") });
    out.push(h("form", { class: "action", id: "ack-form", onsubmit: (e) => {
      e.preventDefault();
      act("acknowledge", j, { appointment_at: new Date(when.value).toISOString(), contact_note: note.value.trim() }, { status: "acknowledged", appointment_at: new Date(when.value).toISOString() });
    } }, h("h2", {}, t("act.acknowledge")), h("label", {}, t("ticket.appointment"), when), h("label", {}, t("app.contact_note"), note), h("button", { type: "submit", class: "primary" }, t("act.acknowledge"))));
  }
  if (["acknowledged", "postponed"].includes(j.status)) {
    const err = h("p", { class: "error" });
    out.push(h("div", { class: "action" }, h("button", { class: "primary", id: "check-in", onclick: () => {
      err.textContent = t("app.locating");
      navigator.geolocation.getCurrentPosition(
        (p) => {
          err.textContent = "";
          act("check_in", j, { lat: p.coords.latitude, lon: p.coords.longitude }, { status: "on_site" });
        },
        (x) => (err.textContent = t("app.no_gps", { m: x.message })),
        { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 });
    } }, t("act.check_in")), err));
  }
  if (j.status === "on_site") out.push(resolveForm(j));
  if (["acknowledged", "on_site", "postponed"].includes(j.status)) out.push(postponeForm(j));
  return out;
}

function resolveForm(j) {
  const code = h("select", { name: "resolution_code" }, CODES.map((c) => h("option", { value: c }, t(`code.${c}`))));
  const notesIn = h("textarea", { name: "notes", rows: 2, placeholder: t("app.notes") });
  const photos = h("input", { type: "file", name: "photos", accept: "image/jpeg,image/png", capture: "environment", multiple: true, id: "photos" });
  const pad = signaturePad();
  return h("form", { class: "action", id: "resolve-form", onsubmit: async (e) => {
    e.preventDefault();
    await queuePhotos(j, [...photos.files], await pad.png());
    act("resolve", j, { resolution_code: code.value, notes: notesIn.value.trim() }, { status: "resolved" });
    jobs = jobs.filter((x) => x.id !== j.id);
    await keep();
    history.back();
  } },
  h("h2", {}, t("act.resolve")),
  h("label", {}, t("app.code"), code), h("label", {}, t("app.notes"), notesIn),
  h("label", {}, t("app.photos"), photos),
  h("label", {}, t("app.signature")), pad.el,
  h("button", { type: "button", class: "ghost", onclick: pad.clear }, t("app.clear")),
  h("button", { type: "submit", class: "primary" }, t("act.resolve")));
}

/** A canvas the customer signs with a finger; `png()` answers the drawing (null if blank). */
function signaturePad() {
  const el = h("canvas", { class: "signature", id: "signature", width: "600", height: "220" });
  const g = el.getContext("2d");
  g.lineWidth = 3;
  g.lineCap = "round";
  let drawing = false;
  let inked = false;
  const at = (e) => {
    const r = el.getBoundingClientRect();
    return [((e.clientX - r.left) * el.width) / r.width, ((e.clientY - r.top) * el.height) / r.height];
  };
  el.addEventListener("pointerdown", (e) => {
    drawing = true;
    el.setPointerCapture(e.pointerId);
    g.beginPath();
    g.moveTo(...at(e));
  });
  el.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    g.lineTo(...at(e));
    g.stroke();
    inked = true;
  });
  el.addEventListener("pointerup", () => (drawing = false));
  return {
    el,
    clear: () => {
      g.clearRect(0, 0, el.width, el.height);
      inked = false;
    },
    png: () => (inked ? new Promise((r) => el.toBlob(r, "image/png")) : Promise.resolve(null)),
  };
}

function postponeForm(j) {
  const to = h("input", { type: "datetime-local", name: "new_promised_at", required: true, value: localInput(Date.now() + 24 * 3600_000) });
  const reason = h("input", { name: "reason", required: true, placeholder: t("app.reason") });
  const asked = h("input", { type: "checkbox", name: "customer_requested", required: true });
  return h("details", { class: "action" }, h("summary", {}, t("act.postpone")),
    h("form", { id: "postpone-form", onsubmit: (e) => {
      e.preventDefault();
      act("postpone", j, { new_promised_at: new Date(to.value).toISOString(), reason: reason.value.trim(), customer_requested: asked.checked });
      toast(t("app.postpone_sent"));
    } },
    h("label", {}, t("app.new_promise"), to), h("label", {}, t("app.reason"), reason),
    h("label", { class: "inline" }, asked, t("app.customer_asked")),
    h("button", { type: "submit" }, t("act.postpone"))));
}

function signInScreen(message) {
  bar.replaceChildren();
  fill(view, signInForm(message, "primary"));
}

async function started(user) {
  me = user;
  if (!user) {
    // Signed out by the server (the session ended): the queue stays on the phone for when the
    // same technician signs in again.
    stopStream && stopStream();
    jobs = [];
    signInScreen();
    return;
  }
  // Another technician on this phone: what the previous one kept is not theirs to send.
  const owner = await db.get("owner");
  if (owner && owner !== user.id) await db.clear();
  await db.put("owner", user.id);
  document.getElementById("signout").hidden = false;
  await loadKept();
  fixes = (await db.get("fixes")) || [];
  const m = location.hash.match(/^#\/job\/(.+)$/);
  if (m) route = { name: "job", id: m[1] };
  render();
  if (online) {
    listen();
    sync();
    refresh();
  }
}

document.getElementById("signout").addEventListener("click", async () => {
  // Signing out forgets the queue: never without saying so.
  const waiting = (await db.queued()).filter((a) => a.state === "waiting").length;
  if (waiting && !window.confirm(t("app.signout_pending", { n: waiting }))) return;
  await db.clear();
  api.signOut();
});
api.onSession(started);
setInterval(() => {
  for (const el of document.querySelectorAll(".clock")) {
    const li = el.closest("[data-id]") || document.getElementById("job");
    const id = li && (li.dataset.id || route.id);
    const j = jobs.find((x) => x.id === id);
    if (j) el.textContent = countdown(j);
  }
}, 1000);

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});

(async () => {
  await loadKept();
  const user = api.user();
  if (!user) return signInScreen();
  if (online) await api.resume().catch(() => null);
  started(api.user());
})();
