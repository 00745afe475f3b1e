// The one bounded subscriber queue and subscriber list (core/detail/) that
// the store's watchers and the event hub share, and the interning of series
// on the watch path (stores/watch.hpp). Suites named Concurrency* also run
// under TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "vitals/core/detail/bounded_queue.hpp"
#include "vitals/core/detail/subscriber_list.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/watch.hpp"

namespace {

using namespace vitals;
using vitals::detail::bounded_queue;
using vitals::detail::drop_policy;

template <drop_policy P>
using int_queue = bounded_queue<int, P>;

std::vector<int> take(auto& q) {
  std::vector<int> out;
  q.take_all(out);
  return out;
}

TEST(SubscriberQueue, DropOldestKeepsTheNewestAndCountsWhatItLost) {
  int_queue<drop_policy::drop_oldest> q(3);
  std::vector<int> lost;
  for (int i = 1; i <= 5; ++i) EXPECT_TRUE(q.push(i, [&](int& v) { lost.push_back(v); }));
  EXPECT_EQ(lost, (std::vector<int>{1, 2}));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.accepted(), 5u);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(take(q), (std::vector<int>{3, 4, 5}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.dropped(), 2u) << "taking does not reset the counters";
}

TEST(SubscriberQueue, RefuseNewestKeepsWhatWasAcceptedAndLeavesTheRefusedUntouched) {
  bounded_queue<std::string, drop_policy::refuse_newest> q(2);
  std::string a = "a", b = "b", c = "a string long enough to live on the heap";
  EXPECT_TRUE(q.push(std::move(a)));
  EXPECT_TRUE(q.push(std::move(b)));
  EXPECT_FALSE(q.push(std::move(c)));
  EXPECT_EQ(c, "a string long enough to live on the heap") << "a refused value is not moved from";
  EXPECT_EQ(q.accepted(), 2u);
  EXPECT_EQ(q.dropped(), 1u);
  EXPECT_EQ(q.pop(), "a");
  EXPECT_TRUE(q.push(c));  // room again
  std::vector<std::string> out;
  EXPECT_EQ(q.take_all(out), 2u);
  EXPECT_EQ(out, (std::vector<std::string>{"b", c}));
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(SubscriberQueue, AZeroBoundHoldsOne) {
  int_queue<drop_policy::refuse_newest> q(0);
  EXPECT_EQ(q.capacity(), 1u);
  EXPECT_TRUE(q.push(1));
  EXPECT_FALSE(q.push(2));
}

// Pushes, pops and takes at random across growth and wrap-around, checked
// against a deque that applies the same policy.
template <drop_policy P>
void check_against_model(std::size_t capacity) {
  int_queue<P> q(capacity);
  std::deque<int> model;
  std::uint64_t dropped = 0, accepted = 0;
  std::mt19937 rng(static_cast<unsigned>(capacity));
  for (int i = 0; i < 20'000; ++i) {
    const auto op = rng() % 1000;
    if (op < 700) {
      const bool full = model.size() >= capacity;
      const bool took = q.push(i);
      if (P == drop_policy::drop_oldest && full) model.pop_front();
      if (P == drop_policy::drop_oldest || !full) {
        model.push_back(i);
        ++accepted;
      }
      if (full) ++dropped;
      ASSERT_EQ(took, !full || P == drop_policy::drop_oldest);
    } else if (op < 997) {
      const auto got = q.pop();
      ASSERT_EQ(got.has_value(), !model.empty());
      if (got) {
        ASSERT_EQ(*got, model.front());
        model.pop_front();
      }
    } else {
      // Into an empty vector (which may take the storage) or a non-empty one.
      std::vector<int> out;
      if (i % 2) out.push_back(-1);
      q.take_all(out);
      ASSERT_EQ(out.size(), model.size() + (i % 2));
      for (std::size_t k = 0; k < model.size(); ++k) ASSERT_EQ(out[k + (i % 2)], model[k]);
      model.clear();
    }
    ASSERT_EQ(q.size(), model.size());
  }
  EXPECT_EQ(q.accepted(), accepted);
  EXPECT_EQ(q.dropped(), dropped);
  EXPECT_GT(dropped, 0u);
  const auto rest = take(q);
  EXPECT_EQ(rest, std::vector<int>(model.begin(), model.end()));
}

TEST(SubscriberQueue, MatchesAModelAcrossGrowthAndWrapAround) {
  for (std::size_t cap : {1u, 7u, 64u}) {
    SCOPED_TRACE(cap);
    check_against_model<drop_policy::drop_oldest>(cap);
    check_against_model<drop_policy::refuse_newest>(cap);
  }
}

TEST(SubscriberQueue, SwapItemsMovesTheElementsAndLeavesTheCounters) {
  int_queue<drop_policy::drop_oldest> q(4), spare(4);
  for (int i = 0; i < 6; ++i) q.push(i);
  q.swap_items(spare);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(spare.dropped(), 0u);
  EXPECT_EQ(take(spare), (std::vector<int>{2, 3, 4, 5}));
  q.push(9);
  EXPECT_EQ(take(q), (std::vector<int>{9}));
}

// A subscriber that counts what reaches it until it is closed.
struct counting_sub {
  std::mutex mu;
  bool closed = false;
  std::uint64_t got = 0;
  void push() {
    std::lock_guard lock(mu);
    if (!closed) ++got;
  }
  void close() {
    std::lock_guard lock(mu);
    closed = true;
  }
  std::uint64_t count() {
    std::lock_guard lock(mu);
    return got;
  }
};
using sub_list = vitals::detail::subscriber_list<counting_sub>;
using sub_handle = vitals::detail::subscriber_handle<counting_sub>;

TEST(SubscriberList, ASnapshotIsNotChangedByLaterSubscribers) {
  auto list = std::make_shared<sub_list>();
  auto a = std::make_shared<counting_sub>();
  sub_handle ha(a, list);
  list->add(a);
  const auto before = list->snapshot();
  {
    auto b = std::make_shared<counting_sub>();
    list->add(b);
    sub_handle hb(b, list);
    EXPECT_EQ(list->size(), 2u);
  }  // hb unsubscribes
  EXPECT_EQ(list->size(), 1u);
  EXPECT_EQ(before->size(), 1u);
  EXPECT_FALSE(list->remove(nullptr));
  list.reset();  // the handle outlives its list
  ha.reset();
  EXPECT_TRUE(a->closed);
  EXPECT_FALSE(ha);
}

TEST(ConcurrencySubscriberList, SubscribeAndUnsubscribeWhilePublishing) {
  auto list = std::make_shared<sub_list>();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> rounds{0};
  std::thread publisher([&] {
    while (!stop.load()) {
      if (list->size() == 0) std::this_thread::yield();
      const auto subs = list->snapshot();  // held for the loop
      for (const auto& s : *subs) s->push();
      rounds.fetch_add(1);
    }
  });
  for (int i = 0; i < 200; ++i) {
    auto s = std::make_shared<counting_sub>();
    list->add(s);
    sub_handle h(s, list);
    const auto seen = rounds.load();
    while (s->count() == 0 && rounds.load() < seen + 100'000) std::this_thread::yield();
    EXPECT_GT(s->count(), 0u) << "a listed subscriber is published to";
    h.reset();
    const auto after = s->count();
    const auto at = rounds.load();
    while (rounds.load() < at + 3) std::this_thread::yield();
    EXPECT_EQ(s->count(), after) << "nothing reaches a subscriber once reset() returned";
  }
  stop = true;
  publisher.join();
  EXPECT_EQ(list->size(), 0u);
  EXPECT_TRUE(list->snapshot()->empty());
}

const auto t0 = from_unix_ms(1'700'000'000'000);

std::vector<sample> cpu_batch(std::initializer_list<const char*> agents, double v) {
  std::vector<sample> out;
  int i = 0;
  for (const char* a : agents)
    out.push_back({series("cpu", {{"agent", a}}), t0 + std::chrono::seconds(i++), v});
  return out;
}

TEST(WatchInterning, OneSeriesIsStoredOnceForEverySubscriber) {
  stores::watch_hub hub;
  auto s1 = hub.subscribe(stores::selector::by_name("cpu"), 16, {});
  auto s2 = hub.subscribe(stores::selector::by_name("cpu"), 16, {});
  hub.publish(cpu_batch({"a", "b", "a"}, 1));
  hub.publish(cpu_batch({"a"}, 2));
  const auto g1 = s1.drain(), g2 = s2.drain();
  ASSERT_EQ(g1.size(), 4u);
  ASSERT_EQ(g2.size(), 4u);
  EXPECT_EQ(hub.interned(), 2u);
  EXPECT_EQ(hub.uninterned(), 0u);
  const series* a = &g1[0].series.get();
  EXPECT_EQ(*a, series("cpu", {{"agent", "a"}}));
  EXPECT_EQ(&g1[2].series.get(), a);
  EXPECT_EQ(&g1[3].series.get(), a) << "the same copy across batches";
  EXPECT_EQ(&g2[0].series.get(), a) << "the same copy across subscribers";
  EXPECT_NE(&g1[1].series.get(), a);
  for (const auto& s : g1) EXPECT_EQ(s.owned, nullptr);
  EXPECT_EQ(g1[3].value, 2.0);
}

TEST(WatchInterning, PastTheTableBoundSamplesAreStillDeliveredAndCounted) {
  stores::watch_hub hub(2);
  auto sub = hub.subscribe(stores::selector::by_name("cpu"), 16, {});
  auto only_c = hub.subscribe(*stores::selector::parse(R"(cpu{agent="c"})"), 16, {});
  hub.publish(cpu_batch({"a", "b", "c", "c"}, 1));
  hub.publish(std::vector<sample>{{series("mem", {}), t0, 5}});  // past the bound, no match
  EXPECT_EQ(hub.interned(), 2u);
  EXPECT_EQ(hub.uninterned(), 3u);
  const auto got = sub.drain();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[2].series.get(), series("cpu", {{"agent", "c"}}));
  EXPECT_NE(got[2].owned, nullptr) << "its own copy, since the table is full";
  EXPECT_EQ(got[3].series.get(), series("cpu", {{"agent", "c"}}));
  const auto c = only_c.drain();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(&c[0].series.get(), c[0].owned.get());
  EXPECT_EQ(sub.dropped(), 0u);
  // Not cached (its address is not stable): classified again on the next drain.
  hub.publish(cpu_batch({"c"}, 2));
  ASSERT_EQ(only_c.drain().size(), 1u);
  EXPECT_EQ(only_c.dropped(), 0u);
}

TEST(WatchInterning, ATableFullOfSeriesRefusesNewOnes) {
  series_table t(2);
  const auto* a = t.try_intern(series("a", {}));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(t.try_intern(series("a", {})), a);
  EXPECT_NE(t.try_intern(series("b", {})), nullptr);
  EXPECT_EQ(t.try_intern(series("c", {})), nullptr);
  EXPECT_EQ(t.try_intern(series("a", {})), a) << "known series are still found";
  EXPECT_THROW(t.intern(series("c", {})), std::length_error);
  EXPECT_EQ(t.size(), 2u);
}

TEST(WatchInterning, DrainedSamplesStayValidAfterTheStoreIsGone) {
  auto st = std::make_unique<stores::memory_store>(stores::memory_options{.watch_buffer = 8});
  auto sub = st->watch(stores::selector::by_name("cpu"));
  ASSERT_TRUE(st->append(cpu_batch({"a", "b"}, 3)));
  EXPECT_EQ(st->watchers().interned(), 2u);
  st.reset();
  const auto got = sub.drain();  // the queue keeps the intern table alive
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].series.get(), series("cpu", {{"agent", "b"}}));
  sub.reset();
}

TEST(WatchInterning, AStoreBoundsItsTableAndCountsWhatItCopied) {
  stores::memory_store st(stores::memory_options{.watch_series = 1});
  auto sub = st.watch(stores::selector::by_name("cpu"));
  ASSERT_TRUE(st.append(cpu_batch({"a", "b", "b"}, 1)));
  EXPECT_EQ(st.watchers().interned(), 1u);
  EXPECT_EQ(st.watchers().uninterned(), 2u);
  EXPECT_EQ(sub.drain().size(), 3u);
}

// Writers on two threads (more series than the intern table holds, so some
// samples carry their own copy), a subscriber draining meanwhile and another
// one coming and going: every matching sample arrives once, in order per series.
TEST(ConcurrencyWatchInterning, WritersDrainersAndChurnTogether) {
  stores::memory_store st(stores::memory_options{.watch_series = 5});
  auto sub = st.watch(*stores::selector::parse(R"(cpu{agent=~"w0.*|w1.*"})"), {}, 100'000);
  constexpr int batches = 200, per_batch = 10;
  std::atomic<int> writers_done{0};
  const auto writer = [&](int w) {
    for (int b = 0; b < batches; ++b) {
      std::vector<sample> batch;
      for (int i = 0; i < per_batch; ++i)
        batch.push_back(
            {series("cpu", {{"agent", "w" + std::to_string(w) + "-" + std::to_string(i % 5)}}),
             t0 + std::chrono::milliseconds(b * per_batch + i), double(b)});
      ASSERT_TRUE(st.append(batch));
    }
    writers_done.fetch_add(1);
  };
  std::thread w0(writer, 0), w1(writer, 1), w2(writer, 2);  // w2 never matches
  std::thread churn([&] {
    while (writers_done.load() < 3) {
      auto other = st.watch(stores::selector::by_name("cpu"), {}, 8);
      (void)other.drain();
    }
  });
  std::map<std::string, std::int64_t> last;
  std::size_t got = 0;
  const auto take = [&] {
    for (const auto& s : sub.drain()) {
      const auto agent = std::string(s.series.get().labels().get("agent"));
      ASSERT_TRUE(agent.starts_with("w0") || agent.starts_with("w1")) << agent;
      auto [it, fresh] = last.try_emplace(agent, -1);
      ASSERT_LT(it->second, to_unix_ms(s.t)) << agent;
      it->second = to_unix_ms(s.t);
      ++got;
    }
  };
  while (writers_done.load() < 3) take();
  w0.join(), w1.join(), w2.join(), churn.join();
  take();
  EXPECT_EQ(got, std::size_t{2 * batches * per_batch});
  EXPECT_EQ(sub.dropped(), 0u);
  EXPECT_EQ(st.watchers().interned(), 5u);
  EXPECT_GT(st.watchers().uninterned(), 0u);
}

}  // namespace
