// Checks each view of the agent monitor's dashboard in headless Debian
// chromium (playwright-core, pinned in package.json) against the monitor's own
// answers, and saves a screenshot of each.
//
//   node tests/dashboard/views.js URL [SHOTS_DIR]     e.g. http://127.0.0.1:9464/
//   env: CHROMIUM (default /usr/bin/chromium), VIEWS_WAIT (seconds a check may
//   take to hold, default 40)
//
// Expects a monitor that a simulator feeds (agent-1.., with --history so the
// week has usage). It adds two agents of its own and removes them at the end:
// agent-broken, a scrape target nobody answers (state error), and
// agent-stuck, a busy process whose last usage event is 20 minutes old (state
// stuck). Each section of the page keeps the report it read in data-query;
// the checks take the monitor's answer to that query (as the browser received
// it: the reports change while the simulator runs) and compare numbers. The
// page reads again every 10 s, so a check is retried until it holds (the
// newest answer may come before the page has drawn it) or VIEWS_WAIT runs out.
// Ends with "N passed, N failed"; exit status 1 when anything failed.
'use strict';

const { chromium } = require('playwright-core');
const { spawn } = require('node:child_process');
const path = require('node:path');

const base = new URL(process.argv[2] || '');
const shots = process.argv[3] || '';
const WAIT_MS = 1000 * Number(process.env.VIEWS_WAIT || 40);
let passed = 0, failed = 0;

async function api(pathAndQuery, init) {
  const res = await fetch(new URL(`/api/v1/${pathAndQuery}`, base), init);
  if (!res.ok && res.status !== 404) throw new Error(`${pathAndQuery}: HTTP ${res.status} ${await res.text()}`);
  return res.status === 204 || res.status === 404 ? null : res.json();
}
const post = (p, body) => api(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// Runs `check` (null: holds; else what is wrong) until it holds or time runs out.
async function until(name, check) {
  const end = Date.now() + WAIT_MS;
  let problem = 'not checked';
  for (;;) {
    try { problem = await check(); } catch (e) { problem = String(e.message || e); }
    if (!problem || Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (problem) { failed++; console.log(`FAIL - ${name}: ${problem}`); } else { passed++; console.log(`ok - ${name}`); }
}

const near = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const num = (s) => (s == null ? NaN : Number(s));

// The monitor's answers to the page, by query (parameters sorted, no token).
const answers = new Map();
function queryKey(u) {
  const url = new URL(u, new URL('/api/v1/', base));
  const q = new URLSearchParams(url.search);
  q.delete('access_token');
  q.sort();
  return `${url.pathname.replace(/^\/api\/v1\//, '')}?${q}`;
}
function record(page) {
  page.on('response', async (r) => {
    const u = r.url();
    if (!u.includes('/api/v1/') || u.includes('/watch') || !r.ok()) return;
    try { answers.set(queryKey(u), await r.json()); } catch (_) { /* not JSON */ }
  });
}
function answerTo(query) {
  const a = answers.get(queryKey(query));
  if (!a) throw new Error(`the page has not read ${query}`);
  return a;
}

// ---- reading the page ------------------------------------------------------
const dataQuery = (page, sel) => page.$eval(sel, (e) => e.dataset.query || '');
const fields = (page, sel) => page.$eval(sel, (box) => Object.fromEntries(
  [...box.querySelectorAll('[data-field]')].map((f) => [f.dataset.field, { value: f.dataset.value, text: f.textContent }])));

// Every number the page prints is for people: no exponent, no raw digits run.
async function humanNumbers(page) {
  const text = await page.$eval('main', (m) => m.innerText);
  const bad = text.match(/\d\.?\d*[eE][-+]?\d+|\d\.\d{7,}/);
  return bad ? `the page prints "${bad[0]}"` : null;
}

// ---- the checks ------------------------------------------------------------
async function checkCostChart(page, view) {
  await until(`${view}: the cost chart's bars are what its report answers`, async () => {
    const query = await dataQuery(page, '#cost-chart');
    if (!query) return 'no data-query on #cost-chart';
    const answer = answerTo(query);
    const buckets = answer.days || answer.buckets;
    const bars = await page.$$eval('#cost-chart .bar', (bs) => bs.map((b) => ({
      start: b.dataset.start, total: Number(b.dataset.total),
      parts: Object.fromEntries([...b.querySelectorAll('rect')].map((r) => [r.dataset.key, Number(r.dataset.value)])) })));
    if (buckets.length === 0) return `${query} answers no bucket`;
    const byStart = new Map(bars.map((b) => [b.start, b]));
    for (const b of buckets) {
      const start = b.date || b.start, bar = byStart.get(start);
      if (!bar) return `no bar for ${start}; bars: ${[...byStart.keys()].join(' ')}`;
      byStart.delete(start);
      for (const g of b.groups) {
        if (g.cost_usd > 0 && !near(bar.parts[g.key], g.cost_usd))
          return `${start} ${g.key}: the bar shows ${bar.parts[g.key]}, the report ${g.cost_usd}`;
      }
      if (!near(bar.total, b.cost_usd)) return `${start}: the bar totals ${bar.total}, the report ${b.cost_usd}`;
    }
    const extra = [...byStart.values()].find((b) => b.total !== 0);
    return extra ? `a bar for ${extra.start} the report does not have` : null;
  });
}

async function checkSpend(page, view) {
  await until(`${view}: spend and cost per agent are what usage/daily?by=agent answers`, async () => {
    const query = await dataQuery(page, '#spend');
    if (!query.startsWith('usage/daily?by=agent')) return `#spend read "${query}"`;
    const answer = answerTo(query);
    const f = await fields(page, '#spend');
    if (!near(num(f.cost.value), answer.totals.cost_usd)) return `spend ${f.cost.value}, the report ${answer.totals.cost_usd}`;
    if (num(f.tokens.value) !== answer.totals.tokens.total) return `tokens ${f.tokens.value}, the report ${answer.totals.tokens.total}`;
    const perAgent = new Map();
    for (const d of answer.days) for (const g of d.groups) perAgent.set(g.key, (perAgent.get(g.key) || 0) + g.cost_usd);
    const rows = await page.$$eval('#agent-costs .hbar', (rs) => rs.map((r) => [r.dataset.label, Number(r.dataset.value)]));
    if (rows.length !== perAgent.size) return `${rows.length} agents in cost per agent, the report has ${perAgent.size}`;
    for (const [agent, cost] of rows) if (!near(cost, perAgent.get(agent))) return `${agent}: ${cost}, the report ${perAgent.get(agent)}`;
    for (let i = 1; i < rows.length; i++) if (rows[i][1] > rows[i - 1][1]) return 'cost per agent is not largest first';
    return null;
  });
}

async function checkBlock(page, view) {
  await until(`${view}: the block card is usage/blocks' active block`, async () => {
    const answer = answerTo(await dataQuery(page, '#block'));
    const b = answer.blocks.find((x) => x.active);
    if (!b) return 'usage/blocks has no active block (the simulator posts usage, so it should)';
    const f = await fields(page, '#block');
    const want = { cost_usd: b.cost_usd, tokens: b.tokens.total, cost_per_hour: b.burn_rate?.cost_per_hour,
      tokens_per_minute: b.burn_rate?.tokens_per_minute, projected_cost: b.projection.cost_usd,
      projected_tokens: b.projection.total_tokens, remaining_minutes: b.projection.remaining_minutes };
    for (const [k, v] of Object.entries(want)) {
      if (v == null) continue;
      if (!near(num(f[k].value), v)) return `${k}: the card shows ${f[k].value} ("${f[k].text}"), usage/blocks ${v}`;
    }
    return null;
  });
}

async function checkAgents(page, view) {
  await until(`${view}: agent states, stuck and error first`, async () => {
    const rows = await page.$$eval('#agents tbody tr.data-row', (rs) => rs.map((r) => [r.dataset.agent, r.dataset.state]));
    const state = Object.fromEntries(rows);
    if (state['agent-stuck'] !== 'stuck') return `agent-stuck is ${state['agent-stuck']}`;
    if (state['agent-broken'] !== 'error') return `agent-broken is ${state['agent-broken']}`;
    if (!rows.some(([, s]) => s === 'working' || s === 'idle')) return 'no working or idle agent listed';
    const firstOther = rows.findIndex(([, s]) => s !== 'stuck' && s !== 'error');
    if (rows.slice(firstOther).some(([, s]) => s === 'stuck' || s === 'error'))
      return `not stuck and error first: ${rows.map(([a, s]) => `${a}=${s}`).join(' ')}`;
    const counts = answerTo(await dataQuery(page, '#agents'));
    const shown = await page.$$eval('#fleet .count', (cs) => Object.fromEntries(cs.map((c) => [c.dataset.state, Number(c.dataset.value)])));
    return shown.stuck === counts.stuck && shown.error === counts.error ? null
      : `state counts ${JSON.stringify(shown)}, usage/agents stuck=${counts.stuck} error=${counts.error}`;
  });
}

async function checkLive(page) {
  await until('live: samples arrive over SSE and the target cards show values', async () => {
    const count = await page.$eval('#live-count', (e) => Number(e.dataset.count));
    const values = await page.$$eval('.card [data-series][data-value]', (vs) => vs.length);
    const conn = await page.$eval('#conn', (e) => e.textContent);
    return count > 0 && values > 0 ? null : `live samples ${count}, card values ${values}, stream ${conn}`;
  });
}

async function checkAgentPage(page, agent) {
  const view = `agent ${agent}`;
  await until(`${view}: cost, tokens and models are usage/summary's`, async () => {
    const query = await dataQuery(page, '#agent-tiles');
    if (!query.includes(`agent=${agent}`)) return `#agent-tiles read "${query}"`;
    const s = answerTo(query).find((x) => x.agent_name === agent);
    if (!s) return `${query} does not list ${agent}`;
    const f = await fields(page, '#agent-tiles');
    if (!near(num(f.cost.value), s.cost.total_usd)) return `cost ${f.cost.value}, the report ${s.cost.total_usd}`;
    if (num(f.total.value) !== s.tokens.total) return `tokens ${f.total.value}, the report ${s.tokens.total}`;
    const models = await page.$$eval('#agent-models tr.data-row', (rs) => rs.map((r) => [r.dataset.key, Number(r.dataset.value)]));
    const want = s.models.map((m) => [m.model, m.cost_usd]);
    return JSON.stringify(models) === JSON.stringify(want) ? null : `models ${JSON.stringify(models)}, the report ${JSON.stringify(want)}`;
  });
  await until(`${view}: tool calls are usage/daily?by=tool's`, async () => {
    const query = await dataQuery(page, '#agent-tools');
    const answer = answerTo(query);
    const calls = {};
    for (const d of answer.days) for (const g of d.groups) calls[g.key] = (calls[g.key] || 0) + g.tool_calls;
    const rows = Object.fromEntries(await page.$$eval('#agent-tools tr.data-row', (rs) => rs.map((r) => [r.dataset.key, Number(r.dataset.value)])));
    return JSON.stringify(Object.entries(rows).sort()) === JSON.stringify(Object.entries(calls).sort()) ? null
      : `tools ${JSON.stringify(rows)}, the report ${JSON.stringify(calls)}`;
  });
}

async function checkAgentEvents(page, agent, type) {
  await until(`agent ${agent}: its lifecycle events, with ${type}`, async () => {
    const rows = await page.$$eval('#agent-events tr.data-row', (rs) => rs.map((r) => [r.dataset.type, r.cells[2].textContent]));
    if (!rows.some(([t]) => t === type)) return `no ${type} among ${JSON.stringify(rows)}`;
    const other = rows.find(([, d]) => !d.includes(agent));
    return other ? `an event about someone else: ${JSON.stringify(other)}` : null;
  });
}

async function checkCharts(page, agent) {
  await until(`agent ${agent}: CPU and memory charts over the range`, async () => {
    const lines = await page.$$eval('#agent-cpu path.line, #agent-mem path.line', (ps) => ps.map((p) => Number(p.dataset.points)));
    return lines.length === 2 && lines.every((n) => n > 0) ? null : `chart lines with points: ${JSON.stringify(lines)}`;
  });
}

// ---- the run ---------------------------------------------------------------
async function visit(page, hash, view) {
  await page.goto(new URL(hash, base).href);
  await page.waitForSelector(`body[data-loaded="${view}"]`, { timeout: WAIT_MS });
}

async function shoot(page, name) {
  if (!shots) return;
  await page.waitForTimeout(500);  // the sparklines draw 250 ms after their data
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

async function main() {
  // A busy process (about 40 % of a core) whose agent last reported 20 minutes ago.
  const busy = spawn(process.execPath, ['-e',
    'const s = new Int32Array(new SharedArrayBuffer(4));' +
    'for (;;) { const e = Date.now() + 40; while (Date.now() < e); Atomics.wait(s, 0, 0, 60); }'], { stdio: 'ignore' });
  process.on('exit', () => busy.kill('SIGKILL'));
  const added = ['agent-stuck', 'agent-broken'];
  let browser;
  try {
    await post('targets', { id: 'agent-stuck', kind: 'process', pid: busy.pid, interval: '1s', labels: { agent: 'agent-stuck', role: 'coordinator' } });
    await post('targets', { id: 'agent-broken', kind: 'scrape', url: 'http://127.0.0.1:9/metrics', interval: '1s', labels: { agent: 'agent-broken', role: 'reviewer' } });
    await post('events', { occurred_at: new Date(Date.now() - 20 * 60e3).toISOString(), agent_name: 'agent-stuck',
      event_type: 'message_usage', model_raw: 'claude-opus-4-1', message_id: `views-${busy.pid}`,
      input_tokens: 12000, output_tokens: 900, cost_usd: 0.25 });

    browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
      args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    record(page);
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));

    await visit(page, '#/?range=7d', 'overview');
    await checkCostChart(page, 'fleet 7d');
    await checkSpend(page, 'fleet 7d');
    await checkBlock(page, 'fleet 7d');
    await checkAgents(page, 'fleet 7d');
    await until('fleet 7d: numbers are written for people', () => humanNumbers(page));
    await shoot(page, 'dashboard-fleet-7d');

    await visit(page, '#/?range=24h', 'overview');
    await checkCostChart(page, 'fleet 24h');
    await checkSpend(page, 'fleet 24h');

    await visit(page, '#/?range=live', 'overview');
    await checkLive(page);
    await checkCostChart(page, 'fleet live');
    await shoot(page, 'dashboard-fleet-live');

    await visit(page, '#/agent/agent-1?range=1h', 'agent');
    await checkAgentPage(page, 'agent-1');
    await checkAgentEvents(page, 'agent-1', 'target.tracked');
    await checkCharts(page, 'agent-1');
    await until('agent agent-1: numbers are written for people', () => humanNumbers(page));
    await visit(page, '#/agent/agent-1?range=live', 'agent');  // a young agent fills this chart
    await checkCharts(page, 'agent-1 live');
    await shoot(page, 'dashboard-agent');

    await visit(page, '#/agent/agent-broken?range=1h', 'agent');
    await until('agent agent-broken: the page says error', async () => {
      const s = await page.$eval('#agent-state', (e) => e.dataset.state);
      return s === 'error' ? null : `state ${s}`;
    });
    await checkAgentEvents(page, 'agent-broken', 'target.failing');
    await shoot(page, 'dashboard-agent-error');

    if (errors.length) { failed++; console.log(`FAIL - the page threw: ${errors.join('; ')}`); }
  } catch (e) {
    failed++;
    console.log(`FAIL - ${e.stack || e}`);
  } finally {
    if (browser) await browser.close();
    for (const id of added) await api(`targets/${id}`, { method: 'DELETE' }).catch(() => {});
    busy.kill('SIGKILL');
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main();
