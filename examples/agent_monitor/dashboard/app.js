// vitals dashboard: the fleet (#/) and one agent (#/agent/NAME, agent.js),
// over a time range (?range=live|1h|24h|7d): routing, the API helpers and the
// fleet's reports. History comes from /api/v1/range (targets.js) and the usage
// reports; in "live" the samples keep coming over /api/v1/watch. Every
// section that shows a report keeps the query it read in data-query, so a
// test can ask the API the same question. See docs/http-api.md.
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
const REFRESH_MS = 10000;           // reports, targets and events
const HISTORY_EVERY_MS = 60000;     // sample history when not live
const EVENTS_SHOWN = 20;
const STATE_ORDER = { stuck: 0, error: 1, working: 2, idle: 3, done: 4, stopped: 5 };

// ---- state -----------------------------------------------------------------
// route: which view, which agent, which range (from the location's hash).
let route = { view: 'overview', agent: '', range: 'live' };
let renderTimer = null, historyTimer = null;

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

// `costs`: by agent name, from usage/daily. On a fleet's view (agents of
// more than one host) one name may be an agent on several hosts: each row
// names its host and its cost is that host's, from usage/summary.
async function refreshAgents(costs, win) {
  const a = await report($('agents'), 'usage/agents', {});
  const hosts = new Set((a.agents || []).map((g) => g.host || ''));
  const fleet = hosts.size > 1;
  const costOf = new Map();
  if (fleet)
    for (const s of await getJSON('usage/summary', win))
      costOf.set(`${s.host}\n${s.agent_name}`, { cost_usd: s.cost?.total_usd ?? 0, tokens: s.tokens?.total ?? 0 });
  const box = $('fleet');
  setField(box, 'total', a.total_agents, (v) => `(${v})`);
  setField(box, 'utilisation', a.utilisation, (v) => `${Math.round(100 * v)} %`);
  box.querySelector('[data-field="roles"]').textContent =
    Object.entries(a.roles || {}).map(([k, v]) => `${v} ${k}`).join(' · ') || '—';
  box.querySelector('.states').replaceChildren(...Object.keys(STATE_ORDER).map((s) => {
    const e = el('span', { className: `count ${s}${a[s] ? '' : ' zero'}` }, el('b', { textContent: String(a[s] ?? 0) }), ` ${s}`);
    e.dataset.state = s;
    e.dataset.value = String(a[s] ?? 0);
    return e;
  }));

  const rows = (a.agents || []).slice().sort(byState).map((g) => {
    const c = fleet ? costOf.get(`${g.host}\n${g.agent_name}`) : costs.get(g.agent_name);
    const href = `#/agent/${encodeURIComponent(g.agent_name)}?range=${route.range}`;
    const td = (text, cls = '') => el('td', { className: cls, textContent: text });
    const tr = el('tr', { className: `data-row state-${g.state}` },
      el('td', {}, stateBadge(g.state)),
      el('td', {}, el('a', { href, textContent: g.agent_name }),
        ...(fleet ? [el('span', { className: 'muted host', textContent: ` @ ${g.host}` })] : [])),
      td(g.role || '—', 'muted'),
      td(fmt.pct(g.cpu_percent), 'num'),
      td(fmt.bytes(g.mem_used_bytes), 'num'),
      td(fmt.usd(c?.cost_usd ?? 0), 'num'),
      td(fmt.tokens(c?.tokens ?? 0), 'num'),
      td(g.last_event_at ? fmt.ago(Date.parse(g.last_event_at)) : '—', 'muted'),
      td(fmt.seconds(g.uptime_seconds), 'num'));
    tr.dataset.agent = g.agent_name;
    tr.dataset.host = g.host || '';
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
  await Promise.all([refreshAgents(costs, win), refreshEvents(), refreshTargets()]);
}

// One round at a time; a round asked for meanwhile runs after it. The body's
// data-loaded names the view once a round for the current view has finished.
let refreshing = null, again = false;
function refresh() {
  if (refreshing) { again = true; return refreshing; }
  const hash = location.hash;
  refreshing = (route.view === 'agent' ? agentView.refresh() : refreshOverview())
    .then(() => {
      showError(null);
      if (location.hash === hash) document.body.dataset.loaded = route.view;
    }, showError)
    .finally(() => {
      refreshing = null;
      if (again) { again = false; refresh(); }
    });
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
    follow(route.range === 'live');
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
