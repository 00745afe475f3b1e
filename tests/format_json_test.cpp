// Tests for format/json.hpp: the JSON shape of points, histograms (buckets and
// percentiles) and summaries, non-finite values included; and for
// format/json_text.hpp, the JSON text the HTTP answers are written in.
#include <gtest/gtest.h>

#include <charconv>
#include <limits>

#include "support/format.hpp"
#include "vitals/format/json.hpp"
#include "vitals/format/json_text.hpp"
#include "vitals/instruments/registry.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
namespace fmt = vitals::format;
using namespace std::string_view_literals;

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

TEST(FormatJson, NativeHistogramsShowTheirBucketsAndPercentiles) {
  const auto snap = collect_without_self_metrics([](registry& reg) {
    auto& h = reg.exponential_histogram("rpc_seconds", "RPC.", {.schema = 0});
    for (double v : {0.75, 3.0, 3.0, -3.0, 0.0}) h.observe(v);
  });
  const auto v = boost::json::parse(fmt::to_json(snap));
  const auto& o = v.as_array().at(0).as_object();
  EXPECT_EQ(o.at("count").to_number<double>(), 5);
  const auto& n = o.at("native");
  EXPECT_EQ(n.at("schema"), 0);
  EXPECT_EQ(n.at("zero_count"), 1);
  // Schema 0: 0.75 is in (0.5, 1], bucket 0; 3 in (2, 4], bucket 2.
  EXPECT_EQ(n.at("positive"), (boost::json::array{{0, 1}, {2, 2}}));
  EXPECT_EQ(n.at("negative"), (boost::json::array{{2, 1}}));
  EXPECT_EQ(o.at("p50").to_number<double>(),
            estimate_native_quantile(0.5, *snap[0].points[0].native));
  EXPECT_GT(o.at("p90").to_number<double>(), 2) << "from the native buckets, not +Inf alone";
  EXPECT_LE(o.at("p90").to_number<double>(), 4);
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

// --- json_text: numbers as people write them -----------------------------------------

TEST(FormatJsonText, DoublesAreShortestDecimalsNotExponents) {
  // What Boost.JSON 1.81 printed on /api/v1/usage/agents (issue 17 point 7).
  EXPECT_EQ(boost::json::serialize(boost::json::value(1.0)), "1E0");
  EXPECT_EQ(fmt::json_text(1.0), "1");
  EXPECT_EQ(fmt::json_text(56.50000000000013), "56.50000000000013");
  EXPECT_EQ(fmt::json_text(fmt::round_to(56.50000000000013, 2)), "56.5");
  EXPECT_EQ(fmt::json_text(3.2366592e7), "32366592");
  EXPECT_EQ(fmt::json_text(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(fmt::json_text(fmt::round_to(0.1 + 0.2, 9)), "0.3");
  EXPECT_EQ(fmt::json_text(-0.0125), "-0.0125");
  EXPECT_EQ(fmt::json_text(1e300), "1e+300");
  // Not finite: JSON has no such number.
  EXPECT_EQ(fmt::json_text(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(fmt::json_text(std::numeric_limits<double>::quiet_NaN()), "null");
  // Every double reads back as itself (with from_chars: Boost.JSON 1.81's own
  // parser is not exact at the extremes).
  for (double d : {0.1, 1.0 / 3, 2.5e-300, 123456789.123, -7e22, 4.9e-324}) {
    const auto text = fmt::json_text(d);
    double back = 0;
    std::from_chars(text.data(), text.data() + text.size(), back);
    EXPECT_EQ(back, d) << text;
  }
}

TEST(FormatJsonText, EverythingButNumbersIsWhatBoostJsonWrites) {
  const auto v = boost::json::parse(
      R"({"a\"b":[1,-2,18446744073709551615,true,false,null,"x\ny\u0001\u00e9"],"o":{},"e":[]})");
  EXPECT_EQ(fmt::json_text(v), boost::json::serialize(v));
  // Strings written as they are (the fast path) and escaped: both as Boost.JSON writes them.
  for (std::string_view text : {"plain"sv, ""sv, "a/b \x7f\xc3\xa9 \xff"sv, "tab\there"sv,
                                "q\"b\\s"sv, "nul\0x"sv, "\x1f"sv}) {
    const boost::json::value str(boost::json::string_view(text.data(), text.size()));
    EXPECT_EQ(fmt::json_text(str), boost::json::serialize(str)) << text;
  }
  std::string out = "data: ";
  fmt::append_json_text(out, boost::json::object{{"v", 0.5}, {"k", "s"}});
  EXPECT_EQ(out, R"(data: {"v":0.5,"k":"s"})");
}

TEST(FormatJsonText, RoundToAndWhole) {
  EXPECT_EQ(fmt::round_to(97.004999, 2), 97.0);
  EXPECT_EQ(fmt::round_to(0.6666666, 3), 0.667);
  EXPECT_EQ(fmt::round_to(1e300, 9), 1e300);  // v * 1e9 overflows: kept as it is
  EXPECT_EQ(fmt::round_to(2.5, 12), 2.5);     // decimals out of 0..9: kept
  EXPECT_EQ(fmt::whole(81264640.4).as_int64(), 81264640);
  EXPECT_EQ(fmt::whole(16e9).as_int64(), 16000000000);
  EXPECT_TRUE(fmt::whole(1e300).is_double());  // beyond 2^53: stays a double
  EXPECT_TRUE(fmt::whole(std::numeric_limits<double>::quiet_NaN()).is_double());
}

}  // namespace
