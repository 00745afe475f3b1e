// The agent monitor's command line. A bad value is one line on stderr and
// exit code 2; --help prints every flag and exits 0.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vitals/agent/pricing.hpp"
#include "vitals/core/time.hpp"
#include "vitals/net/allow.hpp"
#include "vitals/net/url.hpp"
#include "vitals/samplers/scrape_flag.hpp"

#ifndef VITALS_DASHBOARD_DIR
#define VITALS_DASHBOARD_DIR "dashboard"
#endif

/// The default --dashboard. The build gives its path relative to the
/// executable (VITALS_DASHBOARD_DIR_FROM_EXE): an absolute path compiled in
/// would differ in every clone and defeat ccache in CI.
inline std::string default_dashboard_dir() {
#ifdef VITALS_DASHBOARD_DIR_FROM_EXE
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) return (exe.parent_path() / VITALS_DASHBOARD_DIR_FROM_EXE).lexically_normal().string();
#endif
  return VITALS_DASHBOARD_DIR;
}

struct monitor_flags {
  std::string address = "127.0.0.1";
  std::uint16_t port = 9464;
  std::string otlp_address;  // --otlp-listen: a second server with only /v1/* and /healthz
  std::uint16_t otlp_port = 0;
  std::string data = "./vitals-data";
  std::chrono::milliseconds interval{std::chrono::seconds(10)};
  std::vector<int> pids;
  std::vector<std::string> cgroups;
  std::vector<vitals::samplers::scrape_flag> scrapes;
  vitals::net::allowlist scrape_allow;     // empty: scrapes may connect anywhere
  std::string token;                       // --token, --token-file or VITALS_TOKEN
  std::vector<std::string> allowed_hosts;  // --allow-host
  std::string prices;
  std::string import_claude;  // Claude Code projects directory (~/.claude/projects)
  std::string import_codex;   // Codex CLI sessions directory (~/.codex/sessions)
  std::string postgres;       // DSN: samples and usage events in PostgreSQL
  std::string remote_write;   // Prometheus remote write endpoint
  std::string otlp;           // OTLP/HTTP base URL
  bool memory_only = false;
  std::chrono::milliseconds retention_samples{std::chrono::days(7)};
  std::optional<std::chrono::milliseconds> retention_usage;  // default: 400d SQLite, 30d PostgreSQL
  std::string dashboard = default_dashboard_dir();
  std::string workspace;  // --workspace: shown by /api/v1/usage/agents as workspace_path
  unsigned threads = 2;
  // --host-name: the host every usage event (and, with --postgres or when
  // given, every sample as a `host` label) is stamped with; default the
  // machine's host name.
  std::string host_name;
  bool host_name_given = false;
  // --read-only (--view): sample nothing, write nothing, serve what the
  // fleet wrote to --postgres; live views follow the database every
  // `follow_every`.
  bool read_only = false;
  std::chrono::milliseconds follow_every{std::chrono::seconds(1)};
};

/// The machine's host name, or "localhost" when it has none.
inline std::string machine_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

inline constexpr const char* monitor_usage = R"(usage: agent_monitor [flags]

Samples this process, the host and tracked agents; keeps recent samples in
memory and everything in SQLite under --data (or PostgreSQL with
--postgres); serves the HTTP API (docs/http-api.md) and the live dashboard.

  --listen ADDR:PORT     where to serve (default 127.0.0.1:9464; port 0 picks a free one)
  --otlp-listen ADDR:PORT  also serve OTLP/HTTP (/v1/metrics, /v1/logs, /healthz) there, e.g.
                         127.0.0.1:4318, the agents' default endpoint (the main port serves them too)
  --data DIR             samples.db, usage.db, events.db, sessions/ and the spool go here
                         (default ./vitals-data)
  --interval DURATION    sampling period, e.g. 10s, 500ms (default 10s)
  --track-pid PID        track a process (repeatable)
  --track-cgroup PATH    track a cgroup v2 directory under /sys/fs/cgroup (repeatable)
  --scrape URL[,requests_counter=NAME][,latency_histogram=NAME]
                         scrape a Prometheus endpoint, http://host:port/metrics (repeatable);
                         the names add requests_per_second and latency_p95_seconds, derived
                         from that counter and histogram, e.g. --scrape http://h:9100/metrics,
                         requests_counter=http_requests_total (one argument, no spaces)
  --scrape-allow HOST|CIDR  scrape targets (flags and API) may only connect to these hosts
                         or address ranges, checked on every resolved address (repeatable)
  --token TOKEN          require "Authorization: Bearer TOKEN" on everything but /healthz
                         (visible in ps: prefer --token-file or the VITALS_TOKEN variable)
  --token-file PATH      the token is the file's content (one trailing newline dropped)
  --allow-host NAME      also accept requests whose Host is NAME (repeatable); localhost,
                         loopback and the listen address are always accepted
  --prices FILE          model prices in LiteLLM's model_prices_and_context_window.json
                         shape; they override the built-in table model by model
  --import-claude DIR    import Claude Code transcripts under DIR (~/.claude/projects) and follow them
  --import-codex DIR     import Codex CLI session logs under DIR (~/.codex/sessions) and follow them
  --postgres DSN         keep samples and usage events in PostgreSQL instead of SQLite, e.g.
                         "host=/run/postgresql dbname=vitals" (the spool stays under --data)
  --remote-write URL     also push samples with Prometheus remote write,
                         e.g. http://127.0.0.1:9090/api/v1/write
  --otlp URL             also push samples and this process' metrics with OTLP/HTTP,
                         e.g. http://127.0.0.1:4318 (/v1/metrics is appended)
  --memory-only          keep samples and events in memory only (nothing written to disk)
  --retention-samples D  delete samples older than D, checked hourly (default 7d)
  --retention-usage D    delete usage events older than D, checked hourly (default 400d;
                         30d with --postgres, as the workspace-stats seed keeps token rows)
  --dashboard DIR        where the dashboard's files are (index.html and the scripts and
                         style it loads; default: the source tree's)
  --workspace PATH       the agents' workspace, shown as workspace_path by /api/v1/usage/agents
                         (only shown: nothing is read there)
  --host-name NAME       the host this monitor's usage events come from (grouped by
                         /api/v1/usage/daily?by=host); with --postgres, or when given, also a
                         `host` label on every sample, so monitors of several machines can share
                         one database (default: this machine's host name)
  --read-only, --view    a view of the fleet: with --postgres, sample nothing and write
                         nothing; serve the dashboard, the API and /metrics over everything the
                         monitors sharing the database wrote (writes are refused with 405), and
                         live views follow the database, polled every --interval (default 1s
                         here)
  --threads N            threads serving and sampling (default 2)
  --help                 this text
)";

/// A token as read from a flag, a file or the environment: one trailing
/// newline is dropped; empty or with control characters is refused.
inline std::variant<std::string, std::string> checked_token(std::string t) {
  if (t.ends_with('\n')) t.pop_back();
  if (t.ends_with('\r')) t.pop_back();
  if (t.empty())
    return std::variant<std::string, std::string>(std::in_place_index<1>, "empty token");
  for (char c : t)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                    "the token has control characters");
  return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(t));
}

/// The flags, or the exit code to leave with.
inline std::variant<monitor_flags, int> parse_monitor_flags(int argc, char** argv) {
  monitor_flags f;
  auto fail = [](const std::string& flag, const std::string& why) {
    std::fprintf(stderr, "agent_monitor: %s: %s (see --help)\n", flag.c_str(), why.c_str());
    return 2;
  };
  auto integer = [](std::string_view s, long long lo, long long hi, long long& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && out >= lo && out <= hi;
  };
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i], value;
    if (flag == "--help" || flag == "-h") {
      std::fputs(monitor_usage, stdout);
      return 0;
    }
    if (flag == "--memory-only") {
      f.memory_only = true;
      continue;
    }
    if (flag == "--read-only" || flag == "--view") {
      f.read_only = true;
      continue;
    }
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return fail(flag, flag.starts_with("--") ? "needs a value" : "unknown flag");
    }
    long long n = 0;
    if (flag == "--listen" || flag == "--otlp-listen") {
      const auto colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0 ||
          !integer(std::string_view(value).substr(colon + 1), 0, 65535, n))
        return fail(flag, "expected ADDRESS:PORT such as 127.0.0.1:" +
                              std::string(flag == "--listen" ? "9464" : "4318") + ", got '" +
                              value + "'");
      auto address = value.substr(0, colon);
      if (address.size() > 2 && address.front() == '[' && address.back() == ']')
        address = address.substr(1, address.size() - 2);
      (flag == "--listen" ? f.address : f.otlp_address) = address;
      (flag == "--listen" ? f.port : f.otlp_port) = static_cast<std::uint16_t>(n);
    } else if (flag == "--data") {
      if (value.empty()) return fail(flag, "expected a directory");
      f.data = value;
    } else if (flag == "--interval") {
      auto d = vitals::parse_duration(value);
      if (!d) return fail(flag, d.error().message);
      if (*d < std::chrono::milliseconds(100)) return fail(flag, "at least 100ms");
      f.interval = *d;
      f.follow_every = *d;
    } else if (flag == "--retention-samples" || flag == "--retention-usage") {
      auto d = vitals::parse_duration(value);
      if (!d) return fail(flag, d.error().message);
      if (*d < std::chrono::hours(1)) return fail(flag, "at least 1h");
      if (flag == "--retention-samples")
        f.retention_samples = *d;
      else
        f.retention_usage = *d;
    } else if (flag == "--track-pid") {
      if (!integer(value, 1, 0x3fffffff, n))
        return fail(flag, "expected a process id, got '" + value + "'");
      f.pids.push_back(static_cast<int>(n));
    } else if (flag == "--track-cgroup") {
      f.cgroups.push_back(value);
    } else if (flag == "--scrape") {
      auto s = vitals::samplers::parse_scrape_flag(value);
      if (!s) return fail(flag, s.error().message);
      f.scrapes.push_back(std::move(*s));
    } else if (flag == "--scrape-allow") {
      if (auto st = f.scrape_allow.add(value); !st) return fail(flag, st.error().message);
    } else if (flag == "--postgres") {
      if (value.empty()) return fail(flag, "expected a connection string");
      f.postgres = value;
    } else if (flag == "--remote-write" || flag == "--otlp") {
      if (auto u = vitals::net::parse_http_url(value); !u) return fail(flag, u.error().message);
      (flag == "--otlp" ? f.otlp : f.remote_write) = value;
    } else if (flag == "--token" || flag == "--token-file") {
      if (!f.token.empty()) return fail(flag, "the token is given twice");
      std::string text = value;
      if (flag == "--token-file") {
        std::ifstream in(value, std::ios::binary);
        char buf[4097];
        in.read(buf, sizeof buf);
        if (in.bad() || (!in && !in.eof()) || !in.is_open())
          return fail(flag, "cannot read '" + value + "'");
        if (in.gcount() > 4096) return fail(flag, "'" + value + "' is over 4096 bytes");
        text.assign(buf, static_cast<std::size_t>(in.gcount()));
      }
      auto t = checked_token(std::move(text));
      if (t.index() == 1) return fail(flag, std::get<1>(t));
      f.token = std::move(std::get<0>(t));
    } else if (flag == "--allow-host") {
      const auto colons = std::count(value.begin(), value.end(), ':');  // 2+: an IPv6 address
      if (value.empty() || value.size() > 253 || colons == 1 ||
          value.find_first_of("/@ \t\r\n[]") != std::string::npos)
        return fail(flag, "expected a host name or address without a port, got '" + value + "'");
      f.allowed_hosts.push_back(value);
    } else if (flag == "--prices") {
      auto table = vitals::agent::price_table::load(value);
      if (!table) return fail(flag, table.error().message);
      f.prices = value;
    } else if (flag == "--import-claude" || flag == "--import-codex") {
      if (value.empty()) return fail(flag, "expected a directory");
      (flag == "--import-claude" ? f.import_claude : f.import_codex) = value;
    } else if (flag == "--dashboard") {
      f.dashboard = value;
    } else if (flag == "--workspace") {
      const bool control = std::any_of(value.begin(), value.end(),
                                       [](unsigned char c) { return c < 0x20 || c == 0x7f; });
      if (value.empty() || value.size() > 4096 || control)
        return fail(flag, "expected a path of 1 to 4096 characters without control characters");
      f.workspace = value;
    } else if (flag == "--host-name") {
      const bool control = std::any_of(value.begin(), value.end(),
                                       [](unsigned char c) { return c < 0x20 || c == 0x7f; });
      if (value.empty() || value.size() > 253 || control)
        return fail(flag, "expected a name of 1 to 253 characters without control characters");
      f.host_name = value;
      f.host_name_given = true;
    } else if (flag == "--threads") {
      if (!integer(value, 1, 64, n)) return fail(flag, "expected 1 to 64, got '" + value + "'");
      f.threads = static_cast<unsigned>(n);
    } else {
      return fail(flag, "unknown flag");
    }
  }
  if (const char* env = std::getenv("VITALS_TOKEN"); env && *env && f.token.empty()) {
    auto t = checked_token(env);
    if (t.index() == 1) return fail("VITALS_TOKEN", std::get<1>(t));
    f.token = std::move(std::get<0>(t));
  }
  if (f.memory_only && !f.postgres.empty())
    return fail("--postgres", "cannot be combined with --memory-only");
  if (f.read_only && f.postgres.empty())
    return fail("--read-only", "needs --postgres: a view reads the database a fleet shares");
  if (f.read_only && (!f.pids.empty() || !f.cgroups.empty() || !f.scrapes.empty() ||
                      !f.import_claude.empty() || !f.import_codex.empty()))
    return fail("--read-only",
                "a view samples and imports nothing: drop --track-*, --scrape "
                "and --import-*");
  if (f.host_name.empty()) f.host_name = machine_host_name();
  return f;
}
