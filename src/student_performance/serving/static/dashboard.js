// The live dashboard: polls /dashboard/data and redraws. Plain JS, no library, no CDN.
"use strict";

const $ = (id) => document.getElementById(id);
const history = [];  // requests per second, one point per refresh
let refreshMs = 3000;

function fmt(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "\u2013";
  return Number(value).toLocaleString("en", { maximumFractionDigits: digits });
}
function pct(value) {
  return value === null || value === undefined ? "\u2013" : `${(100 * value).toFixed(1)} %`;
}
function ms(value) {
  return value === null || value === undefined ? "\u2013" : `${fmt(value, 2)} ms`;
}

function drawRate(canvas, points) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (points.length < 2) return;
  const top = Math.max(...points, 1);
  ctx.strokeStyle = "#2f6fb0";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach((p, i) => {
    const x = (i / (points.length - 1)) * (w - 4) + 2;
    const y = h - 4 - (p / top) * (h - 16);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = "#616e7c";
  ctx.font = "11px sans-serif";
  ctx.fillText(`max ${fmt(top)} req/s`, 6, 12);
}

function renderClasses(predictions) {
  const body = $("class-mix").querySelector("tbody");
  body.textContent = "";
  for (const [name, row] of Object.entries(predictions.window)) {
    const overall = predictions.overall[name];
    const tr = document.createElement("tr");
    tr.dataset.class = name;
    const cells = [name, pct(row.share), `${pct(overall.share)} (${fmt(overall.count, 0)})`,
      pct(row.training_share)];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    td.className = "bars";
    const box = document.createElement("div");
    box.className = "barbox";
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${100 * (row.share ?? 0)}%`;
    box.appendChild(bar);
    if (row.training_share !== null) {
      const mark = document.createElement("div");
      mark.className = "mark";
      mark.style.left = `calc(${100 * row.training_share}% - 1px)`;
      box.appendChild(mark);
    }
    td.appendChild(box);
    tr.appendChild(td);
    body.appendChild(tr);
  }
  $("mix-distance").textContent = !predictions.training_shares_known
    ? "This model does not record its training shares (trained before they were recorded)."
    : predictions.class_mix_distance === null
      ? "No predictions in the window."
      : `Distance from the training mix (total variation): ${fmt(predictions.class_mix_distance, 3)}`;
}

function renderDrift(drift) {
  const badge = $("drift-status");
  badge.textContent = drift.status;
  badge.className = `badge ${drift.status}`;
  $("drift-source").textContent = drift.report
    ? `Batch ${drift.batch ?? "?"} (${fmt(drift.rows, 0)} rows), report ${drift.report} written ${drift.written_at}`
    : "";
  $("drift-action").textContent = drift.action ? `Action: ${drift.action}` : "";
  if (drift.retrain_recommended) $("drift-action").textContent += " (retraining recommended)";
  const list = $("drift-reasons");
  list.textContent = "";
  for (const reason of drift.reasons || []) {
    const li = document.createElement("li");
    li.textContent = reason;
    list.appendChild(li);
  }
}

function render(d) {
  refreshMs = 1000 * d.refresh_s;
  $("refresh").textContent = fmt(d.refresh_s);
  $("window").textContent = fmt(d.window_s, 0);
  $("updated").textContent = `Updated ${d.generated_at}.`;
  $("model").textContent = `${d.model.name} v${d.model.version} (${d.model.alias}), up ${fmt(d.uptime_s, 0)} s`;
  $("request-rate").textContent = fmt(d.requests.rate_per_s, 2);
  $("request-total").textContent = fmt(d.requests.total, 0);
  $("error-ratio").textContent = pct(d.requests.error_ratio);
  $("prediction-total").textContent = fmt(d.predictions.total, 0);
  $("status-counts").textContent = "By status: " + Object.entries(d.requests.by_status)
    .map(([s, n]) => `${s}: ${fmt(n, 0)}`).join(", ");
  history.push(d.requests.rate_per_s);
  if (history.length > 60) history.shift();
  drawRate($("rate-chart"), history);
  for (const q of ["p50", "p95", "p99"]) $(q).textContent = ms(d.latency_ms[q]);
  $("latency-over").textContent = d.latency_ms.over === "window"
    ? "Over the last window." : "No prediction in the window: since start.";
  $("set-size").hidden = d.prediction_set_size === null;
  if (d.prediction_set_size) $("set-size-mean").textContent = fmt(d.prediction_set_size.mean, 2);
  renderClasses(d.predictions);
  $("model-version").textContent = `${d.model.name} v${d.model.version} (${d.model.alias})`;
  $("loaded-at").textContent = d.model.loaded_at;
  $("reloads").textContent = `${fmt(d.model.reloads.reloaded ?? 0, 0)} done, ${fmt(d.model.reloads.failed ?? 0, 0)} failed`;
  const log = d.prediction_log;
  $("log-written").textContent = fmt(log.written, 0);
  $("log-pending").textContent = fmt(log.pending, 0);
  $("log-spool").textContent = `${fmt(log.spooled, 0)} / ${fmt(log.replayed, 0)}`;
  $("log-lost").textContent = `${fmt(log.lost, 0)} / ${fmt(log.rejected, 0)}`;
  renderDrift(d.drift);
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

async function tick() {
  try {
    const response = await fetch("/dashboard/data", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    $("fetch-error").hidden = true;
  } catch (err) {
    $("fetch-error").hidden = false;
    $("fetch-error").textContent = `Last refresh failed: ${err.message}`;
  }
  setTimeout(tick, refreshMs);
}

tick();
