// The session and every call to the server: tokens kept for the tab, refreshed in the
// background a minute before they expire, errors read from problem+json.

const STORE = "fixline.session";

// The console keeps its tokens for the tab; the phone app keeps them on the phone (a technician
// opens it many times a day, offline at times).
let storage = sessionStorage;
let session = JSON.parse(storage.getItem(STORE) || "null");

/** Keeps the session in `s` (e.g. localStorage) from now on. */
export function useStorage(s) {
  storage = s;
  session = JSON.parse(storage.getItem(STORE) || "null");
}
let refreshTimer = null;
const listeners = new Set();

/** A failed call: the server's problem+json (type, title, detail, field) and status. */
export class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.type = body.type || "about:blank";
    this.field = body.field || null;
    this.body = body;
  }
}

export function user() {
  return session && session.user;
}

/** Called with the user on sign-in and with null on sign-out or a lost session. */
export function onSession(fn) {
  listeners.add(fn);
}

function keep(tokens) {
  session = {
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    user: tokens.user,
  };
  storage.setItem(STORE, JSON.stringify(session));
  schedule();
}

function forget() {
  session = null;
  storage.removeItem(STORE);
  clearTimeout(refreshTimer);
  listeners.forEach((fn) => fn(null));
}

function schedule() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(5_000, session.expiresAt - Date.now() - 60_000);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), wait);
}

export async function signIn(username, password) {
  const tokens = await call("POST", "/auth/login", { username, password }, { anonymous: true });
  keep(tokens);
  listeners.forEach((fn) => fn(tokens.user));
  return tokens.user;
}

let refreshing = null;
/** Trades the refresh token for new tokens (once, however many callers ask at the same time). */
export function refresh() {
  if (!session) return Promise.reject(new Problem(401, { title: "signed out" }));
  refreshing ??= call("POST", "/auth/refresh", { refresh_token: session.refresh }, { anonymous: true })
    .then(keep)
    .catch((e) => {
      if (e.status === 401 || e.status === 400 || e.status === 422) forget();
      throw e;
    })
    .finally(() => (refreshing = null));
  return refreshing;
}

export async function signOut() {
  if (session) {
    await call("POST", "/auth/logout", { refresh_token: session.refresh }).catch(() => {});
  }
  forget();
}

/** Resumes a session kept in this tab: refreshes when the access token is (nearly) spent. */
export async function resume() {
  if (!session) return null;
  if (session.expiresAt - Date.now() < 60_000) await refresh();
  else schedule();
  return session && session.user;
}

async function authHeader() {
  if (session && session.expiresAt - Date.now() < 10_000) await refresh();
  return session ? { authorization: `Bearer ${session.access}` } : {};
}

/** One call: JSON in, JSON out; a Problem on failure. A 401 refreshes once and retries. */
export async function call(method, path, body, opts = {}) {
  const headers = { accept: "application/json", ...(opts.anonymous ? {} : await authHeader()), ...(opts.headers || {}) };
  const form = typeof FormData !== "undefined" && body instanceof FormData;
  // `opts.contentType`: the body is already text of that type (a CSV import).
  if (body !== undefined && !form) headers["content-type"] = opts.contentType || "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : form || opts.contentType ? body : JSON.stringify(body),
  });
  if (res.status === 401 && !opts.anonymous && !opts.retried && session) {
    await refresh();
    return call(method, path, body, { ...opts, retried: true });
  }
  if (opts.raw) return res;
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Problem(res.status, parsed || {});
  return parsed;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});

/** A photo or other file as an object URL (the server wants the token, an <img> cannot send it). */
export async function blobUrl(path) {
  const res = await call("GET", path, undefined, { raw: true });
  if (!res.ok) throw new Problem(res.status, {});
  return URL.createObjectURL(await res.blob());
}

/**
 * Follows a server-sent event stream with the session's token (EventSource cannot send one),
 * reconnecting with Last-Event-ID. `onEvent({id, event, data})`; `onOpen()` after each connect.
 * Returns a function that closes it.
 */
export function stream(path, { onEvent, onOpen, onState }) {
  let last = null;
  let stopped = false;
  let controller = null;
  let retry = 3000;
  (async function loop() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { accept: "text/event-stream", ...(await authHeader()) };
        if (last !== null) headers["last-event-id"] = String(last);
        const res = await fetch(path, { headers, signal: controller.signal });
        if (res.status === 401) {
          await refresh();
          continue;
        }
        if (!res.ok) throw new Problem(res.status, {});
        onState && onState("live");
        onOpen && onOpen();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const ev = { id: null, event: "message", data: "" };
            for (const line of block.split("\n")) {
              const i = line.indexOf(":");
              if (i === 0) continue;
              const [k, v] = i < 0 ? [line, ""] : [line.slice(0, i), line.slice(i + 1).replace(/^ /, "")];
              if (k === "id") ev.id = v;
              else if (k === "event") ev.event = v;
              else if (k === "data") ev.data += (ev.data ? "\n" : "") + v;
              else if (k === "retry") retry = Number(v) || retry;
            }
            if (ev.id !== null) last = ev.id;
            if (ev.data) onEvent({ ...ev, data: JSON.parse(ev.data) });
          }
        }
      } catch (e) {
        if (stopped || e.name === "AbortError") return;
        if (!session) return;
      }
      if (stopped) return;
      onState && onState("reconnecting");
      await new Promise((r) => setTimeout(r, retry));
    }
  })();
  return () => {
    stopped = true;
    controller && controller.abort();
  };
}
