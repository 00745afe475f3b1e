// The protobuf exposition format and native histograms on the wire (issue 18
// point 2): what format/protobuf.hpp and the remote write sink write, decoded
// by libprotobuf from the messages in tests/proto, and a real Prometheus 2.42
// with native histograms on scraping /metrics and receiving remote writes,
// answering histogram_quantile over them.
#include <gtest/gtest.h>
#include <snappy.h>

#include <google/protobuf/io/coded_stream.h>
#include <boost/json.hpp>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "prometheus/client.pb.h"
#include "prometheus/remote.pb.h"
#include "support/helpers.hpp"
#include "support/prometheus.hpp"
#include "support/registry_exporter.hpp"
#include "vitals/format/negotiate.hpp"
#include "vitals/format/protobuf.hpp"
#include "vitals/http/metrics_route.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/samplers/registry.hpp"
#include "vitals/sinks/remote_write.hpp"

namespace {

using namespace vitals;
namespace pc = io::prometheus::client;
using namespace std::chrono_literals;

/// The delimited messages of a protobuf exposition.
std::vector<pc::MetricFamily> decode(const std::string& body) {
  std::vector<pc::MetricFamily> out;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(body.data()),
                                            static_cast<int>(body.size()));
  std::uint32_t len = 0;
  while (in.ReadVarint32(&len)) {
    const auto limit = in.PushLimit(static_cast<int>(len));
    EXPECT_TRUE(out.emplace_back().ParseFromCodedStream(&in));
    EXPECT_TRUE(in.ConsumedEntireMessage());
    in.PopLimit(limit);
  }
  EXPECT_TRUE(in.ExpectAtEnd()) << "trailing bytes";
  return out;
}

const pc::MetricFamily& family(const std::vector<pc::MetricFamily>& all, std::string_view name) {
  for (const auto& f : all)
    if (f.name() == name) return f;
  throw std::runtime_error("no family " + std::string(name));
}

/// Spans and deltas back to (index, count), as a reader of either format does.
template <class Spans, class Deltas>
std::map<std::int32_t, std::uint64_t> from_spans(const Spans& spans, const Deltas& deltas) {
  std::map<std::int32_t, std::uint64_t> out;
  std::int32_t index = 0;
  std::int64_t count = 0;
  int d = 0;
  for (const auto& s : spans) {
    index += s.offset();
    for (std::uint32_t k = 0; k < s.length(); ++k, ++index) {
      count += deltas.at(d++);
      if (count != 0) out[index] = static_cast<std::uint64_t>(count);
    }
  }
  EXPECT_EQ(d, deltas.size()) << "one delta per bucket of the spans";
  return out;
}

std::map<std::int32_t, std::uint64_t> as_map(const std::vector<native_buckets::entry>& v) {
  std::map<std::int32_t, std::uint64_t> out;
  for (const auto& e : v) out[e.index] = e.count;
  return out;
}

TEST(ProtobufExposition, EveryTypeDecodesWithLibprotobuf) {
  registry reg(registry_options{.self_metrics = false});
  reg.counter_family("requests_total", "Requests.", {"code"})
      .with("200")
      .add(3, {{"trace_id", "abc"}});
  reg.gauge("temperature_celsius", "Room.").set(21.5);
  auto& h = reg.histogram("latency_seconds", "Latency.", {0.1, 1});
  for (double v : {0.05, 0.5, 7.0}) h.observe(v);
  reg.add_collector([](metric_snapshot& s) {
    metric_family sum{"rpc_seconds", metric_type::summary, "RPC.", {}, {}};
    auto& p = sum.points.emplace_back();
    p.quantiles = {{0.5, 0.2}, {0.99, 1.5}};
    p.sum = 12;
    p.count = 40;
    s.push_back(std::move(sum));
    metric_family info{"build", metric_type::info, "Build.", {}, {}};
    info.points.emplace_back().labels = label_set{{"version", "1.2"}};
    s.push_back(std::move(info));
    metric_family unknown{"mystery", metric_type::unknown, "", {}, {}};
    unknown.points.emplace_back().value = -4;
    s.push_back(std::move(unknown));
  });
  const auto all = decode(format::to_protobuf(reg.collect()));
  ASSERT_EQ(all.size(), 6u);

  const auto& c = family(all, "requests_total");
  EXPECT_EQ(c.type(), pc::COUNTER);
  EXPECT_EQ(c.help(), "Requests.");
  ASSERT_EQ(c.metric_size(), 1);
  EXPECT_EQ(c.metric(0).label(0).name(), "code");
  EXPECT_EQ(c.metric(0).label(0).value(), "200");
  EXPECT_EQ(c.metric(0).counter().value(), 3);
  EXPECT_EQ(c.metric(0).counter().exemplar().label(0).value(), "abc");
  EXPECT_EQ(c.metric(0).counter().exemplar().value(), 3);
  EXPECT_GT(c.metric(0).counter().created_timestamp().seconds(), 1'700'000'000);

  EXPECT_EQ(family(all, "temperature_celsius").type(), pc::GAUGE);
  EXPECT_EQ(family(all, "temperature_celsius").metric(0).gauge().value(), 21.5);

  const auto& hist = family(all, "latency_seconds").metric(0).histogram();
  EXPECT_EQ(family(all, "latency_seconds").type(), pc::HISTOGRAM);
  EXPECT_EQ(hist.sample_count(), 3u);
  EXPECT_EQ(hist.sample_sum(), 7.55);
  ASSERT_EQ(hist.bucket_size(), 2) << "+Inf is implied by sample_count";
  EXPECT_EQ(hist.bucket(0).upper_bound(), 0.1);
  EXPECT_EQ(hist.bucket(0).cumulative_count(), 1u);
  EXPECT_EQ(hist.bucket(1).cumulative_count(), 2u);
  EXPECT_FALSE(hist.has_schema()) << "a classic histogram";

  const auto& s = family(all, "rpc_seconds");
  EXPECT_EQ(s.type(), pc::SUMMARY);
  EXPECT_EQ(s.metric(0).summary().sample_count(), 40u);
  EXPECT_EQ(s.metric(0).summary().quantile(1).quantile(), 0.99);
  EXPECT_EQ(s.metric(0).summary().quantile(1).value(), 1.5);
  EXPECT_EQ(family(all, "build_info").type(), pc::GAUGE);
  EXPECT_EQ(family(all, "build_info").metric(0).gauge().value(), 1);
  EXPECT_EQ(family(all, "mystery").type(), pc::UNTYPED);
  EXPECT_EQ(family(all, "mystery").metric(0).untyped().value(), -4);
}

TEST(ProtobufExposition, NativeHistogramsGoOutAsSpansAndDeltas) {
  registry reg(registry_options{.self_metrics = false});
  auto& h = reg.exponential_histogram_family("rpc_seconds", "RPC latency.", {"method"},
                                             {.schema = 2, .zero_threshold = 0.001});
  // Buckets with gaps of one (filled), of many (a new span), both signs, zero.
  for (double v : {1.0, 1.1, 1.6, 1.6, 3.0, 3.0, 3.0, 100.0, -0.25, -0.25, 0.0005, 0.0})
    h.with("get").observe(v);
  const auto snap = reg.collect();
  const native_buckets truth = *snap.at(0).points.at(0).native;
  const auto all = decode(format::to_protobuf(snap));
  const auto& m = family(all, "rpc_seconds").metric(0);
  const auto& hist = m.histogram();
  EXPECT_EQ(hist.schema(), 2);
  EXPECT_EQ(hist.zero_threshold(), 0.001);
  EXPECT_EQ(hist.zero_count(), 2u);
  EXPECT_EQ(hist.sample_count(), 12u);
  EXPECT_DOUBLE_EQ(hist.sample_sum(), 1 + 1.1 + 1.6 * 2 + 3 * 3 + 100 - 0.5 + 0.0005);
  EXPECT_EQ(hist.bucket_size(), 0) << "a native histogram has no classic buckets here";
  EXPECT_EQ(from_spans(hist.positive_span(), hist.positive_delta()), as_map(truth.positive));
  EXPECT_EQ(from_spans(hist.negative_span(), hist.negative_delta()), as_map(truth.negative));
  EXPECT_GE(hist.positive_span_size(), 2) << "100 is too far from 3 to fill the gap with zeros";
}

TEST(ProtobufExposition, AnEmptyNativeHistogramStillReadsAsNative) {
  registry reg(registry_options{.self_metrics = false});
  reg.exponential_histogram("idle_seconds", "Idle.", {.zero_threshold = 0});
  const auto all = decode(format::to_protobuf(reg.collect()));
  const auto& hist = family(all, "idle_seconds").metric(0).histogram();
  EXPECT_EQ(hist.sample_count(), 0u);
  ASSERT_EQ(hist.positive_span_size(), 1) << "an empty span marks it native";
  EXPECT_EQ(hist.positive_span(0).length(), 0u);
}

TEST(ProtobufExposition, NegotiatedAsPrometheusAsksForIt) {
  namespace fmt = vitals::format;
  // What Prometheus 2.42 sends with --enable-feature=native-histograms.
  EXPECT_EQ(fmt::negotiate("application/vnd.google.protobuf;proto=io.prometheus.client."
                           "MetricFamily;encoding=delimited;q=0.5,application/"
                           "openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;"
                           "version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"),
            fmt::exposition::protobuf);
  // And without it.
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;version=1.0.0,application/"
                           "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
                           "*/*;q=0.1"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("application/vnd.google.protobuf;proto=io.prometheus.client."
                           "MetricFamily;encoding=text"),
            fmt::exposition::text)
      << "the text encoding of protobuf is not served";
  EXPECT_EQ(fmt::negotiate("application/vnd.google.protobuf;encoding=delimited"),
            fmt::exposition::text)
      << "no proto parameter: not the metrics format";
  EXPECT_EQ(fmt::negotiate("application/vnd.google.protobuf;proto=io.prometheus.client."
                           "MetricFamily;encoding=delimited;q=0.1,text/plain"),
            fmt::exposition::text)
      << "ranked below text";
  EXPECT_EQ(fmt::content_type(fmt::exposition::protobuf), fmt::protobuf_content_type);
}

TEST(RemoteWriteNative, ANativeHistogramRidesOnItsCountSample) {
  registry app(registry_options{.self_metrics = false});
  auto& h = app.exponential_histogram("job_seconds", "Jobs.", {.schema = 3});
  for (double v : {0.1, 0.2, 0.2, 4.0, -1.0}) h.observe(v);
  sample_batch batch;
  samplers::append_samples(app.collect(), now(), {{"job", "rw"}}, batch);
  const sample* count = nullptr;
  for (const auto& s : batch)
    if (s.series.name() == "job_seconds_count") count = &s;
  ASSERT_NE(count, nullptr);
  ASSERT_TRUE(count->native);

  std::string raw;
  std::vector<const sample*> order;
  sinks::detail::encode_write_request(batch, raw, order);
  prometheus::WriteRequest req;
  ASSERT_TRUE(req.ParseFromString(raw));
  const prometheus::TimeSeries* native = nullptr;
  int float_series = 0;
  for (const auto& ts : req.timeseries()) {
    if (ts.histograms_size() > 0) native = &ts;
    float_series += ts.samples_size() > 0;
  }
  EXPECT_EQ(float_series, 3) << "_bucket{le=+Inf}, _sum and _count stay float series";
  ASSERT_NE(native, nullptr);
  std::map<std::string, std::string> labels;
  for (const auto& l : native->labels()) labels[l.name()] = l.value();
  EXPECT_EQ(labels,
            (std::map<std::string, std::string>{{"__name__", "job_seconds"}, {"job", "rw"}}));
  ASSERT_EQ(native->histograms_size(), 1);
  const auto& hist = native->histograms(0);
  EXPECT_EQ(hist.count_int(), 5u);
  EXPECT_DOUBLE_EQ(hist.sum(), 3.5);
  EXPECT_EQ(hist.schema(), 3);
  EXPECT_EQ(hist.timestamp(), to_unix_ms(count->t));
  EXPECT_EQ(from_spans(hist.positive_spans(), hist.positive_deltas()),
            as_map(count->native->positive));
  EXPECT_EQ(from_spans(hist.negative_spans(), hist.negative_deltas()),
            as_map(count->native->negative));
}

// --- a real Prometheus ---------------------------------------------------------

/// Observations whose true quantiles the test knows: lognormal latencies.
std::vector<double> latencies() {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> dist(-2.5, 0.8);
  std::vector<double> v(5000);
  for (auto& x : v) x = dist(rng);
  return v;
}

double true_quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

double scalar(const boost::json::array& result) {
  return std::stod(std::string(result.at(0).at("value").as_array().at(1).as_string()));
}

TEST(NativeHistogramsPrometheus, ARealPrometheusScrapesThemAndAnswersHistogramQuantile) {
  if (!std::filesystem::exists(test::prometheus::exe)) GTEST_SKIP() << "no prometheus";
  registry reg;
  auto& h = reg.exponential_histogram_family("api_request_seconds", "API latency.", {"route"},
                                             {.schema = 3});
  const auto values = latencies();
  for (double v : values) h.with("/items").observe(v);
  reg.histogram("classic_seconds", "Classic.", {0.1, 1}).observe(0.3);
  test::registry_exporter exporter(reg);
  ASSERT_TRUE(exporter.started());

  test::prometheus prom(
      {.scrape = exporter.target(), .flags = {"--enable-feature=native-histograms"}});
  ASSERT_TRUE(prom.ready()) << prom.log();
  boost::json::array count;
  ASSERT_TRUE(test::eventually(
      [&] {
        count = prom.query("/api/v1/query?query=histogram_count(api_request_seconds)");
        return !count.empty();
      },
      30s))
      << prom.log();
  EXPECT_EQ(scalar(count), 5000) << "a native histogram: histogram_count reads it";
  EXPECT_EQ(count.at(0).at("metric").at("route"), "/items");
  const double base = std::exp2(std::exp2(-3.0));
  for (double q : {0.5, 0.9, 0.99}) {
    const auto r = prom.query("/api/v1/query?query=histogram_quantile(" + std::to_string(q) +
                              ",api_request_seconds)");
    ASSERT_EQ(r.size(), 1u) << prom.log();
    const double got = scalar(r), truth = true_quantile(values, q);
    // Prometheus interpolates inside the bucket that holds the rank: its
    // answer and the true value share a bucket, so they are within a factor
    // of base of each other.
    EXPECT_LE(got, truth * base) << "q=" << q;
    EXPECT_GE(got, truth / base) << "q=" << q;
  }
  const auto sum = prom.query("/api/v1/query?query=histogram_sum(api_request_seconds)");
  ASSERT_EQ(sum.size(), 1u);
  double expect_sum = 0;
  for (double v : values) expect_sum += v;
  EXPECT_NEAR(scalar(sum), expect_sum, 1e-6 * expect_sum);
  // The classic histogram beside it came through the same protobuf scrape.
  const auto classic = prom.query("/api/v1/query?query=classic_seconds_bucket");
  EXPECT_EQ(classic.size(), 3u) << "0.1, 1 and +Inf";
}

TEST(NativeHistogramsPrometheus, RemoteWriteSendsThemToARealPrometheus) {
  if (!std::filesystem::exists(test::prometheus::exe)) GTEST_SKIP() << "no prometheus";
  test::prometheus prom({.flags = {"--enable-feature=native-histograms"}});
  ASSERT_TRUE(prom.ready()) << prom.log();
  registry app(registry_options{.self_metrics = false});
  auto& h = app.exponential_histogram("rw_native_seconds", "Jobs.", {.schema = 3});
  const auto values = latencies();
  for (double v : values) h.observe(v);
  sample_batch batch;
  samplers::append_samples(app.collect(), now(), {{"job", "rw"}}, batch);

  registry reg;
  sinks::remote_write_sink sink(prom.url() + "/api/v1/write",
                                {.flush_interval = 20ms, .flush_timeout = 20s}, reg);
  ASSERT_TRUE(sink.write(batch));
  ASSERT_TRUE(sink.flush()) << sink.last_error();
  EXPECT_EQ(sink.stats().sent, batch.size()) << sink.last_error();

  const auto count = prom.query("/api/v1/query?query=histogram_count(rw_native_seconds)");
  ASSERT_EQ(count.size(), 1u) << prom.log();
  EXPECT_EQ(scalar(count), 5000);
  const auto p90 = prom.query("/api/v1/query?query=histogram_quantile(0.9,rw_native_seconds)");
  ASSERT_EQ(p90.size(), 1u);
  const double base = std::exp2(std::exp2(-3.0)), truth = true_quantile(values, 0.9);
  EXPECT_LE(scalar(p90), truth * base);
  EXPECT_GE(scalar(p90), truth / base);
}

}  // namespace
