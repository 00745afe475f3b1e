// vitals dashboard: one agent (#/agent/NAME): its cost, tokens and resources
// over the range (usage/summary?agent=), its CPU and memory (the samples of
// its target, as app.js keeps them), its models, its tool calls
// (usage/daily?by=tool&agent=) and the monitor's lifecycle events about it
// (events/log, filtered here: the log has no per-agent query).
'use strict';

const agentView = (() => {
  const EVENTS_READ = 500;   // the newest events of the range that are searched...
  const EVENTS_SHOWN = 50;   // ...and at most this many about the agent are shown
  let name = '';

  // The target whose samples are the agent's: an `agent` label naming it,
  // else the target of that id (as the usage reports match them).
  function targetOf(agent) {
    for (const [id, t] of targets) if (t.info.labels?.agent === agent) return id;
    return targets.has(agent) ? agent : null;
  }

  function show(agent) {
    if (agent === name) return;
    name = agent;
    $('agent-name').textContent = agent;
    $('agent-state').replaceChildren();
    $('agent-meta').textContent = '';
    for (const id of ['agent-cpu', 'agent-mem']) $(id).replaceChildren();
    for (const id of ['agent-models', 'agent-tools', 'agent-events'])
      $(id).tBodies[0].replaceChildren(el('tr', { className: 'empty' }, el('td', { colSpan: 5, className: 'muted', textContent: 'Loading…' })));
  }

  function renderCharts() {
    const id = targetOf(name);
    const to = Date.now(), from = to - range().ms;
    const kind = id ? targets.get(id).info.kind : '';
    const cpu = kind === 'cgroup' ? 'container_cpu_percent' : 'process_cpu_percent';
    const mem = kind === 'cgroup' ? 'container_memory_usage_bytes' : 'process_resident_memory_bytes';
    const empty = id ? 'No samples in this range.' : 'No tracked target: the agent is known from its usage only.';
    charts.lineChart($('agent-cpu'), id ? [{ key: cpu, points: pointsOf(id, cpu), colour: '#4fb3ff' }] : [],
      { t0: from, t1: to, format: (v) => `${Math.round(v)} %`, empty });
    charts.lineChart($('agent-mem'), id ? [{ key: mem, points: pointsOf(id, mem), colour: '#f5a25d' }] : [],
      { t0: from, t1: to, format: fmt.bytes, unit: 1024 ** 2, empty });
  }

  function renderSummary(s, state) {
    const tiles = $('agent-tiles');
    setField(tiles, 'cost', s?.cost?.total_usd ?? 0, fmt.usd);
    setField(tiles, 'requests', s?.requests ?? 0, fmt.int);
    setField(tiles, 'tool_calls', s?.tool_calls ?? 0, fmt.int);
    for (const k of ['total', 'input', 'output', 'cache_read', 'cache_write'])
      setField(tiles, k, s?.tokens?.[k] ?? 0, fmt.tokens);
    setField(tiles, 'cpu_avg', s?.cpu?.avg_percent, fmt.pct);
    setField(tiles, 'cpu_max', s?.cpu?.max_percent, fmt.pct);
    setField(tiles, 'mem_avg', s?.memory?.avg_bytes, fmt.bytes);
    setField(tiles, 'mem_max', s?.memory?.max_bytes, fmt.bytes);
    setField(tiles, 'disk_read', s?.disk?.read_bytes, fmt.bytes);
    setField(tiles, 'disk_write', s?.disk?.write_bytes, fmt.bytes);
    setField(tiles, 'uptime', state?.uptime_seconds, fmt.seconds);
    $('agent-state').replaceChildren(stateBadge(state?.state || s?.state || 'unknown'));
    $('agent-state').dataset.state = state?.state || s?.state || '';
    const id = targetOf(name);
    $('agent-meta').textContent = [s?.role || state?.role, s?.tool || state?.tool, s?.runtime || state?.runtime,
      id ? `target ${id}` : 'no target',
      state?.last_event_at ? `last usage event ${fmt.ago(Date.parse(state.last_event_at))}` : '']
      .filter(Boolean).join(' · ');

    const models = (s?.models || []).map((m) => {
      const tr = el('tr', { className: 'data-row' },
        el('td', {}, el('i', { className: 'swatch', style: `background:${charts.colourOf(m.model)}` }), m.model),
        el('td', { className: 'num', textContent: fmt.int(m.requests) }),
        el('td', { className: 'num', textContent: fmt.tokens(m.input_tokens) }),
        el('td', { className: 'num', textContent: fmt.tokens(m.output_tokens) }),
        el('td', { className: 'num', textContent: fmt.usd(m.cost_usd) }));
      tr.dataset.key = m.model;
      tr.dataset.value = String(m.cost_usd);
      return tr;
    });
    if (models.length === 0) models.push(el('tr', { className: 'empty' }, el('td', { colSpan: 5, className: 'muted', textContent: 'No model calls in this range.' })));
    $('agent-models').tBodies[0].replaceChildren(...models);
  }

  function renderTools(daily) {
    const rows = sumGroups(daily.days || []).sort((a, b) => b.tool_calls - a.tool_calls || a.key.localeCompare(b.key))
      .map((t) => {
        const tr = el('tr', { className: 'data-row' },
          el('td', { textContent: t.key }),
          el('td', { className: 'num', textContent: fmt.int(t.tool_calls) }),
          el('td', { className: `num${t.errors ? ' bad' : ''}`, textContent: fmt.int(t.errors) }),
          el('td', { className: 'num', textContent: t.tool_calls ? `${fmt.int(t.ms / t.tool_calls)} ms` : '—' }));
        tr.dataset.key = t.key;
        tr.dataset.value = String(t.tool_calls);
        return tr;
      });
    if (rows.length === 0) rows.push(el('tr', { className: 'empty' }, el('td', { colSpan: 4, className: 'muted', textContent: 'No tool calls in this range.' })));
    $('agent-tools').tBodies[0].replaceChildren(...rows);
  }

  // The events that name the agent or its target.
  function renderEvents(log) {
    const id = targetOf(name);
    const about = (e) => {
      const d = e.data || {};
      return d.agent === name || d.target === name || (id && d.target === id);
    };
    const mine = (log.events || []).filter(about).slice(-EVENTS_SHOWN);
    $('agent-events').tBodies[0].replaceChildren(...eventRows(mine));
  }

  async function refresh() {
    await refreshTargets();
    const agent = name, win = windowOf();
    const [summary, states, tools, log] = await Promise.all([
      report($('agent-tiles'), 'usage/summary', { agent, ...win }),
      getJSON('usage/agents'),
      report($('agent-tools'), 'usage/daily', { by: 'tool', agent, ...win }),
      report($('agent-events'), 'events/log', { from: win.from, limit: EVENTS_READ }),
    ]);
    if (agent !== name) return;  // the route moved on while we waited
    $('agent-models').dataset.query = $('agent-tiles').dataset.query;
    renderSummary(summary.find((s) => s.agent_name === agent), (states.agents || []).find((s) => s.agent_name === agent));
    renderTools(tools);
    renderEvents(log);
    const id = targetOf(agent);
    if (id && !data.has(id)) await loadHistory(id);
    renderCharts();
  }

  return { show, refresh, renderCharts };
})();
