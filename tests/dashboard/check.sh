#!/usr/bin/env bash
# Checks the live dashboard in headless Chromium.
#
#   tests/dashboard/check.sh URL          e.g. http://127.0.0.1:9464/
#   (URL may carry ?access_token=...; env: CHROMIUM=path, CHECK_WAIT=seconds
#    to wait for the page (default 20), DUMP=file to keep the last DOM dump,
#    SCREENSHOT=file.png to keep a 1366x768 screenshot of the page)
#
# Passes (exit 0) when the page's DOM shows (a) a target card value with a
# numeric data-value, (b) #live-count with data-count > 0, i.e. samples came
# over the SSE stream after the page loaded, and (c) a data row in the agent
# states table. Otherwise exit 1, saying what is missing; exit 2 on bad usage.
# (views.js checks every view's numbers against the API; this check needs no
# npm package.)
#
# Why not plain `chromium --headless --dump-dom`: tried on Chromium 156
# (Debian), new headless mode (the only one left in the chromium binary):
#   --dump-dom alone                      dumps at the load event, before any
#                                         SSE sample or fetch answer: count 0.
#   --timeout=N --dump-dom                same: --timeout only cuts a load
#                                         short, it never delays the dump.
#   --virtual-time-budget=N [--run-all-compositor-stages-before-draw]
#                                         never returns: virtual time pauses
#                                         while a network fetch is pending, and
#                                         the EventSource is always pending.
#                                         (Killed by `timeout`, nothing dumped.)
# So the page runs in real time and we read its DOM over the DevTools
# protocol on a pipe (--remote-debugging-pipe: NUL-separated JSON on fds 3/4,
# no WebSocket client or open port needed): python3 (stdlib only) creates a
# tab, polls document.documentElement.outerHTML every 0.5 s, and checks each
# dump with an HTML parser until all three hold or CHECK_WAIT runs out.
# Everything is bounded: the python deadline, plus `timeout -k` around it, and
# chromium runs in its own process group, which is killed on the way out.
set -u

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 URL   (e.g. http://127.0.0.1:9464/)" >&2
  exit 2
fi
URL=$1
WAIT=${CHECK_WAIT:-20}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || echo /usr/bin/chromium)}
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to drive chromium" >&2; exit 1; }
[ -x "$CHROMIUM" ] || { echo "FAIL: chromium not found (set CHROMIUM=...)" >&2; exit 1; }

timeout -k 5 $((WAIT + 30)) python3 - "$URL" "$WAIT" "$CHROMIUM" "${DUMP:-}" "${SCREENSHOT:-}" <<'PY'
import base64, fcntl, json, os, re, select, shutil, signal, subprocess, sys, tempfile, time
from html.parser import HTMLParser

url, wait, chromium, dump_to, shot_to = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

class Dom(HTMLParser):
    """What the checks need from a DOM dump."""
    def __init__(self):
        super().__init__()
        self.values, self.live_count, self.conn, self.error, self._text = [], None, None, "", None
        self.rows, self._in_usage, self._in_body, self._cells = 0, False, False, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-series" in a and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", a.get("data-value") or ""):
            self.values.append((a["data-series"], float(a["data-value"])))
        if a.get("id") == "live-count" and (a.get("data-count") or "").isdigit():
            self.live_count = int(a["data-count"])
        if a.get("id") in ("conn", "error"): self._text = a["id"]
        if tag == "table" and a.get("id") == "agents": self._in_usage = True
        if self._in_usage and tag == "tbody": self._in_body = True
        if self._in_body and tag == "tr": self._cells = 0
        if self._cells is not None and tag == "td": self._cells += 1
    def handle_endtag(self, tag):
        if tag == "tr" and self._cells is not None:
            self.rows += self._cells >= 5  # state, agent, role, cpu, memory, ...
            self._cells = None
        if tag == "tbody": self._in_body = False
        if tag == "table": self._in_usage = False
    def handle_data(self, text):
        if self._text: setattr(self, self._text, text.strip()); self._text = None

def check(html):
    d = Dom(); d.feed(html); d.close()
    return d, [m for ok, m in (
        (d.values, "no target card shows a numeric value ([data-series][data-value])"),
        ((d.live_count or 0) > 0, "no #live-count[data-count]: the dashboard did not load" if d.live_count is None
                                   else f"#live-count data-count is {d.live_count}: no sample arrived over SSE"),
        (d.rows > 0, "the agent states table (#agents tbody) has no data row")) if not ok]

cmd_r, cmd_w = os.pipe()   # we write commands; chromium reads them on fd 3
out_r, out_w = os.pipe()   # chromium answers on fd 4
def child_fds():
    a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
    os.dup2(a, 3); os.dup2(b, 4); os.close(a); os.close(b)

profile = tempfile.mkdtemp(prefix="vitals-dashboard-check-")
proc = subprocess.Popen(
    [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
     "--no-default-browser-check", "--disable-extensions", "--mute-audio",
     "--window-size=1366,768", f"--user-data-dir={profile}", "--remote-debugging-pipe",
     "about:blank"],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    preexec_fn=child_fds, close_fds=False, start_new_session=True)
os.close(cmd_r); os.close(out_w)

buf, next_id = b"", 0
def call(method, params=None, session=None, timeout=10.0):
    global buf, next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session: msg["sessionId"] = session
    os.write(cmd_w, json.dumps(msg).encode() + b"\0")
    deadline = time.monotonic() + timeout
    while True:
        while b"\0" in buf:
            raw, buf = buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == next_id:
                if "error" in m: raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([out_r], [], [], left)[0]:
            raise TimeoutError(f"chromium did not answer {method} within {timeout:.0f} s")
        chunk = os.read(out_r, 1 << 20)
        if not chunk: raise RuntimeError("chromium exited")
        buf += chunk

status = 1
try:
    target = call("Target.createTarget", {"url": url})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    start = time.monotonic()
    html, problems, d = "", ["page not read yet"], None
    while True:
        time.sleep(0.5)
        r = call("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                      "returnByValue": True}, session)
        html = r.get("result", {}).get("value") or ""
        d, problems = check(html)
        if not problems or time.monotonic() - start > wait: break
    if dump_to:
        with open(dump_to, "w") as f: f.write(html)
    if shot_to:
        png = call("Page.captureScreenshot", {"format": "png"}, session)["data"]
        with open(shot_to, "wb") as f: f.write(base64.b64decode(png))
    took = time.monotonic() - start
    print(f"dashboard {url} after {took:.1f} s (stream: {d.conn or '?'})")
    print(f"  target values: {len(d.values)}" + "".join(f"\n    {s} = {v:g}" for s, v in d.values[:6])
          + (f"\n    ... and {len(d.values) - 6} more" if len(d.values) > 6 else ""))
    print(f"  live samples (data-count): {d.live_count}")
    print(f"  agent table data rows: {d.rows}")
    if d.error: print(f"  the page reports: {d.error}")
    if problems:
        print("FAIL: " + "; ".join(problems), file=sys.stderr)
    else:
        print("OK")
        status = 0
except Exception as e:
    print(f"FAIL: {e}", file=sys.stderr)
finally:
    try:
        os.write(cmd_w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
        proc.wait(timeout=5)
    except Exception:
        pass
    try: os.killpg(proc.pid, signal.SIGKILL)  # our own chromium's group: helpers too
    except ProcessLookupError: pass
    proc.wait()
    shutil.rmtree(profile, ignore_errors=True)
sys.exit(status)
PY
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
  echo "FAIL: the check did not finish in time (killed by timeout)" >&2
  exit 1
fi
[ $rc -eq 0 ] && exit 0 || exit 1
