// The econsim dashboard: plain JavaScript over the public API (no libraries, no build step).
"use strict";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const ui = { schema: null, session: null, playing: null, series: null, busy: false, heatmapJob: null, jobs: [] };

async function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(data && data.error ? data.error : response.statusText);
  return { data, response };
}

function say(text, isError) {
  const el = $("message");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

// --- the configuration, carried by the page's URL -----------------------------------------------
function readUrl() {
  return new URLSearchParams(location.search);
}

function writeUrl() {
  const q = new URLSearchParams();
  q.set("model", $("model").value);
  for (const id of ["runs", "steps", "seed"]) q.set(id, $(id).value);
  for (const input of document.querySelectorAll("#params [data-param]")) {
    if (input.dataset.changed === "1") q.set(input.dataset.param, input.type === "checkbox" ? input.checked : input.value);
  }
  for (const id of ["sweep-x", "sweep-x-values", "sweep-y", "sweep-y-values"]) if ($(id).value) q.set(id, $(id).value);
  if ($("series").value) q.set("series", $("series").value);
  history.replaceState(null, "", "?" + q.toString() + location.hash);
}

// --- the parameter form, built from the model's JSON Schema ---------------------------------------
function checkInput(input, prop) {
  const hint = input.parentElement.querySelector(".hint");
  let problem = "";
  if (prop.type === "number" || prop.type === "integer") {
    const v = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(v)) problem = "must be a number";
    else if (prop.type === "integer" && !Number.isInteger(v)) problem = "must be a whole number";
    else if (prop.minimum !== undefined && v < prop.minimum) problem = "at least " + prop.minimum;
    else if (prop.maximum !== undefined && v > prop.maximum) problem = "at most " + prop.maximum;
  }
  input.classList.toggle("invalid", problem !== "");
  hint.textContent = problem || prop.description;
  return problem === "";
}

function formValid() {
  let ok = true;
  for (const input of document.querySelectorAll("#params [data-param]")) {
    ok = checkInput(input, ui.schema.params.properties[input.dataset.param]) && ok;
  }
  for (const id of ["runs", "steps", "seed"]) {
    const v = Number($(id).value);
    const bad = !Number.isInteger(v) || v < Number($(id).min);
    $(id).classList.toggle("invalid", bad);
    ok = ok && !bad;
  }
  const sweepOk = sweepValid();
  $("run").disabled = !ok || !sweepOk;
  $("step").disabled = !ok;
  return ok && sweepOk;
}

// --- the sweep: up to two parameters, each with a list of values -------------------------------------
function sweepValues(axis) {
  const text = $("sweep-" + axis + "-values").value.trim();
  if (!text) return [];
  return text.split(",").map((t) => t.trim()).filter((t) => t !== "").map(Number);
}

function sweepValid() {
  let problem = "";
  const names = [];
  for (const axis of ["x", "y"]) {
    const name = $("sweep-" + axis).value;
    const box = $("sweep-" + axis + "-values");
    let bad = false;
    if (name) {
      const prop = ui.schema.params.properties[name];
      const values = sweepValues(axis);
      if (!values.length || values.some((v) => !Number.isFinite(v))) {
        bad = true;
        problem = name + ": give numbers separated by commas";
      } else if (values.some((v) => (prop.minimum !== undefined && v < prop.minimum) || (prop.maximum !== undefined && v > prop.maximum))) {
        bad = true;
        problem = name + ": values must lie in [" + (prop.minimum ?? "-inf") + ", " + (prop.maximum ?? "inf") + "]";
      } else if (prop.type === "integer" && values.some((v) => !Number.isInteger(v))) {
        bad = true;
        problem = name + ": whole numbers only";
      }
      if (names.includes(name)) {
        bad = true;
        problem = "x and y must be two different parameters";
      }
      names.push(name);
    }
    box.classList.toggle("invalid", bad);
  }
  $("sweep-hint").textContent = problem || "values: numbers separated by commas";
  $("sweep-hint").className = problem ? "hint error" : "hint";
  return problem === "";
}

function sweepConfig() {
  const grid = {};
  for (const axis of ["x", "y"]) {
    const name = $("sweep-" + axis).value;
    if (name && sweepValues(axis).length) grid[name] = sweepValues(axis);
  }
  return Object.keys(grid).length ? { grid } : null;
}

function buildSweep(schema, preset) {
  for (const axis of ["x", "y"]) {
    const select = $("sweep-" + axis);
    select.innerHTML = "";
    select.add(new Option("(none)", ""));
    for (const [name, prop] of Object.entries(schema.params.properties)) {
      if ((prop.type === "number" || prop.type === "integer") && !prop["x-per-batch"]) select.add(new Option(name, name));
    }
    const chosen = preset.get("sweep-" + axis);
    select.value = chosen && schema.params.properties[chosen] ? chosen : "";
    $("sweep-" + axis + "-values").value = preset.get("sweep-" + axis + "-values") || "";
  }
}

function buildForm(schema, preset) {
  const box = $("params");
  box.querySelectorAll("label").forEach((el) => el.remove());
  for (const [name, prop] of Object.entries(schema.params.properties)) {
    const label = document.createElement("label");
    label.textContent = name + " ";
    let input;
    if (prop.enum) {
      input = document.createElement("select");
      for (const choice of prop.enum) input.add(new Option(choice, choice));
      input.value = prop.default;
    } else if (prop.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = prop.default;
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.value = prop.default;
    }
    input.dataset.param = name;
    if (preset.has(name)) {
      if (input.type === "checkbox") input.checked = preset.get(name) === "true";
      else input.value = preset.get(name);
      input.dataset.changed = "1";
    }
    const hint = document.createElement("span");
    hint.className = "hint";
    label.append(input, hint);
    box.append(label);
    input.addEventListener("input", () => {
      input.dataset.changed = "1";
      formValid();
      writeUrl();
      onParamsChanged();
    });
    checkInput(input, prop);
  }
}

function paramValues() {
  const out = {};
  for (const input of document.querySelectorAll("#params [data-param]")) {
    if (input.dataset.changed !== "1") continue;
    const prop = ui.schema.params.properties[input.dataset.param];
    if (prop.type === "boolean") out[input.dataset.param] = input.checked;
    else if (prop.type === "number" || prop.type === "integer") out[input.dataset.param] = Number(input.value);
    else out[input.dataset.param] = input.value;
  }
  return out;
}

async function chooseModel(name, preset) {
  const { data } = await api("GET", "/models/" + encodeURIComponent(name));
  ui.schema = data;
  $("model-doc").textContent = data.doc;
  buildForm(data, preset);
  buildSweep(data, preset);
  const series = $("series");
  series.innerHTML = "";
  for (const column of data.recorded) series.add(new Option(column, column));
  if (preset.has("series") && data.recorded.includes(preset.get("series"))) series.value = preset.get("series");
  const value = $("heatmap-value");
  value.innerHTML = "";
  for (const column of data.recorded) value.add(new Option(column, column));
  $("heatmap-view").hidden = true;
  ui.heatmapJob = null;
  await dropSession();
  ui.series = null;
  draw();
  formValid();
  writeUrl();
}

// --- the chart: median over runs and the runs' 10–90 % band, drawn on a canvas --------------------
function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function bands(s, name) {
  const rows = s && s.columns[name] ? s.columns[name] : [];
  const mid = [];
  const low = [];
  const high = [];
  for (const row of rows) {
    const values = row.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
    mid.push(quantile(values, 0.5));
    low.push(quantile(values, 0.1));
    high.push(quantile(values, 0.9));
  }
  return { times: s ? s.times : [], rows, mid, low, high };
}

const COLOURS = [
  { line: "#1a4fa0", band: "rgba(40, 100, 200, 0.2)" },
  { line: "#c0560f", band: "rgba(230, 120, 30, 0.22)" },
];

// one or more layers ({ series, label }) of the column `name` on one canvas: median and 10–90 % band each
function drawSeries(canvas, layers, name, empty) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  const h = canvas.height;
  const pad = { l: 70, r: 15, t: 20, b: 35 };
  ctx.clearRect(0, 0, w, h);
  const drawn = layers.map((layer) => ({ ...layer, ...bands(layer.series, name) })).filter((l) => l.rows.length);
  ctx.strokeStyle = "#888";
  ctx.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
  if (!drawn.length) {
    ctx.fillStyle = "#888";
    ctx.fillText(empty, pad.l + 10, pad.t + 20);
    return;
  }
  const finite = drawn.flatMap((l) => [...l.low, ...l.high]).filter(Number.isFinite);
  let ymin = Math.min(...finite);
  let ymax = Math.max(...finite);
  if (!finite.length) {
    ymin = 0;
    ymax = 1;
  }
  if (ymin === ymax) {
    ymin -= 1;
    ymax += 1;
  }
  const allTimes = drawn.flatMap((l) => l.times);
  const t0 = Math.min(...allTimes);
  const tMax = Math.max(...allTimes);
  const t1 = tMax === t0 ? t0 + 1 : tMax;
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r);
  const y = (v) => h - pad.b - ((v - ymin) / (ymax - ymin)) * (h - pad.t - pad.b);
  drawn.forEach((l, k) => {
    const colour = COLOURS[k % COLOURS.length];
    ctx.fillStyle = colour.band;
    ctx.beginPath();
    l.times.forEach((t, i) => (i ? ctx.lineTo(x(t), y(l.high[i])) : ctx.moveTo(x(t), y(l.high[i]))));
    for (let i = l.times.length - 1; i >= 0; i--) ctx.lineTo(x(l.times[i]), y(l.low[i]));
    ctx.closePath();
    ctx.fill();
    ctx.strokeStyle = colour.line;
    ctx.lineWidth = 2;
    ctx.beginPath();
    l.times.forEach((t, i) => (i ? ctx.lineTo(x(t), y(l.mid[i])) : ctx.moveTo(x(t), y(l.mid[i]))));
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = colour.line;
    const runs = l.rows[0] ? l.rows[0].length : 0;
    ctx.fillText((l.label ? l.label + ": " : "") + name + " (" + l.times.length + " points, " + runs + " runs)", pad.l + 10, pad.t + 15 + 14 * k);
  });
  ctx.fillStyle = "#222";
  ctx.fillText(ymax.toPrecision(4), 5, pad.t + 8);
  ctx.fillText(ymin.toPrecision(4), 5, h - pad.b);
  ctx.fillText(String(t0), pad.l, h - pad.b + 15);
  ctx.fillText(String(t1), w - pad.r - 30, h - pad.b + 15);
}

function draw() {
  const canvas = $("chart");
  const name = $("series").value;
  const s = ui.series;
  canvas.dataset.points = String(s && s.columns[name] ? s.columns[name].length : 0);
  drawSeries(canvas, [{ series: s, label: "" }], name, "no data yet: press Run or Step");
}

// --- the sweep heatmap: GET /runs/{id}/heatmap, one cell per pair of swept values -------------------
function colour(f) {
  // a blue-to-yellow ramp (f in [0, 1])
  const r = Math.round(68 + f * (253 - 68));
  const g = Math.round(1 + f * (231 - 1));
  const b = Math.round(84 + f * (37 - 84));
  return "rgb(" + r + "," + g + "," + b + ")";
}

function label(v) {
  return typeof v === "number" ? String(Number(v.toPrecision(4))) : String(v);
}

async function showHeatmap() {
  if (!ui.heatmapJob) return;
  const canvas = $("heatmap");
  try {
    const value = $("heatmap-value").value;
    const { data } = await api("GET", ui.heatmapJob + "/heatmap?value=" + encodeURIComponent(value));
    const ctx = canvas.getContext("2d");
    const w = canvas.width;
    const h = canvas.height;
    const pad = { l: 90, r: 110, t: 25, b: 45 };
    ctx.clearRect(0, 0, w, h);
    const cells = data.grid.flat().filter((v) => v !== null && Number.isFinite(v));
    const lo = cells.length ? Math.min(...cells) : 0;
    const hi = cells.length ? Math.max(...cells) : 1;
    const nx = data.xs.length;
    const ny = data.ys.length;
    const cw = (w - pad.l - pad.r) / nx;
    const ch = (h - pad.t - pad.b) / ny;
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const v = data.grid[j][i];
        const top = h - pad.b - (j + 1) * ch; // the first y value at the bottom
        ctx.fillStyle = v === null ? "#d9d9d9" : colour(hi > lo ? (v - lo) / (hi - lo) : 0.5);
        ctx.fillRect(pad.l + i * cw, top, cw - 1, ch - 1);
        ctx.fillStyle = v !== null && hi > lo && (v - lo) / (hi - lo) > 0.6 ? "#000" : "#fff";
        ctx.fillText(v === null ? "–" : label(v), pad.l + (i + 0.5) * cw, top + ch / 2);
      }
    }
    ctx.fillStyle = "#222";
    data.xs.forEach((v, i) => ctx.fillText(label(v), pad.l + (i + 0.5) * cw, h - pad.b + 12));
    ctx.textAlign = "right";
    data.ys.forEach((v, j) => ctx.fillText(label(v), pad.l - 6, h - pad.b - (j + 0.5) * ch));
    ctx.textAlign = "center";
    ctx.fillText(data.x, pad.l + (w - pad.l - pad.r) / 2, h - 12);
    ctx.save();
    ctx.translate(14, pad.t + (h - pad.t - pad.b) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(data.y, 0, 0);
    ctx.restore();
    ctx.textAlign = "left";
    ctx.fillText(data.statistic + " of the final " + data.value + " over each cell's runs" + (data.pooled.length ? " (pooled: " + data.pooled.join(", ") + ")" : ""), pad.l, 12);
    // the colour scale
    for (let k = 0; k < 100; k++) {
      ctx.fillStyle = colour(k / 99);
      ctx.fillRect(w - pad.r + 20, h - pad.b - ((k + 1) / 100) * (h - pad.t - pad.b), 14, (h - pad.t - pad.b) / 100 + 1);
    }
    ctx.fillStyle = "#222";
    ctx.fillText(label(hi), w - pad.r + 38, pad.t + 4);
    ctx.fillText(label(lo), w - pad.r + 38, h - pad.b - 4);
    canvas.dataset.cells = String(nx * ny);
    canvas.dataset.value = data.value;
  } catch (err) {
    say(err.message, true);
  }
}

// --- compare two jobs: both series (median and band) on one chart --------------------------------------
async function compare() {
  const a = $("compare-a").value;
  const b = $("compare-b").value;
  const canvas = $("compare-chart");
  if (!a || !b) {
    say("choose two finished jobs to compare", true);
    return;
  }
  try {
    const name = $("series").value;
    const [sa, sb] = await Promise.all([fetchSeries("/runs/" + a), fetchSeries("/runs/" + b)]);
    for (const [id, s] of [[a, sa], [b, sb]]) {
      if (!s.columns[name]) throw new Error("job " + id + " has no column '" + name + "'");
    }
    canvas.dataset.pointsA = String(sa.columns[name].length);
    canvas.dataset.pointsB = String(sb.columns[name].length);
    drawSeries(canvas, [{ series: sa, label: "A " + a.slice(0, 8) }, { series: sb, label: "B " + b.slice(0, 8) }], name, "");
    say("comparing " + a.slice(0, 8) + " and " + b.slice(0, 8) + " on " + name);
  } catch (err) {
    say(err.message, true);
  }
}

function fillCompare(jobs) {
  // A defaults to the second newest finished job, B to the newest; a choice the user made is kept
  const done = jobs.filter((j) => j.status === "complete");
  for (const [id, fallback] of [["compare-a", 1], ["compare-b", 0]]) {
    const select = $(id);
    const kept = select.value;
    select.innerHTML = "";
    for (const job of done) {
      const params = Object.entries(job.config.params || {}).map(([k, v]) => k + "=" + v).join(" ");
      select.add(new Option(job.id.slice(0, 8) + " " + job.model + " " + params, job.id));
    }
    if (select.dataset.chosen === "1" && done.some((j) => j.id === kept)) select.value = kept;
    else if (done.length) select.value = done[Math.min(fallback, done.length - 1)].id;
  }
  $("compare").disabled = done.length < 2;
}

// --- jobs ------------------------------------------------------------------------------------------
function config() {
  return {
    model: $("model").value,
    runs: Number($("runs").value),
    steps: Number($("steps").value),
    seed: Number($("seed").value),
    params: paramValues(),
  };
}

function runConfig() {
  const c = config();
  const sweep = sweepConfig();
  if (sweep) c.sweep = sweep;
  return c;
}

// a job's results as { times, columns: { name: [time][run] } } from the paginated JSON
async function fetchSeries(location) {
  const byRun = new Map();
  const times = [];
  let page = 1;
  let pages = 1;
  while (page <= pages) {
    const { data } = await api("GET", location + "/results?format=json&page_size=5000&page=" + page);
    pages = data.pages;
    for (const row of data.data) {
      const key = row.subset + "/" + row.run;
      if (!byRun.has(key)) byRun.set(key, []);
      byRun.get(key).push(row);
    }
    page += 1;
  }
  const runs = [...byRun.values()];
  if (!runs.length) return { times, columns: {} };
  for (const row of runs[0]) times.push(row.timestep);
  const columns = {};
  const skip = new Set(["subset", "run", "timestep"]);
  for (const name of Object.keys(runs[0][0])) {
    if (skip.has(name)) continue;
    columns[name] = times.map((_, i) => runs.map((r) => (r[i] ? r[i][name] : null)));
  }
  return { times, columns };
}

async function loadResults(location, job) {
  ui.series = await fetchSeries(location);
  draw();
  const swept = job && job.config.sweep ? Object.keys({ ...(job.config.sweep.grid || {}), ...(job.config.sweep.zip || {}) }) : [];
  if (swept.length >= 2) {
    ui.heatmapJob = location;
    $("heatmap-view").hidden = false;
    $("heatmap-job").textContent = "job " + job.id.slice(0, 8);
    await showHeatmap();
  }
}

async function run() {
  if (!formValid()) return;
  stopPlaying();
  try {
    const { data, response } = await api("POST", "/runs", runConfig());
    const location = response.headers.get("Location");
    refreshJobs();
    if (data.status === "complete") {
      say("answered from the results store: " + data.id);
      await loadResults(location, data);
      return;
    }
    say("running " + data.id);
    await new Promise((resolve, reject) => {
      // EventSource cannot send an Authorization header: the events route takes the token as ?token=
      const url = location + "/events" + (token ? "?token=" + encodeURIComponent(token) : "");
      const source = new EventSource(url);
      source.addEventListener("progress", (e) => {
        const p = JSON.parse(e.data);
        document.body.dataset.progressEvents = String(Number(document.body.dataset.progressEvents || 0) + 1);
        say("running " + Math.round(p.fraction * 100) + " %");
        refreshJobs();
      });
      source.addEventListener("end", (e) => {
        source.close();
        const p = JSON.parse(e.data);
        p.status === "complete" ? resolve() : reject(new Error(p.error || p.status));
      });
      source.onerror = () => {
        // the browser reconnects with Last-Event-ID by itself; nothing is repeated
      };
    });
    say("complete: " + data.id);
    await refreshJobs();
    await loadResults(location, data);
  } catch (err) {
    say(err.message, true);
    refreshJobs();
  }
}

async function refreshJobs() {
  try {
    const { data } = await api("GET", "/runs");
    ui.jobs = data;
    fillCompare(data);
    const body = document.querySelector("#jobs tbody");
    body.innerHTML = "";
    for (const job of data) {
      const tr = document.createElement("tr");
      const progress = '<progress max="1" value="' + job.fraction + '"></progress>';
      const links =
        job.status === "complete"
          ? '<a href="' + job.links.results + '?format=parquet">parquet</a> <a href="' + job.links.results + '?format=csv">csv</a>'
          : "";
      tr.innerHTML = "<td>" + job.id + "</td><td>" + job.model + "</td><td>" + job.status + "</td><td>" + progress + "</td><td>" + links + "</td>";
      body.append(tr);
    }
  } catch (err) {
    say(err.message, true);
  }
}

// --- an interactive session: Step, Play / Pause, Reset ----------------------------------------------
async function dropSession() {
  stopPlaying();
  if (ui.session) {
    const id = ui.session;
    ui.session = null;
    try {
      await api("DELETE", "/sessions/" + id);
    } catch (err) {
      say(err.message, true);
    }
  }
}

async function ensureSession() {
  if (ui.session) return ui.session;
  const c = config();
  const { data } = await api("POST", "/sessions", { model: c.model, params: c.params, runs: c.runs, seed: c.seed });
  ui.session = data.id;
  return ui.session;
}

async function showSession() {
  const { data } = await api("GET", "/sessions/" + ui.session + "/records");
  ui.series = data;
  draw();
}

async function step() {
  if (ui.busy || !formValid()) return;
  ui.busy = true;
  try {
    const id = await ensureSession();
    const { data } = await api("POST", "/sessions/" + id + "/step?n=1");
    say("session " + id + " at step " + data.t);
    await showSession();
  } catch (err) {
    say(err.message, true);
    stopPlaying();
  } finally {
    ui.busy = false;
  }
}

function stopPlaying() {
  if (ui.playing) clearInterval(ui.playing);
  ui.playing = null;
  $("play").textContent = "Play";
}

function play() {
  if (ui.playing) {
    stopPlaying();
    return;
  }
  ui.playing = setInterval(step, 150);
  $("play").textContent = "Pause";
}

async function reset() {
  stopPlaying();
  if (!ui.session) {
    ui.series = null;
    draw();
    return;
  }
  try {
    await api("POST", "/sessions/" + ui.session + "/reset");
    say("session reset to step 0");
    await showSession();
  } catch (err) {
    say(err.message, true);
  }
}

async function onParamsChanged() {
  // per-run parameters change in the live session between steps; sizes need a new session
  if (!ui.session || !formValid()) return;
  const values = paramValues();
  const perRun = {};
  for (const [name, value] of Object.entries(values)) {
    if (!ui.schema.params.properties[name]["x-per-batch"]) perRun[name] = value;
  }
  try {
    if (Object.keys(perRun).length) await api("PATCH", "/sessions/" + ui.session + "/params", { params: perRun });
  } catch (err) {
    say(err.message, true);
  }
}

// --- start ------------------------------------------------------------------------------------------
async function start() {
  const preset = readUrl();
  for (const id of ["runs", "steps", "seed"]) if (preset.has(id)) $(id).value = preset.get(id);
  const { data: health } = await api("GET", "/health");
  $("health").textContent = "v" + health.version;
  const { data: models } = await api("GET", "/models");
  for (const m of models) $("model").add(new Option(m.name, m.name));
  $("model").value = preset.get("model") || (models.find((m) => m.name === "honey") || models[0]).name;
  await chooseModel($("model").value, preset);
  $("model").addEventListener("change", () => chooseModel($("model").value, new URLSearchParams()));
  for (const id of ["runs", "steps", "seed"]) {
    $(id).addEventListener("input", async () => {
      formValid();
      writeUrl();
      if (id !== "steps") await dropSession();
    });
  }
  $("series").addEventListener("change", () => {
    draw();
    writeUrl();
  });
  for (const id of ["sweep-x", "sweep-x-values", "sweep-y", "sweep-y-values"]) {
    $(id).addEventListener("input", () => {
      formValid();
      writeUrl();
    });
  }
  $("heatmap-value").addEventListener("change", showHeatmap);
  $("compare").addEventListener("click", compare);
  for (const id of ["compare-a", "compare-b"]) $(id).addEventListener("change", () => ($(id).dataset.chosen = "1"));
  $("run").addEventListener("click", run);
  $("step").addEventListener("click", step);
  $("play").addEventListener("click", play);
  $("reset").addEventListener("click", reset);
  await refreshJobs();
  document.body.dataset.ready = "1";
}

start().catch((err) => say(err.message, true));
