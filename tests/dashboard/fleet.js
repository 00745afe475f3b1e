// Checks the agents table of a fleet's read-only view in headless Debian
// chromium (playwright-core, pinned in package.json): one agent name on
// several hosts is a row per host, each naming its host and showing that
// host's cost from /api/v1/usage/summary (not the name's sum over the fleet).
//
//   node tests/dashboard/fleet.js URL AGENT HOST...   e.g. http://127.0.0.1:9464/ agent-1 h1 h2
//   env: CHROMIUM (default /usr/bin/chromium), VIEWS_WAIT (seconds, default 40)
//
// Ends with "N passed, N failed"; exit status 1 when anything failed.
'use strict';

const { chromium } = require('playwright-core');

const [base, agent, ...hosts] = process.argv.slice(2);
const WAIT_MS = 1000 * Number(process.env.VIEWS_WAIT || 40);
let passed = 0, failed = 0;
const check = (name, problem) => {
  if (problem) { failed++; console.log(`FAIL - ${name}: ${problem}`); } else { passed++; console.log(`ok - ${name}`); }
};
const usd = (v) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(v);

(async () => {
  let browser;
  try {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
      args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(base);
    const summary = await (await fetch(new URL('/api/v1/usage/summary', base))).json();
    const want = new Map(summary.filter((s) => s.agent_name === agent).map((s) => [s.host, usd(s.cost.total_usd)]));
    check('the summary has the agent on every host', hosts.every((h) => want.has(h)) ? null : JSON.stringify(summary));
    const end = Date.now() + WAIT_MS;
    let rows = [], problem = 'not checked';
    while (problem && Date.now() < end) {
      rows = await page.$$eval('#agents tbody tr.data-row', (trs) => trs.map((tr) => ({
        agent: tr.dataset.agent, host: tr.dataset.host, name: tr.cells[1].textContent, cost: tr.cells[5].textContent })));
      const mine = rows.filter((r) => r.agent === agent);
      problem = null;
      for (const h of hosts) {
        const r = mine.find((x) => x.host === h);
        if (!r) problem = `no row for ${agent} on ${h}`;
        else if (!r.name.includes(`@ ${h}`)) problem = `the row of ${h} does not name its host: ${r.name}`;
        else if (r.cost !== want.get(h)) problem = `${h}: cost ${r.cost}, its summary says ${want.get(h)}`;
        if (problem) break;
      }
      if (problem) await new Promise((r) => setTimeout(r, 500));
    }
    check(`a row per host for ${agent}, with that host's cost`, problem && `${problem}; rows ${JSON.stringify(rows)}`);
    check('no page errors', errors.length ? errors.join('; ') : null);
  } catch (e) {
    check('the page loads', String(e.stack || e));
  } finally {
    if (browser) await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
