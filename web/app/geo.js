// Map datums for the navigation apps: fixline keeps WGS-84 (GPS); AMap wants GCJ-02 and Baidu
// BD-09, and a point in the wrong datum lands a few hundred metres off in China.

const A = 6378245.0;
const EE = 0.00669342162296594323;

function outOfChina(lat, lon) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function dLat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}

function dLon(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}

/** WGS-84 to GCJ-02 ([lat, lon]); unchanged outside China. */
export function toGcj02(lat, lon) {
  if (outOfChina(lat, lon)) return [lat, lon];
  let la = dLat(lon - 105, lat - 35);
  let lo = dLon(lon - 105, lat - 35);
  const rad = (lat / 180) * Math.PI;
  let magic = Math.sin(rad);
  magic = 1 - EE * magic * magic;
  const sq = Math.sqrt(magic);
  la = (la * 180) / (((A * (1 - EE)) / (magic * sq)) * Math.PI);
  lo = (lo * 180) / ((A / sq) * Math.cos(rad) * Math.PI);
  return [lat + la, lon + lo];
}

/** GCJ-02 to BD-09 ([lat, lon]). */
export function gcjToBd09(lat, lon) {
  const x = lon;
  const y = lat;
  const z = Math.sqrt(x * x + y * y) + 0.00002 * Math.sin(y * ((Math.PI * 3000) / 180));
  const theta = Math.atan2(y, x) + 0.000003 * Math.cos(x * ((Math.PI * 3000) / 180));
  return [z * Math.sin(theta) + 0.006, z * Math.cos(theta) + 0.0065];
}

/** Links that open the AMap and Baidu Maps apps (or their web pages) at the customer. */
export function navigationLinks(lat, lon, name) {
  const [glat, glon] = toGcj02(lat, lon);
  const [blat, blon] = gcjToBd09(glat, glon);
  const n = encodeURIComponent(name);
  return {
    amap: `https://uri.amap.com/marker?position=${glon.toFixed(6)},${glat.toFixed(6)}&name=${n}&coordinate=gaode&callnative=1`,
    baidu: `https://api.map.baidu.com/marker?location=${blat.toFixed(6)},${blon.toFixed(6)}&title=${n}&content=${n}&output=html&coord_type=bd09ll&src=fixline`,
  };
}
