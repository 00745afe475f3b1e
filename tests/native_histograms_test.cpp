// Native (exponential) histograms (issue 18 point 2): the instrument's
// buckets against their definition, resolution reduction, the quantile's
// error bound, writers on many threads, and the registry's view of them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vitals/format/text.hpp"
#include "vitals/instruments/exponential_histogram.hpp"
#include "vitals/instruments/registry.hpp"

namespace {

using namespace vitals;

// Bucket i at schema s holds (2^((i-1)/2^s), 2^(i/2^s)]: checked in long
// double, which resolves every boundary a double can hold.
bool in_bucket(double v, std::int32_t i, std::int32_t schema) {
  const long double w = std::ldexp(1.0L, -schema);
  const long double lower = std::exp2(static_cast<long double>(i - 1) * w);
  const long double upper = std::exp2(static_cast<long double>(i) * w);
  return v > lower && v <= upper;
}

TEST(NativeHistograms, IndicesFollowTheDefinitionAtEverySchema) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(-60, 60);
  for (std::int32_t s = exponential_histogram::min_schema; s <= exponential_histogram::max_schema;
       ++s) {
    for (int k = 0; k < 2000; ++k) {
      const double v = std::exp2(exponent(rng));
      const std::int32_t i = detail::native_index(v, s);
      EXPECT_TRUE(in_bucket(v, i, s)) << "v=" << v << " schema=" << s << " index=" << i;
    }
  }
}

TEST(NativeHistograms, APowerOfTwoEndsItsBucket) {
  // Upper bounds are inclusive: 1 is the top of bucket 0, 2 of bucket 2^schema.
  for (std::int32_t s = -4; s <= 8; ++s) {
    EXPECT_EQ(detail::native_index(1.0, s), 0) << "schema " << s;
    EXPECT_EQ(detail::native_index(std::nextafter(1.0, 2.0), s), 1) << "schema " << s;
  }
  EXPECT_EQ(detail::native_index(2.0, 0), 1);
  EXPECT_EQ(detail::native_index(2.0, 3), 8);
  EXPECT_EQ(detail::native_index(4.0, -1), 1);   // (1, 4] at base 4
  EXPECT_EQ(detail::native_index(4.01, -1), 2);  // (4, 16]
  EXPECT_EQ(detail::native_index(0.5, 0), -1);
}

TEST(NativeHistograms, CountsSumAndTheZeroBucket) {
  exponential_histogram h;  // schema 3
  for (double v : {1.0, 1.05, 2.0, 3.0, -3.0, 0.0, 1e-40, -0.0}) h.observe(v);
  const auto b = h.buckets();
  EXPECT_EQ(b.schema, 3);
  EXPECT_EQ(b.zero_count, 3u) << "0, -0 and 1e-40 are within 2^-128";
  EXPECT_EQ(exponential_histogram::total(b), 8u);
  EXPECT_DOUBLE_EQ(h.sum(), 1 + 1.05 + 2 + 3 - 3 + 1e-40);
  std::map<std::int32_t, std::uint64_t> pos;
  for (const auto& e : b.positive) pos[e.index] = e.count;
  EXPECT_EQ(pos, (std::map<std::int32_t, std::uint64_t>{{0, 1}, {1, 1}, {8, 1}, {13, 1}}))
      << "1.05 is above 1 and below 2^(1/8) = 1.0905; 3 is in (2^(12/8), 2^(13/8)]";
  ASSERT_EQ(b.negative.size(), 1u);
  EXPECT_EQ(b.negative[0].index, 13);
  EXPECT_EQ(b.negative[0].count, 1u);
}

TEST(NativeHistograms, NanIsCountedNotObserved) {
  exponential_histogram h;
  auto& st = detail::instrument_stats::get();
  const auto before = st.nan_observations.load();
  h.observe(std::nan(""));
  EXPECT_EQ(st.nan_observations.load() - before, 1u);
  EXPECT_EQ(h.count(), 0u);
}

TEST(NativeHistograms, InfinityAndSubnormalsLandInTheOuterBuckets) {
  exponential_histogram h({.schema = 0, .zero_threshold = 0});
  h.observe(std::numeric_limits<double>::infinity());
  h.observe(std::numeric_limits<double>::denorm_min());
  h.observe(-std::numeric_limits<double>::max());
  const auto b = h.buckets();
  EXPECT_EQ(exponential_histogram::total(b), 3u);
  ASSERT_EQ(b.positive.size(), 2u);
  EXPECT_EQ(b.positive.front().index, detail::native_index(4.9e-324, b.schema));
  EXPECT_EQ(b.positive.back().index,
            detail::native_index(std::numeric_limits<double>::max(), b.schema));
  EXPECT_LE(std::max(b.positive.size(), b.negative.size()), h.settings().max_buckets);
}

TEST(NativeHistograms, ObservationsOutsideTheWindowMoveItAndLoseNothing) {
  exponential_histogram h({.schema = 3, .max_buckets = 160});
  h.observe(1);
  ASSERT_EQ(h.layouts(), 1u);
  h.observe(1e5);  // 2^16.6: index 133, outside the first window [-80, 80)
  EXPECT_EQ(h.layouts(), 2u);
  const auto b = h.buckets();
  EXPECT_EQ(b.schema, 3) << "two buckets in use fit one window: shifted, not coarsened";
  EXPECT_EQ(exponential_histogram::total(b), 2u);
  EXPECT_EQ(b.positive.back().index, detail::native_index(1e5, 3));
  h.observe(1e7);  // index 187: 1 to 1e7 spans 188 buckets, more than 160
  EXPECT_EQ(h.buckets().schema, 2);
}

TEST(NativeHistograms, TooWideASpreadHalvesTheResolution) {
  exponential_histogram h({.schema = 8, .max_buckets = 20});
  std::vector<double> values;
  for (double v = 1e-9; v < 1e9; v *= 1.7) values.push_back(v);
  for (double v : values) h.observe(v);
  for (double v : values) h.observe(-v);
  const auto b = h.buckets();
  EXPECT_LT(b.schema, 8);
  EXPECT_LE(b.positive.size(), 20u);
  EXPECT_LE(b.negative.size(), 20u);
  EXPECT_EQ(exponential_histogram::total(b), 2 * values.size()) << "resolution lost, counts not";
  for (const auto& e : b.positive) EXPECT_GT(e.count, 0u);
  // Every observation is in the bucket its value names at the reported schema.
  std::map<std::int32_t, std::uint64_t> expect;
  for (double v : values) ++expect[detail::native_index(v, b.schema)];
  std::map<std::int32_t, std::uint64_t> got;
  for (const auto& e : b.positive) got[e.index] = e.count;
  EXPECT_EQ(got, expect);
  EXPECT_LE(h.layouts(), 16u + 13u) << "bounded: after 16 layouts each one halves the resolution";
}

TEST(NativeHistograms, LayoutsStayBoundedWhateverTheOrder) {
  // Each observation a little outside the window, in both directions.
  exponential_histogram h({.schema = 8, .max_buckets = 10});
  double lo = 1, hi = 1;
  for (int k = 0; k < 400; ++k) {
    hi *= 1.05;
    lo /= 1.05;
    h.observe(hi);
    h.observe(lo);
  }
  EXPECT_LE(h.layouts(), 16u + 13u);
  EXPECT_EQ(h.count(), 800u);
}

TEST(NativeHistograms, QuantilesAreWithinTheDocumentedBound) {
  for (std::int32_t schema : {0, 3, 5, 8}) {
    exponential_histogram h({.schema = schema});
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> dist(-3, 1.5);  // latencies around 50 ms
    std::vector<double> values(20000);
    for (auto& v : values) {
      v = dist(rng);
      h.observe(v);
    }
    std::sort(values.begin(), values.end());
    // At the schema the buckets have: this spread (about 2^17) needs 138
    // buckets at schema 3, more than 160 above it.
    const std::int32_t reported = h.buckets().schema;
    EXPECT_EQ(reported, std::min(schema, 3));
    const double bound = std::exp2(std::exp2(-reported)) - 1;  // base - 1
    for (double q : {0.01, 0.25, 0.5, 0.9, 0.99, 0.999}) {
      const double truth = values[static_cast<std::size_t>(q * (values.size() - 1))];
      const double est = h.quantile(q);
      EXPECT_LE(std::fabs(est - truth) / truth, bound)
          << "schema " << schema << " q=" << q << " estimate " << est << " true " << truth;
    }
  }
  exponential_histogram empty;
  EXPECT_TRUE(std::isnan(empty.quantile(0.5)));
  EXPECT_TRUE(std::isnan(empty.quantile(1.5)));
}

TEST(NativeHistograms, NegativeAndZeroQuantiles) {
  exponential_histogram h({.schema = 2, .zero_threshold = 0.001});
  for (int k = 0; k < 10; ++k) h.observe(-8);
  for (int k = 0; k < 10; ++k) h.observe(0);
  for (int k = 0; k < 10; ++k) h.observe(8);
  const double base = std::exp2(0.25);
  EXPECT_GE(h.quantile(0.1), -8 * base);
  EXPECT_LE(h.quantile(0.1), -8 / base);
  EXPECT_GE(h.quantile(0.5), -0.001);
  EXPECT_LE(h.quantile(0.5), 0.001);
  EXPECT_GE(h.quantile(0.9), 8 / base);
  EXPECT_LE(h.quantile(0.9), 8 * base);
}

TEST(NativeHistograms, ABadConfigNamesTheField) {
  auto message = [](exponential_histogram::config c) {
    try {
      c.check();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({.schema = 9}).find("schema"), std::string::npos);
  EXPECT_NE(message({.schema = -5}).find("schema"), std::string::npos);
  EXPECT_NE(message({.zero_threshold = -1}).find("zero_threshold"), std::string::npos);
  EXPECT_NE(message({.zero_threshold = INFINITY}).find("zero_threshold"), std::string::npos);
  EXPECT_NE(message({.max_buckets = 1}).find("max_buckets"), std::string::npos);
  EXPECT_EQ(message({}), "");
  registry reg;
  EXPECT_THROW(reg.exponential_histogram_family("x_seconds", "X.", {}, {.schema = 12}),
               std::invalid_argument);
}

TEST(NativeHistograms, TheRegistryKeepsThemApartFromClassicHistograms) {
  registry reg;
  auto& f = reg.exponential_histogram_family("rpc_seconds", "RPC latency.", {"method"});
  f.with("get").observe(0.25);
  f.with("get").observe(0.5);
  EXPECT_EQ(reg.find_histogram_family("rpc_seconds"), nullptr) << "not a classic histogram";
  EXPECT_EQ(reg.find_exponential_histogram_family("rpc_seconds"), &f);
  EXPECT_EQ(reg.find_exponential_histogram("rpc_seconds", "get"), &f.with("get"));
  EXPECT_THROW(reg.histogram_family("rpc_seconds", "RPC latency.", {"method"}),
               std::invalid_argument);
  EXPECT_EQ(&reg.exponential_histogram_family("rpc_seconds", "RPC latency.", {"method"}), &f);

  const auto snap = reg.collect();
  const metric_family* fam = nullptr;
  for (const auto& x : snap)
    if (x.name == "rpc_seconds") fam = &x;
  ASSERT_NE(fam, nullptr);
  EXPECT_EQ(fam->type, metric_type::histogram);
  ASSERT_EQ(fam->points.size(), 1u);
  const auto& p = fam->points[0];
  ASSERT_TRUE(p.native);
  EXPECT_EQ(p.count, 2);
  EXPECT_EQ(p.sum, 0.75);
  ASSERT_EQ(p.buckets.size(), 1u) << "the text formats see the +Inf bucket only";
  EXPECT_TRUE(std::isinf(p.buckets[0].le));
  EXPECT_EQ(p.buckets[0].count, 2);
  const auto text = format::to_text(snap);
  EXPECT_NE(text.find("rpc_seconds_bucket{method=\"get\",le=\"+Inf\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("rpc_seconds_count{method=\"get\"} 2\n"), std::string::npos) << text;
}

TEST(ConcurrencyNativeHistograms, ManyWritersLoseNoObservation) {
  exponential_histogram h({.schema = 5, .max_buckets = 40});
  constexpr int threads = 4, per_thread = 50000;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t)
    writers.emplace_back([&h, t] {
      std::mt19937_64 rng(t);
      std::uniform_real_distribution<double> exponent(-30, 30);  // forces new layouts meanwhile
      for (int k = 0; k < per_thread; ++k) h.observe((k % 2 ? 1 : -1) * std::exp2(exponent(rng)));
    });
  std::thread reader([&h] {
    for (int k = 0; k < 50; ++k) (void)h.buckets();
  });
  for (auto& w : writers) w.join();
  reader.join();
  const auto b = h.buckets();
  EXPECT_EQ(exponential_histogram::total(b), std::uint64_t{threads} * per_thread);
  EXPECT_LE(b.positive.size(), 40u);
}

}  // namespace
