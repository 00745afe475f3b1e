#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>

#include "vitals/instruments/counter.hpp"
#include "vitals/instruments/family.hpp"
#include "vitals/instruments/gauge.hpp"
#include "vitals/instruments/histogram.hpp"
#include "vitals/instruments/registry.hpp"

namespace {

using namespace vitals;

const metric_family* find(const metric_snapshot& s, std::string_view name) {
  for (const auto& f : s)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(InstrumentsCounter, CountsWholeAndFractionalAmounts) {
  counter c;
  EXPECT_EQ(c.value(), 0);
  c.inc();
  c.inc(41);
  EXPECT_TRUE(c.add(0.5));
  EXPECT_DOUBLE_EQ(c.value(), 42.5);
  EXPECT_GT(c.created(), 1.7e9);
}

TEST(InstrumentsCounter, NegativeAndNanAddsAreRejectedAndCounted) {
  auto& stats = detail::instrument_stats::get();
  const auto before = stats.negative_counter_adds.load();
  counter c;
  c.inc(3);
  EXPECT_FALSE(c.add(-1));
  EXPECT_FALSE(c.add(NAN));
  EXPECT_DOUBLE_EQ(c.value(), 3);
  EXPECT_EQ(stats.negative_counter_adds.load() - before, 2u);
}

TEST(InstrumentsCounter, ANewCounterInReusedCellsStartsAtZero) {
  double leftover = 0;
  {
    counter a;
    a.inc(1000);
    leftover = a.value();
  }
  EXPECT_EQ(leftover, 1000);
  for (int i = 0; i < 8; ++i) {
    counter b;  // likely reuses a's cells
    EXPECT_EQ(b.value(), 0);
    b.inc();
  }
}

TEST(InstrumentsGauge, SetAddIncDec) {
  gauge g;
  g.set(10);
  g.add(2.5);
  g.sub(0.5);
  g.inc();
  g.dec();
  g.dec();
  EXPECT_DOUBLE_EQ(g.value(), 11);
  g.set(-3);
  EXPECT_DOUBLE_EQ(g.value(), -3);
  g.set_to_current_time();
  EXPECT_GT(g.value(), 1.7e9);
}

TEST(InstrumentsHistogram, BucketsAreCumulativeAndInfEqualsCount) {
  histogram h(histogram::config({1, 2, 5}));
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 7.0, -1.0}) h.observe(v);
  const auto b = h.cumulative();
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].le, 1);
  EXPECT_EQ(b[0].count, 3);  // 0.5, 1.0 (le is inclusive), -1
  EXPECT_EQ(b[1].count, 5);
  EXPECT_EQ(b[2].count, 6);
  EXPECT_TRUE(std::isinf(b[3].le));
  EXPECT_EQ(b[3].count, 7);
  EXPECT_EQ(h.count(), 7u);
  EXPECT_DOUBLE_EQ(h.sum(), 14.0);
  metric_point p;
  h.collect(p);
  EXPECT_EQ(p.count, p.buckets.back().count);
}

TEST(InstrumentsHistogram, NanObservationsAreDroppedAndCounted) {
  auto& stats = detail::instrument_stats::get();
  const auto before = stats.nan_observations.load();
  histogram h;
  h.observe(NAN);
  h.observe(0.1);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(stats.nan_observations.load() - before, 1u);
}

TEST(InstrumentsHistogram, BoundsAreValidated) {
  EXPECT_THROW(histogram::config({1, 1}), std::invalid_argument);
  EXPECT_THROW(histogram::config({2, 1}), std::invalid_argument);
  EXPECT_THROW(histogram::config({1, NAN}), std::invalid_argument);
  EXPECT_EQ(histogram::config({1, 2, INFINITY}).bounds->size(), 2u);  // +Inf is implicit
  EXPECT_THROW(buckets::exponential(0, 2, 3), std::invalid_argument);
  EXPECT_THROW(buckets::linear(0, 0, 3), std::invalid_argument);
}

TEST(InstrumentsHistogram, Presets) {
  EXPECT_EQ(buckets::prometheus_default(),
            (std::vector<double>{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}));
  EXPECT_EQ(buckets::linear(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(buckets::exponential(1, 10, 3), (std::vector<double>{1, 10, 100}));
  const auto tokens = buckets::genai_token_usage();
  ASSERT_EQ(tokens.size(), 14u);
  EXPECT_EQ(tokens.front(), 1);
  EXPECT_EQ(tokens[1], 4);
  EXPECT_EQ(tokens.back(), 67108864);
  const auto dur = buckets::genai_operation_duration();
  ASSERT_EQ(dur.size(), 14u);
  EXPECT_DOUBLE_EQ(dur.front(), 0.01);
  EXPECT_DOUBLE_EQ(dur.back(), 81.92);
}

TEST(InstrumentsHistogram, EveryValueLandsInTheFirstBucketNotBelowIt) {
  // Checks the branch-free search against a plain scan for many bucket counts.
  std::mt19937_64 rng(7);
  for (std::size_t n = 0; n < 40; ++n) {
    std::vector<double> bounds;
    for (std::size_t i = 0; i < n; ++i) bounds.push_back(double(i) * 1.5 - 3);
    histogram h{histogram::config(bounds)};
    std::vector<double> expected(n + 1, 0);
    std::uniform_real_distribution<double> d(-5, double(n) * 1.5);
    for (int k = 0; k < 200; ++k) {
      double v = k % 5 == 0 && n > 0 ? bounds[k % n] : d(rng);  // exact bounds too
      h.observe(v);
      std::size_t i = 0;
      while (i < n && bounds[i] < v) ++i;
      expected[i] += 1;
    }
    const auto b = h.cumulative();
    double running = 0;
    for (std::size_t i = 0; i <= n; ++i) {
      running += expected[i];
      ASSERT_EQ(b[i].count, running) << "n=" << n << " bucket " << i;
    }
  }
}

TEST(InstrumentsHistogram, PercentilesBeatBucketUpperBounds) {
  histogram h(histogram::config(buckets::linear(10, 10, 10)));  // 10, 20, ..., 100
  for (int i = 1; i <= 1000; ++i) h.observe(i / 10.0);          // uniform over (0, 100]
  EXPECT_NEAR(h.quantile(0.5), 50.0, 0.2);
  EXPECT_NEAR(h.quantile(0.9), 90.0, 0.2);
  EXPECT_NEAR(h.quantile(0.99), 99.0, 0.2);
  EXPECT_NEAR(h.quantile(0.55), 55.0, 0.2);  // the seed's version would answer 60
}

TEST(InstrumentsFamily, SameValuesGiveTheSameSeries) {
  family<counter> f("http_requests", "Requests.", {"method", "code"});
  auto& a = f.with("GET", "200");
  auto& b = f.with(std::string("GET"), std::string_view("200"));
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &f.with("GET", "500"));
  a.inc();
  b.inc();
  EXPECT_EQ(a.value(), 2);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_THROW(f.with("GET"), std::invalid_argument);  // wrong arity
}

TEST(InstrumentsFamily, InvalidNamesFailAtCreation) {
  EXPECT_THROW(family<counter>("bad-name", "", {}), std::invalid_argument);
  EXPECT_THROW(family<counter>("ok", "", {"__bad"}), std::invalid_argument);
  EXPECT_THROW(family<counter>("ok", "", {"a", "a"}), std::invalid_argument);
}

TEST(InstrumentsFamily, ManySeriesSurviveRehashing) {
  family<counter> f("m", "", {"id"}, {}, 100000);
  std::vector<counter*> refs;
  for (int i = 0; i < 5000; ++i) refs.push_back(&f.with(std::to_string(i)));
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(refs[i], &f.with(std::to_string(i)));
    refs[i]->inc(i);
  }
  metric_snapshot s;
  f.collect(s);
  ASSERT_EQ(s[0].points.size(), 5000u);
  EXPECT_EQ(s[0].points[1234].labels.get("id"), "1234");  // insertion order
  EXPECT_EQ(s[0].points[1234].value, 1234);
}

TEST(InstrumentsFamily, CardinalityLimitSendsNewSeriesToOneOverflowSeries) {
  family<counter> f("m", "", {"user"}, {}, 3);
  for (int i = 0; i < 3; ++i) f.with(std::to_string(i)).inc();
  auto& over1 = f.with("x");
  auto& over2 = f.with("y");
  EXPECT_EQ(&over1, &over2);
  over1.inc(5);
  EXPECT_EQ(f.overflowed(), 2u);
  EXPECT_EQ(&f.with("1"), &f.with("1"));  // existing series still resolve
  metric_snapshot s;
  f.collect(s);
  ASSERT_EQ(s[0].points.size(), 4u);
  EXPECT_EQ(s[0].points.back().labels, (label_set{{"vitals_overflow", "true"}}));
  EXPECT_EQ(s[0].points.back().value, 5);
}

TEST(InstrumentsFamily, RemovalDropsTheSeriesAndFreesItsSlot) {
  family<counter> f("m", "", {"k"}, {}, 2);
  f.with("a").inc(7);
  f.with("b").inc();
  EXPECT_TRUE(f.remove("a"));
  EXPECT_FALSE(f.remove("a"));
  EXPECT_EQ(f.size(), 1u);
  auto& c = f.with("c");  // room again under the limit
  EXPECT_EQ(f.overflowed(), 0u);
  EXPECT_EQ(c.value(), 0);
  auto& a = f.with("a");  // comes back fresh... if there is room: there is not
  EXPECT_EQ(f.overflowed(), 1u);
  (void)a;
  // Remove and re-add many times: tombstones must not fill the table.
  family<gauge> g("g", "", {"k"});
  for (int i = 0; i < 10000; ++i) {
    g.with(std::to_string(i)).set(i);
    ASSERT_TRUE(g.remove(std::to_string(i)));
  }
  EXPECT_EQ(g.size(), 0u);
  EXPECT_EQ(g.with("again").value(), 0);
}

TEST(InstrumentsRegistry, CollectsEveryKindWithHelpAndType) {
  registry r(registry_options{.self_metrics = false});
  r.counter("jobs_total", "Jobs done.").inc(3);
  r.gauge("temperature_celsius", "Room temperature.").set(21.5);
  r.histogram("latency_seconds", "Latency.", {0.1, 1}).observe(0.05);
  r.counter_family("http_requests", "Requests.", {"code"}).with("200").inc();
  double cb = 4;
  r.gauge_callback("queue_depth", "Depth.", [&] { return cb; });
  r.counter_callback("bytes_read_total", "Bytes.", [] { return 99.0; });
  r.add_collector([](metric_snapshot& out) {
    metric_family f{"bridged", metric_type::gauge, "From elsewhere.", {}, {}};
    f.points.emplace_back().value = 1;
    out.push_back(std::move(f));
  });
  cb = 5;
  const auto s = r.collect();
  ASSERT_NE(find(s, "jobs"), nullptr);
  EXPECT_EQ(find(s, "jobs")->type, metric_type::counter);  // `_total` is the writers' job
  EXPECT_EQ(find(s, "jobs")->help, "Jobs done.");
  EXPECT_EQ(find(s, "jobs")->points[0].value, 3);
  EXPECT_EQ(find(s, "temperature_celsius")->points[0].value, 21.5);
  EXPECT_EQ(find(s, "latency_seconds")->points[0].count, 1);
  EXPECT_EQ(find(s, "http_requests")->points[0].labels.get("code"), "200");
  EXPECT_EQ(find(s, "queue_depth")->points[0].value, 5);  // read at collection
  EXPECT_EQ(find(s, "bytes_read")->type, metric_type::counter);
  EXPECT_EQ(find(s, "bridged")->points[0].value, 1);
  EXPECT_EQ(find(s, "vitals_instrument_rejected"), nullptr);
}

TEST(InstrumentsRegistry, ReRegisteringReturnsTheSameFamilyOrFailsLoudly) {
  registry r;
  auto& a = r.counter_family("x_total", "h", {"k"});
  auto& b = r.counter_family("x", "h", {"k"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(r.gauge_family("x", "h", {"k"}), std::invalid_argument);
  EXPECT_THROW(r.counter_family("x", "h", {"other"}), std::invalid_argument);
  EXPECT_THROW(r.gauge_callback("x", "h", [] { return 0.0; }), std::invalid_argument);
  EXPECT_THROW(r.counter("bad name", "h"), std::invalid_argument);
  EXPECT_TRUE(r.remove("x"));
  EXPECT_NO_THROW(r.gauge_family("x", "h", {}));
}

TEST(InstrumentsRegistry, SelfMetricsCountOverflowAndRejections) {
  registry r(registry_options{.max_series_per_family = 1});
  auto& f = r.counter_family("users", "h", {"id"});
  f.with("a");
  f.with("b");
  f.with("c");
  const auto s = r.collect();
  const auto* overflow = find(s, "vitals_cardinality_overflow");
  ASSERT_NE(overflow, nullptr);
  ASSERT_EQ(overflow->points.size(), 1u);
  EXPECT_EQ(overflow->points[0].labels.get("family"), "users");
  EXPECT_EQ(overflow->points[0].value, 2);
  ASSERT_NE(find(s, "vitals_instrument_rejected"), nullptr);
}

}  // namespace
