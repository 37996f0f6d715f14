// The econsim dashboard: plain JavaScript over the public API (no libraries, no build step).
"use strict";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const ui = { schema: null, session: null, playing: null, series: null, busy: false };

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
  $("run").disabled = !ok;
  $("step").disabled = !ok;
  return ok;
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
  const series = $("series");
  series.innerHTML = "";
  for (const column of data.recorded) series.add(new Option(column, column));
  if (preset.has("series") && data.recorded.includes(preset.get("series"))) series.value = preset.get("series");
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

function draw() {
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  const h = canvas.height;
  const pad = { l: 70, r: 15, t: 20, b: 35 };
  ctx.clearRect(0, 0, w, h);
  const name = $("series").value;
  const s = ui.series;
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
  canvas.dataset.points = String(rows.length);
  ctx.strokeStyle = "#888";
  ctx.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
  if (!rows.length) {
    ctx.fillStyle = "#888";
    ctx.fillText("no data yet: press Run or Step", pad.l + 10, pad.t + 20);
    return;
  }
  const times = s.times;
  const finite = [...low, ...high].filter(Number.isFinite);
  let ymin = Math.min(...finite);
  let ymax = Math.max(...finite);
  if (ymin === ymax) {
    ymin -= 1;
    ymax += 1;
  }
  const t0 = times[0];
  const t1 = times[times.length - 1] === t0 ? t0 + 1 : times[times.length - 1];
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r);
  const y = (v) => h - pad.b - ((v - ymin) / (ymax - ymin)) * (h - pad.t - pad.b);
  ctx.fillStyle = "rgba(40, 100, 200, 0.2)";
  ctx.beginPath();
  times.forEach((t, i) => (i ? ctx.lineTo(x(t), y(high[i])) : ctx.moveTo(x(t), y(high[i]))));
  for (let i = times.length - 1; i >= 0; i--) ctx.lineTo(x(times[i]), y(low[i]));
  ctx.closePath();
  ctx.fill();
  ctx.strokeStyle = "#1a4fa0";
  ctx.lineWidth = 2;
  ctx.beginPath();
  times.forEach((t, i) => (i ? ctx.lineTo(x(t), y(mid[i])) : ctx.moveTo(x(t), y(mid[i]))));
  ctx.stroke();
  ctx.lineWidth = 1;
  ctx.fillStyle = "#222";
  ctx.fillText(ymax.toPrecision(4), 5, pad.t + 8);
  ctx.fillText(ymin.toPrecision(4), 5, h - pad.b);
  ctx.fillText(String(t0), pad.l, h - pad.b + 15);
  ctx.fillText(String(t1), w - pad.r - 30, h - pad.b + 15);
  ctx.fillText(name + " (" + times.length + " points, " + (rows[0] ? rows[0].length : 0) + " runs)", pad.l + 10, pad.t + 15);
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

async function loadResults(location) {
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
  for (const row of runs[0]) times.push(row.timestep);
  const columns = {};
  for (const name of ui.schema.recorded) {
    columns[name] = times.map((_, i) => runs.map((r) => (r[i] ? r[i][name] : null)));
  }
  ui.series = { times, columns };
  draw();
}

async function run() {
  if (!formValid()) return;
  stopPlaying();
  try {
    const { data, response } = await api("POST", "/runs", config());
    const location = response.headers.get("Location");
    refreshJobs();
    if (data.status === "complete") {
      say("answered from the results store: " + data.id);
      await loadResults(location);
      return;
    }
    say("running " + data.id);
    await new Promise((resolve, reject) => {
      const url = location + "/events";
      const source = token ? null : new EventSource(url);
      if (!source) {
        // EventSource cannot send a bearer token: poll the job instead
        const timer = setInterval(async () => {
          const job = (await api("GET", location)).data;
          say(job.status + " " + Math.round(job.fraction * 100) + " %");
          if (job.status !== "running") {
            clearInterval(timer);
            job.status === "complete" ? resolve() : reject(new Error(job.error || job.status));
          }
        }, 300);
        return;
      }
      source.addEventListener("progress", (e) => {
        const p = JSON.parse(e.data);
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
    refreshJobs();
    await loadResults(location);
  } catch (err) {
    say(err.message, true);
    refreshJobs();
  }
}

async function refreshJobs() {
  try {
    const { data } = await api("GET", "/runs");
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
    const q = readUrl();
    q.set("series", $("series").value);
    history.replaceState(null, "", "?" + q.toString() + location.hash);
  });
  $("run").addEventListener("click", run);
  $("step").addEventListener("click", step);
  $("play").addEventListener("click", play);
  $("reset").addEventListener("click", reset);
  refreshJobs();
  document.body.dataset.ready = "1";
}

start().catch((err) => say(err.message, true));
