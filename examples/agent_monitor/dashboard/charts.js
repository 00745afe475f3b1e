// vitals dashboard: number formats and the charts, drawn by hand (inline SVG
// and one canvas sparkline; nothing is fetched from outside). Every chart
// takes plain arrays and a container, and replaces what the container held.
'use strict';

const charts = (() => {
  // ---- numbers for people ---------------------------------------------------
  const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
  const usd2 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  const usd0 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
  const usdSmall = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumSignificantDigits: 2 });

  const ok = (v) => v != null && Number.isFinite(v);
  const fmt = {
    int: (v) => (ok(v) ? intFmt.format(v) : '—'),
    tokens: (v) => (ok(v) ? (Math.abs(v) < 10000 ? intFmt.format(v) : compactFmt.format(v)) : '—'),
    usd: (v) => {
      if (!ok(v)) return '—';
      if (v !== 0 && Math.abs(v) < 0.01) return usdSmall.format(v);
      return Math.abs(v) >= 10000 ? usd0.format(v) : usd2.format(v);
    },
    pct: (v) => (ok(v) ? `${v.toFixed(1)} %` : '—'),
    bytes: (v) => {
      if (!ok(v)) return '—';
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0;
      while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
    },
    rate: (v) => (ok(v) ? `${fmt.bytes(v)}/s` : '—'),
    num: (v) => (ok(v) ? (Math.abs(v) >= 100 ? intFmt.format(v) : v.toFixed(2)) : '—'),
    // Minutes as "3 h 40 min", "12 min", "40 s".
    minutes: (m) => {
      if (!ok(m)) return '—';
      if (m < 1) return `${Math.round(m * 60)} s`;
      const h = Math.floor(m / 60), rest = Math.round(m % 60);
      return h ? `${h} h ${rest} min` : `${rest} min`;
    },
    seconds: (s) => (ok(s) ? fmt.minutes(s / 60) : '—'),
    // "14:05:09" today, else "Tue 14:05".
    time: (t) => (new Date(t).toDateString() === new Date().toDateString()
      ? new Date(t).toLocaleTimeString('en-GB') : fmt.dayTime(t)),
    dayTime: (t) => new Date(t).toLocaleString('en-GB', { weekday: 'short', hour: '2-digit', minute: '2-digit' }),
    hhmm: (t) => new Date(t).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' }),
    ago: (t) => {
      const s = (Date.now() - t) / 1000;
      return s < 0 ? 'now' : `${fmt.seconds(s)} ago`;
    },
  };

  // ---- colours: one per key, stable for the page's life ----------------------
  const PALETTE = ['#4fb3ff', '#f5a25d', '#4cc38a', '#c38ef5', '#ef6b6b', '#e5d36b',
                   '#5fd3d3', '#f57fbf', '#9aa7b8', '#a5d66b'];
  const colours = new Map();
  const colourOf = (key) => {
    if (!colours.has(key)) colours.set(key, PALETTE[colours.size % PALETTE.length]);
    return colours.get(key);
  };

  // ---- SVG helpers -----------------------------------------------------------
  const NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs = {}, ...children) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    e.append(...children);
    return e;
  }
  const title = (text) => svg('title', {}, text);

  // A round upper bound for an axis: 1, 2 or 5 times a power of ten.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v);
  }

  function legend(keys) {
    const box = document.createElement('div');
    box.className = 'legend';
    for (const key of keys) {
      const item = document.createElement('span');
      const dot = document.createElement('i');
      dot.style.background = colourOf(key);
      item.append(dot, key);
      box.append(item);
    }
    return box;
  }

  // Stacked bars: buckets = [{label, parts: [{key, value}]}], in order.
  // Each bar carries data-label and data-total; each segment data-key and
  // data-value (the raw numbers, for tests and tooltips).
  function stackedBars(container, buckets, { format = fmt.usd, empty = 'Nothing yet.' } = {}) {
    container.replaceChildren();
    if (buckets.length === 0) {
      container.append(Object.assign(document.createElement('p'), { className: 'muted', textContent: empty }));
      return;
    }
    const W = 640, H = 200, left = 56, bottom = 22, top = 8;
    const totals = buckets.map((b) => b.parts.reduce((s, p) => s + p.value, 0));
    const max = niceMax(Math.max(...totals));
    const slot = (W - left) / buckets.length;
    const barW = Math.max(2, Math.min(48, slot * 0.7));
    const y = (v) => top + (H - top - bottom) * (1 - v / max);
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
    for (const f of [0, 0.5, 1]) {
      root.append(svg('line', { x1: left, x2: W, y1: y(max * f), y2: y(max * f), class: 'grid' }),
        svg('text', { x: left - 6, y: y(max * f) + 4, class: 'axis', 'text-anchor': 'end' }, format(max * f)));
    }
    const labelEvery = Math.ceil(buckets.length / 8);
    buckets.forEach((b, i) => {
      const x = left + i * slot + (slot - barW) / 2;
      const bar = svg('g', { class: 'bar', 'data-label': b.label, 'data-total': String(totals[i]) });
      let acc = 0;
      for (const p of b.parts) {
        if (!(p.value > 0)) continue;
        const y0 = y(acc), y1 = y(acc + p.value);
        acc += p.value;
        bar.append(svg('rect', { x, y: y1, width: barW, height: Math.max(0.5, y0 - y1),
          fill: colourOf(p.key), 'data-key': p.key, 'data-value': String(p.value) },
        title(`${b.label} · ${p.key}: ${format(p.value)}`)));
      }
      bar.append(title(`${b.label}: ${format(totals[i])}`));
      root.append(bar);
      if (i % labelEvery === 0)
        root.append(svg('text', { x: x + barW / 2, y: H - 6, class: 'axis', 'text-anchor': 'middle' }, b.label));
    });
    const keys = [...new Set(buckets.flatMap((b) => b.parts.map((p) => p.key)))];
    container.append(root, legend(keys));
  }

  // Horizontal bars (HTML): rows = [{label, value, href, note}], largest first.
  function hbars(container, rows, { format = fmt.usd, empty = 'Nothing yet.' } = {}) {
    container.replaceChildren();
    if (rows.length === 0) {
      container.append(Object.assign(document.createElement('p'), { className: 'muted', textContent: empty }));
      return;
    }
    const max = Math.max(...rows.map((r) => r.value), 0) || 1;
    for (const r of rows) {
      const row = document.createElement('div');
      row.className = 'hbar';
      row.dataset.label = r.label;
      row.dataset.value = String(r.value);
      const name = document.createElement(r.href ? 'a' : 'span');
      name.className = 'name';
      name.textContent = r.label;
      if (r.href) name.href = r.href;
      const track = document.createElement('span');
      track.className = 'track';
      const fill = document.createElement('span');
      fill.style.width = `${(100 * r.value) / max}%`;
      fill.style.background = colourOf(r.label);
      track.append(fill);
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = format(r.value) + (r.note ? ` · ${r.note}` : '');
      row.append(name, track, value);
      container.append(row);
    }
  }

  // A line chart: lines = [{key, points: [[t, v], ...], colour}] over [t0, t1];
  // the axis' top is round in units of `unit` (1024 ** 2 for bytes: 100 MiB).
  function lineChart(container, lines, { t0, t1, format = fmt.num, unit = 1, fromZero = true, empty = 'No samples in this range.' } = {}) {
    container.replaceChildren();
    const all = lines.flatMap((l) => l.points);
    if (all.length === 0) {
      container.append(Object.assign(document.createElement('p'), { className: 'muted', textContent: empty }));
      return;
    }
    const W = 640, H = 180, left = 64, bottom = 22, top = 8;
    let lo = fromZero ? 0 : Math.min(...all.map((p) => p[1]));
    const hi = unit * niceMax(Math.max(...all.map((p) => p[1])) / unit);
    if (lo >= hi) lo = 0;
    const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * (W - left);
    const y = (v) => top + (H - top - bottom) * (1 - (v - lo) / (hi - lo || 1));
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
    for (const f of [0, 0.5, 1]) {
      const v = lo + (hi - lo) * f;
      root.append(svg('line', { x1: left, x2: W, y1: y(v), y2: y(v), class: 'grid' }),
        svg('text', { x: left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, format(v)));
    }
    const tick = t1 - t0 > 864e5 ? fmt.dayTime : fmt.hhmm;
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const t = t0 + (t1 - t0) * f;
      root.append(svg('text', { x: x(t), y: H - 6, class: 'axis', 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' }, tick(t)));
    }
    for (const l of lines) {
      if (l.points.length === 0) continue;
      const d = l.points.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('');
      const last = l.points[l.points.length - 1];
      root.append(svg('path', { d, class: 'line', stroke: l.colour || colourOf(l.key), 'data-key': l.key,
        'data-points': String(l.points.length), 'data-last': String(last[1]) },
      title(`${l.key}: ${format(last[1])} at ${fmt.time(last[0])}`)));
    }
    container.append(root);
    if (lines.length > 1) container.append(legend(lines.map((l) => l.key)));
  }

  // A small canvas line chart (the target cards): lines of [t, v] pairs.
  const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  function sparkline(canvas, lines, fromZero) {
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
    if (fromZero) lo = Math.min(lo, 0);
    if (hi === lo) { hi += 1; lo -= fromZero ? 0 : 1; }
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

  return { fmt, colourOf, stackedBars, hbars, lineChart, sparkline };
})();
