// The open tickets of the caller's regions, kept current: loaded once, then each change the
// board's event stream announces is fetched again. Staff, regions and districts beside them.

import { get, stream } from "/assets/console/api.js";
import { learn } from "/assets/console/clocks.js";

export const OPEN = ["new", "dispatched", "acknowledged", "on_site", "postponed"];

export const tickets = new Map();
export const staff = new Map();
export const districts = new Map();
export const regions = new Map();

const listeners = new Set();
let loaded = false;
let stop = null;
let liveState = "connecting";
const dirty = new Set();
let fetching = 0;
let notifyQueued = false;
const changed = new Set();

/** `fn(changedIds | null)`, null meaning everything may have changed. Returns an unsubscribe. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function isLoaded() {
  return loaded;
}

export function live() {
  return liveState;
}

function notify(ids) {
  if (ids === null) changed.add(null);
  else ids.forEach((id) => changed.add(id));
  if (notifyQueued) return;
  notifyQueued = true;
  // At most a few redraws a second, however fast tickets arrive.
  setTimeout(() => {
    notifyQueued = false;
    const all = changed.has(null);
    const ids = all ? null : new Set(changed);
    changed.clear();
    listeners.forEach((fn) => fn(ids));
  }, 150);
}

function keep(t) {
  learn(t);
  if (OPEN.includes(t.status)) tickets.set(t.id, t);
  else tickets.delete(t.id);
}

/** Starts following the caller's open tickets. */
export async function start(user) {
  const [rs, ds] = await Promise.all([get("/regions"), get("/districts")]);
  rs.items.forEach((r) => regions.set(r.id, r));
  ds.items.forEach((d) => districts.set(d.id, d));
  await refreshStaff();
  const streams = ["dispatcher", "account_manager", "manager", "admin"].includes(user.role);
  if (streams) {
    let opens = 0;
    await new Promise((opened) => {
      stop = stream("/board/stream", {
        // A reconnect without an event id to resume from (none had come yet) replays nothing:
        // the list is read again instead.
        onOpen: () => (opens++ === 0 ? opened() : loadAll().catch(() => {})),
        onState: (s) => {
          liveState = s;
          notify(null);
        },
        onEvent: (e) => {
          if (e.data && e.data.ticket_id) {
            dirty.add(e.data.ticket_id);
            drain();
          }
        },
      });
    });
  }
  await loadAll();
  if (!performance.getEntriesByName("board-loaded").length) performance.mark("board-loaded");
  loaded = true;
  notify(null);
  if (!streams) {
    // Agents have no board stream: the list is read again every 20 s.
    const timer = setInterval(loadAll, 20_000);
    stop = () => clearInterval(timer);
  }
  setInterval(refreshStaff, 60_000);
}

export function halt() {
  stop && stop();
  stop = null;
  tickets.clear();
  loaded = false;
}

async function loadAll() {
  const seen = new Set();
  let cursor = null;
  do {
    const q = new URLSearchParams({ status: OPEN.join(","), limit: "500" });
    if (cursor) q.set("cursor", cursor);
    const page = await get(`/tickets?${q}`);
    page.items.forEach((t) => {
      seen.add(t.id);
      keep(t);
    });
    cursor = page.next_cursor;
  } while (cursor);
  for (const id of tickets.keys()) if (!seen.has(id)) tickets.delete(id);
  notify(null);
}

export async function refreshStaff() {
  const s = await get("/staff");
  staff.clear();
  s.items.forEach((p) => staff.set(p.id, p));
  notify(null);
}

/** Reads again the tickets the stream named: up to 200 in one call, one call at a time. */
function drain() {
  if (fetching || !dirty.size) return;
  const ids = [...dirty].slice(0, 200);
  ids.forEach((id) => dirty.delete(id));
  fetching = 1;
  const q = new URLSearchParams({ ids: ids.join(","), limit: "500" });
  get(`/tickets?${q}`)
    .then((page) => {
      const found = new Set();
      page.items.forEach((t) => {
        found.add(t.id);
        keep(t);
      });
      // Not answered: gone from the caller's scope.
      ids.forEach((id) => found.has(id) || tickets.delete(id));
      notify(ids);
    })
    .then(() => 100)
    .catch(() => {
      ids.forEach((id) => dirty.add(id));
      // The server or the network is away: try again in a while, not in a loop.
      return 2000;
    })
    .then((wait) => {
      fetching = 0;
      // Events keep coming in a storm: gather them for a moment before the next call.
      if (dirty.size) setTimeout(drain, wait);
    });
}

/** Fetches one ticket now (after an action), and keeps it. */
export async function reload(id) {
  const t = await get(`/tickets/${encodeURIComponent(id)}`);
  keep(t);
  notify([id]);
  return t;
}

/** A ticket's reference as people read it out: the call center's own, or the last six
 * characters of its id (as the SMS say it). */
export function ticketRef(tk) {
  return tk.external_ref || tk.id.slice(-6);
}

export function staffName(id) {
  const p = id && staff.get(id);
  return p ? p.display_name || p.username : id ? id.slice(0, 8) : "";
}

export function districtName(id) {
  const d = id && districts.get(id);
  return d ? d.name : "";
}
