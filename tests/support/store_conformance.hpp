// The conformance suites every store and event store passes, as
// type-parameterised suites: a test file instantiates them for its fixtures
// (a type with a member `store`) with INSTANTIATE_TYPED_TEST_SUITE_P.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/query.hpp"

namespace vitals::test::conformance {

using namespace vitals;
using namespace vitals::stores;

template <class Fixture>
class StoreConformance : public ::testing::Test {
 protected:
  Fixture f;
  auto& store() { return f.store; }
};
TYPED_TEST_SUITE_P(StoreConformance);

const series cpu_a("cpu_percent", {{"agent", "a"}});
const series cpu_b("cpu_percent", {{"agent", "b"}});
const series awkward("weird", {{"v", "quote\" back\\slash\nnewline caf\xc3\xa9"}});

/// A series with ups, downs and a counter reset (for rate): `n` points 10 s
/// apart from 1,000 s.
inline sample_batch wavy_series(const series& id, int n) {
  sample_batch b;
  double v = 0;
  for (int i = 0; i < n; ++i) {
    v += (i % 5) - 1.5;
    if (i == n / 2) v = 0;
    b.push_back({id, from_unix_ms(1'000'000 + i * 10'000), v});
  }
  return b;
}

/// `erased` (an any_store) answers each range query over `[from, to]` as
/// `direct`, the store behind it, does: pushed down or not.
template <class Direct, class Erased>
void expect_ranges_alike(Direct& direct, Erased& erased, timestamp from, timestamp to) {
  for (auto agg : {aggregation::mean, aggregation::max, aggregation::count, aggregation::last,
                   aggregation::m4, aggregation::lttb, aggregation::rate}) {
    range_query q{.selector = selector::by_name("cpu"),
                  .from = from,
                  .to = to,
                  .step = std::chrono::seconds(60),
                  .agg = agg};
    if (agg == aggregation::lttb) q.target_points = 40;
    auto want = query_range(direct, q);
    auto got = query_range(erased, q);
    ASSERT_TRUE(want && got) << to_string(agg);
    ASSERT_EQ(want->size(), 1u) << to_string(agg);
    ASSERT_EQ(got->size(), 1u) << to_string(agg);
    const auto &w = (*want)[0].points, &g = (*got)[0].points;
    ASSERT_EQ(g.size(), w.size()) << to_string(agg);
    for (std::size_t i = 0; i < g.size(); ++i) {
      EXPECT_EQ(g[i].t, w[i].t) << to_string(agg) << " " << i;
      EXPECT_NEAR(g[i].value, w[i].value, 1e-9) << to_string(agg) << " " << i;
    }
  }
}

inline sample_batch make_batch(const series& s, std::int64_t t0, int n,
                               std::int64_t every = 10'000) {
  sample_batch b;
  for (int i = 0; i < n; ++i) b.push_back({s, from_unix_ms(t0 + i * every), double(i)});
  return b;
}

TYPED_TEST_P(StoreConformance, AppendThenReadBack) {
  auto& st = this->store();
  EXPECT_FALSE(st.latest(cpu_a).has_value());
  EXPECT_TRUE(st.range(cpu_a, from_unix_ms(0), from_unix_ms(1)).empty());
  ASSERT_TRUE(st.append(make_batch(cpu_a, 1'000'000, 500)));
  ASSERT_TRUE(st.append(make_batch(cpu_b, 1'000'000, 3)));
  const auto latest = st.latest(cpu_a);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, (point{from_unix_ms(1'000'000 + 499 * 10'000), 499.0}));
  const auto all = st.range(cpu_a, from_unix_ms(0), from_unix_ms(1'000'000'000));
  ASSERT_EQ(all.size(), 500u);
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].value, double(i));
  // Inclusive bounds.
  const auto part =
      st.range(cpu_a, from_unix_ms(1'000'000 + 10'000), from_unix_ms(1'000'000 + 30'000));
  ASSERT_EQ(part.size(), 3u);
  EXPECT_EQ(part.front().value, 1);
  EXPECT_EQ(part.back().value, 3);
}

TYPED_TEST_P(StoreConformance, ListsSeriesSortedWithLabelsIntact) {
  auto& st = this->store();
  ASSERT_TRUE(st.append(make_batch(cpu_b, 0, 1)));
  ASSERT_TRUE(st.append(make_batch(awkward, 0, 1)));
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 1)));
  const auto list = st.list_series();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0], cpu_a);
  EXPECT_EQ(list[1], cpu_b);
  EXPECT_EQ(list[2], awkward);
  EXPECT_EQ(list[2].hash(), awkward.hash());
}

TYPED_TEST_P(StoreConformance, SameSeriesAndTimeIsOnePointWithTheLastValue) {
  auto& st = this->store();
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 3)));
  sample_batch again{{cpu_a, from_unix_ms(20'000), 42.0}};
  ASSERT_TRUE(st.append(again));
  ASSERT_TRUE(st.append(again));
  const auto pts = st.range(cpu_a, from_unix_ms(0), from_unix_ms(100'000));
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_EQ(pts.back().value, 42.0);
}

TYPED_TEST_P(StoreConformance, DropForgetsASeries) {
  auto& st = this->store();
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 3)));
  ASSERT_TRUE(st.append(make_batch(cpu_b, 0, 3)));
  EXPECT_TRUE(st.drop(cpu_a));
  EXPECT_FALSE(st.drop(cpu_a));
  EXPECT_FALSE(st.latest(cpu_a).has_value());
  EXPECT_EQ(st.list_series(), std::vector<series>{cpu_b});
}

TYPED_TEST_P(StoreConformance, DropLabelledForgetsEverySeriesOfATarget) {
  auto& st = this->store();
  static_assert(label_dropping_store<std::remove_reference_t<decltype(st)>>);
  const series a_cpu("cpu_percent", {{"target", "a"}});
  const series a_mem("memory_bytes", {{"kind", "rss"}, {"target", "a"}});
  const series longer("cpu_percent", {{"target", "ab"}});
  // Another label's value holds the bytes `target=a` is stored as: not a.
  const series lookalike("cpu_percent", {{"note", "6:target1:a"}, {"target", "b"}});
  for (const auto* s : {&a_cpu, &a_mem, &longer, &lookalike})
    ASSERT_TRUE(st.append(make_batch(*s, 0, 3)));
  auto n = st.drop_labelled("target", "a");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_FALSE(st.latest(a_cpu).has_value());
  EXPECT_TRUE(st.range(a_mem, from_unix_ms(0), from_unix_ms(100'000)).empty());
  std::vector<series> left{longer, lookalike};
  std::sort(left.begin(), left.end());
  EXPECT_EQ(st.list_series(), left);
  EXPECT_EQ(st.range(longer, from_unix_ms(0), from_unix_ms(100'000)).size(), 3u);
  n = st.drop_labelled("target", "a");  // a second discard finds nothing
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  // Written again after the drop: a new series, from nothing.
  ASSERT_TRUE(st.append(make_batch(a_cpu, 50'000, 1)));
  EXPECT_EQ(st.range(a_cpu, from_unix_ms(0), from_unix_ms(100'000)).size(), 1u);
}

TYPED_TEST_P(StoreConformance, RangeQueriesAgreeWithDownsamplingTheRawPoints) {
  auto& st = this->store();
  std::mt19937 rng(11);
  sample_batch b;
  double v = 0;
  for (int i = 0; i < 3000; ++i) {
    v += std::uniform_real_distribution<double>(-1, 1.5)(rng);
    if (i == 1500) v = 0;  // a counter reset for rate
    b.push_back(
        {cpu_a, from_unix_ms(1'000'000 + i * 10'000 + (i % 7) * 100), std::round(v * 100) / 100});
  }
  ASSERT_TRUE(st.append(b));
  std::vector<point> raw;
  for (const auto& s : b) raw.push_back({s.t, s.value});
  for (auto agg :
       {aggregation::mean, aggregation::min, aggregation::max, aggregation::sum, aggregation::count,
        aggregation::last, aggregation::m4, aggregation::lttb, aggregation::rate}) {
    for (bool epoch : {false, true}) {
      range_query q{*selector::parse("cpu_percent{agent=\"a\"}"), from_unix_ms(1'200'000),
                    from_unix_ms(20'000'000), std::nullopt, agg};
      q.align_to_epoch = epoch;
      auto r = query_range(st, q);
      ASSERT_TRUE(r) << r.error().message;
      ASSERT_EQ(r->size(), 1u);
      const auto expected = downsample(raw, q);
      const auto& got = (*r)[0].points;
      ASSERT_EQ(got.size(), expected.size()) << to_string(agg);
      for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].t, expected[i].t) << to_string(agg) << " " << i;
        ASSERT_NEAR(got[i].value, expected[i].value, 1e-9) << to_string(agg) << " " << i;
      }
    }
  }
  auto none =
      query_range(st, range_query{selector::by_name("absent"), from_unix_ms(0), from_unix_ms(1)});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TYPED_TEST_P(StoreConformance, LatestByselector) {
  auto& st = this->store();
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 3)));
  ASSERT_TRUE(st.append(make_batch(cpu_b, 0, 5)));
  auto l = query_latest(st, *selector::parse("cpu_percent{agent=~\"a|b\"}"));
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].second.value, 2);
  EXPECT_EQ(l[1].second.value, 4);
}

REGISTER_TYPED_TEST_SUITE_P(StoreConformance, AppendThenReadBack, ListsSeriesSortedWithLabelsIntact,
                            SameSeriesAndTimeIsOnePointWithTheLastValue, DropForgetsASeries,
                            DropLabelledForgetsEverySeriesOfATarget,
                            RangeQueriesAgreeWithDownsamplingTheRawPoints, LatestByselector);

template <class Fixture>
class EventStoreConformance : public ::testing::Test {
 protected:
  Fixture f;
  auto& store() { return f.store; }
};
TYPED_TEST_SUITE_P(EventStoreConformance);

inline event ev(std::string type, int i) {
  return {std::move(type),
          from_unix_ms(1000 + i),
          "s1",
          "p1",
          "t" + std::to_string(i),
          R"({"n":)" + std::to_string(i) + "}"};
}

TYPED_TEST_P(EventStoreConformance, VersionsAreContiguousPerStream) {
  auto& st = this->store();
  std::vector<event> a{ev("tool.started", 1), ev("tool.completed", 2)};
  auto v = st.append("session-1", a);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 2);
  std::vector<event> b{ev("tokens.updated", 3)};
  EXPECT_EQ(*st.append("session-1", b), 3);
  EXPECT_EQ(*st.append("session-2", b), 1);  // streams are independent
  auto all = st.read("session-1", 0);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ((*all)[i].version, std::int64_t(i + 1));
  EXPECT_EQ((*all)[0].event, a[0]);
  EXPECT_EQ((*all)[2].stream, "session-1");
}

TYPED_TEST_P(EventStoreConformance, ReadFromVersionAndByType) {
  auto& st = this->store();
  std::vector<event> evs;
  for (int i = 0; i < 10; ++i) evs.push_back(ev(i % 3 == 0 ? "tool.started" : "tokens.updated", i));
  ASSERT_TRUE(st.append("s", evs));
  auto tail = st.read("s", 8);
  ASSERT_TRUE(tail);
  ASSERT_EQ(tail->size(), 3u);
  EXPECT_EQ(tail->front().version, 8);
  auto tools = st.read_by_type("s", "tool.started");
  ASSERT_TRUE(tools);
  ASSERT_EQ(tools->size(), 4u);
  EXPECT_EQ((*tools)[1].version, 4);
  EXPECT_TRUE(st.read("absent", 0)->empty());
}

TYPED_TEST_P(EventStoreConformance, ConcurrentAppendsNeverShareAVersion) {
  auto& st = this->store();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::vector<event> one{ev("w" + std::to_string(t), i)};
        ASSERT_TRUE(st.append("shared", one));
      }
    });
  for (auto& t : ts) t.join();
  auto all = st.read("shared", 1);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 200u);
  for (std::size_t i = 0; i < all->size(); ++i) ASSERT_EQ((*all)[i].version, std::int64_t(i + 1));
}

REGISTER_TYPED_TEST_SUITE_P(EventStoreConformance, VersionsAreContiguousPerStream,
                            ReadFromVersionAndByType, ConcurrentAppendsNeverShareAVersion);

}  // namespace vitals::test::conformance
