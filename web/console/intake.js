// Call-center intake: the customer, the fault, a point picked on the district map or typed
// (WGS-84 or GCJ-02), the district shown before saving, and a warning when an open ticket
// exists for the same phone or close by.

import { h, fill, toast } from "/assets/console/dom.js";
import { t } from "/assets/console/i18n.js";
import { get, post } from "/assets/console/api.js";
import { districtMap } from "/assets/console/map.js";
import { ticketRef } from "/assets/console/store.js";

export function mount(root, { go }) {
  const field = (name, label, attrs = {}) =>
    h("label", {}, label, h(attrs.tag || "input", { name, id: `intake-${name}`, ...attrs, tag: null }));
  const district = h("p", { class: "district", id: "intake-district" });
  const warning = h("div", { class: "warning", id: "intake-duplicates", hidden: true });
  const error = h("p", { class: "error", role: "alert" });
  const crs = h("select", { name: "crs", id: "intake-crs" }, h("option", { value: "wgs84" }, "WGS-84"), h("option", { value: "gcj02" }, "GCJ-02"));
  const kind = h("select", { name: "kind", id: "intake-kind" }, h("option", { value: "repair" }, t("kind.repair")), h("option", { value: "install" }, t("kind.install")));
  const form = h("form", { class: "intake", id: "intake", onsubmit: save },
    h("h1", {}, t("intake.title")),
    field("customer_name", t("intake.name"), { required: true, maxlength: 100 }),
    field("customer_phone", t("intake.phone"), { required: true, inputmode: "tel", maxlength: 20 }),
    field("account_no", t("intake.account"), { maxlength: 64 }),
    field("address", t("intake.address"), { required: true, maxlength: 300 }),
    h("label", {}, t("intake.kind"), kind),
    field("fault_category", t("intake.category"), { required: true, maxlength: 64, value: "无信号" }),
    field("fault_description", t("intake.description"), { tag: "textarea", required: true, maxlength: 1000, rows: 3 }),
    h("fieldset", {}, h("legend", {}, t("intake.point")),
      field("lat", t("intake.lat"), { inputmode: "decimal" }),
      field("lon", t("intake.lon"), { inputmode: "decimal" }),
      h("label", {}, t("intake.crs"), crs)),
    district, warning, error,
    h("button", { type: "submit", id: "intake-save" }, t("intake.submit")));
  const el = h("div", { class: "map pick", id: "intake-map" });
  fill(root, h("div", { class: "cols intake-cols" }, form, el));

  let marker = null;
  let map = null;
  let checkTimer = null;
  const value = (n) => form.elements[n].value.trim();
  const point = () => {
    const lat = Number(value("lat"));
    const lon = Number(value("lon"));
    return value("lat") && value("lon") && Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon, crs: crs.value } : null;
  };

  function check() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(async () => {
      const p = point();
      if (p) {
        try {
          const d = await get(`/districts/locate?lat=${p.lat}&lon=${p.lon}&crs=${p.crs}`);
          district.textContent = t("intake.district", { name: `${d.district.name} (${d.district.code})` });
          district.className = "district found";
          // The map is drawn in WGS-84: a GCJ-02 point is shown where the server placed it.
          if (map) place([d.point.lat, d.point.lon], false);
        } catch (e) {
          district.textContent = e.status === 404 ? t("intake.no_district") : t("error", { m: e.message });
          district.className = "district missing";
          if (map && e.body && e.body.point) place([e.body.point.lat, e.body.point.lon], false);
        }
      } else district.textContent = "";
      const phone = value("customer_phone");
      const q = new URLSearchParams();
      if (phone.length >= 7) q.set("customer_phone", phone);
      if (p) Object.entries(p).forEach(([k, v]) => q.set(k, String(v)));
      if (![...q.keys()].length) {
        warning.hidden = true;
        return;
      }
      try {
        const found = (await get(`/tickets/duplicates?${q}`)).items;
        warning.hidden = found.length === 0;
        fill(warning, h("strong", {}, t("intake.duplicate")), h("ul", {}, found.map((f) => h("li", {},
          h("a", { href: `#/tickets/${f.ticket.id}` }, ticketRef(f.ticket)),
          ` ${f.ticket.customer.name} · ${f.ticket.address} · `,
          f.reason === "same_phone" ? t("intake.dup_phone") : t("intake.dup_near", { d: f.distance_m })))));
      } catch (e) {
        warning.hidden = e.status !== undefined && e.status === 422;
      }
    }, 250);
  }

  function place(latlng, fromMap) {
    if (!marker) marker = L.circleMarker(latlng, { radius: 8, className: "picked" }).addTo(map);
    else marker.setLatLng(latlng);
    if (fromMap) {
      form.elements.lat.value = latlng[0].toFixed(6);
      form.elements.lon.value = latlng[1].toFixed(6);
      crs.value = "wgs84";
      check();
    }
  }

  async function save(e) {
    e.preventDefault();
    error.textContent = "";
    const p = point();
    const body = {
      kind: kind.value,
      customer_name: value("customer_name"),
      customer_phone: value("customer_phone"),
      address: value("address"),
      fault_category: value("fault_category"),
      fault_description: value("fault_description"),
    };
    if (value("account_no")) body.account_no = value("account_no");
    if (p) body.location = p;
    try {
      const tk = await post("/tickets", body);
      toast(t("intake.saved", { ref: ticketRef(tk) }));
      go(`#/tickets/${tk.id}`);
    } catch (x) {
      error.textContent = x.field ? `${x.field}: ${x.message}` : x.message;
      const input = x.field && form.elements[x.field.replace(/^location\./, "")];
      input && input.focus && input.focus();
    }
  }

  form.addEventListener("input", (e) => {
    if (["customer_phone", "lat", "lon", "crs"].includes(e.target.name)) check();
  });
  crs.addEventListener("change", check);
  districtMap(el).then((m) => {
    map = m.map;
    map.on("click", (ev) => place([ev.latlng.lat, ev.latlng.lng], true));
  });
  return { unmount() { clearTimeout(checkTimer); map && map.remove(); } };
}
