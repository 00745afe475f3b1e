// OTLP metrics into samples: delta sums accumulated, replays counted once,
// a restart, cumulative streams, histograms, cardinality bounds, eviction,
// exemplars.
#include "support/helpers.hpp"
#include "support/otlp_rigs.hpp"

using namespace vitals;
using namespace vitals::test::otlp;

TEST(OtlpMetrics, DeltaSumsAccumulateAndReplaysCountOnce) {
  metrics_rig rig;
  EXPECT_EQ(rig.mapper.ingest(token_sum(100, t0, t0 + sec)).accepted, 1u);
  EXPECT_EQ(rig.mapper.ingest(token_sum(50, t0 + sec, t0 + 2 * sec)).accepted, 1u);
  auto again = rig.mapper.ingest(token_sum(50, t0 + sec, t0 + 2 * sec));  // a retried export
  EXPECT_EQ(again.accepted, 0u);
  EXPECT_EQ(again.replayed, 1u);
  EXPECT_EQ(again.rejected, 0u);
  ASSERT_TRUE(rig.store.latest(token_series));
  EXPECT_EQ(rig.store.latest(token_series)->value, 150);
  // The store refuses: nothing is remembered, so the retry counts.
  rig.refuse = true;
  auto refused = rig.mapper.ingest(token_sum(7, t0 + 2 * sec, t0 + 3 * sec));
  EXPECT_TRUE(refused.store_failed);
  rig.refuse = false;
  EXPECT_EQ(rig.mapper.ingest(token_sum(7, t0 + 2 * sec, t0 + 3 * sec)).accepted, 1u);
  EXPECT_EQ(rig.store.latest(token_series)->value, 157);
}

TEST(OtlpMetrics, ARestartedReceiverGoesOnFromTheStore) {
  registry reg;
  stores::memory_store store;
  auto mapper = [&] {
    return std::make_unique<agent::otlp_metrics_mapper>(
        reg, [&](std::span<const sample> b) { return store.append(b); },
        [&](const series& s) { return store.latest(s); });
  };
  auto first = mapper();
  first->ingest(token_sum(100, t0, t0 + sec));
  first.reset();
  auto second = mapper();  // a restart between two delta exports
  EXPECT_EQ(second->ingest(token_sum(100, t0, t0 + sec)).replayed, 1u);
  second->ingest(token_sum(30, t0 + sec, t0 + 2 * sec));
  EXPECT_EQ(store.latest(token_series)->value, 130);
}

TEST(OtlpMetrics, CumulativePassesThroughAndHistogramsExpand) {
  metrics_rig rig(100);
  rig.mapper.ingest(token_sum(500, t0, t0 + sec, false));
  rig.mapper.ingest(token_sum(20, t0 + 5 * sec, t0 + 6 * sec, false));  // the producer restarted
  EXPECT_EQ(rig.store.latest(token_series)->value, 20);

  pb::ExportMetricsServiceRequest req;
  auto* m = req.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("op.duration");
  m->set_unit("s");
  m->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_DELTA);
  auto* p = m->mutable_histogram()->add_data_points();
  p->set_time_unix_nano(t0 + sec);
  p->set_count(3);
  p->set_sum(2.5);
  for (double b : {0.5, 1.0}) p->add_explicit_bounds(b);
  for (std::uint64_t c : {1, 1, 1}) p->add_bucket_counts(c);
  EXPECT_EQ(rig.mapper.ingest(req).accepted, 1u);
  p->set_time_unix_nano(t0 + 2 * sec);
  EXPECT_EQ(rig.mapper.ingest(req).accepted, 1u);
  ASSERT_TRUE(rig.store.latest(series("op_duration_seconds_sum", {})));
  EXPECT_EQ(rig.store.latest(series("op_duration_seconds_bucket", label_set{{"le", "1"}}))->value,
            4);
  EXPECT_EQ(rig.store.latest(series("op_duration_seconds_count", {}))->value, 6);
  EXPECT_EQ(rig.store.latest(series("op_duration_seconds_sum", {}))->value, 5);
  p->add_bucket_counts(9);  // one too many
  auto bad = rig.mapper.ingest(req);
  EXPECT_EQ(bad.rejected, 1u);
  EXPECT_NE(bad.message.find("bucket_counts"), std::string::npos);
}

TEST(OtlpMetrics, SeriesPerResourceAreBoundedAndDropsCounted) {
  metrics_rig rig;  // at most 3 series per resource
  std::size_t rejected = 0;
  for (std::string type : {"input", "output", "cacheRead", "cacheCreation", "x"})
    rejected += rig.mapper.ingest(token_sum(1, t0, t0 + sec, true, type)).rejected;
  EXPECT_EQ(rejected, 2u);
  EXPECT_EQ(rig.store.list_series().size(), 3u);
}

namespace {

// The receiver's clock in these tests: a minute after t0.
const timestamp received = from_unix_ms(std::int64_t(t0 / 1000000) + 60000);

double counted(registry& reg, const char* outcome) {
  return reg.counter_family("vitals_otlp_data_points", "", {"outcome"}).with(outcome).value();
}

}  // namespace

TEST(OtlpMetrics, IdleSeriesAreForgottenAndGoOnFromTheStore) {
  registry reg;
  stores::memory_store store;
  agent::otlp_metrics_mapper mapper(
      reg, [&](std::span<const sample> b) { return store.append(b); },
      [&](const series& s) { return store.latest(s); },
      {.max_series_per_resource = 2, .series_idle = std::chrono::hours(1)});
  EXPECT_EQ(mapper.ingest(token_sum(100, t0, t0 + sec), received).accepted, 1u);
  EXPECT_EQ(mapper.ingest(token_sum(1, t0, t0 + sec, true, "output"), received).accepted, 1u);
  EXPECT_EQ(mapper.ingest(token_sum(1, t0, t0 + sec, true, "cacheRead"), received).rejected, 1u);
  EXPECT_EQ(counted(reg, "cardinality"), 1);
  EXPECT_EQ(reg.gauge("vitals_otlp_series", "").value(), 2);

  // Two hours on, both series are idle: forgotten, and room is made.
  const auto later = received + std::chrono::hours(2);
  const std::uint64_t t1 = t0 + 7200 * sec;
  EXPECT_EQ(mapper.ingest(token_sum(1, t1, t1 + sec, true, "cacheRead"), later).accepted, 1u);
  EXPECT_EQ(reg.counter("vitals_otlp_series_evicted", "").value(), 2);
  // A forgotten delta series goes on from the store; its old export is
  // still a replay.
  EXPECT_EQ(mapper.ingest(token_sum(100, t0, t0 + sec), later).replayed, 1u);
  EXPECT_EQ(mapper.ingest(token_sum(30, t1, t1 + sec), later).accepted, 1u);
  EXPECT_EQ(store.latest(token_series)->value, 130);
  EXPECT_EQ(reg.gauge("vitals_otlp_series", "").value(), 2);
}

TEST(OtlpMetrics, AHostileClientCannotGrowTheStateWithoutBound) {
  registry reg;
  stores::memory_store store;
  agent::otlp_metrics_mapper mapper(
      reg, [&](std::span<const sample> b) { return store.append(b); },
      [&](const series& s) { return store.latest(s); },
      {.max_series_per_resource = 5, .max_resources = 4, .max_remembered_series = 12});
  // 10 resources of 10 series each, every label value new.
  pb::ExportMetricsServiceRequest req;
  for (int r = 0; r < 10; ++r) {
    auto* rm = req.add_resource_metrics();
    attr(rm->mutable_resource()->mutable_attributes(), "process.pid", std::to_string(r));
    auto* g = rm->add_scope_metrics()->add_metrics();
    g->set_name("x");
    for (int i = 0; i < 10; ++i) {
      auto* p = g->mutable_gauge()->add_data_points();
      attr(p->mutable_attributes(), "id", std::to_string(i));
      p->set_time_unix_nano(t0 + sec);
      p->set_as_double(1);
    }
  }
  const auto r = mapper.ingest(req, received);
  EXPECT_EQ(r.accepted, 12u);  // 5 + 5 + 2: the global bound
  EXPECT_EQ(r.rejected, 88u);
  EXPECT_NE(r.message.find("too many series"), std::string::npos) << r.message;
  EXPECT_EQ(counted(reg, "cardinality"), 88);
  EXPECT_EQ(store.list_series().size(), 12u);
  EXPECT_EQ(reg.gauge("vitals_otlp_series", "").value(), 12);
}

TEST(OtlpMetrics, ExemplarsFollowTheirPointsIntoTheSamples) {
  metrics_rig rig(100);
  pb::ExportMetricsServiceRequest req;
  auto* ms = req.add_resource_metrics()->add_scope_metrics();
  auto* sum = ms->add_metrics();
  sum->set_name("requests");
  sum->mutable_sum()->set_is_monotonic(true);
  sum->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* sp = sum->mutable_sum()->add_data_points();
  sp->set_time_unix_nano(t0);
  sp->set_as_int(7);
  auto* old = sp->add_exemplars();
  old->set_as_int(1);
  old->set_trace_id(std::string(16, '\x01'));
  auto* last = sp->add_exemplars();  // the last one wins
  last->set_as_double(2.5);
  last->set_time_unix_nano(t0 - sec);
  last->set_trace_id(
      std::string("\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36", 16));
  last->set_span_id(std::string("\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8));
  auto* fa = last->add_filtered_attributes();
  fa->set_key("user.id");
  fa->mutable_value()->set_string_value("u1");

  auto* h = ms->add_metrics();
  h->set_name("wait");
  h->set_unit("s");
  h->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* hp = h->mutable_histogram()->add_data_points();
  hp->set_time_unix_nano(t0);
  hp->set_count(2);
  for (double b : {0.5, 1.0}) hp->add_explicit_bounds(b);
  for (std::uint64_t c : {0, 1, 1}) hp->add_bucket_counts(c);
  auto* he = hp->add_exemplars();
  he->set_as_double(0.75);  // in (0.5, 1]
  he->set_trace_id(std::string(16, '\xab'));
  auto* toolong = hp->add_exemplars();
  toolong->set_as_double(3);
  auto* big = toolong->add_filtered_attributes();
  big->set_key("note");
  big->mutable_value()->set_string_value(std::string(200, 'x'));

  ASSERT_EQ(rig.mapper.ingest(req).accepted, 2u);
  auto find = [&](std::string_view name, std::string_view le = {}) -> const sample& {
    for (const auto& s : rig.pushed)
      if (s.series.name() == name && (le.empty() || s.series.labels().get("le") == le)) return s;
    throw std::runtime_error("no sample " + std::string(name));
  };
  const auto& total = find("requests_total");
  ASSERT_TRUE(total.exemplar);
  EXPECT_EQ(total.exemplar->labels, (label_set{{"span_id", "00f067aa0ba902b7"},
                                               {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"},
                                               {"user_id", "u1"}}));
  EXPECT_EQ(total.exemplar->value, 2.5);
  EXPECT_EQ(total.exemplar->t, double((t0 - sec) / 1000000) / 1000);
  EXPECT_FALSE(find("wait_seconds_bucket", "0.5").exemplar);
  ASSERT_TRUE(find("wait_seconds_bucket", "1").exemplar);
  EXPECT_EQ(find("wait_seconds_bucket", "1").exemplar->labels.get("trace_id"),
            "abababababababababababababababab");
  EXPECT_FALSE(find("wait_seconds_bucket", "+Inf").exemplar) << "over 128 characters: dropped";
  EXPECT_EQ(test::family_total(rig.reg, "vitals_otlp_exemplars_dropped"), 1);
}

namespace {

TEST(OtlpMetrics, ExponentialHistogramsBecomeBucketsAtTheirBounds) {
  metrics_rig rig(100);
  pb::ExportMetricsServiceRequest req;
  auto* m = req.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("rpc.size");
  m->set_unit("By");
  auto* eh = m->mutable_exponential_histogram();
  eh->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* p = eh->add_data_points();
  p->set_time_unix_nano(t0 + sec);
  p->set_scale(0);  // base 2: bucket i holds (2^i, 2^(i+1)]
  p->set_count(7);
  p->set_sum(20);
  p->set_zero_count(1);
  p->set_zero_threshold(0.5);
  p->mutable_positive()->set_offset(1);  // (2, 4] and (4, 8]
  for (std::uint64_t c : {3, 2}) p->mutable_positive()->add_bucket_counts(c);
  p->mutable_negative()->set_offset(0);  // [-2, -1)
  p->mutable_negative()->add_bucket_counts(1);
  ASSERT_EQ(rig.mapper.ingest(req).accepted, 1u);
  auto bucket = [&](const char* le) {
    auto s = rig.store.latest(series("rpc_size_bytes_bucket", label_set{{"le", le}}));
    return s ? s->value : -1;
  };
  EXPECT_EQ(bucket("-1"), 1) << "the negative bucket ends at -2^0";
  EXPECT_EQ(bucket("0.5"), 2) << "then the zero bucket";
  EXPECT_EQ(bucket("4"), 5);
  EXPECT_EQ(bucket("8"), 7);
  EXPECT_EQ(bucket("+Inf"), 7);
  EXPECT_EQ(rig.store.latest(series("rpc_size_bytes_count", {}))->value, 7);
  EXPECT_EQ(rig.store.latest(series("rpc_size_bytes_sum", {}))->value, 20);

  p->set_time_unix_nano(t0 + 2 * sec);
  p->set_scale(2);  // the same buckets at a finer scale: (2, 4] is 4..7, (4, 8] 8..11
  p->set_count(10);
  p->mutable_positive()->set_offset(4);
  p->mutable_positive()->clear_bucket_counts();
  for (std::uint64_t c : {1, 0, 2, 1, 4}) p->mutable_positive()->add_bucket_counts(c);
  ASSERT_EQ(rig.mapper.ingest(req).accepted, 1u);
  EXPECT_EQ(bucket("4"), 2 + 4) << "the same le series: bounds are powers of two at any scale";
  EXPECT_EQ(bucket("8"), 2 + 4 + 4);
  EXPECT_EQ(bucket("+Inf"), 10);

  p->set_time_unix_nano(t0 + 3 * sec);
  p->set_scale(21);
  auto bad = rig.mapper.ingest(req);
  EXPECT_EQ(bad.rejected, 1u);
  EXPECT_NE(bad.message.find("scale"), std::string::npos) << bad.message;
  p->set_scale(-10);
  p->mutable_positive()->set_offset(2);  // 2^(1024 * 3): no double
  bad = rig.mapper.ingest(req);
  EXPECT_EQ(bad.rejected, 1u);
  EXPECT_NE(bad.message.find("positive.offset"), std::string::npos) << bad.message;
  p->set_scale(0);
  p->mutable_positive()->set_offset(1);
  for (int k = 0; k < 600; ++k) p->mutable_positive()->add_bucket_counts(1);  // over 512
  bad = rig.mapper.ingest(req);
  EXPECT_EQ(bad.rejected, 1u);
  EXPECT_NE(bad.message.find("buckets"), std::string::npos) << bad.message;
}

}  // namespace
