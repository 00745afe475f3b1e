#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>
#include <thread>

#include "support/archetypes.hpp"
#include "vitals/core/concepts.hpp"
#include "vitals/core/error.hpp"
#include "vitals/core/event.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/quantile.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/core/series.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/core/time.hpp"

namespace {

using namespace vitals;

TEST(CoreNames, MetricNameRules) {
  EXPECT_TRUE(is_valid_metric_name("http_requests_total"));
  EXPECT_TRUE(is_valid_metric_name("job:rate5m"));
  EXPECT_TRUE(is_valid_metric_name(":leading_colon"));
  EXPECT_TRUE(is_valid_metric_name("_x9"));
  EXPECT_FALSE(is_valid_metric_name(""));
  EXPECT_FALSE(is_valid_metric_name("9lives"));
  EXPECT_FALSE(is_valid_metric_name("has-dash"));
  EXPECT_FALSE(is_valid_metric_name("has space"));
  EXPECT_FALSE(is_valid_metric_name("caf\xc3\xa9"));
}

TEST(CoreNames, LabelNameRules) {
  EXPECT_TRUE(is_valid_label_name("method"));
  EXPECT_TRUE(is_valid_label_name("_private"));
  EXPECT_TRUE(is_valid_label_name("a1"));
  EXPECT_FALSE(is_valid_label_name("__reserved"));
  EXPECT_FALSE(is_valid_label_name("has:colon"));
  EXPECT_FALSE(is_valid_label_name("1a"));
  EXPECT_FALSE(is_valid_label_name(""));
}

TEST(CoreNames, ErrorsNameTheCulprit) {
  auto bad = check_label_name("__name__");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, make_error_code(errc::invalid_name));
  EXPECT_NE(bad.error().message.find("'__name__'"), std::string::npos);
  EXPECT_NE(bad.error().message.find("reserved"), std::string::npos);
  auto bad_metric = check_metric_name("bad-name");
  ASSERT_FALSE(bad_metric);
  EXPECT_NE(bad_metric.error().message.find("'bad-name'"), std::string::npos);
}

TEST(CoreLabels, SortedByNameAndComparable) {
  label_set a{{"zone", "eu"}, {"app", "api"}};
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].name, "app");
  EXPECT_EQ(a[1].name, "zone");
  label_set b{{"app", "api"}, {"zone", "eu"}};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.get("zone"), "eu");
  EXPECT_EQ(a.get("missing"), "");
  EXPECT_LT(label_set{}, a);
}

TEST(CoreLabels, InvalidOrDuplicateNamesAreRejectedWhenBuilt) {
  EXPECT_THROW((label_set{{"__x", "1"}}), std::invalid_argument);
  EXPECT_THROW((label_set{{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  auto r = label_set::make({{"ok", "1"}, {"bad name", "2"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'bad name'"), std::string::npos);
  auto dup = label_set::make({{"a", "1"}, {"a", "2"}});
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("duplicate"), std::string::npos);
}

TEST(CoreLabels, WithAddsOrReplacesAndCopiesShare) {
  label_set a{{"b", "2"}};
  auto c = a.with("a", "1");
  EXPECT_EQ(c, (label_set{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(c.with("b", "3").get("b"), "3");
  EXPECT_EQ(a.size(), 1u);  // unchanged
  label_set copy = c;
  EXPECT_EQ(&copy.items(), &c.items());  // immutable and shared
}

TEST(CoreSeries, HashIsStableAcrossRuns) {
  // Pinned values (computed independently from the FNV-1a definition): these
  // hashes may be stored on disk, so they must never change.
  EXPECT_EQ(series_hash("up", {}), detail::fnv1a("up"));
  const series s("http_requests_total", {{"code", "200"}, {"method", "GET"}});
  EXPECT_EQ(s.hash(), 0xccb4912ff41f7eddull) << std::hex << s.hash();
}

TEST(CoreSeries, IdentityIgnoresLabelOrderButNotBoundaries) {
  const series a("m", {{"x", "1"}, {"y", "2"}});
  const series b("m", {{"y", "2"}, {"x", "1"}});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  // Moving a character across the name/value boundary is a different series.
  EXPECT_NE(series("m", {{"ab", "c"}}).hash(), series("m", {{"a", "bc"}}).hash());
  EXPECT_NE(series("ma", {{"b", "c"}}).hash(), series("m", {{"ab", "c"}}).hash());
}

TEST(CoreSeries, InterningGivesOneIdPerSeries) {
  series_table t;
  auto a = t.intern(series("m", {{"x", "1"}}));
  auto b = t.intern(series("m", {{"x", "2"}}));
  auto a2 = t.intern(series("m", {{"x", "1"}}));
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.get(b).labels().get("x"), "2");
  const series* stable = &t.get(a);
  for (int i = 0; i < 1000; ++i) t.intern(series("m", {{"x", std::to_string(i + 10)}}));
  EXPECT_EQ(stable, &t.get(a));
}

TEST(CoreError, ResultCarriesValueOrError) {
  result<int> ok = 42;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 42);
  result<int> bad = error(errc::parse_error, "line 3: expected a value");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::parse_error);
  EXPECT_THROW(bad.value(), std::system_error);
  status s;
  EXPECT_TRUE(s);
  status f = error(errc::io_error, "disk full");
  EXPECT_FALSE(f);
  EXPECT_EQ(f.error().message, "disk full");
  EXPECT_EQ(make_error_code(errc::not_found).message(), "not found");
}

TEST(CoreTime, MillisecondRoundTrip) {
  const auto t = from_unix_ms(1'700'000'000'123);
  EXPECT_EQ(to_unix_ms(t), 1'700'000'000'123);
  EXPECT_DOUBLE_EQ(to_unix_seconds(t), 1'700'000'000.123);
  const auto a = now();
  EXPECT_GT(to_unix_ms(a), 1'700'000'000'000);
}

// --- concepts: archetypes satisfy them, near misses do not -----------------
static_assert(sampler<archetypes::sampler_archetype>);
static_assert(store<archetypes::store_archetype>);
static_assert(sink<archetypes::sink_archetype>);
static_assert(!sampler<archetypes::sampler_returning_bool>);
static_assert(!sampler<archetypes::sampler_without_name>);
static_assert(!store<archetypes::store_missing_range>);
static_assert(!store<archetypes::store_throwing_append>);
static_assert(!store<archetypes::store_latest_by_pointer>);
static_assert(!sink<archetypes::sink_without_flush>);
static_assert(!sink<archetypes::sink_taking_vector>);
static_assert(!store<archetypes::sink_archetype>);
static_assert(!sink<archetypes::store_archetype>);

TEST(CoreConcepts, ArchetypesBehaveAsTheConceptsDescribe) {
  archetypes::sampler_archetype smp;
  archetypes::store_archetype st;
  archetypes::sink_archetype sk;
  sample_batch batch;
  const auto t = from_unix_ms(1000);
  ASSERT_TRUE(smp.collect(batch, t));
  ASSERT_EQ(batch.size(), 1u);
  ASSERT_TRUE(st.append(batch));
  ASSERT_TRUE(sk.write(batch));
  EXPECT_EQ(sk.written, 1u);
  auto latest = st.latest(batch[0].series);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->t, t);
  EXPECT_EQ(st.range(batch[0].series, t, t).size(), 1u);
  EXPECT_FALSE(st.latest(series("absent", {})).has_value());
  EXPECT_EQ(st.list_series().size(), 1u);
}

// --- quantile estimation ---------------------------------------------------
TEST(CoreQuantile, InterpolatesInsideTheBucket) {
  // 10 observations in (0,1], 10 in (1,2].
  const std::vector<bucket> b{{1, 10}, {2, 20}, {INFINITY, 20}};
  EXPECT_DOUBLE_EQ(estimate_quantile(0.5, b), 1.0);
  EXPECT_DOUBLE_EQ(estimate_quantile(0.25, b), 0.5);
  EXPECT_DOUBLE_EQ(estimate_quantile(0.75, b), 1.5);
  EXPECT_DOUBLE_EQ(estimate_quantile(1.0, b), 2.0);
}

TEST(CoreQuantile, EdgeCases) {
  EXPECT_TRUE(std::isnan(estimate_quantile(0.5, {})));
  const std::vector<bucket> empty{{1, 0}, {INFINITY, 0}};
  EXPECT_TRUE(std::isnan(estimate_quantile(0.5, empty)));
  const std::vector<bucket> b{{1, 1}, {INFINITY, 2}};
  EXPECT_TRUE(std::isnan(estimate_quantile(1.5, b)));
  EXPECT_TRUE(std::isnan(estimate_quantile(-0.1, b)));
  EXPECT_DOUBLE_EQ(estimate_quantile(0.99, b), 1.0);  // in +Inf: highest finite bound
  const std::vector<bucket> neg{{-5, 4}, {0, 8}, {INFINITY, 8}};
  EXPECT_DOUBLE_EQ(estimate_quantile(0.25, neg), -5.0);  // lowest bucket below zero
  EXPECT_DOUBLE_EQ(estimate_quantile(0.75, neg), -2.5);
}

TEST(CoreQuantile, ErrorStaysWithinTheBucketWidth) {
  // Uniform data: the estimate should be near exact, and never off by more
  // than the width of the bucket that holds the quantile.
  std::vector<double> bounds{0.1, 0.2, 0.5, 1, 2, 5, 10};
  std::vector<double> values;
  for (int i = 0; i < 10000; ++i) values.push_back(10.0 * (i + 0.5) / 10000.0);
  std::vector<bucket> b;
  for (double le : bounds) {
    double n = 0;
    for (double v : values) n += v <= le;
    b.push_back({le, n});
  }
  b.push_back({INFINITY, double(values.size())});
  for (double q : {0.5, 0.9, 0.99}) {
    const double truth = values[static_cast<std::size_t>(q * values.size()) - 1];
    const double est = estimate_quantile(q, b);
    EXPECT_NEAR(est, truth, 0.01) << "q=" << q;
  }
}

}  // namespace
