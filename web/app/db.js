// What the app keeps on the phone (IndexedDB): the last list of jobs with its version, and the
// queue of actions taken offline (with their photos), in the order they were taken.

const NAME = "fixline-app";
let opened = null;

function db() {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, 1);
    req.onupgradeneeded = () => {
      const d = req.result;
      d.createObjectStore("kv");
      d.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opened;
}

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(name, mode) {
  return (await db()).transaction(name, mode).objectStore(name);
}

export async function get(key) {
  return done((await store("kv", "readonly")).get(key));
}

export async function put(key, value) {
  return done((await store("kv", "readwrite")).put(value, key));
}

/** Adds an action to the end of the queue; answers it with its `seq`. */
export async function enqueue(action) {
  const seq = await done((await store("queue", "readwrite")).add(action));
  return { ...action, seq };
}

/** Every queued action, oldest first. */
export async function queued() {
  return done((await store("queue", "readonly")).getAll());
}

export async function update(action) {
  return done((await store("queue", "readwrite")).put(action));
}

export async function drop(seq) {
  return done((await store("queue", "readwrite")).delete(seq));
}

/** Forgets everything (sign-out). */
export async function clear() {
  const d = await db();
  const tx = d.transaction(["kv", "queue"], "readwrite");
  tx.objectStore("kv").clear();
  tx.objectStore("queue").clear();
  return new Promise((resolve) => (tx.oncomplete = resolve));
}
