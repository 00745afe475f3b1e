// Tests for format/parse.hpp: every type in both formats, errors that name
// their line while good lines are kept, and garbage that must not crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "support/format.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/format/text.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
namespace fmt = vitals::format;

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
  EXPECT_EQ(r.families[2].points[0].exemplar,
            (exemplar{{{"trace_id", "KOO5S4vxi0o"}}, 0.67, std::nullopt}));
  EXPECT_EQ(
      r.families[3].points[0].buckets,
      (std::vector<bucket>{{0.1, 8, exemplar{{}, 0.054, std::nullopt}},
                           {1, 11, exemplar{{{"trace_id", "oHg5SJYRHA0"}}, 9.8, 1520879607.789}},
                           {inf, 17, std::nullopt}}));
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

// Found by the exposition fuzzer (fuzz/regressions/exposition/): a family
// `foo_bucket`, then `# TYPE foo histogram`, made foo's bucket lines go to
// foo_bucket, and the writers printed a foo_bucket{le="+Inf"} twice.
TEST(FormatParse, AFamilyWhoseSamplesWouldNameAnotherIsRefusedAtItsType) {
  auto r = fmt::parse_openmetrics(
      "foo_bucket{le=\"x\"} 1\n# TYPE foo histogram\nfoo_bucket{le=\"+Inf\"} 2\nfoo_count 2\n# "
      "EOF\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ(r.errors[0].message,
            "TYPE line for 'foo' clashes with the family 'foo_bucket', which its _bucket samples "
            "would be named as");
  r = fmt::parse_openmetrics("# TYPE foo histogram\nfoo_count 1\n# TYPE foo_count gauge\n# EOF\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3u);
  EXPECT_EQ(
      r.errors[0].message,
      "TYPE line for 'foo_count' clashes with the histogram 'foo', whose samples are named so");
  // Names that only look alike are fine: a gauge has no _bucket samples.
  EXPECT_TRUE(fmt::parse_openmetrics(
                  "# TYPE foo_bucket gauge\nfoo_bucket 1\n# TYPE foo gauge\nfoo 2\n# EOF\n")
                  .ok());
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

}  // namespace
