// The 001 seed's conveniences (issue 17 point 4): the default registry and its
// package-level helpers, the scoped timer and observe_duration, lookups that
// never create, and the 1 ms .. 10 s bucket preset.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "vitals/format/text.hpp"
#include "vitals/instruments/defaults.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/instruments/timer.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;

TEST(InstrumentsConveniences, LatencyPresetIsTheSeedsBuckets) {
  const std::vector<double> seed{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,   1.0,  2.5,   5.0,  10.0};
  EXPECT_EQ(buckets::latency_1ms_to_10s(), seed);
  registry reg;
  auto& h = reg.histogram("rpc_seconds", "RPC time.", buckets::latency_1ms_to_10s());
  h.observe(0.0007);  // under 1 ms: the first bucket, which prometheus_default() lacks
  EXPECT_EQ(h.cumulative().front().le, 0.001);
  EXPECT_EQ(h.cumulative().front().count, 1);
}

TEST(InstrumentsConveniences, ObserveDurationIsInSeconds) {
  registry reg;
  auto& h = reg.histogram("op_seconds", "Op time.", buckets::latency_1ms_to_10s());
  h.observe_duration(250ms);
  h.observe_duration(std::chrono::microseconds(1500));
  h.observe_duration(std::chrono::nanoseconds(2'000'000'000));
  EXPECT_EQ(h.count(), 3u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.25 + 0.0015 + 2.0);
  const auto b = h.cumulative();
  EXPECT_EQ(b[1].count, 1);  // le 0.005: the 1.5 ms one
  EXPECT_EQ(b[6].count, 2);  // le 0.25
  EXPECT_EQ(b[9].count, 3);  // le 2.5
}

TEST(InstrumentsConveniences, ScopedTimerObservesOnceAtTheEndOfItsScope) {
  registry reg;
  auto& h = reg.histogram("job_seconds", "Job time.", buckets::latency_1ms_to_10s());
  {
    scoped_timer t(h);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(h.count(), 0u) << "nothing observed before the scope ends";
    EXPECT_GE(t.elapsed(), 20ms);
  }
  EXPECT_EQ(h.count(), 1u);
  EXPECT_GE(h.sum(), 0.020);

  scoped_timer t(h);
  std::this_thread::sleep_for(5ms);
  const auto took = t.stop();
  EXPECT_GE(took, 5ms);
  EXPECT_EQ(t.stop(), took) << "a second stop observes nothing and returns the same time";
  EXPECT_EQ(h.count(), 2u);

  {
    scoped_timer cancelled(h);
    cancelled.cancel();
  }
  EXPECT_EQ(h.count(), 2u) << "a cancelled timer observes nothing";
}

TEST(InstrumentsConveniences, LookupsNeverCreate) {
  registry reg;
  auto& jobs = reg.counter_family("jobs_total", "Jobs.", {"queue"});
  auto& temp = reg.gauge_family("temp_celsius", "Temperature.", {"room"});
  reg.histogram("lat_seconds", "Latency.");
  reg.gauge_callback("uptime_seconds", "Up.", [] { return 1.0; });

  EXPECT_EQ(reg.find_counter("jobs_total", "a"), nullptr) << "no such series yet";
  EXPECT_EQ(jobs.size(), 0u) << "the lookup created nothing";
  jobs.with("a").inc(3);
  ASSERT_NE(reg.find_counter("jobs_total", "a"), nullptr);
  EXPECT_EQ(reg.find_counter("jobs", "a")->value(), 3) << "with or without _total";
  EXPECT_EQ(reg.find_counter_family("jobs"), &jobs);
  EXPECT_EQ(reg.find_counter("jobs", "a", "extra"), nullptr) << "wrong label count";
  EXPECT_EQ(reg.find_gauge("jobs", "a"), nullptr) << "another kind";
  EXPECT_EQ(reg.find_counter("nope", "a"), nullptr);
  EXPECT_EQ(reg.find_gauge_family("uptime_seconds"), nullptr) << "a callback is not a family";

  temp.with("lab").set(21.5);
  ASSERT_NE(reg.find_gauge("temp_celsius", "lab"), nullptr);
  EXPECT_EQ(reg.find_gauge("temp_celsius", "lab")->value(), 21.5);
  ASSERT_NE(reg.find_histogram("lat_seconds"), nullptr);
  EXPECT_NE(reg.find_histogram_family("lat_seconds"), nullptr);

  // A family at its series limit: a lookup of a new value finds nothing
  // (with() would return the overflow series).
  registry small({.max_series_per_family = 1});
  auto& f = small.counter_family("c", "C.", {"k"});
  f.with("one").inc();
  f.with("two").inc();  // overflow
  EXPECT_NE(small.find_counter("c", "one"), nullptr);
  EXPECT_EQ(small.find_counter("c", "two"), nullptr);
  EXPECT_EQ(f.size(), 1u);

  jobs.remove("a");
  EXPECT_EQ(reg.find_counter("jobs", "a"), nullptr) << "a removed series is gone";
}

double value_of(const metric_snapshot& s, std::string_view name, std::string_view label = {}) {
  for (const auto& f : s)
    if (f.name == name)
      for (const auto& p : f.points)
        if (label.empty() || (!p.labels.empty() && p.labels.begin()->value == label))
          return f.type == metric_type::histogram ? p.count : p.value;
  return -1;
}

TEST(InstrumentsConveniences, DefaultRegistryHelpersUseTheSeedsNames) {
  auto& reg = default_registry();
  EXPECT_EQ(&reg, &default_registry());
  const auto before = reg.collect();
  const double calls = std::max(0.0, value_of(before, "tool_calls", "grep"));
  const double lat = std::max(0.0, value_of(before, "model_latency_seconds"));

  record_tool_call("grep");
  record_tool_call("grep");
  record_tool_duration("grep", 30ms);
  record_model_request("claude-sonnet-4-5");
  record_model_latency(840ms);
  record_storage_operation("append");
  record_storage_error("append");
  set_active_sessions(4);
  inc_active_sessions();
  dec_active_sessions();
  dec_active_sessions();

  const auto after = reg.collect();
  EXPECT_EQ(value_of(after, "tool_calls", "grep"), calls + 2);
  EXPECT_EQ(value_of(after, "model_latency_seconds"), lat + 1);
  EXPECT_GE(value_of(after, "tool_duration_seconds", "grep"), 1);
  EXPECT_GE(value_of(after, "model_requests", "claude-sonnet-4-5"), 1);
  EXPECT_GE(value_of(after, "storage_operations", "append"), 1);
  EXPECT_GE(value_of(after, "storage_errors", "append"), 1);
  EXPECT_EQ(value_of(after, "active_sessions"), 3);

  const auto text = format::to_text(after);
  EXPECT_NE(text.find("tool_calls_total{tool=\"grep\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE model_latency_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("model_latency_seconds_bucket{le=\"0.001\"}"), std::string::npos)
      << "the seed's buckets start at 1 ms";
  ASSERT_NE(reg.find_counter("tool_calls_total", "grep"), nullptr);
}

}  // namespace
