// Tests for format/openmetrics.hpp: units, _created, timestamps, canonical
// numbers and every OpenMetrics type, against the specification's examples.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <iterator>
#include <string>

#include "support/format.hpp"
#include "vitals/format/openmetrics.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
namespace fmt = vitals::format;

// --- OpenMetrics 1.0 -------------------------------------------------------------

TEST(FormatOpenMetrics, CounterWithUnitCreatedAndTimestamps) {
  auto f = make_family("process_cpu_seconds", metric_type::counter, "CPU \"time\" \\ used.\nTotal.",
                       "seconds");
  auto& p = add_point(f, {{"mode", "user"}}, 17);
  p.created = 1700000000.25;
  p.t = from_unix_ms(1700000100123);
  add_point(f, {{"mode", "sys"}}, 0.5);
  EXPECT_EQ(fmt::to_openmetrics({f}, {.created = true}),
            "# TYPE process_cpu_seconds counter\n"
            "# UNIT process_cpu_seconds seconds\n"
            "# HELP process_cpu_seconds CPU \\\"time\\\" \\\\ used.\\nTotal.\n"
            "process_cpu_seconds_total{mode=\"user\"} 17 1700000100.123\n"
            "process_cpu_seconds_created{mode=\"user\"} 1700000000.25 1700000100.123\n"
            "process_cpu_seconds_total{mode=\"sys\"} 0.5\n"
            "# EOF\n");
  // `_created` is opt-in.
  EXPECT_EQ(fmt::to_openmetrics({f}).find("_created"), std::string::npos);
}

TEST(FormatOpenMetrics, UnitThatIsNotTheNameSuffixIsLeftOut) {
  EXPECT_EQ(fmt::to_openmetrics({make_family("latency", metric_type::gauge, "", "seconds")}),
            "# TYPE latency gauge\n# EOF\n");
  EXPECT_EQ(fmt::to_openmetrics({make_family("xseconds", metric_type::gauge, "", "seconds")}),
            "# TYPE xseconds gauge\n# EOF\n");
}

// The example histogram of the OpenMetrics specification, le for le.
TEST(FormatOpenMetrics, HistogramUsesCanonicalLe) {
  auto h = make_family("foo", metric_type::histogram);
  auto& p = add_point(h, {});
  const double bounds[] = {0, 1e-05, 0.0001, 0.1, 1, 10, 100000, 1e+06, 1e+23, 1.1e+23, inf};
  const double counts[] = {0, 0, 5, 8, 10, 11, 11, 15, 16, 17, 17};
  for (std::size_t i = 0; i < std::size(bounds); ++i) p.buckets.push_back({bounds[i], counts[i]});
  p.count = 17;
  p.sum = 324789.3;
  p.created = 1520430000.123;
  EXPECT_EQ(fmt::to_openmetrics({h}, {.created = true}),
            "# TYPE foo histogram\n"
            "foo_bucket{le=\"0.0\"} 0\n"
            "foo_bucket{le=\"1e-05\"} 0\n"
            "foo_bucket{le=\"0.0001\"} 5\n"
            "foo_bucket{le=\"0.1\"} 8\n"
            "foo_bucket{le=\"1.0\"} 10\n"
            "foo_bucket{le=\"10.0\"} 11\n"
            "foo_bucket{le=\"100000.0\"} 11\n"
            "foo_bucket{le=\"1e+06\"} 15\n"
            "foo_bucket{le=\"1e+23\"} 16\n"
            "foo_bucket{le=\"1.1e+23\"} 17\n"
            "foo_bucket{le=\"+Inf\"} 17\n"
            "foo_count 17\n"
            "foo_sum 324789.3\n"
            "foo_created 1520430000.123\n"
            "# EOF\n");
}

TEST(FormatOpenMetrics, CanonicalNumbersMatchTheSpecification) {
  auto canonical = [](double v) {
    char buf[fmt::detail::number_chars];
    return std::string(buf, fmt::detail::render_canonical(buf, v));
  };
  const char* expected[] = {"0.0",  "0.001", "0.002", "0.01", "0.1", "0.9",
                            "0.95", "0.99",  "0.999", "1.0",  "1.7", "10.0"};
  const double values[] = {0, 0.001, 0.002, 0.01, 0.1, 0.9, 0.95, 0.99, 0.999, 1, 1.7, 10};
  for (std::size_t i = 0; i < std::size(values); ++i) EXPECT_EQ(canonical(values[i]), expected[i]);
  for (int e = -10; e <= 10; ++e) {
    const std::string s = canonical(std::pow(10.0, e));
    std::string want;
    if (e < -4) want = "1e-" + std::string(e > -10 ? "0" : "") + std::to_string(-e);
    if (e >= -4 && e < 0) want = "0." + std::string(static_cast<std::size_t>(-e - 1), '0') + "1";
    if (e >= 0 && e < 6) want = "1" + std::string(static_cast<std::size_t>(e), '0') + ".0";
    if (e >= 6) want = "1e+" + std::string(e < 10 ? "0" : "") + std::to_string(e);
    EXPECT_EQ(s, want);
  }
  EXPECT_EQ(canonical(inf), "+Inf");
  EXPECT_EQ(canonical(-inf), "-Inf");
  EXPECT_EQ(canonical(qnan), "NaN");
}

TEST(FormatOpenMetrics, SummaryTimestampsInSeconds) {
  auto s = make_family("rpc", metric_type::summary);
  const std::int64_t ms[] = {1700000000123, 1700000000000, 1500, -1500, 10, 1700000000120};
  for (std::int64_t t : ms) {
    auto& p = add_point(s, {{"t", std::to_string(t)}});
    p.quantiles = {{0.5, 1}};
    p.t = from_unix_ms(t);
  }
  const std::string out = fmt::to_openmetrics({s});
  EXPECT_NE(out.find("rpc{t=\"1700000000123\",quantile=\"0.5\"} 1 1700000000.123\n"),
            std::string::npos);
  EXPECT_NE(out.find("rpc_count{t=\"1700000000000\"} 0 1700000000\n"), std::string::npos);
  EXPECT_NE(out.find("rpc_sum{t=\"1500\"} 0 1.5\n"), std::string::npos);
  EXPECT_NE(out.find("rpc_sum{t=\"-1500\"} 0 -1.5\n"), std::string::npos);
  EXPECT_NE(out.find("rpc_sum{t=\"10\"} 0 0.01\n"), std::string::npos);
  EXPECT_NE(out.find("rpc_sum{t=\"1700000000120\"} 0 1700000000.12\n"), std::string::npos);
}

TEST(FormatOpenMetrics, InfoStatesetGaugeHistogramUnknown) {
  auto info = make_family("build", metric_type::info, "Build.");
  add_point(info, {{"version", "1.2"}}, 0);
  auto states = make_family("mode", metric_type::stateset);
  add_point(states, {{"mode", "on"}}, 1);
  add_point(states, {{"mode", "off"}}, 0);
  auto gh = make_family("queue", metric_type::gaugehistogram);
  auto& p = add_point(gh, {});
  p.buckets = {{0.5, 2}, {inf, 4}};
  p.count = 4;
  p.sum = 6;
  p.created = 5;  // a gauge histogram has no _created
  auto u = make_family("raw", metric_type::unknown);
  add_point(u, {}, -inf);
  EXPECT_EQ(fmt::to_openmetrics({info, states, gh, u}, {.created = true}),
            "# TYPE build info\n"
            "# HELP build Build.\n"
            "build_info{version=\"1.2\"} 1\n"
            "# TYPE mode stateset\n"
            "mode{mode=\"on\"} 1\n"
            "mode{mode=\"off\"} 0\n"
            "# TYPE queue gaugehistogram\n"
            "queue_bucket{le=\"0.5\"} 2\n"
            "queue_bucket{le=\"+Inf\"} 4\n"
            "queue_gcount 4\n"
            "queue_gsum 6\n"
            "# TYPE raw unknown\n"
            "raw -Inf\n"
            "# EOF\n");
}

TEST(FormatOpenMetrics, EmptySnapshotIsJustEof) {
  EXPECT_EQ(fmt::to_openmetrics({}), "# EOF\n");
  EXPECT_EQ(fmt::openmetrics_content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

}  // namespace
