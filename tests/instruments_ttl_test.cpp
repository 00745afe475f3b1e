// Stale series (issue 18 point 3): a family with a ttl drops, at collection,
// the series that stayed unchanged and unlooked-up that long; counted in
// vitals_series_expired_total{family}; references written to again, with()
// of the same labels and handles bring them back with their values.
#include <gtest/gtest.h>

#include <thread>

#include "vitals/instruments/registry.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;

constexpr auto ttl = 300ms;  // margins of 100 ms and more either side: loaded CI machines

std::vector<std::string> series_of(const registry& reg, std::string_view family) {
  std::vector<std::string> out;
  for (const auto& f : reg.collect())
    if (f.name == family)
      for (const auto& p : f.points) out.push_back(std::string(p.labels.get("agent")));
  return out;
}

double value_of(const registry& reg, std::string_view family, std::string_view label,
                std::string_view value) {
  for (const auto& f : reg.collect())
    if (f.name == family)
      for (const auto& p : f.points)
        if (p.labels.get(label) == value) return p.value;
  return -1;
}

TEST(InstrumentsTtl, IdleSeriesLeaveAndAreCounted) {
  registry reg;
  auto& f = reg.counter_family("tokens_total", "Tokens.", {"agent"}, {.ttl = ttl});
  f.with("busy").inc();
  f.with("done").inc(5);
  EXPECT_EQ(series_of(reg, "tokens"), (std::vector<std::string>{"busy", "done"}));
  for (int i = 0; i < 3; ++i) {  // busy keeps changing; done never does
    std::this_thread::sleep_for(ttl / 2 + 10ms);
    f.with("busy").inc();
    reg.collect();
  }
  EXPECT_EQ(series_of(reg, "tokens"), (std::vector<std::string>{"busy"}));
  EXPECT_EQ(f.expired(), 1u);
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(value_of(reg, "vitals_series_expired", "family", "tokens"), 1);
}

TEST(InstrumentsTtl, ALookupKeepsASeriesWhoseValueDoesNotChange) {
  registry reg;
  auto& g = reg.gauge_family("queue_depth", "Depth.", {"agent"}, {.ttl = ttl});
  g.with("a").set(3);
  g.with("b").set(3);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(ttl / 2 + 10ms);
    g.with("a").set(3);  // same value, but looked up: still in use
    reg.collect();
  }
  EXPECT_EQ(series_of(reg, "queue_depth"), (std::vector<std::string>{"a"}));
}

TEST(InstrumentsTtl, AWriteThroughAnOldReferenceBringsTheSeriesBackWithItsValue) {
  registry reg;
  auto& f = reg.counter_family("calls_total", "Calls.", {"agent"}, {.ttl = ttl});
  auto& c = f.with("a");  // cached, as hot code does
  c.inc(7);
  reg.collect();
  std::this_thread::sleep_for(ttl + 20ms);
  EXPECT_TRUE(series_of(reg, "calls").empty()) << "expired";
  c.inc();  // within the grace ttl: the memory is still there
  EXPECT_EQ(value_of(reg, "calls", "agent", "a"), 8) << "back, values kept";
  EXPECT_EQ(f.revived(), 1u);

  std::this_thread::sleep_for(ttl + 20ms);
  reg.collect();  // expired again
  EXPECT_EQ(f.with("a").value(), 8) << "with() of its labels revives it too";
  EXPECT_EQ(f.revived(), 2u);
}

TEST(InstrumentsTtl, UnheldSeriesAreFreedAfterTheGraceAndStartAgainAtZero) {
  registry reg;
  auto& f = reg.counter_family("jobs_total", "Jobs.", {"agent"}, {.ttl = ttl});
  f.with("a").inc(4);
  reg.collect();
  std::this_thread::sleep_for(ttl + 20ms);
  reg.collect();  // expired
  std::this_thread::sleep_for(ttl + 20ms);
  reg.collect();  // freed
  EXPECT_EQ(f.with("a").value(), 0) << "a new series";
  EXPECT_EQ(f.revived(), 0u);
}

TEST(InstrumentsTtl, AHandleKeepsTheMemoryWhileTheSeriesLeavesMetrics) {
  registry reg;
  auto& f = reg.histogram_family("latency_seconds", "Latency.", {"agent"}, {0.1, 1}, {.ttl = ttl});
  auto h = f.hold("a");
  h->observe(0.5);
  reg.collect();
  for (int i = 0; i < 4; ++i) {  // four ttls: expired, and past the grace, but held
    std::this_thread::sleep_for(ttl + 10ms);
    reg.collect();
  }
  EXPECT_TRUE(series_of(reg, "latency_seconds").empty());
  auto copy = h;        // handles copy
  copy->observe(0.05);  // ASan would report a use after free here
  const auto snap = reg.collect();
  ASSERT_EQ(series_of(reg, "latency_seconds"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(f.with("a").count(), 2u);
}

TEST(InstrumentsTtl, TheTtlIsPartOfTheFamilysShape) {
  registry reg;
  reg.counter_family("x_total", "X.", {"k"}, {.ttl = 1min});
  EXPECT_NO_THROW(reg.counter_family("x_total", "X.", {"k"}, {.ttl = 1min}));
  EXPECT_THROW(reg.counter_family("x_total", "X.", {"k"}), std::invalid_argument);
  EXPECT_THROW(reg.counter_family("neg_total", "N.", {"k"}, {.ttl = -1s}), std::invalid_argument);
  // Without a ttl nothing expires and no expiry counter is exposed.
  auto& plain = reg.counter_family("plain_total", "P.", {"k"});
  plain.with("v").inc();
  std::this_thread::sleep_for(ttl + 20ms);
  reg.collect();
  EXPECT_EQ(plain.size(), 1u);
  EXPECT_EQ(value_of(reg, "vitals_series_expired", "family", "plain"), -1);
}

}  // namespace
