// Selectors run in linear time (RE2) and are bounded; watching a store never
// runs a subscriber's selector on the writer's thread.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "vitals/stores/memory.hpp"
#include "vitals/stores/selector.hpp"

namespace {

using namespace vitals;
using namespace vitals::stores;

bool name_matches(std::string_view sel, const std::string& name) {
  auto s = selector::parse(sel);
  EXPECT_TRUE(s) << sel << ": " << s.error().message;
  return s && s->matches(series(name, {}));
}

TEST(Selector, CatastrophicBacktrackingPatternAnswersCorrectly) {
  // std::regex backtracks exponentially here; RE2 is linear in the input.
  const std::string sel = R"({__name__=~"(\\w|\\w\\w|\\w\\w\\w)*X"})";
  const std::string long_miss(5000, 'a');
  EXPECT_FALSE(name_matches(sel, long_miss));
  EXPECT_TRUE(name_matches(sel, long_miss + "X"));
  EXPECT_FALSE(name_matches(R"({__name__=~"(a+)+$"})", long_miss + "!"));
  EXPECT_TRUE(name_matches(R"({__name__=~"(a|aa)+"})", long_miss));
}

TEST(Selector, PrometheusRegexSyntax) {
  EXPECT_TRUE(name_matches(R"({__name__=~"cpu|mem"})", "mem"));
  EXPECT_FALSE(name_matches(R"({__name__=~"cpu|mem"})", "cpumem"));
  EXPECT_TRUE(name_matches(R"({__name__=~"node_\\d+"})", "node_42"));
  EXPECT_FALSE(name_matches(R"({__name__=~"node_\\d+"})", "node_4x"));
  EXPECT_TRUE(name_matches(R"({__name__=~"(?i)CPU_.*"})", "cpu_seconds"));
  EXPECT_TRUE(name_matches(R"({__name__=~"[a-c]{2,3}_x"})", "abc_x"));
  // `.` matches a newline too (Prometheus compiles with (?s)).
  auto s = selector::parse(R"(m{path=~"a.b"})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->matches(series("m", {{"path", "a\nb"}})));
}

TEST(Selector, RegexIsFullyAnchoredEvenWithAlternation) {
  // Anchoring wraps the whole expression: `a|b` must not become `^a|b$`.
  auto s = selector::parse(R"(m{x=~"a|b"})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(s->matches(series("m", {{"x", "a"}})));
  EXPECT_TRUE(s->matches(series("m", {{"x", "b"}})));
  EXPECT_FALSE(s->matches(series("m", {{"x", "ab"}})));
  EXPECT_FALSE(s->matches(series("m", {{"x", "xb"}})));
  EXPECT_FALSE(s->matches(series("m", {{"x", "ax"}})));
  auto n = selector::parse(R"(m{x!~"a.*"})");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_TRUE(n->matches(series("m", {{"x", "ba"}})));
  EXPECT_FALSE(n->matches(series("m", {{"x", "abc"}})));
}

TEST(Selector, RefusesSyntaxRe2DoesNotHave) {
  // Backreferences and lookaheads cannot run in linear time.
  for (const char* text : {"m{x=~\"(a)\\\\1\"}", "m{x=~\"a(?=b)\"}", "m{x=~\"(\"}"}) {
    auto s = selector::parse(text);
    ASSERT_FALSE(s) << text;
    EXPECT_NE(s.error().message.find("invalid regular expression"), std::string::npos)
        << s.error().message;
  }
}

TEST(Selector, BoundsAreParseErrors) {
  const auto expect_error = [](const std::string& text, std::string_view what) {
    auto s = selector::parse(text);
    ASSERT_FALSE(s) << text.substr(0, 80);
    EXPECT_NE(s.error().message.find(what), std::string::npos) << s.error().message;
  };
  expect_error("m{x=~\"" + std::string(selector_limits::max_value + 1, 'a') + "\"}",
               "a regular expression of at most 4096 bytes");
  expect_error("m{x=\"" + std::string(selector_limits::max_value + 1, 'a') + "\"}",
               "a value of at most 4096 bytes");
  expect_error(std::string(selector_limits::max_name + 1, 'm'), "a metric name of at most 256");
  expect_error("m{" + std::string(selector_limits::max_name + 1, 'l') + "=\"1\"}",
               "a label name of at most 256");
  std::string many = "m{";
  for (std::size_t i = 0; i <= selector_limits::max_matchers; ++i)
    many += "l" + std::to_string(i) + "=\"1\",";
  many += "}";
  expect_error(many, "at most 32 matchers");
  expect_error(std::string(selector_limits::max_text + 1, ' '), "selector longer than 16384");
  // Within the bounds, the same shapes parse.
  std::string ok = "m{";
  for (std::size_t i = 1; i < selector_limits::max_matchers; ++i)
    ok += "l" + std::to_string(i) + "=~\"" + std::string(100, 'a') + ".*\",";
  ok += "}";
  EXPECT_TRUE(selector::parse(ok));
  // A regex whose program exceeds RE2's memory cap is refused, not run.
  expect_error(R"(m{x=~"\\pL{1000}"})", "invalid regular expression");
}

TEST(SelectorWatch, WriterQueuesWithoutMatchingAndTheSubscriberClassifiesOncePerSeries) {
  memory_store st(memory_options{.watch_buffer = 100});
  auto sub = st.watch(*selector::parse(R"({__name__=~"cpu_.*", agent!~"b|c"})"));
  const series a("cpu_seconds", {{"agent", "a"}}), b("cpu_seconds", {{"agent", "b"}}),
      mem("mem_bytes", {{"agent", "a"}});
  const auto t0 = from_unix_ms(1'700'000'000'000);
  const auto write = [&](int round) {
    std::vector<sample> batch;
    for (const auto& id : {a, b, mem})
      for (int i = 0; i < 3; ++i)
        batch.push_back({id, t0 + std::chrono::seconds(round * 3 + i), 1.0});
    std::thread writer([&] { ASSERT_TRUE(st.append(batch)); });
    writer.join();
  };
  write(0);
  // The writer ran no selector: nothing is classified until the subscriber drains.
  EXPECT_EQ(sub.classified(), 0u);
  EXPECT_EQ(sub.pending(), 9u);
  auto got = sub.drain();
  EXPECT_EQ(sub.classified(), 3u);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& s : got) EXPECT_EQ(s.series, a);
  // Known series: the writer queues the match and skips the rest, with no new matching.
  write(1);
  EXPECT_EQ(sub.pending(), 3u);
  got = sub.drain();
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(sub.classified(), 3u);
  EXPECT_EQ(sub.dropped(), 0u);
}

TEST(SelectorWatch, UnclassifiedOverflowCountsOnlyMatchingDrops) {
  memory_store st(memory_options{.watch_buffer = 4});
  auto sub = st.watch(selector::by_name("hit"));
  const auto t0 = from_unix_ms(1'700'000'000'000);
  std::vector<sample> batch;
  // More unclassified samples than the inbox holds: the oldest fall out
  // before the subscriber has classified their series.
  const std::size_t n = watch_queue::min_inbox + 10;
  for (std::size_t i = 0; i < n; ++i)
    batch.push_back({series(i < 5 ? "hit" : "miss", {}), t0 + std::chrono::seconds(i), 1.0});
  batch.push_back({series("hit", {}), t0 + std::chrono::seconds(n), 2.0});
  ASSERT_TRUE(st.append(batch));
  auto got = sub.drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, 2.0);
  EXPECT_EQ(sub.dropped(), 5u)
      << "the 5 'hit' samples pushed out are lost; the 'miss' ones are not";
}

}  // namespace
