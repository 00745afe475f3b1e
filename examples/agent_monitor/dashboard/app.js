// vitals dashboard: the fleet (#/) and one agent (#/agent/NAME, agent.js),
// over a time range (?range=live|1h|24h|7d). History comes from
// /api/v1/range and the usage reports; in "live" the samples keep coming over
// one EventSource on /api/v1/watch. Every section that shows a report keeps
// the query it read in data-query, so a test can ask the API the same
// question. See docs/http-api.md.
'use strict';

const { fmt } = charts;
const TOKEN = new URLSearchParams(location.search).get('access_token');
const MINUTE = 60e3, HOUR = 60 * MINUTE, DAY = 24 * HOUR;

// Each range: its window, the step of its sample history (at most ~170
// points a series), and the step of its cost chart (null: per UTC day).
const RANGES = {
  live: { label: 'last 15 min', ms: 15 * MINUTE, step: '10s', usageStep: '1m', usageMs: MINUTE, per: 'minute' },
  '1h': { label: 'last hour', ms: HOUR, step: '30s', usageStep: '5m', usageMs: 5 * MINUTE, per: '5 minutes' },
  '24h': { label: 'last 24 h', ms: DAY, step: '10m', usageStep: '1h', usageMs: HOUR, per: 'hour' },
  '7d': { label: 'last 7 days', ms: 7 * DAY, step: '1h', usageStep: null, usageMs: 0, per: 'day' },
};
const MAX_POINTS = 500;             // per series, live samples included
const REFRESH_MS = 10000;           // reports, targets and events
const HISTORY_EVERY_MS = 60000;     // sample history when not live
const EVENTS_SHOWN = 20;
const STATE_ORDER = { stuck: 0, error: 1, working: 2, idle: 3, done: 4, stopped: 5 };

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
// route: which view, which agent, which range (from the location's hash).
let route = { view: 'overview', agent: '', range: 'live' };
// data: target -> metric name -> Map(t -> Map(series key -> value)).
// Several series of one metric (network devices) are summed per timestamp;
// keying on (series, t) also drops the sample a resumed stream repeats.
const data = new Map();
const targets = new Map();          // id -> { info, el }
let liveCount = 0, lastSampleT = null, dropped = 0;
let es = null, renderTimer = null, historyTimer = null;
const dirty = new Set();

// ---- helpers ---------------------------------------------------------------
const $ = (id) => document.getElementById(id);
const range = () => RANGES[route.range];

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

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

// A report, remembered on `box` as data-query (without the token).
async function report(box, path, query) {
  const answer = await getJSON(path, query);
  box.dataset.query = `${path}?${new URLSearchParams(query)}`;
  return answer;
}

function showError(err) {
  const e = $('error');
  e.hidden = !err;
  e.textContent = err ? String(err.message || err) : '';
}

// Sets the text of [data-field=name] inside `box`, and its raw value.
function setField(box, name, value, format) {
  const f = box.querySelector(`[data-field="${name}"]`);
  if (!f) return;
  f.textContent = format(value);
  if (value == null) delete f.dataset.value; else f.dataset.value = String(value);
}

// The window of the current range as absolute times, so the reports a view
// reads all cover the same span.
function windowOf() {
  const to = Date.now();
  return { from: new Date(to - range().ms).toISOString(), to: new Date(to).toISOString() };
}

const utcDayStart = () => new Date(Math.floor(Date.now() / DAY) * DAY).toISOString();

function stateBadge(state) {
  return el('span', { className: `state ${state}`, textContent: state });
}

// Per-group sums over the buckets (days or steps) of a daily/series answer.
function sumGroups(buckets) {
  const out = new Map();
  for (const b of buckets) {
    for (const g of b.groups || []) {
      const s = out.get(g.key) || { key: g.key, cost_usd: 0, tokens: 0, requests: 0, tool_calls: 0, errors: 0, ms: 0 };
      s.cost_usd += g.cost_usd ?? 0;
      s.tokens += g.tokens?.total ?? 0;
      s.requests += g.requests ?? 0;
      s.tool_calls += g.tool_calls ?? 0;
      s.errors += g.errors ?? 0;
      s.ms += (g.avg_duration_ms ?? 0) * (g.tool_calls ?? 0);
      out.set(g.key, s);
    }
  }
  return [...out.values()].sort((a, b) => b.cost_usd - a.cost_usd || a.key.localeCompare(b.key));
}

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

function render() {
  renderTimer = null;
  if (route.view === 'overview') for (const id of dirty) renderTarget(id);
  else if (dirty.size) agentView.renderCharts();
  dirty.clear();
  const count = $('live-count');
  count.dataset.count = String(liveCount);
  count.textContent = fmt.int(liveCount);
  if (lastSampleT != null) $('last-sample').textContent = new Date(lastSampleT).toLocaleTimeString('en-GB');
  $('dropped').hidden = dropped === 0;
  $('dropped').textContent = `${fmt.int(dropped)} dropped`;
}

function scheduleRender() {
  if (!renderTimer) renderTimer = setTimeout(render, 250);
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

// ---- the fleet: spend, block, states, costs --------------------------------
async function refreshSpend(win) {
  const box = $('spend');
  const [byAgent, today] = await Promise.all([
    report(box, 'usage/daily', { by: 'agent', ...win }),
    getJSON('usage/daily', { from: utcDayStart() }),
  ]);
  const t = byAgent.totals || {};
  setField(box, 'cost', t.cost_usd ?? 0, fmt.usd);
  setField(box, 'tokens', t.tokens?.total ?? 0, fmt.tokens);
  setField(box, 'requests', t.requests ?? 0, fmt.int);
  setField(box, 'tool_calls', t.tool_calls ?? 0, fmt.int);
  setField(box, 'today', today.totals?.cost_usd ?? 0, fmt.usd);

  const perAgent = sumGroups(byAgent.days || []);
  const costs = $('agent-costs');
  costs.dataset.query = box.dataset.query;
  charts.hbars(costs, perAgent.map((a) => ({
    label: a.key, value: a.cost_usd, href: `#/agent/${encodeURIComponent(a.key)}?range=${route.range}`,
    note: `${fmt.tokens(a.tokens)} tokens`,
  })), { empty: 'No usage in this range.' });
  return new Map(perAgent.map((a) => [a.key, a]));
}

// The starts of every day (null step: UTC days, as usage/daily writes them)
// or step of the window, so the chart's axis is the whole range, empty
// buckets included (the reports leave them out).
function slots(win, stepMs) {
  const from = Date.parse(win.from), to = Date.parse(win.to), width = stepMs || DAY;
  const out = [];
  for (let t = Math.floor(from / width) * width; t <= to; t += width)
    out.push(stepMs ? new Date(t).toISOString() : new Date(t).toISOString().slice(0, 10));
  return out;
}

// Cost per day (7 d, from usage/daily) or per step (usage/series), stacked by model.
async function refreshCostChart(win) {
  const box = $('cost-chart');
  const r = range();
  const stepMs = r.usageMs;
  const answer = r.usageStep
    ? await report(box, 'usage/series', { by: 'model', step: r.usageStep, ...win })
    : await report(box, 'usage/daily', { by: 'model', ...win });
  const groups = new Map((answer.buckets || answer.days || []).map((b) => [b.start || b.date, b.groups || []]));
  const label = (start) => (stepMs ? fmt.hhmm(Date.parse(start)) : start.slice(5));
  $('cost-chart-title').textContent = `Cost per ${r.per} by model`;
  const buckets = slots(win, stepMs).map((start) => ({
    label: label(start), start,
    parts: (groups.get(start) || []).map((g) => ({ key: g.key, value: g.cost_usd ?? 0 })),
  }));
  charts.stackedBars(box, groups.size ? buckets : [], { empty: 'No model calls in this range.' });
  box.querySelectorAll('.bar').forEach((bar, i) => { bar.dataset.start = buckets[i].start; });
}

// The active block of usage/blocks, as ccusage shows it.
async function refreshBlock() {
  const box = $('block');
  const answer = await report(box, 'usage/blocks', {});
  const blocks = answer.blocks || [];
  const b = blocks.find((x) => x.active);
  box.classList.toggle('inactive', !b);
  const bar = box.querySelector('.progress span');
  if (!b) {
    const last = blocks[blocks.length - 1];
    box.querySelector('[data-field="window"]').textContent =
      last ? `none active · the last ended ${fmt.time(Date.parse(last.end))}` : 'no usage yet';
    for (const f of ['cost_usd', 'tokens', 'cost_per_hour', 'tokens_per_minute', 'projected_cost', 'projected_tokens', 'remaining_minutes'])
      setField(box, f, null, () => '—');
    bar.style.width = '0';
    return;
  }
  const start = Date.parse(b.start), end = Date.parse(b.end);
  box.dataset.start = b.start;
  box.querySelector('[data-field="window"]').textContent = `${fmt.hhmm(start)} – ${fmt.hhmm(end)}`;
  setField(box, 'cost_usd', b.cost_usd, fmt.usd);
  setField(box, 'tokens', b.tokens?.total, fmt.tokens);
  setField(box, 'cost_per_hour', b.burn_rate?.cost_per_hour, (v) => `${fmt.usd(v)}/h`);
  setField(box, 'tokens_per_minute', b.burn_rate?.tokens_per_minute, (v) => `${fmt.tokens(v)} tokens/min`);
  setField(box, 'projected_cost', b.projection?.cost_usd, fmt.usd);
  setField(box, 'projected_tokens', b.projection?.total_tokens, (v) => `${fmt.tokens(v)} tokens`);
  setField(box, 'remaining_minutes', b.projection?.remaining_minutes, fmt.minutes);
  bar.style.width = `${Math.min(100, Math.max(0, (100 * (Date.now() - start)) / (end - start)))}%`;
}

const byState = (a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) ||
  a.agent_name.localeCompare(b.agent_name, 'en', { numeric: true });

async function refreshAgents(costs) {
  const a = await report($('agents'), 'usage/agents', {});
  const fleet = $('fleet');
  setField(fleet, 'total', a.total_agents, (v) => `(${v})`);
  setField(fleet, 'utilisation', a.utilisation, (v) => `${Math.round(100 * v)} %`);
  fleet.querySelector('[data-field="roles"]').textContent =
    Object.entries(a.roles || {}).map(([k, v]) => `${v} ${k}`).join(' · ') || '—';
  fleet.querySelector('.states').replaceChildren(...Object.keys(STATE_ORDER).map((s) => {
    const e = el('span', { className: `count ${s}${a[s] ? '' : ' zero'}` }, el('b', { textContent: String(a[s] ?? 0) }), ` ${s}`);
    e.dataset.state = s;
    e.dataset.value = String(a[s] ?? 0);
    return e;
  }));

  const rows = (a.agents || []).slice().sort(byState).map((g) => {
    const c = costs.get(g.agent_name);
    const href = `#/agent/${encodeURIComponent(g.agent_name)}?range=${route.range}`;
    const td = (text, cls = '') => el('td', { className: cls, textContent: text });
    const tr = el('tr', { className: `data-row state-${g.state}` },
      el('td', {}, stateBadge(g.state)),
      el('td', {}, el('a', { href, textContent: g.agent_name })),
      td(g.role || '—', 'muted'),
      td(fmt.pct(g.cpu_percent), 'num'),
      td(fmt.bytes(g.mem_used_bytes), 'num'),
      td(fmt.usd(c?.cost_usd ?? 0), 'num'),
      td(fmt.tokens(c?.tokens ?? 0), 'num'),
      td(g.last_event_at ? fmt.ago(Date.parse(g.last_event_at)) : '—', 'muted'),
      td(fmt.seconds(g.uptime_seconds), 'num'));
    tr.dataset.agent = g.agent_name;
    tr.dataset.state = g.state;
    return tr;
  });
  if (rows.length === 0) rows.push(el('tr', { className: 'empty' }, el('td', { colSpan: 9, className: 'muted', textContent: 'No agents known.' })));
  $('agents').tBodies[0].replaceChildren(...rows);
}

// ---- lifecycle events ------------------------------------------------------
// An event's data as "key=value" pairs (text only, never HTML).
function eventDetails(d) {
  if (d === null || typeof d !== 'object') return String(d ?? '');
  return Object.entries(d)
    .filter(([, v]) => v !== '' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
}

// Rows for an events table, newest first.
function eventRows(events, colSpan = 3) {
  const rows = events.slice().reverse().map((e) => {
    const tr = el('tr', { className: `data-row ${e.type.replace(/\./g, '-')}` },
      el('td', { textContent: fmt.time(e.t) }),
      el('td', { textContent: e.type }),
      el('td', { className: 'muted', textContent: eventDetails(e.data) }));
    tr.dataset.type = e.type;
    tr.dataset.version = String(e.version);
    return tr;
  });
  if (rows.length === 0) rows.push(el('tr', { className: 'empty' }, el('td', { colSpan, className: 'muted', textContent: 'No events in this range.' })));
  return rows;
}

async function refreshEvents() {
  const log = await report($('events'), 'events/log', { limit: EVENTS_SHOWN });
  $('events').tBodies[0].replaceChildren(...eventRows(log.events || []));
}

// ---- views -----------------------------------------------------------------
async function refreshOverview() {
  const win = windowOf();
  const [costs] = await Promise.all([refreshSpend(win), refreshCostChart(win), refreshBlock()]);
  await Promise.all([refreshAgents(costs), refreshEvents(), refreshTargets()]);
}

let refreshing = null;
async function refresh() {
  if (refreshing) return refreshing;  // one round at a time
  refreshing = (route.view === 'agent' ? agentView.refresh() : refreshOverview())
    .then(() => { showError(null); document.body.dataset.loaded = route.view; }, showError)
    .finally(() => { refreshing = null; });
  return refreshing;
}

function parseRoute() {
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const r = new URLSearchParams(query).get('range');
  const m = /^\/agent\/(.+)$/.exec(path);
  let agent = m ? m[1] : '';
  try { agent = decodeURIComponent(agent); } catch (_) { /* not percent-encoded: as written */ }
  return {
    view: m ? 'agent' : 'overview',
    agent,
    range: r in RANGES ? r : 'live',
  };
}

// Shows the view the hash names; a new range reloads the sample history and
// starts or stops the live stream.
async function onRoute() {
  const was = route;
  route = parseRoute();
  document.body.dataset.loaded = '';
  $('overview').hidden = route.view !== 'overview';
  $('agent').hidden = route.view !== 'agent';
  $('view-title').textContent = route.view === 'agent' ? route.agent : 'fleet';
  document.title = `vitals — ${route.view === 'agent' ? route.agent : 'fleet'} · ${range().label}`;
  const path = route.view === 'agent' ? `#/agent/${encodeURIComponent(route.agent)}` : '#/';
  for (const a of $('ranges').querySelectorAll('a')) {
    a.href = `${path}?range=${a.dataset.range}`;
    a.setAttribute('aria-current', String(a.dataset.range === route.range));
  }
  document.querySelectorAll('.range-label').forEach((e) => { e.textContent = range().label; });
  document.querySelectorAll('.live-only').forEach((e) => { e.hidden = route.range !== 'live'; });
  if (route.view === 'agent') agentView.show(route.agent);

  if (was.range !== route.range || !historyTimer) {
    data.clear();
    if (historyTimer) clearInterval(historyTimer);
    historyTimer = setInterval(() => { if (route.range !== 'live') loadHistory().catch(showError); }, HISTORY_EVERY_MS);
    if (route.range === 'live') { if (!es) connect(); } else disconnect();
    loadHistory().catch(showError);
  }
  targets.forEach((_, id) => dirty.add(id));
  scheduleRender();
  await refresh();
}

async function start() {
  window.addEventListener('hashchange', onRoute);
  window.addEventListener('resize', () => { targets.forEach((_, id) => dirty.add(id)); scheduleRender(); });
  try { await refreshTargets(true); } catch (err) { showError(err); }
  await onRoute();
  setInterval(refresh, REFRESH_MS);
}

// Loaded last (index.html), after the page's body may already be parsed.
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
