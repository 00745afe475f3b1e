// Tests for format/: exact output of both writers, content negotiation, the
// JSON shape, the parser's error reporting, and the round trip
// parse(write(x)) == x over random snapshots for both formats.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "vitals/format/json.hpp"
#include "vitals/format/negotiate.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/format/text.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals {

// gtest prints families through this on failure (found by ADL).
void PrintTo(const metric_family& f, std::ostream* os) {
  auto num = [](double v) {
    char buf[32];
    return std::string(buf, format::detail::render_value(buf, v));
  };
  *os << "\n  " << f.name << " " << to_string(f.type) << " help=\"" << f.help << "\" unit=\""
      << f.unit << "\"";
  for (const auto& p : f.points) {
    *os << "\n    {";
    for (const auto& l : p.labels) *os << l.name << "=\"" << l.value << "\",";
    *os << "} value=" << num(p.value) << " sum=" << num(p.sum) << " count=" << num(p.count);
    for (const auto& b : p.buckets) *os << " le" << num(b.le) << ":" << num(b.count);
    for (const auto& q : p.quantiles) *os << " q" << num(q.q) << ":" << num(q.value);
    if (p.created) *os << " created=" << num(*p.created);
    if (p.t) *os << " t=" << to_unix_ms(*p.t);
  }
}

}  // namespace vitals

namespace {

using namespace vitals;
namespace fmt = vitals::format;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();

metric_family make_family(std::string name, metric_type t, std::string help = "",
                          std::string unit = "") {
  return metric_family{std::move(name), t, std::move(help), std::move(unit), {}};
}

metric_point& add_point(metric_family& f, label_set labels, double value = 0) {
  auto& p = f.points.emplace_back();
  p.labels = std::move(labels);
  p.value = value;
  return p;
}

metric_snapshot collect_without_self_metrics(const std::function<void(registry&)>& fill) {
  registry reg(registry_options{.max_series_per_family = 20000, .self_metrics = false});
  fill(reg);
  return reg.collect();
}

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

// --- negotiation -------------------------------------------------------------------

TEST(FormatNegotiate, PrometheusScrapeHeaderGetsOpenMetrics) {
  EXPECT_EQ(fmt::negotiate(
                "application/openmetrics-text;version=1.0.0,application/"
                "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text"), fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text; version=0.0.1"),
            fmt::exposition::openmetrics);
}

TEST(FormatNegotiate, TextUnlessOpenMetricsRanksAtLeastAsHigh) {
  EXPECT_EQ(fmt::negotiate(""), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("*/*"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("text/plain"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/json"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0.5,text/plain;q=0.9"),
            fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0.9,text/plain;q=0.9"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;version=2.0.0"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0.3, */*"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0.3, */*;q=0.2"),
            fmt::exposition::openmetrics);
  // The most specific range decides text's weight.
  EXPECT_EQ(fmt::negotiate("text/plain;q=0.1, */*, application/openmetrics-text;q=0.2"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("text/*;q=0.6, application/openmetrics-text;q=0.5"),
            fmt::exposition::text);
  // Unreadable weights make a range count for nothing.
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=high"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate(",,;;=,"), fmt::exposition::text);
}

TEST(FormatNegotiate, WhitespaceCaseAndQuotes) {
  EXPECT_EQ(fmt::negotiate(
                " Application/OpenMetrics-Text ; Version=\"1.0.0\" ; Q=0.8 ,\ttext/plain ;q=0.8"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(
      fmt::negotiate("text/plain; version=0.0.4; q=1.000, application/openmetrics-text; q=0.999"),
      fmt::exposition::text);
}

TEST(FormatNegotiate, ContentTypeAndWrite) {
  EXPECT_EQ(fmt::content_type(fmt::exposition::text), fmt::text_content_type);
  EXPECT_EQ(fmt::content_type(fmt::exposition::openmetrics), fmt::openmetrics_content_type);
  auto g = make_family("g", metric_type::gauge);
  add_point(g, {}, 1);
  std::string text, om;
  fmt::write(text, {g}, fmt::exposition::text);
  fmt::write(om, {g}, fmt::exposition::openmetrics);
  EXPECT_EQ(text, fmt::to_text({g}));
  EXPECT_EQ(om, fmt::to_openmetrics({g}));
}

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

// --- parser: examples and errors ---------------------------------------------------

TEST(FormatParse, TextEveryTypeAndOldStyleCounters) {
  const auto r = fmt::parse_text(
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "\n"
      "# A free comment, and an escaped label value:\n"
      "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find "
      "file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
      "metric_without_timestamp_and_labels 12.47\n"
      "# TYPE legacy counter\n"
      "legacy 5\n"
      "  # TYPE g gauge\n"
      "g +Inf\n"
      "# TYPE http_request_duration_seconds histogram\n"
      "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
      "http_request_duration_seconds_bucket{le=\"1\"} 33444\n"
      "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
      "http_request_duration_seconds_sum 53423\n"
      "http_request_duration_seconds_count 144320\n"
      "# TYPE rpc_duration_seconds summary\n"
      "rpc_duration_seconds{quantile=\"0.01\"} 3102\n"
      "rpc_duration_seconds{quantile=\"0.5\"} -Inf\n"
      "rpc_duration_seconds_sum 1.7560473e+07\n"
      "rpc_duration_seconds_count 2693\n"
      "# TYPE u untyped\n"
      "u{a=\"b\",} Nan\n");
  EXPECT_TRUE(r.ok()) << r.errors.at(0).line << ": " << r.errors.at(0).message;
  ASSERT_EQ(r.families.size(), 8u);
  const auto& c = r.families[0];
  EXPECT_EQ(c.name, "http_requests");
  EXPECT_EQ(c.type, metric_type::counter);
  EXPECT_EQ(c.help, "The total number of HTTP requests.");
  ASSERT_EQ(c.points.size(), 2u);
  EXPECT_EQ(c.points[1].labels, (label_set{{"code", "400"}, {"method", "post"}}));
  EXPECT_EQ(c.points[1].value, 3);
  EXPECT_EQ(c.points[1].t, from_unix_ms(1395066363000));

  EXPECT_EQ(r.families[1].type, metric_type::unknown);
  EXPECT_EQ(r.families[1].points[0].labels.get("path"), "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(r.families[1].points[0].labels.get("error"), "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_EQ(r.families[1].points[0].value, 1.458255915e9);
  EXPECT_EQ(r.families[2].points[0].value, 12.47);
  EXPECT_EQ(r.families[3].name, "legacy");
  EXPECT_EQ(r.families[3].type, metric_type::counter);
  EXPECT_EQ(r.families[3].points[0].value, 5);
  EXPECT_EQ(r.families[4].points[0].value, inf);

  const auto& h = r.families[5];
  EXPECT_EQ(h.type, metric_type::histogram);
  ASSERT_EQ(h.points.size(), 1u);
  EXPECT_EQ(h.points[0].buckets, (std::vector<bucket>{{0.05, 24054}, {1, 33444}, {inf, 144320}}));
  EXPECT_EQ(h.points[0].sum, 53423);
  EXPECT_EQ(h.points[0].count, 144320);

  const auto& s = r.families[6];
  ASSERT_EQ(s.points.size(), 1u);
  EXPECT_EQ(s.points[0].quantiles, (std::vector<quantile>{{0.01, 3102}, {0.5, -inf}}));
  EXPECT_EQ(s.points[0].sum, 1.7560473e+07);
  EXPECT_EQ(r.families[7].type, metric_type::unknown);
  EXPECT_TRUE(std::isnan(r.families[7].points[0].value));
}

TEST(FormatParse, OpenMetricsEveryType) {
  const auto r = fmt::parse_openmetrics(
      "# TYPE acme_http_router_request_seconds summary\n"
      "# UNIT acme_http_router_request_seconds seconds\n"
      "# HELP acme_http_router_request_seconds Latency \\\"through\\\" all.\n"
      "acme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n"
      "acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n"
      "acme_http_router_request_seconds_created{path=\"/api/v1\",method=\"GET\"} 1605281325.0\n"
      "# TYPE go_goroutines gauge\n"
      "go_goroutines 69 1520879607.789\n"
      "# TYPE process_cpu_seconds counter\n"
      "# UNIT process_cpu_seconds seconds\n"
      "process_cpu_seconds_total 4.20072246e+06 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
      "# TYPE foo histogram\n"
      "foo_bucket{le=\"0.1\"} 8 # {} 0.054\n"
      "foo_bucket{le=\"1.0\"} 11 # {trace_id=\"oHg5SJYRHA0\"} 9.8 1520879607.789\n"
      "foo_bucket{le=\"+Inf\"} 17\n"
      "foo_count 17\n"
      "foo_sum 324789.3\n"
      "foo_created 1520430000.123\n"
      "# TYPE build info\n"
      "build_info{version=\"8.2.7\"} 1\n"
      "# TYPE state stateset\n"
      "state{state=\"a\"} 0\n"
      "state{state=\"bb\"} 1.0\n"
      "# TYPE q gaugehistogram\n"
      "q_bucket{le=\"10\"} 34.0\n"
      "q_bucket{le=\"+Inf\"} 42.0\n"
      "q_gcount 42.0\n"
      "q_gsum 3289.3\n"
      "# TYPE x unknown\n"
      "x -1.5e-3\n"
      "# EOF\n");
  EXPECT_TRUE(r.ok()) << r.errors.at(0).line << ": " << r.errors.at(0).message;
  ASSERT_EQ(r.families.size(), 8u);
  const auto& s = r.families[0];
  EXPECT_EQ(s.unit, "seconds");
  EXPECT_EQ(s.help, "Latency \"through\" all.");
  EXPECT_EQ(s.points[0].count, 807283);
  EXPECT_EQ(s.points[0].created, 1605281325.0);
  EXPECT_EQ(r.families[1].points[0].t, from_unix_ms(1520879607789));
  EXPECT_EQ(r.families[2].name, "process_cpu_seconds");
  EXPECT_EQ(r.families[2].points[0].value, 4.20072246e+06);
  EXPECT_EQ(r.families[3].points[0].buckets, (std::vector<bucket>{{0.1, 8}, {1, 11}, {inf, 17}}));
  EXPECT_EQ(r.families[3].points[0].created, 1520430000.123);
  EXPECT_EQ(r.families[4].name, "build");
  EXPECT_EQ(r.families[4].type, metric_type::info);
  EXPECT_EQ(r.families[4].points[0].labels.get("version"), "8.2.7");
  EXPECT_EQ(r.families[5].points.size(), 2u);
  EXPECT_EQ(r.families[6].type, metric_type::gaugehistogram);
  EXPECT_EQ(r.families[6].points[0].count, 42);
  EXPECT_EQ(r.families[6].points[0].sum, 3289.3);
  EXPECT_EQ(r.families[7].points[0].value, -1.5e-3);
}

TEST(FormatParse, SeveralPointsPerMetricByTimestamp) {
  const auto r = fmt::parse_openmetrics("# TYPE foo gauge\nfoo 17.0 123\nfoo 18.0 456\n# EOF");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.families[0].points.size(), 2u);
  EXPECT_EQ(r.families[0].points[1].value, 18);
  EXPECT_EQ(r.families[0].points[1].t, from_unix_ms(456000));
}

TEST(FormatParse, TextErrorsNameTheLineAndGoodLinesAreKept) {
  const auto r = fmt::parse_text(
      "# HELP good_total A counter.\n"    // 1
      "# TYPE good_total counter\n"       // 2
      "good_total{a=\"1\"} 1\n"           // 3
      "bad-name 1\n"                      // 4
      "good_total{__x=\"1\"} 2\n"         // 5
      "good_total{a=\"unterminated} 3\n"  // 6
      "good_total{a=\"\\q\"} 4\n"         // 7
      "good_total{a=\"2\"} notanumber\n"  // 8
      "good_total{a=\"3\"} 5 12.5\n"      // 9
      "good_total{a=\"4\"} 6\n"           // 10
      "# TYPE good_total gauge\n"         // 11
      "# TYPE other wat\n"                // 12
      "lat_bucket{le=\"1\"} 1\n"          // 13
      "good_total{a=\"1\"} 7\n"           // 14
      "# TYPE h histogram\n"              // 15
      "h_bucket{x=\"1\"} 1\n"             // 16
      "h_bucket{le=\"abc\"} 1\n"          // 17
      "h_bucket{le=\"1\"} 1\n"            // 18
      "h_bucket{le=\"0.5\"} 1\n"          // 19
      "h_bucket{le=\"+Inf\"} 2\n"         // 20
      "h_count 2\n"                       // 21
      "h 3\n"                             // 22
      "good_total{a=\"5\",a=\"6\"} 1\n"   // 23
      "good_total{a=\"7\"} 1 2 3\n"       // 24
      "good_total{a=\"8\" 1\n"            // 25
      "good_total\n"                      // 26
      "# HELP good_total again\n"         // 27
      "{a=\"1\"} 1\n"                     // 28
      "# TYPE late gauge\n"               // 29
      "late 1\n");                        // 30
  const std::vector<std::pair<std::size_t, std::string>> expected = {
      {4, "after the metric name"},
      {5, "'__x': the '__' prefix is reserved"},
      {6, "unterminated value of label 'a'"},
      {7, "invalid escape sequence '\\q' in the value of label 'a'"},
      {8, "invalid value 'notanumber'"},
      {9, "invalid timestamp '12.5' (expected integer milliseconds)"},
      {11, "second TYPE line for 'good_total'"},
      {12, "unknown metric type 'wat'"},
      {14, "duplicate sample 'good_total'"},
      {16, "sample 'h_bucket' has no 'le' label"},
      {17, "invalid le value 'abc'"},
      {19, "bucket le=\"0.5\" of 'h_bucket' is not above the previous bucket"},
      {22, "no histogram sample may be named 'h'"},
      {23, "duplicate label name 'a'"},
      {24, "unexpected '3' after the value"},
      {25, "expected ',' or '}' after the value of label 'a'"},
      {26, "missing value"},
      {27, "second HELP line for 'good_total'"},
      {28, "expected a metric name"},
  };
  ASSERT_EQ(r.errors.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].line, expected[i].first) << r.errors[i].message;
    EXPECT_NE(r.errors[i].message.find(expected[i].second), std::string::npos)
        << "line " << r.errors[i].line << ": " << r.errors[i].message;
  }
  ASSERT_EQ(r.families.size(), 4u);
  const auto& good = r.families[0];
  EXPECT_EQ(good.name, "good");
  EXPECT_EQ(good.type, metric_type::counter);
  ASSERT_EQ(good.points.size(), 2u);
  EXPECT_EQ(good.points[0].value, 1);
  EXPECT_EQ(good.points[1].labels.get("a"), "4");
  EXPECT_EQ(r.families[1].name, "lat_bucket");
  EXPECT_EQ(r.families[1].type, metric_type::unknown);
  EXPECT_EQ(r.families[2].points[0].buckets, (std::vector<bucket>{{1, 1}, {inf, 2}}));
  EXPECT_EQ(r.families[2].points[0].count, 2);
  EXPECT_EQ(r.families[3].name, "late");
}

TEST(FormatParse, TypeAfterSamplesIsAnError) {
  const auto r = fmt::parse_text("x 1\n# TYPE x gauge\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], (fmt::parse_error_item{2, "TYPE line for 'x' after its samples"}));
  EXPECT_EQ(r.families.at(0).type, metric_type::unknown);
}

TEST(FormatParse, OpenMetricsStructuralErrors) {
  auto missing = fmt::parse_openmetrics("# TYPE a gauge\na 1\nb 2\n");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0],
            (fmt::parse_error_item{3, "missing '# EOF': the exposition ends at line 3"}));
  EXPECT_EQ(missing.families.size(), 2u);  // the data is still there
  EXPECT_EQ(fmt::parse_openmetrics("a 1").errors.at(0).line, 1u);
  EXPECT_EQ(fmt::parse_openmetrics("").errors.at(0).line, 1u);

  const auto r = fmt::parse_openmetrics(
      "# TYPE a untyped\n"         // 1: a text-format type
      "# TYPE b_bytes gauge\n"     // 2
      "# UNIT b_bytes seconds\n"   // 3: not the name's suffix
      "b_bytes 1 1.5e0\n"          // 4
      "\n"                         // 5: no empty lines in OpenMetrics
      "c_total 1 # {a=\"b\"} x\n"  // 6: bad exemplar value
      "# HELP d a \\t tab\n"       // 7: bad escape
      "# EOF\n"                    // 8
      "after 1\n");                // 9
  const std::vector<std::pair<std::size_t, std::string>> expected = {
      {1, "unknown metric type 'untyped'"},
      {3, "unit 'seconds' is not the suffix of 'b_bytes'"},
      {5, "empty line"},
      {6, "invalid exemplar value 'x'"},
      {7, "invalid escape sequence '\\t' in HELP"},
      {9, "content after '# EOF'"},
  };
  ASSERT_EQ(r.errors.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].line, expected[i].first) << r.errors[i].message;
    EXPECT_NE(r.errors[i].message.find(expected[i].second), std::string::npos)
        << r.errors[i].message;
  }
  EXPECT_EQ(r.families.at(0).points.at(0).t, from_unix_ms(1500));
}

TEST(FormatParse, ValuesAndTimestamps) {
  const auto r = fmt::parse_text(
      "v{i=\"0\"} NaN\nv{i=\"1\"} +Inf\nv{i=\"2\"} -Inf\nv{i=\"3\"} Inf\nv{i=\"4\"} inf\n"
      "v{i=\"5\"} 1e3\nv{i=\"6\"} -1.5E-3\nv{i=\"7\"} +12\nv{i=\"8\"} 0x10\nv{i=\"9\"} 1e999\n"
      "v{i=\"10\"} 1 -5\nv{i=\"11\"} 1 +5\n");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 9u);
  EXPECT_EQ(r.errors[1].line, 10u);
  EXPECT_EQ(r.errors[2].line, 11u);  // before 1970: out of range (core/time.hpp)
  const auto& p = r.families.at(0).points;
  ASSERT_EQ(p.size(), 9u);
  EXPECT_TRUE(std::isnan(p[0].value));
  EXPECT_EQ(p[1].value, inf);
  EXPECT_EQ(p[2].value, -inf);
  EXPECT_EQ(p[3].value, inf);
  EXPECT_EQ(p[4].value, inf);
  EXPECT_EQ(p[5].value, 1000);
  EXPECT_EQ(p[6].value, -1.5e-3);
  EXPECT_EQ(p[7].value, 12);
  EXPECT_EQ(p[8].t, from_unix_ms(5));

  const auto om = fmt::parse_openmetrics(
      "a 1 1700000000.1234\nb 1 1700000000.1235\nc 1 0.5\nd 1 1.7e9\n# EOF\n");
  ASSERT_TRUE(om.ok());
  EXPECT_EQ(om.families[0].points[0].t, from_unix_ms(1700000000123));
  EXPECT_EQ(om.families[1].points[0].t, from_unix_ms(1700000000124));
  EXPECT_EQ(om.families[2].points[0].t, from_unix_ms(500));
  EXPECT_FALSE(fmt::parse_openmetrics("c 1 -0.5\n# EOF\n").ok());
  EXPECT_EQ(om.families[3].points[0].t, from_unix_ms(1700000000000));
}

TEST(FormatParse, DispatchOnContentType) {
  const std::string body = "# TYPE a unknown\na 1\n# EOF\n";
  EXPECT_TRUE(fmt::parse(body, "application/openmetrics-text; version=1.0.0; charset=utf-8").ok());
  EXPECT_TRUE(fmt::parse(body, " Application/OpenMetrics-Text").ok());
  EXPECT_FALSE(fmt::parse(body, "text/plain; version=0.0.4").ok());  // `unknown` is no 0.0.4 type
  EXPECT_FALSE(fmt::parse(body, "").ok());
}

// Mutated and random input: no exception, no crash (ASan/UBSan), errors in range.
TEST(FormatParse, SurvivesGarbage) {
  std::mt19937_64 rng(7);
  auto f = make_family("m", metric_type::histogram, "h\\elp\n");
  auto& p = add_point(f, {{"a", "q\"uo\\te\n"}});
  p.buckets = {{0.5, 1}, {inf, 2}};
  p.t = from_unix_ms(1234);
  const std::string seeds[] = {fmt::to_text({f}), fmt::to_openmetrics({f}, {.created = true})};
  const std::string alphabet = "\n\"\\{}=,# \t.eE+-0123456789abcxyz_:\xc3\xa9";
  for (int i = 0; i < 3000; ++i) {
    std::string s = seeds[i % 2];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = rng() % s.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          s[at] = c;
          break;
        case 1:
          s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          s.erase(at, 1 + rng() % 4);
          break;
      }
    }
    if (i % 10 == 0) {
      s.resize(rng() % 200);
      for (auto& ch : s) ch = static_cast<char>(rng());
    }
    const std::size_t lines = static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')) + 1;
    for (const auto& r : {fmt::parse_text(s), fmt::parse_openmetrics(s)})
      for (const auto& e : r.errors) {
        EXPECT_GE(e.line, 1u);
        EXPECT_LE(e.line, lines);
        EXPECT_FALSE(e.message.empty());
      }
  }
}

// --- parser: the round trip parse(write(x)) == x ------------------------------------

// Random snapshots that stress what the formats must carry: awkward label
// values and help texts, every kind of double, every type, timestamps.
class snapshot_generator {
 public:
  explicit snapshot_generator(std::uint64_t seed) : rng_(seed) {}

  metric_snapshot snapshot() {
    metric_snapshot s;
    const int families = uniform(0, 8);
    for (int i = 0; i < families; ++i) s.push_back(family());
    return s;
  }

 private:
  static constexpr metric_type types[] = {metric_type::counter,        metric_type::gauge,
                                          metric_type::histogram,      metric_type::summary,
                                          metric_type::info,           metric_type::stateset,
                                          metric_type::gaugehistogram, metric_type::unknown};

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  // Ends in the family number (or a unit), so no name ends in a suffix the
  // writers add and no two families' samples collide.
  std::string family_name(metric_type t) {
    static const std::string first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:";
    static const std::string rest = first + "0123456789";
    std::string n;
    // A stateset's name is also a label name: no ':' and no leading "__".
    n += t == metric_type::stateset ? 's' : first[static_cast<std::size_t>(uniform(0, 53))];
    for (int i = uniform(0, 10); i > 0; --i) {
      char c = rest[static_cast<std::size_t>(uniform(0, 63))];
      if (t == metric_type::stateset && c == ':') c = '_';
      n += c;
    }
    return n + "_" + std::to_string(next_family_++);
  }

  std::string label_name() {
    static const std::string first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    static const std::string rest = first + "0123456789";
    for (;;) {
      std::string n(1, first[static_cast<std::size_t>(uniform(0, 52))]);
      for (int i = uniform(0, 6); i > 0; --i) n += rest[static_cast<std::size_t>(uniform(0, 62))];
      if (!n.starts_with("__") && n != "le" && n != "quantile") return n;
    }
  }

  // Quotes, backslashes, newlines, blanks at either end, multi-byte UTF-8.
  std::string text() {
    static const char* pieces[] = {"a",
                                   "Z",
                                   "0",
                                   " ",
                                   "\t",
                                   "\"",
                                   "\\",
                                   "\n",
                                   "\\n",
                                   "\\\"",
                                   "{",
                                   "}",
                                   ",",
                                   "=",
                                   "#",
                                   "\r",
                                   "\xc3\xa9",
                                   "\xe6\x97\xa5\xe6\x9c\xac",
                                   "\xf0\x9f\x98\x80",
                                   "le",
                                   "# EOF",
                                   "} 1"};
    std::string s;
    for (int i = uniform(0, 8); i > 0; --i)
      s += pieces[uniform(0, static_cast<int>(std::size(pieces)) - 1)];
    return s;
  }

  double value() {
    switch (uniform(0, 11)) {
      case 0:
        return qnan;
      case 1:
        return inf;
      case 2:
        return -inf;
      case 3:
        return chance(0.5) ? 0.0 : -0.0;
      case 4:
        return uniform(-1000, 1000);
      case 5:
        return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng_), uniform(50, 1024));
      case 6:
        return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng_),
                          uniform(-1074, -900));
      case 7:
        return chance(0.5) ? std::numeric_limits<double>::denorm_min()
                           : std::numeric_limits<double>::max();
      case 8:
        return uniform(-100000, 100000) / 1000.0;
      case 9:
        return static_cast<double>(uniform(999, 1001)) * 1e12 + uniform(-1, 1);  // near 1e15
      default:
        for (;;) {
          const double d = std::bit_cast<double>(rng_());
          if (std::isfinite(d)) return d;
        }
    }
  }
  double finite_value() {
    for (;;)
      if (const double d = value(); std::isfinite(d)) return d;
  }
  double count() {
    switch (uniform(0, 2)) {
      case 0:
        return uniform(0, 1000);
      case 1:
        return std::fabs(finite_value());
      default:
        return uniform(0, 1000000) / 8.0;
    }
  }

  metric_family family() {
    const metric_type t = types[uniform(0, static_cast<int>(std::size(types)) - 1)];
    metric_family f{family_name(t), t, chance(0.7) ? text() : "", "", {}};
    if (chance(0.3)) {
      static const char* units[] = {"seconds", "bytes", "ratio", "celsius"};
      f.unit = units[uniform(0, 3)];
      if (chance(0.7)) f.name += "_" + f.unit;  // else a unit the name does not carry
    }
    std::vector<std::string> names;
    for (int i = uniform(0, 3); i > 0; --i) {
      std::string n = label_name();
      if (n != f.name && std::find(names.begin(), names.end(), n) == names.end())
        names.push_back(n);
    }
    std::set<label_set> seen;
    for (int i = uniform(0, 5); i > 0; --i) {
      std::vector<label> labels;
      for (const auto& n : names)
        if (chance(0.8)) labels.push_back({n, text()});
      if (t == metric_type::stateset) labels.push_back({f.name, text()});
      auto l = label_set(std::move(labels));
      if (!seen.insert(l).second) continue;
      f.points.push_back(point(t, std::move(l)));
    }
    return f;
  }

  metric_point point(metric_type t, label_set labels) {
    metric_point p;
    p.labels = std::move(labels);
    if (chance(0.3))
      p.t = from_unix_ms(  // the parser takes 1970 to 2200 (core/time.hpp)
          std::uniform_int_distribution<std::int64_t>(min_unix_ms, max_unix_ms)(rng_));
    if (chance(0.5)) p.created = chance(0.5) ? finite_value() : 1.7e9 + uniform(0, 999999) / 1000.0;
    switch (t) {
      case metric_type::histogram:
      case metric_type::gaugehistogram: {
        std::vector<double> bounds;
        for (int i = uniform(0, 6); i > 0; --i) bounds.push_back(finite_value());
        std::sort(bounds.begin(), bounds.end());
        bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
        if (chance(0.9)) bounds.push_back(inf);  // else the writer must add it
        double running = 0;
        for (double b : bounds) p.buckets.push_back({b, running += count()});
        p.count = p.buckets.empty() || chance(0.1) ? count() : running;
        p.sum = value();
        break;
      }
      case metric_type::summary:
        for (int i = uniform(0, 4); i > 0; --i)
          p.quantiles.push_back({chance(0.5) ? uniform(0, 100) / 100.0
                                             : std::uniform_real_distribution<double>(0, 1)(rng_),
                                 value()});
        p.count = count();
        p.sum = value();
        break;
      case metric_type::stateset:
        p.value = uniform(0, 1);
        break;
      default:
        p.value = value();
        break;
    }
    return p;
  }

  std::mt19937_64 rng_;
  int next_family_ = 0;
};

bool is_histogram(metric_type t) {
  return t == metric_type::histogram || t == metric_type::gaugehistogram;
}

void add_inf_bucket(metric_point& p) {
  if (p.buckets.empty() || p.buckets.back().le != inf) p.buckets.push_back({inf, p.count});
}

// What text 0.0.4 can carry: no units, no `_created`; the OpenMetrics-only
// types arrive as the writer maps them (see format/text.hpp).
metric_snapshot expected_after_text(metric_snapshot in) {
  metric_snapshot out;
  for (auto& f : in) {
    f.unit.clear();
    for (auto& p : f.points) {
      p.created.reset();
      if (is_histogram(f.type)) add_inf_bucket(p);
    }
    switch (f.type) {
      case metric_type::info:
        f.name += "_info";
        f.type = metric_type::gauge;
        for (auto& p : f.points) p.value = 1;
        out.push_back(f);
        break;
      case metric_type::stateset:
        f.type = metric_type::gauge;
        out.push_back(f);
        break;
      case metric_type::gaugehistogram: {
        metric_family gcount{f.name + "_gcount", metric_type::gauge, f.help, "", {}};
        metric_family gsum{f.name + "_gsum", metric_type::gauge, f.help, "", {}};
        for (auto& p : f.points) {
          auto& c = gcount.points.emplace_back();
          c.labels = p.labels;
          c.value = p.count;
          c.t = p.t;
          auto& s = gsum.points.emplace_back();
          s.labels = p.labels;
          s.value = p.sum;
          s.t = p.t;
          p.count = p.sum = 0;
        }
        f.type = metric_type::histogram;
        out.push_back(f);
        out.push_back(gcount);
        out.push_back(gsum);
        break;
      }
      default:
        out.push_back(f);
    }
  }
  return out;
}

// OpenMetrics carries everything but a unit the name does not end in, and
// `_created` only where the type has one and the option asks for it.
metric_snapshot expected_after_openmetrics(metric_snapshot s, bool created) {
  for (auto& f : s) {
    if (!fmt::detail::unit_fits(f.name, f.unit)) f.unit.clear();
    const bool has_created = f.type == metric_type::counter || f.type == metric_type::histogram ||
                             f.type == metric_type::summary;
    for (auto& p : f.points) {
      if (!created || !has_created) p.created.reset();
      if (is_histogram(f.type)) add_inf_bucket(p);
      if (f.type == metric_type::info) p.value = 1;
    }
  }
  return s;
}

TEST(FormatParse, RoundTripText) {
  snapshot_generator gen(20240601);
  for (int i = 0; i < 300; ++i) {
    const auto snap = gen.snapshot();
    const std::string body = fmt::to_text(snap);
    const auto r = fmt::parse_text(body);
    ASSERT_TRUE(r.ok()) << "iteration " << i << ", line " << r.errors[0].line << ": "
                        << r.errors[0].message << "\n"
                        << body;
    ASSERT_EQ(r.families, expected_after_text(snap)) << "iteration " << i << "\n" << body;
  }
}

TEST(FormatParse, RoundTripOpenMetrics) {
  snapshot_generator gen(19700101);
  for (int i = 0; i < 300; ++i) {
    const auto snap = gen.snapshot();
    const bool created = i % 2 == 0;
    const std::string body = fmt::to_openmetrics(snap, {.created = created});
    const auto r = fmt::parse_openmetrics(body);
    ASSERT_TRUE(r.ok()) << "iteration " << i << ", line " << r.errors[0].line << ": "
                        << r.errors[0].message << "\n"
                        << body;
    ASSERT_EQ(r.families, expected_after_openmetrics(snap, created)) << "iteration " << i << "\n"
                                                                     << body;
  }
}

TEST(FormatParse, RoundTripRegistries) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 50; ++i) {
    registry reg;
    auto& c = reg.counter_family("c_" + std::to_string(i), "Counter \\ \"help\"\n.", {"k", "v"});
    auto& g = reg.gauge_family("g_" + std::to_string(i), "", {"k"});
    auto& h = reg.histogram_family(
        "h_seconds", "Histogram.", {"k"},
        buckets::exponential(1e-3 * static_cast<double>(1 + rng() % 9), 2.5, 1 + rng() % 12));
    const char* values[] = {"",          "plain",        "q\"uote", "back\\slash",
                            "new\nline", "\xe2\x82\xac", "\\n"};
    for (int j = 0; j < 20; ++j) {
      const char* a = values[rng() % std::size(values)];
      const char* b = values[rng() % std::size(values)];
      c.with(a, b).inc(rng() % 1000);
      c.with(a, b).add(static_cast<double>(rng() % 1000) / 7);
      g.with(a).set(std::bit_cast<double>(rng()));
      h.with(b).observe(std::ldexp(static_cast<double>(rng() % 1000), -8));
    }
    const auto snap = reg.collect();
    EXPECT_EQ(fmt::parse_text(fmt::to_text(snap)).families, expected_after_text(snap));
    EXPECT_EQ(fmt::parse_openmetrics(fmt::to_openmetrics(snap, {.created = true})).families,
              expected_after_openmetrics(snap, true));
  }
}

}  // namespace
