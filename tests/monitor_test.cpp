// http/monitor.hpp, the parts agent_monitor is composed of: the sampler
// factory, the upkeep loop and the monitor's router (through http_fixture,
// which serves it).
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include "support/helpers.hpp"
#include "support/http_fixture.hpp"
#include "vitals/http/monitor.hpp"
#include "vitals/http/monitor_samplers.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/stores/null.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;

using monitor_any = http::monitor_poller<pipeline<stores::null_store>>::any_sampler;

TEST(MonitorSamplers, EachKindMakesItsSampler) {
  registry reg;
  http::sampler_factory<monitor_any> make{.reg = &reg};
  auto self = make({.id = "self", .kind = "self"});
  ASSERT_TRUE(self) << self.error().message;
  EXPECT_TRUE(std::holds_alternative<http::monitor_process>(*self));
  auto host = make({.id = "host", .kind = "host"});
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_TRUE(std::holds_alternative<http::monitor_host>(*host));
  auto own = make({.id = "vitals", .kind = "registry"});
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_TRUE(std::holds_alternative<http::monitor_registry>(*own));
  auto me = make({.id = "me", .kind = "process", .pid = ::getpid()});
  ASSERT_TRUE(me) << me.error().message;
  EXPECT_TRUE(std::holds_alternative<http::monitor_process>(*me));
  auto scrape = make({.id = "s", .kind = "scrape", .url = "http://127.0.0.1:9100/metrics"});
  ASSERT_TRUE(scrape) << scrape.error().message;
  EXPECT_TRUE(std::holds_alternative<http::monitor_scrape>(*scrape));
}

TEST(MonitorSamplers, RefusalsNameTheField) {
  const http::sampler_factory<monitor_any> make{};  // no registry
  auto r = make({.id = "x", .kind = "registry"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "kind: 'registry' is not sampled here");
  r = make({.id = "x", .kind = "process", .pid = 999'999'999});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "pid: no process 999999999");
  r = make({.id = "x", .kind = "cgroup", .path = "/sys/fs/cgroup/../../etc"});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("path: not a cgroup directory under /sys/fs/cgroup"))
      << r.error().message;
  r = make({.id = "x", .kind = "scrape", .url = "ftp://example.com/metrics"});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("url: ")) << r.error().message;
  r = make({.id = "x", .kind = "teapot"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "kind: unknown kind 'teapot'");
}

TEST(MonitorSamplers, APollerOverFewerSamplersGetsOnlyItsKinds) {
  using scrape_only = std::variant<samplers::scrape_sampler>;
  http::sampler_factory<scrape_only> make{};
  auto ok = make({.id = "s", .kind = "scrape", .url = "http://127.0.0.1:9100/metrics"});
  ASSERT_TRUE(ok) << ok.error().message;
  auto self = make({.id = "self", .kind = "self"});
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().message, "kind: 'self' is not sampled here");
}

/// A sample store that refuses every batch, as a full disk does.
struct refusing_store : stores::null_store {
  status append(std::span<const sample>) { return error(errc::unavailable, "disk full"); }
};

TEST(MonitorUpkeep, RunsRetentionAndWarnsOnceAboutRefusedBatches) {
  registry reg;
  refusing_store store;
  pipeline pipe(store);
  const std::vector<sample> batch{{series("up", {}), now(), 1.0}};
  EXPECT_FALSE(pipe.push(batch));
  EXPECT_FALSE(pipe.push(batch));
  agent::usage_memory usage;
  agent::ledger ledger(usage, reg);
  agent::maintenance upkeep({}, reg);
  std::vector<std::unique_ptr<agent::jsonl_importer>> importers;
  std::vector<std::string> warnings;
  http::upkeep_options o{.every = 5ms};
  o.warn = [&](const std::string& m) { warnings.push_back(m); };

  boost::asio::io_context io;
  boost::asio::cancellation_signal stop;
  boost::asio::co_spawn(io, http::upkeep_loop(pipe, ledger, nullptr, upkeep, importers, o),
                        boost::asio::bind_cancellation_slot(stop.slot(), boost::asio::detached));
  io.run_for(100ms);  // many rounds: retention once (hourly), one warning (a minute apart)
  stop.emit(boost::asio::cancellation_type::terminal);
  io.restart();
  io.run();  // the loop ends when cancelled
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "the sample store refused 2 batches (disk full)");
  EXPECT_EQ(test::family_total(reg, "vitals_store_prunes", "result", "ok"), 1.0);
}

boost::json::value json_of(const net::client_response& r) { return boost::json::parse(r.body); }

TEST(MonitorRoutes, ServeTheSpoolAndNoDashboardWhenNoneIsGiven) {
  test::http_fixture f;
  auto c = f.client();
  auto r = c.get("/api/v1/usage/spool");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(json_of(*r).at("pending").as_int64(), 0);
  EXPECT_TRUE(json_of(*r).at("recent_dead").as_array().empty());
  r = c.get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u);
}

#ifdef VITALS_WITH_OTLP
TEST(MonitorRoutes, ServeOtlpFromTheAgents) {
  test::http_fixture f;
  auto c = f.client();
  const auto t_ns = std::to_string(to_unix_ms(now()) * 1'000'000);
  const std::string metrics = R"({"resourceMetrics":[{"resource":{"attributes":[
      {"key":"service.name","value":{"stringValue":"claude-code"}}]},
      "scopeMetrics":[{"metrics":[{"name":"claude_code.session.count","sum":{
      "aggregationTemporality":2,"isMonotonic":true,"dataPoints":[
      {"asInt":"1","timeUnixNano":")" +
                              t_ns + R"("}]}}]}]}]})";
  auto r = c.post("/v1/metrics", metrics, "application/json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(r->body.find("rejected"), std::string::npos) << r->body;
  EXPECT_FALSE(f.store().list_series().empty());  // through the pipeline into the store
  r = c.post("/v1/logs", R"({"resourceLogs":[]})", "application/json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u) << r->body;
  r = c.get("/v1/logs");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405u);
}
#endif

}  // namespace
