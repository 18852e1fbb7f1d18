// The technicians' phone app: my jobs, most urgent first, with their countdowns; acknowledge,
// check in, resolve (photos, the customer's signature), ask for a postponement and record
// household visits, online or not. Every action is queued on the phone with its action id and the time it was taken, and
// sent (POST /me/sync) whenever there is signal; the server applies each once.

import { h, fill, toast } from "/assets/console/dom.js";
import { t, addWords, span, when, category } from "/assets/console/i18n.js";
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
  // A visit carries its own time (visited_at) and is on no ticket.
  if (a.type === "visit") return { type: a.type, action_id: a.action_id, ...a.fields };
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
    if (a.type === "visit" && r.visit) {
      const v = r.visit;
      toast(v.ticket_id ? t("visit.saved_ticket") : v.complaint_id ? t("visit.saved_complaint") : t("visit.saved"));
      showVisitCount();
    }
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
  if (route.name === "visit") {
    // The open form is kept as it is: a sync or a list change must not wipe what is typed.
    fill(view, box, document.getElementById("visit") || visitScreen());
  } else if (route.name === "job") {
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
  const visit = h("button", { class: "ghost visit-open", id: "visit-open", onclick: () => go("visit", "#/visit") }, t("visit.open"));
  if (!sorted.length) return [queue, h("p", { class: "empty" }, t("app.no_jobs")), visit];
  return [visit, queue, h("ul", { class: "jobs", id: "jobs" }, sorted.map((j) => {
    const cur = clocks.current(j);
    const queued = waiting.filter((a) => a.ticket_id === j.id).length;
    return h("li", { class: `job ${clocks.left(j) < 0 ? "overdue" : ""}`, dataset: { id: j.id }, onclick: () => open(j.id) },
      h("div", { class: "top" }, h("strong", { class: "clock" }, countdown(j)), h("span", { class: "stage" }, cur ? t(`stage.${cur.stage}`) : ""),
        h("span", { class: "status" }, t(`status.${j.status}`)), queued ? h("span", { class: "queued" }, t("app.queued", { n: queued })) : null,
        j.network_fault_id ? h("span", { class: "fault" }, t("app.with_fault")) : null),
      h("div", { class: "who" }, j.customer.name, " · ", category(j.fault.category)),
      h("div", { class: "addr" }, j.address),
      h("a", { class: "button small call", href: `tel:${j.customer.phone}`, onclick: (e) => e.stopPropagation() }, t("app.call")));
  }))];
}

function open(id) {
  route = { name: "job", id };
  history.pushState({ id }, "", `#/job/${id}`);
  render();
}

function go(name, hash) {
  route = { name };
  history.pushState({}, "", hash);
  render();
}

/** The route a location hash names. */
function routeOf(hash) {
  const m = hash.match(/^#\/job\/(.+)$/);
  if (m) return { name: "job", id: m[1] };
  return hash === "#/visit" ? { name: "visit" } : { name: "list" };
}

window.addEventListener("popstate", () => {
  route = routeOf(location.hash);
  render();
});

// ---- household visits (百人访百户) ------------------------------------------------------------

/** The local month, YYYY-MM. */
function thisMonth() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}

/** One input per question of the questionnaire, by its kind. */
function questionInput(q) {
  if (q.kind === "score") {
    return h("select", { name: `q.${q.key}`, required: q.required },
      h("option", { value: "" }, "—"), [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, t(`visit.score${n}`))));
  }
  if (q.kind === "yes_no") {
    return h("select", { name: `q.${q.key}`, required: q.required },
      h("option", { value: "" }, "—"), h("option", { value: "true" }, t("visit.yes")), h("option", { value: "false" }, t("visit.no")));
  }
  return h("textarea", { name: `q.${q.key}`, rows: 2, maxlength: 500, required: q.required });
}

/** A reported fault or complaint: a box that opens its two fields. */
function reportBox(name) {
  const fields = h("div", { class: "reported", hidden: true },
    h("label", {}, t("visit.category"), h("input", { name: `${name}.category`, maxlength: 64 })),
    h("label", {}, t("visit.description"), h("textarea", { name: `${name}.description`, rows: 2, maxlength: 1000 })));
  const box = h("input", { type: "checkbox", name: `${name}.on`, id: `visit-${name}`, onchange: () => {
    fields.hidden = !box.checked;
    for (const f of fields.querySelectorAll("input, textarea")) f.required = box.checked;
  } });
  return [h("label", { class: "inline" }, box, t(`visit.${name}`)), fields];
}

/** The month's visits on the visit screen, when it is open. */
async function showVisitCount() {
  const count = document.getElementById("visit-count");
  if (!count) return;
  try {
    const mine = await api.get(`/visits?month=${thisMonth()}&limit=500`);
    count.textContent = t("visit.count", { n: mine.items.length });
  } catch (_) {
    count.textContent = "";
  }
}

/** The questionnaire: the server's, else the one kept from the last time there was signal. */
async function questionnaire() {
  try {
    const q = await api.get("/visits/questionnaire");
    localStorage.setItem("fixline.questionnaire", JSON.stringify(q));
    return q;
  } catch (x) {
    const kept = localStorage.getItem("fixline.questionnaire");
    if (kept) return JSON.parse(kept);
    throw x;
  }
}

function visitScreen() {
  const err = h("p", { class: "error", role: "alert" });
  const count = h("p", { class: "muted", id: "visit-count" });
  const questions = h("div", { class: "questions", id: "visit-questions" }, h("p", { class: "muted" }, t("board.loading")));
  const form = h("form", { class: "action", id: "visit-form", onsubmit: submit },
    h("h2", {}, t("visit.title")), count,
    h("label", {}, t("visit.name"), h("input", { name: "customer_name", maxlength: 100 })),
    h("label", {}, t("visit.phone"), h("input", { name: "customer_phone", inputmode: "tel", required: true })),
    h("label", {}, t("visit.address"), h("input", { name: "address", required: true, maxlength: 300 })),
    questions, reportBox("fault"), reportBox("complaint"),
    h("button", { type: "submit", class: "primary" }, t("visit.save")), err);
  (async () => {
    try {
      const q = await questionnaire();
      fill(questions, q.questions.map((x) => h("label", {}, x.text, questionInput(x))));
    } catch (x) {
      fill(questions, h("p", { class: "error" }, t("visit.need_signal")));
    }
    showVisitCount();
  })();

  async function submit(e) {
    e.preventDefault();
    err.textContent = t("app.locating");
    const d = new FormData(form);
    const answers = {};
    const body = { customer_phone: String(d.get("customer_phone")).trim(), address: String(d.get("address")).trim(), answers };
    if (String(d.get("customer_name")).trim()) body.customer_name = String(d.get("customer_name")).trim();
    for (const el of questions.querySelectorAll("[name^='q.']")) {
      const key = el.name.slice(2);
      if (el.value === "") continue;
      answers[key] = el.tagName === "TEXTAREA" ? el.value : el.value === "true" ? true : el.value === "false" ? false : Number(el.value);
    }
    for (const name of ["fault", "complaint"]) {
      if (d.get(`${name}.on`)) body[name] = { category: String(d.get(`${name}.category`)).trim(), description: String(d.get(`${name}.description`)).trim() };
    }
    navigator.geolocation.getCurrentPosition(async (p) => {
      body.location = { lat: p.coords.latitude, lon: p.coords.longitude };
      body.visited_at = new Date().toISOString();
      // Queued like any action: sent now when there is signal, else when it comes back.
      await db.enqueue({ type: "visit", action_id: actionId(), ticket_id: null, device_at: body.visited_at, fields: body, state: "waiting", label: t("act.visit"), ref: body.address });
      err.textContent = "";
      if (!online) toast(t("visit.queued"));
      form.reset();
      for (const f of form.querySelectorAll(".reported")) f.hidden = true;
      render();
      sync();
    }, (x) => (err.textContent = t("app.no_gps", { m: x.message })), { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 });
  }

  return h("div", { class: "visit-screen", id: "visit" },
    h("button", { class: "back", onclick: () => history.back() }, "← ", t("app.my_jobs")), form);
}

function jobScreen(j, waiting) {
  const nav = j.location ? navigationLinks(j.location.lat, j.location.lon, j.address) : null;
  const queued = waiting.filter((a) => a.ticket_id === j.id);
  return h("div", { class: "job-screen", id: "job" },
    h("button", { class: "back", onclick: () => history.back() }, "← ", t("app.my_jobs")),
    h("h1", {}, j.customer.name, h("small", {}, ` ${j.external_ref || ""}`)),
    h("p", { class: "clockline" }, h("strong", { class: "clock" }, countdown(j)), " ", t(`status.${j.status}`)),
    j.network_fault_id ? h("p", { class: "fault-note", id: "fault-note" }, t("app.fault_note")) : null,
    h("p", {}, j.address),
    h("p", {}, `${category(j.fault.category)} — ${j.fault.description}`),
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
  route = routeOf(location.hash);
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
