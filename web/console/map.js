// The map: district polygons from fixline's own GeoJSON, open tickets by urgency, technicians'
// last positions, open network faults' areas. No internet map service is needed; a tile URL
// may be configured.

import { h, fill } from "/assets/console/dom.js";
import { t, span } from "/assets/console/i18n.js";
import { get } from "/assets/console/api.js";
import * as clocks from "/assets/console/clocks.js";
import * as store from "/assets/console/store.js";

const SOON = 30 * 60_000;
const TILES = document.querySelector('meta[name="fixline-map-tiles"]')?.content || "";

/** A Leaflet map in `el` with the districts drawn (styled by `style(district)`); resolves to
 * {map, layer, bounds}. */
export async function districtMap(el, style = () => ({})) {
  // Leaflet is loaded with `defer`: on the first view it may still be on its way.
  if (!window.L) await new Promise((r) => window.addEventListener("load", r, { once: true }));
  const map = L.map(el, { zoomSnap: 0.25, attributionControl: !!TILES });
  if (TILES) L.tileLayer(TILES, { maxZoom: 19 }).addTo(map);
  const all = (await get("/districts?boundary=true")).items;
  const layer = L.layerGroup().addTo(map);
  let bounds = null;
  for (const d of all) {
    if (!d.boundary) continue;
    const shape = L.geoJSON(d.boundary, {
      style: () => ({ className: "district", color: "#3d6ea8", weight: 1.5, fillOpacity: 0.08, ...style(d) }),
    });
    shape.bindTooltip(`${d.name} (${d.code})`, { sticky: true });
    shape.addTo(layer);
    bounds = bounds ? bounds.extend(shape.getBounds()) : shape.getBounds();
  }
  if (bounds) map.fitBounds(bounds, { padding: [12, 12] });
  else map.setView([31.87, 120.55], 12);
  return { map, layer, bounds, districts: all };
}

export function mount(root) {
  const legend = h("div", { class: "legend" },
    h("span", { class: "dot overdue" }), t("map.legend_overdue"),
    h("span", { class: "dot soon" }), t("map.legend_soon"),
    h("span", { class: "dot ok" }), t("map.legend_ok"),
    h("span", { class: "dot tech" }), t("map.legend_tech"),
    h("span", { class: "dot fault" }), t("map.legend_fault"));
  const info = h("span", { id: "map-info" });
  const el = h("div", { class: "map", id: "map" });
  fill(root, h("div", { class: "toolbar" }, h("strong", {}, t("map.title")), info, legend), el);
  let map = null;
  let marks = null;
  let areas = null;
  let districts = [];
  let unsubscribe = () => {};
  let alive = true;

  function draw() {
    if (!map) return;
    marks.clearLayers();
    for (const tk of store.tickets.values()) {
      if (!tk.location) continue;
      const ms = clocks.left(tk);
      const cls = ms < 0 ? "overdue" : ms < SOON ? "soon" : "ok";
      L.circleMarker([tk.location.lat, tk.location.lon], { radius: 6, className: `ticket ${cls}`, weight: 1 })
        .bindTooltip(`${tk.customer.name} · ${t(`status.${tk.status}`)} · ${ms === Infinity ? "" : ms < 0 ? t("overdue", { t: span(ms / 1000) }) : span(ms / 1000)}`)
        .on("click", () => (location.hash = `#/tickets/${tk.id}`))
        .addTo(marks);
    }
    for (const p of store.staff.values()) {
      if (!p.position) continue;
      L.circleMarker([p.position.lat, p.position.lon], { radius: 5, className: `tech${p.on_duty ? " on-duty" : ""}`, weight: 2 })
        .bindTooltip(`${p.display_name || p.username} · ${t("assign.open", { n: p.open_tickets })}`)
        .addTo(marks);
    }
  }

  // Each open network fault's district and circle, under the tickets.
  async function drawFaults() {
    if (!areas) return;
    let items = [];
    try {
      items = (await get("/network-faults")).items;
    } catch (e) {
      return;
    }
    areas.clearLayers();
    for (const f of items) {
      const tip = `${f.title} · ${t("fault.calls", { n: f.calls })}`;
      const d = districts.find((x) => x.id === f.district_id);
      if (d && d.boundary) L.geoJSON(d.boundary, { style: () => ({ className: `fault-area ${f.status}`, weight: 2, fillOpacity: 0.2 }) }).bindTooltip(tip, { sticky: true }).addTo(areas);
      if (f.circle) L.circle([f.circle.lat, f.circle.lon], { radius: f.circle.radius_m, className: `fault-area ${f.status}`, weight: 2, fillOpacity: 0.1 }).bindTooltip(tip).addTo(areas);
    }
    root.dataset.faults = String(items.length);
  }

  districtMap(el).then((m) => {
    if (!alive) return;
    map = m.map;
    districts = m.districts;
    areas = L.layerGroup().addTo(map);
    drawFaults();
    info.textContent = t("map.districts", { n: m.districts.length });
    root.dataset.districts = String(m.districts.length);
    marks = L.layerGroup().addTo(map);
    draw();
    unsubscribe = store.subscribe(draw);
    // Technicians move: their positions are read again while the map is open.
    store.refreshStaff().catch(() => {});
  });
  const positions = setInterval(() => {
    store.refreshStaff().catch(() => {});
    drawFaults();
  }, 30_000);

  return {
    unmount() {
      clearInterval(positions);
      alive = false;
      unsubscribe();
      map && map.remove();
    },
  };
}
