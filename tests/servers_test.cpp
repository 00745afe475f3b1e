// The bundled servers as a user runs them: agent_monitor (flags, routes,
// clean shutdown, restart with nothing lost, the simulator feeding it, the
// dashboard in a real headless browser), minimal_exporter and scrape_relay.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/child.hpp"
#include "support/exposition_server.hpp"
#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "support/prometheus.hpp"
#include "vitals/net/client.hpp"

#if defined(VITALS_MONITOR_EXE) && defined(VITALS_SIMULATOR_EXE) && defined(VITALS_MINIMAL_EXE) && \
    defined(VITALS_RELAY_EXE)

namespace {

using namespace std::chrono_literals;
using vitals::test::child;
using vitals::test::eventually;
using vitals::test::temp_dir;
namespace net = vitals::net;

const std::string port_line = R"(on http://127\.0\.0\.1:(\d+)/)";

/// A monitor on a free port; the client talks to it.
struct monitor {
  explicit monitor(std::vector<std::string> extra = {}) : proc(args(std::move(extra))) {
    port = proc.wait_for(port_line).value_or("");
  }
  static std::vector<std::string> args(std::vector<std::string> extra) {
    std::vector<std::string> a{VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--interval",
                               "200ms"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  net::client client() const { return net::client("127.0.0.1", port); }
  child proc;
  std::string port;
};

boost::json::value get_json(net::client& c, const std::string& target) {
  auto r = c.get(target);
  if (!r || r->status != 200) return nullptr;
  return boost::json::parse(r->body);
}

TEST(AgentMonitor, HelpListsEveryFlagAndBadFlagsExitWithCode2) {
  child help({VITALS_MONITOR_EXE, "--help"});
  EXPECT_EQ(help.wait(), 0);
  for (const char* flag :
       {"--listen", "--data", "--interval", "--track-pid", "--track-cgroup", "--scrape", "--token",
        "--postgres", "--remote-write", "--otlp", "--memory-only"})
    EXPECT_NE(help.output().find(flag), std::string::npos) << flag;
  const std::vector<std::vector<std::string>> bad = {
      {"--interval", "soon"},
      {"--listen", "nowhere"},
      {"--track-pid", "-4"},
      {"--bogus", "1"},
      {"--scrape", "ftp://x"},
      {"--remote-write", "https://x/api/v1/write"},
      {"--otlp", "localhost:4318"},
      {"--postgres", ""},
      {"--scrape", "http://x/metrics,requests_counter=http requests"},
      {"--scrape", "http://x/metrics,latency_histogram=lat,latency_histogram=lat"},
      {"--scrape", "http://x/metrics,request_counter=typo"}};
  for (const auto& b : bad) {
    child c({VITALS_MONITOR_EXE, b[0], b[1]});
    EXPECT_EQ(c.wait(), 2) << b[0];
    EXPECT_NE(c.output().find(b[0]), std::string::npos) << c.output();
    EXPECT_EQ(std::count(c.output().begin(), c.output().end(), '\n'), 1) << c.output();
  }
}

TEST(AgentMonitor, ServesItsOwnSamplesAndStopsCleanlyOnSigterm) {
  temp_dir dir;
  monitor m({"--data", dir.path().string()});
  ASSERT_FALSE(m.port.empty()) << m.proc.output();
  auto c = m.client();
  EXPECT_TRUE(eventually([&] {
    auto v = get_json(
        c, "/api/v1/latest?sel=" + net::url_encode("process_cpu_percent{target=\"self\"}"));
    return v.is_array() && v.as_array().size() == 1;
  })) << m.proc.output();
  auto targets = get_json(c, "/api/v1/targets");
  ASSERT_TRUE(targets.is_array());
  std::set<std::string> ids;
  for (const auto& t : targets.as_array()) ids.insert(std::string(t.at("id").as_string()));
  EXPECT_EQ(ids, (std::set<std::string>{"host", "self", "vitals"}));
  auto page = c.get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200u);
  EXPECT_NE(page->body.find("<html"), std::string::npos);
  auto metrics = c.get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("process_resident_memory_bytes{target=\"self\"}"),
            std::string::npos);
  EXPECT_NE(metrics->body.find("vitals_http_requests_total"), std::string::npos);
  EXPECT_EQ(m.proc.stop(SIGTERM), 0) << m.proc.output();
  EXPECT_NE(m.proc.output().find("stopped cleanly"), std::string::npos);
}

TEST(AgentMonitor, ScrapesRequestRateAndP95AndDiscardsThemOnUntrack) {
  vitals::test::exposition_server exporter;
  exporter.generate([](int n) {  // 100 requests per scrape: 10 under 0.1 s, 90 in (0.5, 1]
    const auto c = [&](long per) { return std::to_string(per * n); };
    return "# TYPE http_requests_total counter\nhttp_requests_total " + c(100) +
           "\n# TYPE http_request_duration_seconds histogram\n"
           "http_request_duration_seconds_bucket{le=\"0.1\"} " +
           c(10) + "\nhttp_request_duration_seconds_bucket{le=\"1\"} " + c(100) +
           "\nhttp_request_duration_seconds_bucket{le=\"+Inf\"} " + c(100) +
           "\nhttp_request_duration_seconds_sum " + c(70) +
           "\nhttp_request_duration_seconds_count " + c(100) + "\n";
  });
  temp_dir dir;
  monitor m({"--data", dir.path().string(), "--scrape",
             exporter.url() +
                 ",requests_counter=http_requests_total,latency_histogram=http_request_duration_"
                 "seconds"});
  ASSERT_FALSE(m.port.empty()) << m.proc.output();
  auto c = m.client();
  auto targets = get_json(c, "/api/v1/targets");
  ASSERT_TRUE(targets.is_array());
  bool listed = false;
  for (const auto& t : targets.as_array())
    if (t.at("id") == "scrape-1") {
      listed = true;
      EXPECT_EQ(std::string(t.at("url").as_string()), exporter.url());
      EXPECT_EQ(t.at("requests_counter"), "http_requests_total");
      EXPECT_EQ(t.at("latency_histogram"), "http_request_duration_seconds");
    }
  EXPECT_TRUE(listed) << targets;
  const auto p95 = "/api/v1/latest?sel=" +
                   net::url_encode(R"({__name__=~"latency_p95_seconds|requests_per_second"})");
  boost::json::value latest;
  ASSERT_TRUE(eventually([&] {
    latest = get_json(c, p95);
    return latest.is_array() && latest.as_array().size() == 2;
  })) << m.proc.output();
  for (const auto& x : latest.as_array()) {
    EXPECT_EQ(x.at("labels").at("target"), "scrape-1");
    if (x.at("name") == "latency_p95_seconds")  // the 85th of the interval's 90 slow ones
      EXPECT_DOUBLE_EQ(x.at("v").to_number<double>(), 0.1 + 0.9 * 85.0 / 90.0);
    else
      EXPECT_GT(x.at("v").to_number<double>(), 0);
  }

  // Untracked with discard: gone from the memory tier and from samples.db.
  auto r = c.del("/api/v1/targets/scrape-1?discard=true");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  auto left = get_json(c, "/api/v1/series?sel=" + net::url_encode(R"({target="scrape-1"})"));
  ASSERT_TRUE(left.is_array());
  EXPECT_TRUE(left.as_array().empty()) << left;
  EXPECT_EQ(m.proc.stop(SIGTERM), 0) << m.proc.output();
  monitor again({"--data", dir.path().string()});
  ASSERT_FALSE(again.port.empty()) << again.proc.output();
  auto c2 = again.client();
  left = get_json(c2, "/api/v1/series?sel=" + net::url_encode(R"({target="scrape-1"})"));
  ASSERT_TRUE(left.is_array());
  EXPECT_TRUE(left.as_array().empty()) << left;
}

/// A usage event and samples go in, the monitor stops and starts again with
/// the same `flags`: the usage summary, dedup and the range API still see them.
void expect_restart_keeps_samples_and_usage(const std::vector<std::string>& flags) {
  std::int64_t before_restart = 0;
  {
    monitor m(flags);
    ASSERT_FALSE(m.port.empty()) << m.proc.output();
    auto c = m.client();
    auto r = c.post(
        "/api/v1/events",
        R"({"agent_name":"a1","model_raw":"gpt-5","message_id":"m1","input_tokens":10,"cost_usd":0.25})");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u) << r->body;
    ASSERT_TRUE(eventually([&] {
      auto v = get_json(c, "/api/v1/latest?sel=" +
                               net::url_encode("process_resident_memory_bytes{target=\"self\"}"));
      if (!v.is_array() || v.as_array().empty()) return false;
      before_restart = v.as_array()[0].at("t").as_int64();
      return true;
    }));
    EXPECT_EQ(m.proc.stop(SIGINT), 0) << m.proc.output();
  }
  monitor m(flags);
  auto c = m.client();
  auto usage = get_json(c, "/api/v1/usage/summary?agent=a1");
  ASSERT_TRUE(usage.is_array()) << m.proc.output();
  ASSERT_EQ(usage.as_array().size(), 1u);
  EXPECT_EQ(usage.as_array()[0].at("cost").at("total_usd").to_number<double>(), 0.25);
  auto again =
      c.post("/api/v1/events",
             R"({"agent_name":"a1","model_raw":"gpt-5","message_id":"m1","input_tokens":10})");
  ASSERT_TRUE(again);
  EXPECT_EQ(boost::json::parse(again->body).at("duplicates").as_int64(), 1);
  auto range = get_json(
      c, "/api/v1/range?step=1s&agg=last&from=" + std::to_string(before_restart / 1000 - 5) +
             "&sel=" + net::url_encode("process_resident_memory_bytes{target=\"self\"}"));
  ASSERT_TRUE(range.is_array());
  ASSERT_EQ(range.as_array().size(), 1u);
  EXPECT_LE(range.as_array()[0].at("points").as_array()[0].as_array()[0].as_int64(),
            before_restart);
  EXPECT_EQ(m.proc.stop(), 0);
}

TEST(AgentMonitor, RestartKeepsSamplesAndUsageEvents) {
  temp_dir dir;
  expect_restart_keeps_samples_and_usage({"--data", dir.path().string()});
}

TEST(AgentMonitorPostgres, RestartKeepsSamplesAndUsageEvents) {
  temp_dir dir;
  vitals::test::postgres_database db;
  expect_restart_keeps_samples_and_usage({"--data", dir.path().string(), "--postgres", db.dsn()});
}

TEST(AgentMonitorPostgres, AnUnreachableServerIsOneLineAndExitCode1) {
  temp_dir dir;
  child c({VITALS_MONITOR_EXE, "--data", dir.path().string(), "--postgres",
           "host=/nonexistent-vitals-socket-dir dbname=vitals connect_timeout=2"});
  EXPECT_EQ(c.wait(), 1);
  EXPECT_NE(c.output().find("PostgreSQL"), std::string::npos) << c.output();
  EXPECT_EQ(std::count(c.output().begin(), c.output().end(), '\n'), 1) << c.output();
}

TEST(AgentMonitor, RemoteWritePushesItsSamplesToARealPrometheus) {
  using vitals::test::prometheus;
  if (!std::filesystem::exists(prometheus::exe)) GTEST_SKIP() << "no " << prometheus::exe;
  prometheus prom;
  ASSERT_TRUE(prom.ready()) << prom.log();
  monitor m({"--memory-only", "--remote-write", prom.url() + "/api/v1/write"});
  ASSERT_FALSE(m.port.empty()) << m.proc.output();
  const std::string query =
      "/api/v1/query?query=" + net::url_encode("process_resident_memory_bytes{target=\"self\"}");
  EXPECT_TRUE(eventually([&] { return !prom.query(query).empty(); }, 30s))
      << m.proc.output() << prom.log();
  EXPECT_EQ(m.proc.stop(SIGTERM), 0) << m.proc.output();
}

TEST(AgentMonitor, TokenGuardsTheApi) {
  monitor m({"--memory-only", "--token", "t0ken"});
  auto c = m.client();
  auto r = c.get("/api/v1/targets");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
  r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  c.set_token("t0ken");
  r = c.get("/api/v1/targets");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

// The dashboard in headless chromium: every view against the monitor's answers
// (tests/dashboard/views.js, playwright-core installed by scripts/test), else
// the live view alone (tests/dashboard/check.sh, no npm package needed).
// VITALS_DASHBOARD_SHOTS=DIR keeps views.js' screenshots there (docs/img).
TEST(AgentMonitor, SimulatorFeedsItAndTheDashboardShowsEachView) {
  monitor m({"--memory-only"});
  ASSERT_FALSE(m.port.empty());
  child sim({VITALS_SIMULATOR_EXE, "--monitor", "http://127.0.0.1:" + m.port, "--agents", "2",
             "--speed", "10", "--seed", "7", "--history", "7"});
  auto c = m.client();
  EXPECT_TRUE(eventually([&] {
    auto v = get_json(
        c, "/api/v1/latest?sel=" + net::url_encode("process_cpu_percent{target=\"agent-2\"}"));
    return v.is_array() && v.as_array().size() == 1;
  })) << sim.output();
  EXPECT_TRUE(eventually(
      [&] {
        auto v = get_json(c, "/api/v1/usage/summary");
        return v.is_array() && v.as_array().size() == 2;
      },
      20s))
      << sim.output();
  auto daily = get_json(c, "/api/v1/usage/daily");
  ASSERT_TRUE(daily.is_object());
  EXPECT_GE(daily.at("days").as_array().size(), 7u) << "the simulator's --history 7";

  const std::string dir = std::string(VITALS_SOURCE_DIR) + "/tests/dashboard";
  const std::string url = "http://127.0.0.1:" + m.port + "/";
  if (!std::filesystem::exists("/usr/bin/chromium")) {
    ADD_FAILURE() << "chromium is not installed: run scripts/setup";
  } else if (std::system("node --version >/dev/null 2>&1") == 0 &&
             std::filesystem::exists(dir + "/node_modules/playwright-core")) {
    temp_dir shots;
    const char* keep = std::getenv("VITALS_DASHBOARD_SHOTS");
    child browser(
        {"/usr/bin/env", "node", dir + "/views.js", url, keep ? keep : shots.path().string()});
    EXPECT_EQ(browser.wait(300s), 0) << browser.output();
    if (!keep) {
      for (const char* view : {"fleet-7d", "fleet-live", "agent", "agent-error"})
        EXPECT_TRUE(
            std::filesystem::exists(shots.path() / ("dashboard-" + std::string(view) + ".png")))
            << view;
    }
  } else {
    std::fprintf(stderr,
                 "views.js skipped: node or tests/dashboard/node_modules missing "
                 "(scripts/test runs npm ci); checking the live view only\n");
    child browser({"/bin/sh", "-c", "CHECK_WAIT=45 " + dir + "/check.sh " + url});
    EXPECT_EQ(browser.wait(90s), 0) << browser.output();
  }

  EXPECT_EQ(sim.stop(SIGINT), 0) << sim.output();
  EXPECT_TRUE(eventually([&] {
    auto v = get_json(c, "/api/v1/targets");
    return v.is_array() && v.as_array().size() == 3;  // the simulator untracked its agents
  }));
}

TEST(MinimalExporter, ServesACounterAndAHistogramThatPromtoolAccepts) {
  child exporter({VITALS_MINIMAL_EXE, "0"});
  const auto port = exporter.wait_for(R"(127\.0\.0\.1:(\d+)/metrics)");
  ASSERT_TRUE(port) << exporter.output();
  net::client c("127.0.0.1", *port);
  auto r = c.get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("# TYPE jobs_done_total counter"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("job_duration_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
  if (std::filesystem::exists("/usr/bin/promtool")) {
    temp_dir dir;
    const auto file = dir.path() / "metrics.txt";
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fwrite(r->body.data(), 1, r->body.size(), f);
    std::fclose(f);
    child lint({"/bin/sh", "-c", "promtool check metrics < " + file.string()});
    EXPECT_EQ(lint.wait(), 0) << lint.output();
  }
  EXPECT_EQ(exporter.stop(SIGINT), 0);
}

TEST(ScrapeRelay, RelaysAnExporterWithHistory) {
  child exporter({VITALS_MINIMAL_EXE, "0"});
  const auto port = exporter.wait_for(R"(127\.0\.0\.1:(\d+)/metrics)");
  ASSERT_TRUE(port);
  child relay({VITALS_RELAY_EXE, "--listen", "127.0.0.1:0", "--interval", "200ms",
               "http://127.0.0.1:" + *port + "/metrics"});
  const auto relay_port = relay.wait_for(port_line);
  ASSERT_TRUE(relay_port) << relay.output();
  net::client c("127.0.0.1", *relay_port);
  double first = 0;
  EXPECT_TRUE(eventually([&] {
    auto v = get_json(c, "/api/v1/latest?sel=jobs_done_total");
    if (!v.is_array() || v.as_array().empty()) return false;
    first = v.as_array()[0].at("v").to_number<double>();
    return v.as_array()[0].at("labels").at("target") == "exporter-1";
  })) << relay.output();
  EXPECT_TRUE(eventually([&] {
    auto v = get_json(c, "/api/v1/range?sel=jobs_done_total&step=100ms&agg=last&from=now-1m");
    return v.is_array() && !v.as_array().empty() &&
           v.as_array()[0].at("points").as_array().size() >= 3;
  }));
  auto v = get_json(c, "/api/v1/latest?sel=jobs_done_total");
  EXPECT_GT(v.as_array()[0].at("v").to_number<double>(), first);
  EXPECT_EQ(relay.stop(SIGTERM), 0) << relay.output();
  EXPECT_EQ(exporter.stop(SIGTERM), 0);
}

}  // namespace

namespace {

TEST(AgentMonitor, ImportsClaudeCodeTranscripts) {
  temp_dir logs;
  std::filesystem::create_directories(logs.path() / "proj");
  {
    const auto when = vitals::to_rfc3339(vitals::now() - std::chrono::minutes(1));
    std::ofstream out(logs.path() / "proj" / "s1.jsonl");
    out << R"({"type":"user","sessionId":"s1","timestamp":")" << when
        << R"(","message":{"role":"user","content":"hi"}})"
        << "\n"
        << R"({"type":"assistant","sessionId":"s1","cwd":"/work/p","requestId":"req_1","timestamp":")"
        << when
        << R"(","message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","role":"assistant","stop_reason":"end_turn","usage":{"input_tokens":100,"output_tokens":40,"cache_creation_input_tokens":10,"cache_read_input_tokens":1000}}})"
        << "\n";
  }
  monitor m({"--memory-only", "--import-claude", logs.path().string()});
  auto c = m.client();
  EXPECT_TRUE(eventually([&] {
    auto v = get_json(c, "/api/v1/usage/summary?agent=claude-code");
    return v.is_array() && v.as_array().size() == 1 &&
           v.as_array()[0].at("tokens").at("input").as_int64() == 100;
  })) << m.proc.output();
  auto v = get_json(c, "/api/v1/usage/summary?agent=claude-code");
  EXPECT_EQ(v.as_array()[0].at("tokens").at("cache_read").as_int64(), 1000);
  EXPECT_EQ(v.as_array()[0].at("models").as_array()[0].at("model"), "claude-sonnet-4-5");
  EXPECT_GT(v.as_array()[0].at("cost").at("total_usd").to_number<double>(), 0);
}

TEST(AgentMonitor, SigkillDuringIngestLosesNoAcknowledgedEventAndStoresNoneTwice) {
  temp_dir dir;
  std::vector<std::string> acked;  // NDJSON lines the monitor acknowledged
  std::size_t in_flight = 0;
  {
    monitor m({"--data", dir.path().string()});
    ASSERT_FALSE(m.port.empty());
    auto c = m.client();
    std::atomic<bool> stop{false};
    std::thread killer([&] {
      std::this_thread::sleep_for(700ms);
      ::kill(m.proc.pid(), SIGKILL);
      stop = true;
    });
    for (int batch = 0; !stop && batch < 10'000; ++batch) {
      std::string body;
      std::vector<std::string> lines;
      for (int i = 0; i < 20; ++i) {
        lines.push_back(R"({"agent_name":"k","model_raw":"gpt-5","message_id":"b)" +
                        std::to_string(batch) + "-" + std::to_string(i) + R"(","input_tokens":1})");
        body += lines.back() + "\n";
      }
      in_flight = lines.size();
      auto r = c.post("/api/v1/events", body, "application/x-ndjson");
      if (!r || r->status != 200) break;
      ASSERT_EQ(boost::json::parse(r->body).at("accepted").as_int64(), 20);
      acked.insert(acked.end(), lines.begin(), lines.end());
    }
    killer.join();
    EXPECT_EQ(m.proc.wait(), 128 + SIGKILL);
  }
  ASSERT_GT(acked.size(), 0u);
  monitor m({"--data", dir.path().string()});
  auto c = m.client();
  auto s = get_json(c, "/api/v1/usage/summary?agent=k");
  ASSERT_TRUE(s.is_array());
  ASSERT_EQ(s.as_array().size(), 1u);
  const auto stored = s.as_array()[0].at("tokens").at("input").as_int64();
  EXPECT_GE(stored, std::int64_t(acked.size()));              // nothing acknowledged was lost
  EXPECT_LE(stored, std::int64_t(acked.size() + in_flight));  // at most the unanswered batch extra
  std::string all;
  for (const auto& l : acked) all += l + "\n";
  auto again = c.post("/api/v1/events", all, "application/x-ndjson");
  ASSERT_TRUE(again);
  auto v = boost::json::parse(again->body);
  EXPECT_EQ(v.at("accepted").as_int64(), 0);  // every acknowledged event is there, once
  EXPECT_EQ(v.at("duplicates").as_int64(), std::int64_t(acked.size()));
}

}  // namespace

#endif
