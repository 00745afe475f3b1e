// Months of uptime and a correct /metrics: families rebuilt from stored
// samples never clash with the registry's, stores prune past their retention,
// refused writes are counted; and the running agent_monitor's own /metrics
// passes promtool and the OpenMetrics parser.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "support/child.hpp"
#include "support/helpers.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/maintenance.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/format/families.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/format/text.hpp"
#include "vitals/net/client.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/samplers/registry.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/sqlite.hpp"
#include "vitals/stores/tiered.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;
using test::temp_dir;

/// The registry's own samples (as the monitor's "vitals" target stores
/// them) plus a scraped histogram, a summary and plain series.
std::vector<std::pair<series, point>> stored_latest(const registry& reg) {
  sample_batch b;
  samplers::append_samples(reg.collect(), now(), label_set{{"target", "vitals"}}, b);
  const auto t = now();
  auto add = [&](std::string name, label_set ls, double v) {
    b.push_back({series(std::move(name), std::move(ls)), t, v});
  };
  add("http_latency_seconds_bucket", {{"le", "0.1"}, {"target", "app"}}, 3);
  add("http_latency_seconds_bucket", {{"le", "+Inf"}, {"target", "app"}}, 5);
  add("http_latency_seconds_sum", {{"target", "app"}}, 1.5);
  add("http_latency_seconds_count", {{"target", "app"}}, 5);
  add("rpc_seconds", {{"quantile", "0.5"}, {"target", "app"}}, 0.2);
  add("rpc_seconds", {{"quantile", "0.99"}, {"target", "app"}}, 0.9);
  add("rpc_seconds_sum", {{"target", "app"}}, 10);
  add("rpc_seconds_count", {{"target", "app"}}, 40);
  add("lonely_sum", {{"target", "app"}}, 2);  // no _count: stays unknown
  add("process_cpu_seconds_total", {{"target", "self"}}, 12);
  add("process_resident_memory_bytes", {{"target", "self"}}, 1e6);
  std::vector<std::pair<series, point>> out;
  for (const auto& s : b) out.emplace_back(s.series, point{s.t, s.value});
  return out;
}

TEST(LatestFamilies, NeverRepeatTheRegistrysNamesAndRebuildHistogramsAndSummaries) {
  registry reg;
  reg.histogram_family("vitals_http_request_duration_seconds", "Latency.", {"route"}, {0.1, 1})
      .with("metrics")
      .observe(0.05);
  reg.counter("vitals_http_requests", "Requests.").inc();
  metric_snapshot snap = reg.collect();
  auto taken = format::exposed_names(snap);
  const auto latest = stored_latest(reg);
  sample_batch own;  // the registry's series as stored: every one is left out
  samplers::append_samples(reg.collect(), now(), {}, own);
  EXPECT_EQ(format::append_families(latest, taken, snap), own.size());

  std::map<std::string, metric_type> types;
  for (const auto& f : snap) {
    EXPECT_TRUE(types.emplace(f.name, f.type).second) << "family twice: " << f.name;
  }
  EXPECT_EQ(types.at("vitals_http_request_duration_seconds"), metric_type::histogram);
  EXPECT_FALSE(types.contains("vitals_http_request_duration_seconds_bucket"));
  EXPECT_FALSE(types.contains("vitals_http_request_duration_seconds_count"));
  EXPECT_FALSE(types.contains("vitals_http_requests_total"));
  EXPECT_EQ(types.at("http_latency_seconds"), metric_type::histogram);
  EXPECT_EQ(types.at("rpc_seconds"), metric_type::summary);
  EXPECT_EQ(types.at("process_cpu_seconds"), metric_type::counter);
  EXPECT_EQ(types.at("process_resident_memory_bytes"), metric_type::gauge);
  EXPECT_EQ(types.at("lonely_sum"), metric_type::unknown);

  for (const auto& f : snap) {
    if (f.name != "http_latency_seconds") continue;
    ASSERT_EQ(f.points.size(), 1u);
    const auto& p = f.points[0];
    EXPECT_EQ(p.labels, (label_set{{"target", "app"}}));
    ASSERT_EQ(p.buckets.size(), 2u);
    EXPECT_EQ(p.buckets[0].le, 0.1);
    EXPECT_EQ(p.buckets[0].count, 3);
    EXPECT_TRUE(std::isinf(p.buckets[1].le));
    EXPECT_EQ(p.sum, 1.5);
    EXPECT_EQ(p.count, 5);
  }
  // What comes out parses back in both formats without an error.
  EXPECT_TRUE(format::parse_text(format::to_text(snap)).ok());
}

TEST(LatestFamilies, AClashKeepsTheFirstAndCountsTheRest) {
  const auto t = now();
  std::vector<std::pair<series, point>> latest{
      {series("jobs", {}), point{t, 1}},        // a gauge named jobs ...
      {series("jobs_total", {}), point{t, 2}},  // ... and a counter jobs: one must go
  };
  format::name_set taken;
  metric_snapshot snap;
  EXPECT_EQ(format::append_families(latest, taken, snap), 1u);
  ASSERT_EQ(snap.size(), 1u);
}

TEST(Retention, SqlitePrunesOldSamplesAndSeriesLeftEmpty) {
  temp_dir dir;
  stores::sqlite_store st(dir.path() / "s.db");
  const auto t = now();
  const series gone("old_metric", {{"target", "gone"}}), live("live_metric", {});
  const std::vector<sample> batch{{gone, t - 30 * 24h, 1}, {live, t - 30 * 24h, 1}, {live, t, 2}};
  ASSERT_TRUE(st.append(batch));
  auto n = st.prune_before(t - 7 * 24h);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(st.list_series(), std::vector<series>{live});
  EXPECT_EQ(st.range(live, t - 60 * 24h, t).size(), 1u);
  // A pruned series written again gets a fresh id and is found again.
  ASSERT_TRUE(st.append(std::vector<sample>{{gone, t, 5}}));
  EXPECT_EQ(st.latest(gone)->value, 5);
}

TEST(Retention, MemoryStoreForgetsSeriesOfTargetsLongGone) {
  stores::memory_store st;
  const auto t = now();
  ASSERT_TRUE(st.append(std::vector<sample>{{series("a", {}), t - 10 * 24h, 1},
                                            {series("b", {}), t - 10 * 24h, 1},
                                            {series("b", {}), t, 2}}));
  EXPECT_EQ(*st.prune_before(t - 7 * 24h), 1);
  EXPECT_EQ(st.list_series(), std::vector<series>{series("b", {})});
  EXPECT_EQ(st.range(series("b", {}), t - 30 * 24h, t).size(), 2u);  // a live ring keeps its past
}

TEST(Retention, MaintenanceRunsOnScheduleAndReportsWhatItDid) {
  temp_dir dir;
  registry reg;
  stores::memory_store hot;
  stores::sqlite_store cold(dir.path() / "samples.db");
  stores::tiered store(hot, cold);
  agent::usage_sqlite usage(dir.path() / "usage.db", true);
  agent::maintenance m(
      {.samples = 7 * 24h, .every = 1h}, reg,
      {{"samples", dir.path() / "samples.db"}, {"usage", dir.path() / "usage.db"}});
  const auto t = now();
  ASSERT_TRUE(store.append(
      std::vector<sample>{{series("x", {}), t - 8 * 24h, 1}, {series("x", {}), t, 2}}));
  const auto start = std::chrono::steady_clock::now();
  m.tick(store, usage, start);
  EXPECT_EQ(test::family_total(reg, "vitals_store_pruned_rows", "store", "samples"), 1);
  m.tick(store, usage, start + 30min);  // not due yet
  EXPECT_EQ(test::family_total(reg, "vitals_store_prunes", "result", "ok"), 1);
  m.tick(store, usage, start + 61min);
  EXPECT_EQ(test::family_total(reg, "vitals_store_prunes", "result", "ok"), 2);
  EXPECT_GT(test::family_total(reg, "vitals_store_last_prune_timestamp_seconds"), 1.7e9);
  EXPECT_GT(test::family_total(reg, "vitals_store_bytes", "store", "samples"), 0);
  EXPECT_GT(test::family_total(reg, "vitals_store_bytes", "store", "usage"), 0);
}

TEST(Retention, AUsageWalPastTheWatchSizeIsCheckpointedBetweenRuns) {
  temp_dir dir;
  registry reg;
  stores::memory_store samples;
  agent::usage_sqlite usage(dir.path() / "usage.db", true);
  agent::ledger ledger(usage, reg);
  agent::maintenance m({.every = 1h, .wal_watch_bytes = 1}, reg);
  const auto start = std::chrono::steady_clock::now();
  m.tick(samples, usage, start);  // the scheduled run
  ASSERT_EQ(
      ledger.ingest(R"({"agent_name":"a","model_raw":"gpt-5","message_id":"m1","input_tokens":3})")
          .accepted,
      1u);
  ASSERT_GT(usage.wal_bytes(), 1u);
  m.tick(samples, usage, start + 1min);  // not due, but the WAL is over the watch size
  EXPECT_EQ(usage.wal_bytes(), 0u);
  EXPECT_EQ(test::family_total(reg, "vitals_store_prunes", "result", "ok"), 1);
}

struct refusing_store {
  status append(std::span<const sample>) { return error(errc::io_error, "disk full"); }
  std::optional<point> latest(const series&) { return std::nullopt; }
  std::vector<point> range(const series&, timestamp, timestamp) { return {}; }
  std::vector<series> list_series() { return {}; }
};

TEST(Retention, APipelineCountsRefusedWritesAndKeepsTheReason) {
  refusing_store st;
  pipeline pipe(st);
  const std::vector<sample> b{{series("x", {}), now(), 1}};
  EXPECT_FALSE(pipe.push(b));
  EXPECT_EQ(pipe.store_failures(), 1u);
  EXPECT_EQ(pipe.last_store_error(), "disk full");
}

#if defined(VITALS_MONITOR_EXE) && defined(VITALS_MINIMAL_EXE)

using test::child;
using test::eventually;

const std::string port_line = R"(on http://127\.0\.0\.1:(\d+)/)";

std::string write_file(const temp_dir& dir, const std::string& name, const std::string& body) {
  const auto file = dir.path() / name;
  std::ofstream(file) << body;
  return file.string();
}

TEST(AgentMonitorUpkeep, LiveMetricsPassPromtoolAndTheOpenMetricsParser) {
  child exporter({VITALS_MINIMAL_EXE, "0"});
  const auto eport = exporter.wait_for(R"(127\.0\.0\.1:(\d+)/metrics)");
  ASSERT_TRUE(eport) << exporter.output();
  temp_dir dir;
  child mon({VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--interval", "200ms", "--data",
             dir.path().string(), "--scrape", "http://127.0.0.1:" + *eport + "/metrics"});
  const auto port = mon.wait_for(port_line);
  ASSERT_TRUE(port) << mon.output();
  net::client c("127.0.0.1", *port);
  // Wait until the registry's histogram has come back out of the store and
  // the exporter's histogram has been scraped.
  std::string text;
  ASSERT_TRUE(eventually([&] {
    auto r = c.get("/metrics");
    if (!r || r->status != 200) return false;
    text = r->body;
    return text.find("job_duration_seconds_bucket{") != std::string::npos &&
           text.find("vitals_http_request_duration_seconds_bucket{") != std::string::npos &&
           text.find("process_resident_memory_bytes{target=\"self\"}") != std::string::npos;
  })) << text;
  std::map<std::string, int> helps;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("# HELP ")) ++helps[line.substr(7, line.find(' ', 7) - 7)];
  for (const auto& [name, n] : helps) EXPECT_EQ(n, 1) << name;
  EXPECT_NE(text.find("# TYPE job_duration_seconds histogram"), std::string::npos);
  EXPECT_EQ(
      text.find("vitals_http_request_duration_seconds_bucket{route=\"metrics\",target=\"vitals\""),
      std::string::npos)
      << "the registry's series came back from the store";
  EXPECT_TRUE(format::parse_text(text).ok());
  if (std::filesystem::exists("/usr/bin/promtool")) {
    child lint({"/bin/sh", "-c", "promtool check metrics < " + write_file(dir, "m.txt", text)});
    // Exit 1 is a parse error; 3 lint problems, of which only node_exporter's
    // own camelCase names (node_memory_MemTotal_bytes, kept so dashboards
    // work unchanged) are allowed.
    const auto rc = lint.wait();
    EXPECT_TRUE(rc == 0 || rc == 3) << lint.output();
    std::istringstream problems(lint.output());
    for (std::string line; std::getline(problems, line);) {
      if (!line.empty()) {
        EXPECT_TRUE(line.starts_with("node_memory_") && line.ends_with("not 'camelCase'")) << line;
      }
    }
  }
  auto om = c.get("/metrics", {{"Accept", "application/openmetrics-text; version=1.0.0"}});
  ASSERT_TRUE(om);
  const auto parsed = format::parse_openmetrics(om->body);
  EXPECT_TRUE(parsed.ok()) << (parsed.errors.empty() ? "" : parsed.errors[0].message);
  std::set<std::string> names;
  for (const auto& f : parsed.families) EXPECT_TRUE(names.insert(f.name).second) << f.name;
  EXPECT_EQ(mon.stop(SIGTERM), 0);
  EXPECT_EQ(exporter.stop(SIGINT), 0);
}

TEST(AgentMonitorUpkeep, PrunesSamplesPastRetentionAtStartAndReportsStoreSizes) {
  temp_dir dir;
  const auto t = now();
  {
    stores::sqlite_store old(dir.path() / "samples.db");
    ASSERT_TRUE(old.append(
        std::vector<sample>{{series("ancient_metric", {{"target", "gone"}}), t - 30 * 24h, 1},
                            {series("recent_metric", {{"target", "gone"}}), t - 1h, 1}}));
  }
  child mon({VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--interval", "200ms", "--data",
             dir.path().string(), "--retention-samples", "7d"});
  const auto port = mon.wait_for(port_line);
  ASSERT_TRUE(port) << mon.output();
  net::client c("127.0.0.1", *port);
  auto series_names = [&] {
    auto r = c.get("/api/v1/series?sel=" + net::url_encode("{target=\"gone\"}"));
    return r && r->status == 200 ? r->body : std::string();
  };
  EXPECT_TRUE(eventually([&] {
    const auto s = series_names();
    return s.find("recent_metric") != std::string::npos &&
           s.find("ancient_metric") == std::string::npos;
  })) << series_names();
  // The first retention run is the upkeep loop's, beside the server: wait for it.
  std::optional<net::client_response> m;
  EXPECT_TRUE(eventually([&] {
    auto r = c.get("/metrics");
    if (!r) return false;
    m = std::move(*r);
    return m->body.find("vitals_store_pruned_rows_total{store=\"samples\"} 1") != std::string::npos;
  }));
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("vitals_store_bytes{store=\"samples\"}"), std::string::npos);
  EXPECT_NE(m->body.find("vitals_store_last_prune_timestamp_seconds"), std::string::npos);
  EXPECT_NE(m->body.find("vitals_store_write_failures_total{store=\"samples\"} 0"),
            std::string::npos);
  child bad({VITALS_MONITOR_EXE, "--retention-samples", "5m"});
  EXPECT_EQ(bad.wait(), 2);
  EXPECT_EQ(mon.stop(SIGTERM), 0);
}

#endif

}  // namespace
