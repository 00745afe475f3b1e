// Tests for format/text.hpp: the exact Prometheus text 0.0.4 output (escaping,
// numbers, histograms, the OpenMetrics-only types mapped down), and
// promtool's verdict on it.
#include <gtest/gtest.h>

#include <stdio.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/format.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/format/text.hpp"
#include "vitals/instruments/registry.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
namespace fmt = vitals::format;

// --- text 0.0.4 ----------------------------------------------------------------

TEST(FormatText, CounterEscapesHelpAndLabelValues) {
  auto f = make_family("http_requests", metric_type::counter, "Requests \\ \"served\".\nPer path.");
  add_point(f, {{"path", "/a\"b\\c\nd"}}, 42);
  add_point(f, {{"code", "500"}, {"path", "/x"}}, 0.5).t = from_unix_ms(1700000000123);
  EXPECT_EQ(fmt::to_text({f}),
            "# HELP http_requests_total Requests \\\\ \"served\".\\nPer path.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{path=\"/a\\\"b\\\\c\\nd\"} 42\n"
            "http_requests_total{code=\"500\",path=\"/x\"} 0.5 1700000000123\n");
}

TEST(FormatText, ValuesRoundTripInShortestForm) {
  auto g = make_family("g", metric_type::gauge);
  const double values[] = {
      qnan,  inf, -inf, -0.0, 0, -42, 2.5, 0.1, 1e-7, 1e15, 123456789012345, 1.7976931348623157e308,
      5e-324};
  for (double v : values) add_point(g, {{"i", std::to_string(g.points.size())}}, v);
  EXPECT_EQ(fmt::to_text({g}),
            "# TYPE g gauge\n"
            "g{i=\"0\"} NaN\n"
            "g{i=\"1\"} +Inf\n"
            "g{i=\"2\"} -Inf\n"
            "g{i=\"3\"} -0\n"
            "g{i=\"4\"} 0\n"
            "g{i=\"5\"} -42\n"
            "g{i=\"6\"} 2.5\n"
            "g{i=\"7\"} 0.1\n"
            "g{i=\"8\"} 1e-07\n"
            "g{i=\"9\"} 1e+15\n"
            "g{i=\"10\"} 123456789012345\n"
            "g{i=\"11\"} 1.7976931348623157e+308\n"
            "g{i=\"12\"} 5e-324\n");
}

TEST(FormatText, HistogramBucketsAreCumulativeAndInfEqualsCount) {
  const auto snap = collect_without_self_metrics([](registry& reg) {
    auto& h = reg.histogram_family("latency_seconds", "Latency.", {"route"}, {0.1, 0.5, 1});
    for (double v : {0.0625, 0.25, 0.25, 0.75, 5.0}) h.with("/").observe(v);
  });
  const std::string text = fmt::to_text(snap);
  EXPECT_EQ(text,
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"/\",le=\"0.1\"} 1\n"
            "latency_seconds_bucket{route=\"/\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{route=\"/\",le=\"1\"} 4\n"
            "latency_seconds_bucket{route=\"/\",le=\"+Inf\"} 5\n"
            "latency_seconds_sum{route=\"/\"} 6.3125\n"
            "latency_seconds_count{route=\"/\"} 5\n");
}

TEST(FormatText, HistogramWithoutInfBucketGetsOneFromCount) {
  auto h = make_family("h", metric_type::histogram);
  auto& p = add_point(h, {});
  p.buckets = {{1, 2}};
  p.count = 3;
  p.sum = 4;
  EXPECT_EQ(
      fmt::to_text({h}),
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_count 3\n");
}

// The bounds are rendered once per family and the line start once per
// point: points with other bounds, no labels, a timestamp, or labels too long
// for the stack line must still get their own.
TEST(FormatText, HistogramPointsWithDifferentBoundsLabelsAndLengths) {
  auto h = make_family("h", metric_type::histogram);
  const std::string long_value(600, 'v');
  auto& a = add_point(h, {{"k", "a"}});
  a.buckets = {{0.5, 1}, {inf, 2}};
  a.count = 2;
  auto& b = add_point(h, {});
  b.buckets = {{0.25, 1}, {2, 3}};
  b.count = 4;
  b.t = from_unix_ms(1500);
  auto& c = add_point(h, {{"k", long_value}});
  c.buckets = {{0.25, 0}, {2, 1}};
  c.count = 1;
  auto& d = add_point(h, {{"k", "d"}});
  d.buckets = {{0.5, 5}, {inf, 6}};
  d.count = 6;
  // clang-format off
  EXPECT_EQ(fmt::to_text({h}),
            "# TYPE h histogram\n"
            "h_bucket{k=\"a\",le=\"0.5\"} 1\nh_bucket{k=\"a\",le=\"+Inf\"} 2\n"
            "h_sum{k=\"a\"} 0\nh_count{k=\"a\"} 2\n"
            "h_bucket{le=\"0.25\"} 1 1500\nh_bucket{le=\"2\"} 3 1500\n"
            "h_bucket{le=\"+Inf\"} 4 1500\nh_sum 0 1500\nh_count 4 1500\n"
            "h_bucket{k=\"" + long_value + "\",le=\"0.25\"} 0\n"
            "h_bucket{k=\"" + long_value + "\",le=\"2\"} 1\n"
            "h_bucket{k=\"" + long_value + "\",le=\"+Inf\"} 1\n"
            "h_sum{k=\"" + long_value + "\"} 0\nh_count{k=\"" + long_value + "\"} 1\n"
            "h_bucket{k=\"d\",le=\"0.5\"} 5\nh_bucket{k=\"d\",le=\"+Inf\"} 6\n"
            "h_sum{k=\"d\"} 0\nh_count{k=\"d\"} 6\n");
  // clang-format on
  // OpenMetrics renders the same bounds canonically, so the text's cache is
  // not reused across dialects.
  const std::string om = fmt::to_openmetrics({h});
  EXPECT_NE(om.find("h_bucket{k=\"a\",le=\"0.5\"} 1\n"), std::string::npos);
  EXPECT_NE(om.find("h_bucket{le=\"2.0\"} 3 1.5\n"), std::string::npos);
}

TEST(FormatText, Summary) {
  auto s = make_family("rpc_seconds", metric_type::summary, "RPC latency.");
  auto& p = add_point(s, {{"service", "a"}});
  p.quantiles = {{0.5, 0.25}, {0.99, qnan}};
  p.sum = 17.5;
  p.count = 9;
  EXPECT_EQ(fmt::to_text({s}),
            "# HELP rpc_seconds RPC latency.\n"
            "# TYPE rpc_seconds summary\n"
            "rpc_seconds{service=\"a\",quantile=\"0.5\"} 0.25\n"
            "rpc_seconds{service=\"a\",quantile=\"0.99\"} NaN\n"
            "rpc_seconds_sum{service=\"a\"} 17.5\n"
            "rpc_seconds_count{service=\"a\"} 9\n");
}

TEST(FormatText, OpenMetricsOnlyTypesBecomeGaugesAndHistograms) {
  auto info = make_family("build", metric_type::info, "Build.");
  add_point(info, {{"version", "1.2"}}, 0);
  auto states = make_family("mode", metric_type::stateset);
  add_point(states, {{"mode", "on"}}, 1);
  add_point(states, {{"mode", "off"}}, 0);
  auto gh = make_family("queue", metric_type::gaugehistogram, "Queue.");
  auto& p = add_point(gh, {});
  p.buckets = {{1, 2}, {inf, 4}};
  p.count = 4;
  p.sum = 6;
  auto u = make_family("raw", metric_type::unknown);
  add_point(u, {}, 7);
  EXPECT_EQ(fmt::to_text({info, states, gh, u}),
            "# HELP build_info Build.\n"
            "# TYPE build_info gauge\n"
            "build_info{version=\"1.2\"} 1\n"
            "# TYPE mode gauge\n"
            "mode{mode=\"on\"} 1\n"
            "mode{mode=\"off\"} 0\n"
            "# HELP queue Queue.\n"
            "# TYPE queue histogram\n"
            "queue_bucket{le=\"1\"} 2\n"
            "queue_bucket{le=\"+Inf\"} 4\n"
            "# HELP queue_gcount Queue.\n"
            "# TYPE queue_gcount gauge\n"
            "queue_gcount 4\n"
            "# HELP queue_gsum Queue.\n"
            "# TYPE queue_gsum gauge\n"
            "queue_gsum 6\n"
            "# TYPE raw untyped\n"
            "raw 7\n");
}

TEST(FormatText, EmptyFamilyPrintsHeadersAndWriteAppends) {
  std::string out = "prefix\n";
  fmt::write_text(out, {make_family("idle", metric_type::counter, "Nothing yet.")});
  EXPECT_EQ(out, "prefix\n# HELP idle_total Nothing yet.\n# TYPE idle_total counter\n");
  EXPECT_EQ(fmt::to_text({}), "");
  EXPECT_EQ(fmt::text_content_type, "text/plain; version=0.0.4; charset=utf-8");
}

TEST(FormatText, TenThousandSeries) {
  const auto snap = collect_without_self_metrics([](registry& reg) {
    auto& c = reg.counter_family("requests", "Requests.", {"method", "path"});
    for (int i = 0; i < 10000; ++i)
      c.with(i % 2 ? "GET" : "POST", "/api/" + std::to_string(i)).inc(i);
  });
  const std::string text = fmt::to_text(snap);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 10002);
  const auto parsed = fmt::parse_text(text);
  EXPECT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.families.at(0).points.size(), 10000u);
}

// Prometheus' own linter must accept what we write (skipped without promtool).
TEST(FormatText, PromtoolAcceptsOutput) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool not found";
  const auto snap = collect_without_self_metrics([](registry& reg) {
    reg.counter_family("jobs", "Jobs \\ done.\nAll of them.", {"queue"}).with("a\"b\\c\nd").inc(3);
    reg.histogram_family("job_duration_seconds", "Job time.", {"queue"}).with("x").observe(0.3);
    reg.gauge("temperature_celsius", "Temperature.").set(-inf);
  });
  auto s = make_family("rpc_duration_seconds", metric_type::summary, "RPC.");
  add_point(s, {}).quantiles = {{0.5, 1}, {0.9, qnan}};
  metric_snapshot all = snap;
  all.push_back(s);
  const auto path = std::filesystem::temp_directory_path() /
                    ("vitals_format_test_" +
                     std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".prom");
  std::ofstream(path) << fmt::to_text(all);
  FILE* p = ::popen(("promtool check metrics < " + path.string() + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string report;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) report += buf;
  const int rc = ::pclose(p);
  std::filesystem::remove(path);
  EXPECT_EQ(rc, 0) << report;
  EXPECT_EQ(report, "");
}

}  // namespace
