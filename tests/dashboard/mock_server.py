#!/usr/bin/env python3
"""A stand-in for the vitals HTTP API (docs/http-api.md), for testing the
dashboard without the real server. Standard library only.

    python3 tests/dashboard/mock_server.py [--port 0] [--token T] [--dir DIR]
        [--churn] [--sse-close-after SECONDS] [--quiet]

Serves DIR (default examples/agent_monitor/dashboard) at / and fakes
/api/v1/targets, /api/v1/range, /api/v1/usage/summary, /api/v1/usage/agents,
/api/v1/events/log and /api/v1/watch
(SSE: one sample per matching series every 500 ms). Prints "listening on
http://127.0.0.1:PORT/" once ready. Selectors are really parsed and matched
(fully anchored regexes), so a badly built or badly encoded selector shows up
as a 400 or as missing series. --churn lists a target "agent-3" only every
other 20 s (cards must come and go); --sse-close-after ends each SSE stream
after that long, so the browser reconnects with Last-Event-ID, and the resume
repeats the samples at exactly that time (the page must drop the repeats).
"""
import argparse, json, math, mimetypes, os, re, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

TARGETS = [
    {"id": "self", "kind": "self", "pid": 4242, "interval_ms": 10000, "labels": {}},
    {"id": "host", "kind": "host", "interval_ms": 10000, "labels": {}},
    {"id": "agent-1", "kind": "process", "pid": 1234, "interval_ms": 10000, "labels": {"team": "infra"}},
    {"id": "agent-2", "kind": "cgroup", "path": "/sys/fs/cgroup/agents/a2", "interval_ms": 10000, "labels": {}},
    {"id": "relay", "kind": "scrape", "url": "http://127.0.0.1:8080/metrics", "interval_ms": 15000, "labels": {},
     "errors_": 3, "last_error": "connection refused"},
]

def _series():
    out = []
    for t in ("self", "agent-1", "agent-3"):
        for n in ("process_cpu_percent", "process_resident_memory_bytes", "process_threads",
                  "process_io_read_bytes_per_second", "process_io_write_bytes_per_second"):
            out.append((n, {"target": t}))
    out.append(("node_load1", {"target": "host"}))
    out.append(("node_memory_MemAvailable_bytes", {"target": "host"}))
    for d in ("eth0", "wlan0", "lo"):
        for n in ("node_network_receive_bytes_per_second", "node_network_transmit_bytes_per_second"):
            out.append((n, {"target": "host", "device": d}))
    for n in ("container_cpu_percent", "container_memory_usage_bytes"):
        out.append((n, {"target": "agent-2"}))
    for n in ("container_network_receive_bytes_per_second", "container_network_transmit_bytes_per_second"):
        out.append((n, {"target": "agent-2", "interface": "eth0"}))
    return out

SERIES = _series()

def value(name, labels, t_ms):
    """A deterministic, wiggly value for a series at a time."""
    ph = (hash(name + labels.get("target", "") + labels.get("device", "")) % 100) / 10.0
    w = math.sin(t_ms / 20000.0 + ph) * 0.5 + 0.5 + 0.1 * math.sin(t_ms / 1700.0 + ph)
    if name.endswith("cpu_percent"): return round(5 + 60 * w, 2)
    if name == "node_load1": return round(0.2 + 2 * w, 2)
    if name.endswith("memory_MemAvailable_bytes"): return float(int(6e9 + 1e9 * w))
    if "memory" in name: return float(int(150e6 + 80e6 * w))
    if name == "process_threads": return 12.0
    if labels.get("device") == "lo": return 1e9  # must be skipped by the page
    return round(20000 + 3e6 * w * w, 1)

def agent3_listed():
    return Handler.churn and int((time.time() - START) / 20) % 2 == 0

def live(labels):  # agent-3 has samples only while it is tracked
    return labels.get("target") != "agent-3" or agent3_listed()

# --- selectors -------------------------------------------------------------
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')

def parse_selector(sel):
    sel = (sel or "").strip()
    m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)?\s*(\{(.*)\})?$", sel, re.S)
    if not m: raise ValueError("bad selector")
    out = [("__name__", "=", m.group(1))] if m.group(1) else []
    body = (m.group(3) or "").strip()
    while body:
        mm = MATCHER.match(body)
        if not mm: raise ValueError("bad matcher near: " + body[:30])
        out.append((mm.group(1), mm.group(2), bytes(mm.group(3), "utf-8").decode("unicode_escape")))
        body = body[mm.end():].strip()
    for _, op, v in out:
        if op in ("=~", "!~"): re.compile(v)
    return out

def matches(matchers, name, labels):
    for k, op, v in matchers:
        x = name if k == "__name__" else labels.get(k, "")
        if op == "=" and x != v: return False
        if op == "!=" and x == v: return False
        if op == "=~" and not re.fullmatch(v, x): return False
        if op == "!~" and re.fullmatch(v, x): return False
    return True

def parse_time(s, now):
    if s in (None, "", "now"): return now
    m = re.fullmatch(r"now-(\d+)(ms|s|m|h|d)", s)
    if m: return now - int(m.group(1)) * {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}[m.group(2)]
    return int(float(s) * 1000)

# --- usage -----------------------------------------------------------------
START = time.time()

def usage():
    k = int(time.time() - START)  # grows so the 5 s refresh is visible
    rows = []
    for agent, models in (("agent-1", [("claude-sonnet-4-5", 3.0, 15.0), ("gpt-4.1-mini", 0.4, 1.6)]),
                          ("agent-2", [("claude-haiku-4-5", 1.0, 5.0)])):
        ms, ti, to, cost = [], 0, 0, 0.0
        for i, (m, pin, pout) in enumerate(models):
            inp, out = 120000 + 1500 * k * (i + 1), 34000 + 300 * k
            c = (inp * pin + out * pout) / 1e6
            ms.append({"model": m, "cost_usd": c, "input_tokens": inp, "output_tokens": out})
            ti, to, cost = ti + inp, to + out, cost + c
        ms.sort(key=lambda x: -x["cost_usd"])
        rows.append({"agent_name": agent, "tokens": {"input": ti, "output": to, "cache_read": 0, "cache_write": 0,
                     "reasoning": 0, "total": ti + to}, "cost": {"total_usd": cost}, "requests": 4 + k,
                     "tool_calls": 7, "models": ms})
    return rows

# --- handler ---------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    token = None
    churn = False
    sse_close_after = None
    directory = None
    quiet = False

    def log_message(self, fmt, *args):
        if not self.quiet: sys.stderr.write("mock: " + (fmt % args) + "\n")

    def send_json(self, status, obj, extra=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra: self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        if u.path == "/healthz": return self.send_json(200, {"status": "ok"})
        if u.path.startswith("/api/"):
            if self.token:
                auth = self.headers.get("Authorization", "")
                if q.get("access_token") != self.token and auth != "Bearer " + self.token:
                    return self.send_json(401, {"error": "missing or wrong token"},
                                          [("WWW-Authenticate", 'Bearer realm="vitals"')])
            q.pop("access_token", None)
            try:
                m = parse_selector(q.get("sel"))
            except (ValueError, re.error) as e:
                return self.send_json(400, {"error": str(e), "parameter": "sel"})
            now = int(time.time() * 1000)
            if u.path == "/api/v1/targets":
                now_s = time.time() - START
                ts = TARGETS + ([{"id": "agent-3", "kind": "process", "pid": 777, "interval_ms": 10000, "labels": {}}]
                                if agent3_listed() else [])
                return self.send_json(200, [dict({"last_error": ""}, **{k: v for k, v in t.items() if k != "errors_"},
                                                    ticks=int(now_s / 10), errors=t.get("errors_", 0)) for t in ts])
            if u.path == "/api/v1/usage/summary":
                return self.send_json(200, usage())
            if u.path == "/api/v1/usage/agents":
                return self.send_json(200, {"total_agents": 2, "active_agents": 2, "idle": 1, "working": 1,
                                            "done": 0, "stuck": 0, "error": 0, "stopped": 0,
                                            "utilisation": 0.5, "agents": []})
            if u.path == "/api/v1/events/log":
                return self.send_json(200, {"stream": "monitor", "last_version": 1, "events": [
                    {"stream": "monitor", "version": 1, "type": "target.tracked", "t": now,
                     "data": {"target": "agent-1", "kind": "process"}}]})
            if u.path == "/api/v1/range":
                frm, to = parse_time(q.get("from", "now-1h"), now), parse_time(q.get("to"), now)
                step = parse_time("now-" + q.get("step", "10s"), 0) * -1 if q.get("step", "auto") != "auto" else max((to - frm) // 120, 10000)
                out = []
                for n, l in SERIES:
                    if matches(m, n, l) and live(l):
                        pts = [[t, value(n, l, t)] for t in range(frm - frm % step, to, step)]
                        out.append({"name": n, "labels": l, "points": pts})
                return self.send_json(200, out)
            if u.path == "/api/v1/watch":
                return self.watch(m, self.headers.get("Last-Event-ID"))
            return self.send_json(404, {"error": "no such route"})
        return self.static(u.path)

    def static(self, path):
        if path == "/": path = "/index.html"
        full = os.path.normpath(os.path.join(self.directory, path.lstrip("/")))
        if not full.startswith(self.directory) or not os.path.isfile(full):
            return self.send_json(404, {"error": "not found"})
        with open(full, "rb") as f: body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(full)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def watch(self, m, last_id):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        sel = [(n, l) for n, l in SERIES if matches(m, n, l)]
        def emit(t):
            for n, l in sel:
                if not live(l): continue
                d = json.dumps({"name": n, "labels": l, "t": t, "v": value(n, l, t)})
                self.wfile.write(f"id: {t}\nevent: sample\ndata: {d}\n\n".encode())
            self.wfile.flush()
        try:
            self.wfile.write(b"retry: 3000\n\n"); self.wfile.flush()
            if last_id and last_id.isdigit():
                emit(int(last_id))  # resume repeats the sample at exactly t
            n, began = 0, time.time()
            while self.sse_close_after is None or time.time() - began < self.sse_close_after:
                emit(int(time.time() * 1000))
                n += 1
                if n % 10 == 0:
                    self.wfile.write(b": ping\n\n"); self.wfile.flush()
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        self.close_connection = True

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--churn", action="store_true")
    ap.add_argument("--sse-close-after", type=float)
    ap.add_argument("--dir", default=os.path.join(ROOT, "examples", "agent_monitor", "dashboard"))
    a = ap.parse_args()
    Handler.token, Handler.directory, Handler.quiet = a.token, os.path.abspath(a.dir), a.quiet
    Handler.churn, Handler.sse_close_after = a.churn, a.sse_close_after
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}/", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass

if __name__ == "__main__":
    main()
