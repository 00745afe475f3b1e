// Exemplars (issue 18 point 1): a counter increment or a histogram
// observation may carry the trace that caused it; the last one per counter
// or bucket is kept (detail/exemplar_cell.hpp), written in OpenMetrics, read
// back by the parser, and scraped by a real Prometheus with exemplar storage.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/helpers.hpp"
#include "support/prometheus.hpp"
#include "support/registry_exporter.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/format/text.hpp"
#include "vitals/http/api.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/stores/null.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;

const metric_point& only_point(const metric_snapshot& s, std::string_view family) {
  for (const auto& f : s)
    if (f.name == family) return f.points.at(0);
  throw std::runtime_error("no family " + std::string(family));
}

TEST(Exemplars, ACounterKeepsItsLastTracedIncrement) {
  registry reg;
  auto& c = reg.counter("requests_total", "Requests.");
  c.inc();
  EXPECT_FALSE(only_point(reg.collect(), "requests").exemplar) << "none recorded yet";
  const double before = to_unix_seconds(now());
  c.inc({{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}, {"span_id", "00f067aa0ba902b7"}});
  c.add(2.5, {{"trace_id", "aaaa"}});
  const auto p = only_point(reg.collect(), "requests");
  EXPECT_EQ(p.value, 4.5);
  ASSERT_TRUE(p.exemplar);
  EXPECT_EQ(p.exemplar->labels, (label_set{{"trace_id", "aaaa"}})) << "the last one wins";
  EXPECT_EQ(p.exemplar->value, 2.5);
  ASSERT_TRUE(p.exemplar->t);
  EXPECT_GE(*p.exemplar->t, before);
  EXPECT_LE(*p.exemplar->t, to_unix_seconds(now()));
}

TEST(Exemplars, InvalidOrTooLongLabelsDropTheExemplarNotTheIncrement) {
  registry reg;
  auto& c = reg.counter("jobs_total", "Jobs.");
  auto& stats = detail::instrument_stats::get();
  const auto dropped = stats.dropped_exemplars.load();
  c.inc({{"trace_id", "good"}});
  c.inc({{"trace_id", std::string(121, 'x')}});        // 8 + 121 > 128 characters
  c.inc({{"9bad", "x"}});                              // not a label name
  c.inc({{"trace_id", std::string_view("a\0b", 3)}});  // NUL
  c.inc({{"trace_id", "\xff"}});                       // not UTF-8
  EXPECT_EQ(stats.dropped_exemplars.load() - dropped, 4u);
  const auto p = only_point(reg.collect(), "jobs");
  EXPECT_EQ(p.value, 5) << "every increment counted";
  ASSERT_TRUE(p.exemplar);
  EXPECT_EQ(p.exemplar->labels.get("trace_id"), "good");
  c.inc({{"trace_id", std::string(120, 'y')}});  // exactly 128 characters: kept
  EXPECT_EQ(only_point(reg.collect(), "jobs").exemplar->labels.get("trace_id").size(), 120u);
}

TEST(Exemplars, AHistogramKeepsOnePerBucket) {
  registry reg;
  auto& h = reg.histogram("latency_seconds", "Latency.", {0.1, 0.5, 1});
  h.observe(0.05, {{"trace_id", "fast"}});
  h.observe(0.3, {{"trace_id", "mid1"}});
  h.observe(0.4, {{"trace_id", "mid2"}});
  h.observe(7);  // no exemplar: the +Inf bucket has none
  const auto p = only_point(reg.collect(), "latency_seconds");
  ASSERT_EQ(p.buckets.size(), 4u);
  EXPECT_EQ(p.buckets[0].exemplar->labels.get("trace_id"), "fast");
  EXPECT_EQ(p.buckets[1].exemplar->labels.get("trace_id"), "mid2");
  EXPECT_EQ(p.buckets[1].exemplar->value, 0.4);
  EXPECT_FALSE(p.buckets[2].exemplar);
  EXPECT_FALSE(p.buckets[3].exemplar);
  EXPECT_EQ(p.count, 4);
  EXPECT_DOUBLE_EQ(p.sum, 7.75);
}

TEST(Exemplars, OpenMetricsWritesThemAndTheParserReadsThemBack) {
  metric_snapshot snap{
      {"rpc", metric_type::counter, "RPCs.", "", {}},
      {"lat_seconds", metric_type::histogram, "Latency.", "seconds", {}},
  };
  auto& c = snap[0].points.emplace_back();
  c.value = 17;
  c.exemplar = exemplar{{{"trace_id", "ab\"c"}}, 1, 1700000000.123};
  auto& h = snap[1].points.emplace_back();
  h.labels = label_set{{"route", "/a"}};
  h.buckets = {{0.5, 1, exemplar{{{"trace_id", "t1"}, {"span_id", "s1"}}, 0.25, 1700000001.5}},
               {INFINITY, 2, std::nullopt}};
  h.count = 2;
  h.sum = 3.25;

  const auto om = format::to_openmetrics(snap);
  EXPECT_NE(om.find("rpc_total 17 # {trace_id=\"ab\\\"c\"} 1 1700000000.123\n"), std::string::npos)
      << om;
  EXPECT_NE(
      om.find("lat_seconds_bucket{route=\"/a\",le=\"0.5\"} 1 # {span_id=\"s1\",trace_id=\"t1\"} "
              "0.25 1700000001.5\n"),
      std::string::npos)
      << om;
  EXPECT_NE(om.find("lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 2\n"), std::string::npos) << om;
  EXPECT_EQ(format::to_text(snap).find('#' + std::string(" {")), std::string::npos)
      << "text 0.0.4 has no exemplars";

  auto back = format::parse_openmetrics(om);
  ASSERT_TRUE(back.ok()) << back.errors[0].message;
  ASSERT_EQ(back.families.size(), 2u);
  EXPECT_EQ(back.families[0].points[0].exemplar, c.exemplar);
  EXPECT_EQ(back.families[1].points[0].buckets[0].exemplar, h.buckets[0].exemplar);
  EXPECT_FALSE(back.families[1].points[0].buckets[1].exemplar);

  // Exemplar labels beyond 128 characters are malformed input, named as such.
  auto bad = format::parse_openmetrics("# TYPE x counter\nx_total 1 # {trace_id=\"" +
                                       std::string(130, 'z') + "\"} 1\n# EOF\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.errors[0].message.find("128"), std::string::npos) << bad.errors[0].message;
}

TEST(ConcurrencyExemplars, WritersAndACollectorNeverSeeATornExemplar) {
  registry reg;
  auto& h = reg.histogram("work_seconds", "Work.", {1});
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      const std::string id(16, char('a' + w));  // each writer's trace id is one letter repeated
      while (!stop.load(std::memory_order_relaxed)) h.observe(0.5, {{"trace_id", id}});
    });
  for (int i = 0; i < 2000; ++i) {
    const auto p = only_point(reg.collect(), "work_seconds");
    if (!p.buckets[0].exemplar) continue;
    const auto id = std::string(p.buckets[0].exemplar->labels.get("trace_id"));
    ASSERT_EQ(id.size(), 16u);
    ASSERT_EQ(id, std::string(16, id[0])) << "a torn copy mixes two writers' ids";
  }
  stop = true;
  for (auto& t : writers) t.join();
}

TEST(ExemplarsPrometheus, ARealPrometheusScrapesAndAnswersQueryExemplars) {
  registry reg;
  auto& h = reg.histogram("job_seconds", "Job time.", {0.1, 1});
  auto& c = reg.counter("jobs_total", "Jobs.");
  h.observe(0.42, {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}});
  c.inc({{"trace_id", "00f067aa0ba902b7"}});
  test::registry_exporter exporter(reg);
  ASSERT_TRUE(exporter.started());

  test::prometheus prom(
      {.scrape = exporter.target(), .flags = {"--enable-feature=exemplar-storage"}});
  ASSERT_TRUE(prom.ready()) << prom.log();
  const auto start = std::to_string(to_unix_ms(now()) / 1000 - 60);
  auto exemplars_of = [&](const std::string& query) {
    boost::json::array found;
    test::eventually(
        [&] {
          const auto end = std::to_string(to_unix_ms(now()) / 1000 + 60);
          const auto d = prom.data("/api/v1/query_exemplars?query=" + query + "&start=" + start +
                                   "&end=" + end);
          if (d.is_array()) found = d.get_array();
          return !found.empty();
        },
        std::chrono::seconds(30));
    return found;
  };
  auto hist = exemplars_of("job_seconds_bucket");
  ASSERT_EQ(hist.size(), 1u) << prom.log();
  EXPECT_EQ(hist[0].at("seriesLabels").at("le"), "1.0")
      << "OpenMetrics canonical: it scraped OpenMetrics";
  const auto& he = hist[0].at("exemplars").at(0);
  EXPECT_EQ(he.at("labels").at("trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(he.at("value"), "0.42");
  auto cnt = exemplars_of("jobs_total");
  ASSERT_EQ(cnt.size(), 1u) << prom.log();
  EXPECT_EQ(cnt[0].at("exemplars").at(0).at("labels").at("trace_id"), "00f067aa0ba902b7");
}

}  // namespace
