// vitals live dashboard: target cards with sparklines (history from
// /api/v1/range, live samples from one EventSource on /api/v1/watch) and a
// token/cost table from /api/v1/usage/summary with the agents' states from
// /api/v1/usage/agents. See docs/http-api.md.
'use strict';

const TOKEN = new URLSearchParams(location.search).get('access_token');
const WINDOW_MS = 15 * 60 * 1000;   // keep 15 minutes...
const MAX_POINTS = 200;             // ...and at most this many points per series
const TARGETS_EVERY_MS = 10000;
const USAGE_EVERY_MS = 5000;
const EVENTS_EVERY_MS = 5000;
const EVENTS_SHOWN = 20;

// What each kind of target shows: one row per metric, one or two lines per row.
const PROCESS_ROWS = [
  { label: 'cpu', fmt: 'pct', lines: ['process_cpu_percent'] },
  { label: 'memory (rss)', fmt: 'bytes', lines: ['process_resident_memory_bytes'] },
  { label: 'disk r/w', fmt: 'rate', dirs: ['r', 'w'],
    lines: ['process_io_read_bytes_per_second', 'process_io_write_bytes_per_second'] },
];
const ROWS = {
  process: PROCESS_ROWS,
  self: PROCESS_ROWS,
  cgroup: [
    { label: 'cpu', fmt: 'pct', lines: ['container_cpu_percent'] },
    { label: 'memory', fmt: 'bytes', lines: ['container_memory_usage_bytes'] },
    { label: 'net rx/tx', fmt: 'rate', dirs: ['rx', 'tx'],
      lines: ['container_network_receive_bytes_per_second',
              'container_network_transmit_bytes_per_second'] },
  ],
  host: [
    { label: 'load', fmt: 'num', lines: ['node_load1'] },
    { label: 'mem available', fmt: 'bytes', lines: ['node_memory_MemAvailable_bytes'] },
    { label: 'net rx/tx', fmt: 'rate', dirs: ['rx', 'tx'],
      lines: ['node_network_receive_bytes_per_second',
              'node_network_transmit_bytes_per_second'] },
  ],
};
const NAMES = [...new Set(Object.values(ROWS).flat().flatMap((r) => r.lines))];
const SELECTOR = `{__name__=~"${NAMES.join('|')}",target=~".+"}`;

// ---- state -----------------------------------------------------------------
// data: target -> metric name -> Map(t -> Map(series key -> value)).
// Several series of one metric (network devices) are summed per timestamp;
// keying on (series, t) also drops the sample a resumed stream repeats.
const data = new Map();
const targets = new Map();          // id -> { info, el }
let liveCount = 0, lastSampleT = null, dropped = 0;
let es = null, renderTimer = null;
const dirty = new Set();

// ---- helpers ---------------------------------------------------------------
const $ = (id) => document.getElementById(id);
const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const usdFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 4, maximumFractionDigits: 4 });

function apiUrl(path, query = {}) {
  const q = { ...query };
  if (TOKEN) q.access_token = TOKEN;
  const qs = Object.entries(q).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return `/api/v1/${path}${qs ? '?' + qs : ''}`;
}

async function getJSON(path, query) {
  const res = await fetch(apiUrl(path, query), { cache: 'no-store' });
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try { msg = (await res.json()).error || msg; } catch (_) { /* not JSON */ }
    throw new Error(`${path}: ${msg}`);
  }
  return res.json();
}

function showError(err) {
  const el = $('error');
  el.hidden = !err;
  el.textContent = err ? String(err.message || err) : '';
}

function formatBytes(v) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function format(v, fmt) {
  if (v == null || !Number.isFinite(v)) return '—';
  switch (fmt) {
    case 'pct': return `${v.toFixed(1)} %`;
    case 'bytes': return formatBytes(v);
    case 'rate': return `${formatBytes(v)}/s`;
    default: return v.toFixed(2);
  }
}

const seriesKey = (name, labels) =>
  name + '{' + Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(',') + '}';

// ---- data ------------------------------------------------------------------
// Adds one sample; returns false when it is a repeat or is not shown.
function addSample(name, labels, t, v) {
  const target = labels.target;
  if (!target || labels.device === 'lo' || labels.interface === 'lo') return false;
  if (!data.has(target)) data.set(target, new Map());
  const byName = data.get(target);
  if (!byName.has(name)) byName.set(name, new Map());
  const points = byName.get(name);
  const key = seriesKey(name, labels);
  let atT = points.get(t);
  if (!atT) points.set(t, (atT = new Map()));
  else if (atT.has(key)) return false;
  atT.set(key, v);
  dirty.add(target);
  return true;
}

// Sorted [t, summed value] pairs of one metric of one target, pruned in place.
function pointsOf(target, name) {
  const points = data.get(target)?.get(name);
  if (!points) return [];
  const ts = [...points.keys()].sort((a, b) => a - b);
  const newest = ts[ts.length - 1];
  let drop = Math.max(0, ts.length - MAX_POINTS);
  while (drop < ts.length && ts[drop] < newest - WINDOW_MS) drop++;
  for (const t of ts.slice(0, drop)) points.delete(t);
  return ts.slice(drop).map((t) => {
    let sum = 0;
    for (const v of points.get(t).values()) sum += v;
    return [t, sum];
  });
}

async function loadHistory(target) {
  const sel = target ? SELECTOR.replace('target=~".+"', `target="${target}"`) : SELECTOR;
  const series = await getJSON('range', { sel, from: 'now-15m', step: '10s' });
  for (const s of series) for (const [t, v] of s.points) addSample(s.name, s.labels, t, v);
  scheduleRender();
}

// ---- target cards ----------------------------------------------------------
function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function makeCard(info) {
  const card = el('article', { className: 'card' });
  card.dataset.target = info.id;
  card.append(el('header', {}, el('h3', { textContent: info.id }),
    el('span', { className: 'meta' }), el('span', { className: 'health' })));
  const rows = ROWS[info.kind];
  if (!rows) card.append(el('p', { className: 'note', textContent: `${info.kind} target: its series are in /metrics` }));
  for (const row of rows || []) {
    const values = el('span', { className: 'values' });
    row.lines.forEach((name, i) => {
      const v = el('span', { className: `value l${i + 1}` });
      v.dataset.series = `${name}{target="${info.id}"}`;
      values.append(v);
    });
    card.append(el('div', { className: 'metric' },
      el('span', { className: 'label', textContent: row.label }), el('canvas'), values));
  }
  return card;
}

function updateCardInfo(card, info) {
  const where = info.pid != null ? `pid ${info.pid}` : info.path || info.url || '';
  const labels = Object.entries(info.labels || {}).map(([k, v]) => `${k}=${v}`).join(' ');
  const meta = [info.kind, where, info.interval_ms ? `every ${info.interval_ms / 1000}s` : '', labels];
  const metaEl = card.querySelector('.meta');
  metaEl.textContent = metaEl.title = meta.filter(Boolean).join(' · ');
  const health = card.querySelector('.health');
  health.textContent = `${info.ticks ?? 0} ticks · ${info.errors ?? 0} errors`;
  health.classList.toggle('bad', (info.errors ?? 0) > 0);
  health.title = info.last_error || '';
}

const ORDER = { host: 0, self: 1 };
const byTarget = (a, b) => (ORDER[a] ?? 2) - (ORDER[b] ?? 2) || a.localeCompare(b, 'en', { numeric: true });

async function refreshTargets(initial = false) {
  const list = await getJSON('targets');
  const seen = new Set(list.map((t) => t.id));
  for (const [id, t] of targets) {
    if (!seen.has(id)) { t.el.remove(); targets.delete(id); data.delete(id); }
  }
  for (const id of data.keys()) if (!seen.has(id)) data.delete(id);
  const fresh = [];
  for (const info of list) {
    let t = targets.get(info.id);
    if (!t || t.info.kind !== info.kind) {
      t?.el.remove();
      t = { info, el: makeCard(info) };
      targets.set(info.id, t);
      if (!initial) fresh.push(info.id);
    }
    t.info = info;
    updateCardInfo(t.el, info);
    dirty.add(info.id);
  }
  const box = $('targets');
  [...targets.keys()].sort(byTarget).forEach((id) => box.append(targets.get(id).el));
  $('no-targets').hidden = targets.size > 0;
  $('no-targets').textContent = 'No targets tracked.';
  $('target-count').textContent = `(${targets.size})`;
  scheduleRender();
  await Promise.all(fresh.map((id) => loadHistory(id)));
}

// ---- drawing ---------------------------------------------------------------
const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function drawSparkline(canvas, lines, fmt) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const all = lines.flat();
  if (all.length === 0) return;
  let t0 = Infinity, t1 = -Infinity, lo = Infinity, hi = -Infinity;
  for (const [t, v] of all) { t0 = Math.min(t0, t); t1 = Math.max(t1, t); lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (fmt !== 'bytes') lo = Math.min(lo, 0);  // rates, percent, load: from zero
  if (hi === lo) { hi += 1; lo -= fmt === 'bytes' ? 1 : 0; }
  const pad = 2;
  const x = (t) => (t1 === t0 ? w - pad : pad + ((t - t0) / (t1 - t0)) * (w - 2 * pad));
  const y = (v) => h - pad - ((v - lo) / (hi - lo)) * (h - 2 * pad);
  const colors = [cssVar('--line1'), cssVar('--line2')];
  lines.forEach((pts, i) => {
    if (pts.length === 0) return;
    ctx.beginPath();
    pts.forEach(([t, v], j) => (j ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
    ctx.strokeStyle = colors[i];
    ctx.lineWidth = 1.5;
    ctx.stroke();
    if (i === 0 && pts.length > 1) {  // a light fill under the first line
      ctx.lineTo(x(pts[pts.length - 1][0]), h);
      ctx.lineTo(x(pts[0][0]), h);
      ctx.closePath();
      ctx.globalAlpha = 0.15;
      ctx.fillStyle = colors[0];
      ctx.fill();
      ctx.globalAlpha = 1;
    }
  });
}

function renderTarget(id) {
  const t = targets.get(id);
  if (!t) return;
  const rows = ROWS[t.info.kind] || [];
  t.el.querySelectorAll('.metric').forEach((rowEl, r) => {
    const row = rows[r];
    const lines = row.lines.map((name) => pointsOf(id, name));
    drawSparkline(rowEl.querySelector('canvas'), lines, row.fmt);
    rowEl.querySelectorAll('.value').forEach((v, i) => {
      const last = lines[i][lines[i].length - 1];
      const dir = row.dirs ? `<span class="dir">${row.dirs[i]}</span>` : '';
      if (last) v.dataset.value = String(last[1]); else delete v.dataset.value;
      v.innerHTML = dir + format(last?.[1], row.fmt);
    });
  });
}

function render() {
  renderTimer = null;
  for (const id of dirty) renderTarget(id);
  dirty.clear();
  const count = $('live-count');
  count.dataset.count = String(liveCount);
  count.textContent = intFmt.format(liveCount);
  if (lastSampleT != null) $('last-sample').textContent = new Date(lastSampleT).toLocaleTimeString();
  $('dropped').hidden = dropped === 0;
  $('dropped').textContent = `${intFmt.format(dropped)} dropped`;
}

function scheduleRender() {
  if (!renderTimer) renderTimer = setTimeout(render, 250);
}

// ---- live stream -----------------------------------------------------------
function setConn(state) {
  $('conn').className = `conn ${state}`;
  $('conn').textContent = state;
}

function connect() {
  es = new EventSource(apiUrl('watch', { sel: SELECTOR }));
  es.onopen = () => setConn('live');
  es.onerror = () => {
    if (es.readyState === EventSource.CONNECTING) { setConn('reconnecting'); return; }
    // Closed for good (an HTTP error): start over after a pause, and backfill
    // the gap from /api/v1/range since the browser's resume is lost.
    setConn('closed');
    es.close();
    setTimeout(() => { connect(); loadHistory().catch(showError); }, 5000);
  };
  es.addEventListener('sample', (ev) => {
    let s;
    try { s = JSON.parse(ev.data); } catch (_) { return; }
    if (addSample(s.name, s.labels || {}, s.t, s.v)) {
      liveCount++;
      lastSampleT = Math.max(lastSampleT ?? 0, s.t);
    }
    scheduleRender();
  });
  es.addEventListener('dropped', (ev) => {
    try { dropped += JSON.parse(ev.data).dropped || 0; } catch (_) { /* ignore */ }
    scheduleRender();
  });
}

// ---- usage table -----------------------------------------------------------
function usageRow(cls, agent, model, input, output, cost) {
  const tr = el('tr', { className: cls });
  const td = (text, num) => el('td', { className: num ? 'num' : '', textContent: text });
  tr.append(td(agent), td(model), td(intFmt.format(input ?? 0), true),
    td(intFmt.format(output ?? 0), true), td(usdFmt.format(cost ?? 0), true));
  return tr;
}

async function refreshUsage() {
  const agents = await getJSON('usage/summary');
  const body = [], total = { input: 0, output: 0, cost: 0 };
  for (const a of agents) {
    const models = a.models || [];
    for (const m of models) {
      body.push(usageRow('data-row', a.agent_name, m.model, m.input_tokens, m.output_tokens, m.cost_usd));
    }
    const input = a.tokens?.input ?? 0, output = a.tokens?.output ?? 0, cost = a.cost?.total_usd ?? 0;
    if (models.length === 0) body.push(usageRow('data-row', a.agent_name, '—', input, output, cost));
    else if (models.length > 1) body.push(usageRow('subtotal', a.agent_name, 'all models', input, output, cost));
    total.input += input; total.output += output; total.cost += cost;
  }
  const table = $('usage');
  if (body.length === 0) body.push(el('tr', { className: 'empty' }, el('td', { colSpan: 5, className: 'muted', textContent: 'No usage recorded yet.' })));
  table.tBodies[0].replaceChildren(...body);
  table.tFoot.replaceChildren(usageRow('total', 'total', '', total.input, total.output, total.cost));
  $('usage-updated').textContent = `· updated ${new Date().toLocaleTimeString()}`;
  await refreshStates();
}

// "3 agents: 2 working · 1 idle · utilisation 67 %" from /api/v1/usage/agents.
async function refreshStates() {
  const a = await getJSON('usage/agents');
  const states = ['working', 'idle', 'stuck', 'done', 'error', 'stopped'];
  const parts = states.filter((s) => a[s] > 0).map((s) => `${a[s]} ${s}`);
  $('agent-states').textContent = a.total_agents === 0 ? '' :
    `${a.total_agents} agents: ${parts.join(' · ')} · utilisation ${Math.round(100 * a.utilisation)} %`;
}

// ---- lifecycle events ------------------------------------------------------
// The newest monitor events from /api/v1/events/log, newest first; details
// are the event's data as "key=value" pairs (text only, never HTML).
function eventDetails(data) {
  if (data === null || typeof data !== 'object') return String(data ?? '');
  return Object.entries(data)
    .filter(([, v]) => v !== '' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
}

async function refreshEvents() {
  const log = await getJSON('events/log', { limit: EVENTS_SHOWN });
  const rows = (log.events || []).slice().reverse().map((e) => el('tr', { className: 'data-row' },
    el('td', { textContent: new Date(e.t).toLocaleTimeString() }),
    el('td', { textContent: e.type }),
    el('td', { className: 'muted', textContent: eventDetails(e.data) })));
  if (rows.length === 0) rows.push(el('tr', { className: 'empty' }, el('td', { colSpan: 3, className: 'muted', textContent: 'No events yet.' })));
  $('events').tBodies[0].replaceChildren(...rows);
  $('events-updated').textContent = `· updated ${new Date().toLocaleTimeString()}`;
}

// ---- start -----------------------------------------------------------------
function every(ms, fn) {
  setInterval(() => fn().then(() => showError(null), showError), ms);
}

async function start() {
  refreshUsage().catch(showError);
  every(USAGE_EVERY_MS, refreshUsage);
  refreshEvents().catch(showError);
  every(EVENTS_EVERY_MS, refreshEvents);
  try {
    await refreshTargets(true);
    await loadHistory();
  } catch (err) {
    showError(err);
  }
  connect();
  every(TARGETS_EVERY_MS, refreshTargets);
  window.addEventListener('resize', () => { targets.forEach((_, id) => dirty.add(id)); scheduleRender(); });
}

start();
