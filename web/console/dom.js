// A small element builder and the console's dialogs and notices. Text is always set as text,
// never as HTML, so nothing a customer typed can run as script.

/** `h("div", {class: "x", onclick: fn}, child, "text", [more])`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A modal dialog; resolves when closed. `build(close)` returns its content. */
export function dialog(title, build) {
  return new Promise((resolve) => {
    const d = h("dialog", { class: "dialog" });
    const close = (v) => {
      d.close();
      d.remove();
      resolve(v);
    };
    d.addEventListener("cancel", (e) => {
      e.preventDefault();
      close(null);
    });
    fill(d, h("header", {}, h("h2", {}, title), h("button", { class: "ghost", "aria-label": "close", onclick: () => close(null) }, "×")), build(close));
    document.body.append(d);
    d.showModal();
  });
}

/** A short notice at the bottom of the screen. */
// Toasts stack upwards from the bottom, so several at once stay readable.
export function toast(text, kind = "info") {
  let stack = document.getElementById("toasts");
  if (!stack) {
    stack = h("div", { id: "toasts" });
    document.body.append(stack);
  }
  const el = h("div", { class: `toast ${kind}`, role: "status" }, text);
  stack.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 6000 : 3000);
}
