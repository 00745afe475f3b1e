// Tests for format/json.hpp: the JSON shape of points, histograms (buckets and
// percentiles) and summaries, non-finite values included.
#include <gtest/gtest.h>

#include "support/format.hpp"
#include "vitals/format/json.hpp"
#include "vitals/instruments/registry.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
namespace fmt = vitals::format;

// --- JSON -------------------------------------------------------------------------

TEST(FormatJson, ScalarPointsWithLabelsAndNonFiniteValues) {
  auto c = make_family("jobs", metric_type::counter, "Jobs \"done\".\n", "");
  add_point(c, {{"queue", "a\"b\\c\nd\xc3\xa9"}}, 42).created = 1700000000.5;
  auto g = make_family("temp_celsius", metric_type::gauge, "", "celsius");
  add_point(g, {}, qnan).t = from_unix_ms(1700000000123);
  add_point(g, {{"k", "v"}}, -inf);
  add_point(g, {{"k", "w"}}, 0.25);
  auto info = make_family("build", metric_type::info);
  add_point(info, {{"version", "1"}});

  const auto v =
      boost::json::parse(fmt::to_json({c, g, info, make_family("empty", metric_type::gauge)}));
  const auto& a = v.as_array();
  ASSERT_EQ(a.size(), 5u);
  const auto& jobs = a[0].as_object();
  EXPECT_EQ(jobs.at("name"), "jobs");
  EXPECT_EQ(jobs.at("type"), "counter");
  EXPECT_EQ(jobs.at("help"), "Jobs \"done\".\n");
  EXPECT_FALSE(jobs.contains("unit"));
  EXPECT_EQ(jobs.at("labels").as_object().at("queue"), "a\"b\\c\nd\xc3\xa9");
  EXPECT_EQ(jobs.at("value").to_number<double>(), 42);
  EXPECT_EQ(jobs.at("created").to_number<double>(), 1700000000.5);
  EXPECT_FALSE(jobs.contains("timestamp"));

  EXPECT_EQ(a[1].at("unit"), "celsius");
  EXPECT_EQ(a[1].at("value"), "NaN");
  EXPECT_EQ(a[1].at("timestamp").to_number<std::int64_t>(), 1700000000123);
  EXPECT_TRUE(a[1].at("labels").as_object().empty());
  EXPECT_EQ(a[2].at("value"), "-Inf");
  EXPECT_EQ(a[3].at("value").to_number<double>(), 0.25);
  EXPECT_EQ(a[4].at("value").to_number<double>(), 1);  // info is always 1
}

TEST(FormatJson, HistogramHasBucketsAndPercentiles) {
  const auto snap = collect_without_self_metrics([](registry& reg) {
    auto& h = reg.histogram("latency_seconds", "Latency.", {0.1, 0.5, 1});
    for (double v : {0.0625, 0.25, 0.25, 0.75, 5.0}) h.observe(v);
  });
  const auto v = boost::json::parse(fmt::to_json(snap));
  ASSERT_EQ(v.as_array().size(), 1u);
  const auto& o = v.as_array()[0].as_object();
  EXPECT_EQ(o.at("type"), "histogram");
  EXPECT_EQ(o.at("count").to_number<double>(), 5);
  EXPECT_EQ(o.at("sum").to_number<double>(), 6.3125);
  const auto& buckets = o.at("buckets").as_array();
  ASSERT_EQ(buckets.size(), 4u);
  EXPECT_EQ(buckets[0].at("le").to_number<double>(), 0.1);
  EXPECT_EQ(buckets[1].at("count").to_number<double>(), 3);
  EXPECT_EQ(buckets[3].at("le"), "+Inf");
  EXPECT_EQ(buckets[3].at("count").to_number<double>(), 5);
  const auto& b = snap[0].points[0].buckets;
  EXPECT_EQ(o.at("p50").to_number<double>(), estimate_quantile(0.5, b));
  EXPECT_EQ(o.at("p90").to_number<double>(), estimate_quantile(0.9, b));
  EXPECT_EQ(o.at("p99").to_number<double>(), estimate_quantile(0.99, b));
  EXPECT_FALSE(o.contains("value"));
}

TEST(FormatJson, EmptyHistogramPercentilesAreNaN) {
  auto h = make_family("h", metric_type::histogram);
  add_point(h, {}).buckets = {{1, 0}, {inf, 0}};
  const auto v = boost::json::parse(fmt::to_json({h}));
  EXPECT_EQ(v.as_array()[0].at("p50"), "NaN");
  EXPECT_EQ(v.as_array()[0].at("p99"), "NaN");
}

TEST(FormatJson, SummaryQuantiles) {
  auto s = make_family("rpc", metric_type::summary);
  auto& p = add_point(s, {{"svc", "a"}});
  p.quantiles = {{0.5, 0.125}, {0.99, inf}};
  p.sum = 3.5;
  p.count = 7;
  const auto o = boost::json::parse(fmt::to_json({s})).as_array()[0].as_object();
  EXPECT_EQ(o.at("count").to_number<double>(), 7);
  EXPECT_EQ(o.at("sum").to_number<double>(), 3.5);
  const auto& q = o.at("quantiles").as_array();
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].at("q").to_number<double>(), 0.5);
  EXPECT_EQ(q[0].at("value").to_number<double>(), 0.125);
  EXPECT_EQ(q[1].at("value"), "+Inf");
  EXPECT_FALSE(o.contains("buckets"));
}

}  // namespace
