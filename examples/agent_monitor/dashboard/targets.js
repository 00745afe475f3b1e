// vitals dashboard: the samples of the tracked targets. History comes from
// /api/v1/range over the current range; in "live" every new sample comes over
// one EventSource on /api/v1/watch. The target cards (the fleet's view) and
// the agent page's charts (agent.js) read them through pointsOf().
'use strict';

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
const dirty = new Set();            // targets whose samples changed since the last render
const MAX_POINTS = 500;             // per series, live samples included
let liveCount = 0, lastSampleT = null, dropped = 0;
let es = null;

// ---- samples ---------------------------------------------------------------
const seriesKey = (name, labels) =>
  name + '{' + Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(',') + '}';

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

// Sorted [t, summed value] pairs of one metric of one target in the range,
// pruned in place.
function pointsOf(target, name) {
  const points = data.get(target)?.get(name);
  if (!points) return [];
  const ts = [...points.keys()].sort((a, b) => a - b);
  const oldest = Date.now() - range().ms;
  let drop = Math.max(0, ts.length - MAX_POINTS);
  while (drop < ts.length && ts[drop] < oldest) drop++;
  for (const t of ts.slice(0, drop)) points.delete(t);
  return ts.slice(drop).map((t) => {
    let sum = 0;
    for (const v of points.get(t).values()) sum += v;
    return [t, sum];
  });
}

async function loadHistory(target) {
  const sel = target ? SELECTOR.replace('target=~".+"', `target="${target}"`) : SELECTOR;
  const series = await getJSON('range', { sel, from: new Date(Date.now() - range().ms).toISOString(), step: range().step });
  for (const s of series) for (const [t, v] of s.points) addSample(s.name, s.labels, t, v);
  scheduleRender();
}

// ---- target cards ----------------------------------------------------------
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

function renderTarget(id) {
  const t = targets.get(id);
  if (!t) return;
  const rows = ROWS[t.info.kind] || [];
  t.el.querySelectorAll('.metric').forEach((rowEl, r) => {
    const row = rows[r];
    const lines = row.lines.map((name) => pointsOf(id, name));
    charts.sparkline(rowEl.querySelector('canvas'), lines, row.fmt !== 'bytes');
    rowEl.querySelectorAll('.value').forEach((v, i) => {
      const last = lines[i][lines[i].length - 1];
      if (last) v.dataset.value = String(last[1]); else delete v.dataset.value;
      v.replaceChildren();
      if (row.dirs) v.append(el('span', { className: 'dir', textContent: row.dirs[i] }));
      v.append(fmt[row.fmt](last?.[1]));
    });
  });
}

// ---- live stream (range "live" only) ---------------------------------------
function setConn(state) {
  $('conn').className = `conn ${state}`;
  $('conn').textContent = state;
}

function connect() {
  es = new EventSource(apiUrl('watch', { sel: SELECTOR }));
  const mine = es;
  es.onopen = () => setConn('live');
  es.onerror = () => {
    if (mine !== es) return;
    if (es.readyState === EventSource.CONNECTING) { setConn('reconnecting'); return; }
    // Closed for good (an HTTP error): start over after a pause, and backfill
    // the gap from /api/v1/range since the browser's resume is lost.
    setConn('closed');
    es.close();
    setTimeout(() => {
      if (mine !== es || route.range !== 'live') return;
      connect();
      loadHistory().catch(showError);
    }, 5000);
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

function disconnect() {
  if (es) es.close();
  es = null;
  setConn(`history · ${range().label}`);
}

// Follows the live stream in "live", else closes it.
function follow(live) {
  if (live && !es) connect();
  if (!live) disconnect();
}
