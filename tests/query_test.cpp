#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "vitals/stores/detail/gorilla.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/selector.hpp"

namespace {

using namespace vitals;
using namespace vitals::stores;
using namespace std::chrono_literals;

std::vector<point> pts(std::initializer_list<std::pair<std::int64_t, double>> l) {
  std::vector<point> out;
  for (auto [t, v] : l) out.push_back({from_unix_ms(t), v});
  return out;
}

range_query q(std::int64_t from, std::int64_t to, duration step, aggregation a) {
  return {selector::by_name("m"), from_unix_ms(from), from_unix_ms(to), step, a};
}

TEST(StoresSelector, ParsesEveryMatcherKind) {
  auto s =
      selector::parse(R"(http_requests{code="200", method!="POST",path=~"/api/.*",host!~'db\d'})");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->matchers().size(), 5u);
  EXPECT_EQ(s->exact_name(), "http_requests");
  const series hit("http_requests",
                   {{"code", "200"}, {"method", "GET"}, {"path", "/api/x"}, {"host", "web1"}});
  EXPECT_TRUE(s->matches(hit));
  EXPECT_FALSE(s->matches(
      series("http_requests", {{"code", "200"}, {"method", "POST"}, {"path", "/api/x"}})));
  EXPECT_FALSE(s->matches(series("http_requests", {{"code", "200"}, {"path", "/web"}})));
  EXPECT_FALSE(
      s->matches(series("http_requests", {{"code", "200"}, {"path", "/api/"}, {"host", "db1"}})));
  EXPECT_FALSE(s->matches(series("other", {{"code", "200"}, {"path", "/api/"}})));
}

TEST(StoresSelector, RegexIsAnchoredAndAbsentLabelsAreEmpty) {
  auto s = selector::parse(R"({__name__=~"cpu.*", zone=""})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->matches(series("cpu_seconds", {})));
  EXPECT_FALSE(s->matches(series("xcpu", {})));  // anchored at the start
  EXPECT_FALSE(s->matches(series("cpu_seconds", {{"zone", "eu"}})));
}

TEST(StoresSelector, ErrorsNameThePosition) {
  struct bad_case {
    const char* text;
    const char* expect;
  };
  for (auto [text, expect] :
       std::initializer_list<bad_case>{{"m{a=1}", "position 4: expected a quoted string"},
                                       {"m{a=\"1\"", "position 7: expected '}'"},
                                       {"m{a ? \"1\"}", "position 4: expected one of = != =~ !~"},
                                       {"m{a=\"1\" b=\"2\"}", "position 8: expected ',' or '}'"},
                                       {"m{__bad=\"x\"}", "position 2: expected a label name"},
                                       {"1m", "position 0: expected a metric name"},
                                       {"m{a=~\"(\"}", "position 5: invalid regular expression"},
                                       {"{a=\"\"}", "at least one matcher"},
                                       {"", "position 0"},
                                       {"m extra", "position 2: expected the end"},
                                       {"m{a=\"unterminated}", "closing \""}}) {
    auto s = selector::parse(text);
    ASSERT_FALSE(s) << text;
    EXPECT_NE(s.error().message.find(expect), std::string::npos)
        << text << " -> " << s.error().message;
  }
}

TEST(StoresQuery, Durations) {
  EXPECT_EQ(*parse_duration("10s"), 10s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("1h"), 1h);
  EXPECT_EQ(*parse_duration("7d"), 168h);
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  for (const char* bad :
       {"", "10", "s", "-5s", "0s", "1.5h", "10 s", "10sec", "1y", "99999999999999999d"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_NE(d.error().message.find("duration '"), std::string::npos) << d.error().message;
  }
  EXPECT_EQ(*parse_aggregation("m4"), aggregation::m4);
  EXPECT_FALSE(parse_aggregation("median"));
}

TEST(StoresQuery, AutoStepFollowsTheSeedsRule) {
  auto a = q(0, 3'600'000, 0ms, aggregation::mean);
  a.step.reset();
  EXPECT_EQ(resolve_step(a), 30s);  // 1 h / 120
  a.to = from_unix_ms(600'000);
  EXPECT_EQ(resolve_step(a), 10s);  // 10 min / 120 = 5 s, raised to the 10 s floor
  a.to = from_unix_ms(7 * 86'400'000ll);
  EXPECT_EQ(resolve_step(a), 5040s);
}

TEST(StoresQuery, BucketAggregationsAlignedToFrom) {
  const auto raw = pts({{1000, 1}, {4000, 3}, {10500, 10}, {11000, 20}, {35000, 7}});
  // Buckets of 10 s from t=1000: [1000,11000) [11000,21000) ... [31000,41000)
  auto mean = downsample(raw, q(1000, 40000, 10s, aggregation::mean));
  EXPECT_EQ(mean, pts({{1000, 14.0 / 3}, {11000, 20}, {31000, 7}}));  // empty bucket omitted
  EXPECT_EQ(downsample(raw, q(1000, 40000, 10s, aggregation::min)),
            pts({{1000, 1}, {11000, 20}, {31000, 7}}));
  EXPECT_EQ(downsample(raw, q(1000, 40000, 10s, aggregation::max)),
            pts({{1000, 10}, {11000, 20}, {31000, 7}}));
  EXPECT_EQ(downsample(raw, q(1000, 40000, 10s, aggregation::sum)),
            pts({{1000, 14}, {11000, 20}, {31000, 7}}));
  EXPECT_EQ(downsample(raw, q(1000, 40000, 10s, aggregation::count)),
            pts({{1000, 3}, {11000, 1}, {31000, 1}}));
  EXPECT_EQ(downsample(raw, q(1000, 40000, 10s, aggregation::last)),
            pts({{1000, 10}, {11000, 20}, {31000, 7}}));
  auto epoch = q(1000, 40000, 10s, aggregation::count);
  epoch.align_to_epoch = true;  // [0,10000) [10000,20000) [30000,40000)
  EXPECT_EQ(downsample(raw, epoch), pts({{0, 2}, {10000, 2}, {30000, 1}}));
  // Bounds are inclusive; points outside are ignored.
  EXPECT_EQ(downsample(raw, q(4000, 10500, 1h, aggregation::count)), pts({{4000, 2}}));
}

TEST(StoresQuery, M4KeepsFirstMinMaxLastInTimeOrder) {
  const auto raw = pts({{0, 5}, {1, 9}, {2, 1}, {3, 4}, {4, 6}, {10, 3}});
  EXPECT_EQ(downsample(raw, q(0, 19, 10ms, aggregation::m4)),
            pts({{0, 5}, {1, 9}, {2, 1}, {4, 6}, {10, 3}}));
}

TEST(StoresQuery, RateTreatsADropAsAReset) {
  // A counter: 0, 10, 20, reset to 5, 15 — one sample per second.
  const auto raw = pts({{0, 0}, {1000, 10}, {2000, 20}, {3000, 5}, {4000, 15}});
  auto r = downsample(raw, q(0, 4000, 10s, aggregation::rate));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].value, (10 + 10 + 5 + 10) / 4.0);
  for (const auto& p : downsample(raw, q(0, 4000, 1s, aggregation::rate))) EXPECT_GE(p.value, 0);
  // The sample before `from` supplies the first bucket's delta.
  auto tail = downsample(raw, q(3000, 4000, 10s, aggregation::rate));
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_DOUBLE_EQ(tail[0].value, (5 + 10) / 2.0);
}

TEST(StoresQuery, LttbKeepsEndsAndPeaks) {
  std::vector<point> raw;
  for (int i = 0; i < 1000; ++i)
    raw.push_back({from_unix_ms(i * 1000), i == 500 ? 100.0 : std::sin(i / 50.0)});
  auto r = q(0, 999'000, 1s, aggregation::lttb);
  r.target_points = 50;
  auto out = downsample(raw, r);
  ASSERT_EQ(out.size(), 50u);
  EXPECT_EQ(out.front(), raw.front());
  EXPECT_EQ(out.back(), raw.back());
  EXPECT_TRUE(std::any_of(out.begin(), out.end(), [](const point& p) { return p.value == 100.0; }));
  for (std::size_t i = 1; i < out.size(); ++i) EXPECT_LT(out[i - 1].t, out[i].t);
}

TEST(StoresGorilla, RoundTripsEveryKindOfValue) {
  std::mt19937_64 rng(3);
  std::vector<std::vector<double>> cases;
  cases.push_back({1.5, 1.5, 1.5, 2.25, -0.0, 0.0, NAN, INFINITY, -INFINITY, 1e300, 5e-324});
  std::vector<double> rnd, dec, ints;
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  double walk = 50;
  for (int i = 0; i < 500; ++i) {
    rnd.push_back(u(rng));
    walk += std::normal_distribution<double>(0, 1)(rng);
    dec.push_back(std::round(walk * 100) / 100);
    ints.push_back(double(i) * 4096 + double(rng() % 7));
  }
  cases.push_back(rnd);
  cases.push_back(dec);
  cases.push_back(ints);
  for (const auto& v : cases) {
    std::vector<std::int64_t> t;
    for (std::size_t i = 0; i < v.size(); ++i)
      t.push_back(1'700'000'000'000 + std::int64_t(i) * 10'000 + std::int64_t(rng() % 3) -
                  (i % 50 == 0 ? 999'999 : 0));
    auto c = stores::detail::encode(t.data(), v.data(), v.size());
    std::vector<std::int64_t> t2;
    std::vector<double> v2;
    stores::detail::decode(c, t2, v2);
    ASSERT_EQ(t2, t);
    ASSERT_EQ(v2.size(), v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
      ASSERT_EQ(std::bit_cast<std::uint64_t>(v2[i]), std::bit_cast<std::uint64_t>(v[i])) << i;
  }
}

}  // namespace
