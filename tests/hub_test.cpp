// The event hub and the persister. Suites named Concurrency* start threads
// and also run under TSan. Nothing here asserts on a sleep: tests wait for a
// condition with a generous deadline.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/helpers.hpp"
#include "vitals/runtime/hub.hpp"
#include "vitals/runtime/persister.hpp"
#include "vitals/stores/event_memory.hpp"
#include "vitals/stores/event_sqlite.hpp"

namespace {

using vitals::test::burn_cpu;
using vitals::test::temp_dir;

using namespace vitals;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto patience = 20s;  // a loaded 2-core CI machine is slow, never this slow

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = patience) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return pred();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

event ev(int i, std::string type = "tool.started") {
  return {std::move(type),         from_unix_ms(1'700'000'000'000 + i), "s1", "p1",
          "t" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}"};
}

hub_options unlimited(hub_options o = {}) {
  o.rate_per_second = 0;
  return o;
}

/// Collects from a subscription until `n` events arrived or patience ran out.
std::vector<event> take(hub::subscription& sub, std::size_t n) {
  std::vector<event> got;
  const auto until = std::chrono::steady_clock::now() + patience;
  while (got.size() < n && std::chrono::steady_clock::now() < until)
    if (sub.wait_for(100ms)) sub.drain_into(got);
  return got;
}

double family_value(const metric_snapshot& s, const std::string& name,
                    const std::string& cause = {}) {
  for (const auto& f : s)
    if (f.name == name)
      for (const auto& p : f.points)
        if (cause.empty() || p.labels.get("cause") == cause) return p.value;
  return -1;
}

// --- hub, single-threaded view ------------------------------------------------

TEST(Hub, FlushDeliversEverythingAcceptedInOrder) {
  hub h(unlimited({.batch_size = 1000, .batch_interval = 1h}));
  auto sub = h.subscribe({}, 100);
  for (int i = 0; i < 7; ++i) h.publish(ev(i));
  h.flush();
  auto got = sub.drain();
  ASSERT_EQ(got.size(), 7u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(got[std::size_t(i)], ev(i));
  EXPECT_EQ(h.published(), 7u);
  EXPECT_EQ(h.delivered(), 7u);
  EXPECT_EQ(h.dropped(), 0u);
}

TEST(Hub, BatchesBySizeWithoutFlush) {
  // The interval is an hour: only the size threshold can deliver these.
  hub h(unlimited({.batch_size = 10, .batch_interval = 1h}));
  std::mutex mu;
  std::vector<std::size_t> sizes;
  hub::subscription sub;
  std::vector<event> got;
  sub = h.subscribe(
      [&] {
        std::lock_guard lock(mu);
        sizes.push_back(sub.drain_into(got));
      },
      1000);
  for (int i = 0; i < 30; ++i) h.publish(ev(i));
  // Each wake-up takes at least 10 (and all that is queued then), so at most
  // 9 can be left waiting for a tick or a flush.
  ASSERT_TRUE(eventually([&] { return h.delivered() >= 21; }));
  h.flush();
  std::lock_guard lock(mu);
  ASSERT_EQ(got.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(got[std::size_t(i)].task, "t" + std::to_string(i));
  EXPECT_GE(sizes.size(), 3u);
  for (auto n : sizes) EXPECT_LE(n, 10u);  // batches never exceed batch_size
}

TEST(Hub, BatchesByTimeWithoutFlush) {
  // Far below the size threshold: only the interval can deliver these.
  hub h(unlimited({.batch_size = 1000, .batch_interval = 20ms}));
  auto sub = h.subscribe({}, 100);
  for (int i = 0; i < 5; ++i) h.publish(ev(i));
  EXPECT_EQ(take(sub, 5).size(), 5u);
  EXPECT_TRUE(eventually([&] { return h.batches() == 1; }));
}

TEST(Hub, RateLimitDropsAreCounted) {
  // A bucket that does not measurably refill during the test.
  hub h({.rate_per_second = 1e-6, .burst = 10});
  auto sub = h.subscribe({}, 1000);
  for (int i = 0; i < 100; ++i) h.publish(ev(i));
  h.flush();
  EXPECT_EQ(sub.drain().size(), 10u);
  EXPECT_EQ(h.dropped_rate_limited(), 90u);
  EXPECT_EQ(h.dropped_queue_full(), 0u);
  EXPECT_EQ(h.published(), 100u);
}

TEST(Hub, RateLimitRefillsOverTime) {
  hub h({.rate_per_second = 200, .burst = 5});
  for (int i = 0; i < 5; ++i) h.publish(ev(i));
  // The bucket is empty now; a token comes back within ~5 ms.
  ASSERT_TRUE(eventually([&] {
    h.publish(ev(99));
    return h.published() - h.dropped_rate_limited() > 5;
  }));
}

TEST(Hub, SlowSubscriberDropsAreCountedWhileAFastOneGetsEverything) {
  hub h(unlimited({.batch_size = 100, .batch_interval = 1h}));
  auto fast = h.subscribe({}, 1000);
  auto slow = h.subscribe({}, 4);  // never drained
  for (int i = 0; i < 20; ++i) h.publish(ev(i));
  h.flush();
  EXPECT_EQ(fast.drain().size(), 20u);
  auto kept = slow.drain();
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(kept.front().task, "t0");  // the newest are refused, the kept ones are in order
  EXPECT_EQ(slow.dropped(), 16u);
  EXPECT_EQ(fast.dropped(), 0u);
  EXPECT_EQ(h.dropped_slow_subscriber(), 16u);
  EXPECT_EQ(h.delivered(), 24u);
  EXPECT_EQ(h.dispatched() * 2, h.delivered() + h.dropped_slow_subscriber());
}

TEST(Hub, StampsEventsWithoutATimestamp) {
  hub h(unlimited());
  auto sub = h.subscribe();
  const auto before = now();
  event unstamped;
  unstamped.type = "tool.started";
  h.publish(unstamped);
  h.publish(ev(1));
  h.flush();
  auto got = sub.drain();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(got[0].t, before);
  EXPECT_EQ(got[1].t, ev(1).t);  // a given timestamp is kept
}

TEST(Hub, PopTakesOneAtATimeInOrder) {
  hub h(unlimited());
  auto sub = h.subscribe({}, 1000);
  for (int round = 0; round < 3; ++round) {  // interleaved pops keep the buffer bounded and ordered
    for (int i = 0; i < 100; ++i) h.publish(ev(round * 100 + i));
    h.flush();
    for (int i = 0; i < 100; ++i) {
      auto e = sub.pop();
      ASSERT_TRUE(e);
      EXPECT_EQ(*e, ev(round * 100 + i));
    }
  }
  EXPECT_FALSE(sub.pop());
}

TEST(Hub, UnsubscribesWhenTheHandleIsDestroyed) {
  hub h(unlimited());
  {
    auto a = h.subscribe();
    EXPECT_EQ(h.subscribers(), 1u);
    auto b = std::move(a);  // moved-from handle owns nothing
    EXPECT_FALSE(a);
    EXPECT_TRUE(b);
    EXPECT_EQ(h.subscribers(), 1u);
  }
  EXPECT_EQ(h.subscribers(), 0u);
  h.publish(ev(1));
  h.flush();
  EXPECT_EQ(h.delivered(), 0u);
  EXPECT_EQ(h.dispatched(), 1u);
}

TEST(Hub, ResetUnsubscribesAndMoveAssignReleasesTheOld) {
  hub h(unlimited());
  auto a = h.subscribe();
  auto b = h.subscribe();
  EXPECT_EQ(h.subscribers(), 2u);
  a = std::move(b);
  EXPECT_EQ(h.subscribers(), 1u);
  a.reset();
  EXPECT_EQ(h.subscribers(), 0u);
}

TEST(Hub, StopDeliversWhatIsQueuedAndIsIdempotent) {
  hub h(unlimited({.batch_size = 1000, .batch_interval = 1h}));
  auto sub = h.subscribe({}, 100);
  for (int i = 0; i < 7; ++i) h.publish(ev(i));
  h.stop();
  EXPECT_EQ(sub.pending(), 7u);
  h.stop();
  h.wait();
  h.flush();  // returns at once once stopped
}

TEST(Hub, PublishAfterStopIsANoOpCountedAsStopped) {
  hub h(unlimited());
  auto sub = h.subscribe();
  h.stop();
  h.publish(ev(1));
  h.flush();
  EXPECT_EQ(sub.pending(), 0u);
  EXPECT_EQ(h.published(), 1u);
  EXPECT_EQ(h.dropped_stopped(), 1u);
  EXPECT_EQ(h.delivered(), 0u);
}

TEST(Hub, SubscriptionMayOutliveTheHub) {
  hub::subscription sub;
  {
    hub h(unlimited({.batch_size = 1000, .batch_interval = 1h}));
    sub = h.subscribe();
    h.publish(ev(1));
  }                               // the destructor delivers, then closes the buffer
  EXPECT_TRUE(sub.wait_for(1h));  // the buffer is closed but still holds its event
  EXPECT_EQ(sub.drain().size(), 1u);
  EXPECT_FALSE(sub.wait_for(1h));  // closed and empty: returns at once
  sub.reset();
}

TEST(Hub, CollectGivesCountersByCause) {
  hub h({.queue_capacity = 1000, .rate_per_second = 1e-6, .burst = 3});
  auto sub = h.subscribe({}, 2);
  for (int i = 0; i < 5; ++i) h.publish(ev(i));
  h.flush();
  metric_snapshot s;
  h.collect(s);
  EXPECT_EQ(family_value(s, "vitals_hub_published"), 5);
  EXPECT_EQ(family_value(s, "vitals_hub_delivered"), 2);
  EXPECT_EQ(family_value(s, "vitals_hub_dropped", "rate_limited"), 2);
  EXPECT_EQ(family_value(s, "vitals_hub_dropped", "slow_subscriber"), 1);
  EXPECT_EQ(family_value(s, "vitals_hub_dropped", "queue_full"), 0);
  for (const auto& f : s) EXPECT_EQ(f.type, metric_type::counter);
}

// --- hub, with threads ------------------------------------------------------

TEST(ConcurrencyHub, QueueFullWhileTheDispatcherIsBlocked) {
  hub h(unlimited({.queue_capacity = 10, .batch_size = 1, .batch_interval = 1h}));
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> entered{false};
  auto sub = h.subscribe(
      [&] {
        if (!entered.exchange(true)) released.wait();  // block the dispatcher once
      },
      100);
  h.publish(ev(0));
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  for (int i = 1; i <= 15; ++i) h.publish(ev(i));  // faster than dispatch: 10 fit
  EXPECT_EQ(h.dropped_queue_full(), 5u);
  release.set_value();
  h.flush();
  auto got = sub.drain();
  ASSERT_EQ(got.size(), 11u);
  EXPECT_EQ(got.back().task, "t10");
  EXPECT_EQ(h.published(), 16u);
}

TEST(ConcurrencyHub, WaitReturnsWhenAnotherThreadStops) {
  hub h(unlimited());
  auto waiter = std::async(std::launch::async, [&] { h.wait(); });
  EXPECT_EQ(waiter.wait_for(0ms), std::future_status::timeout);  // nothing stopped it yet
  h.request_stop();
  ASSERT_EQ(waiter.wait_for(patience), std::future_status::ready);
}

TEST(ConcurrencyHub, FlushFromManyThreads) {
  hub h(unlimited({.queue_capacity = 100000, .batch_size = 50, .batch_interval = 1h}));
  auto sub = h.subscribe({}, 100000);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        h.publish(ev(t * 1000 + i));
        if (i % 100 == 0) h.flush();
      }
      h.flush();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(sub.pending(), 2000u);
}

TEST(ConcurrencyHub, MultiProducerAccountingIsExact) {
  // Small queue, modest rate and a small buffer so that every cause can occur;
  // whatever the interleaving, each published event is accounted for once.
  hub h({.queue_capacity = 64,
         .batch_size = 16,
         .batch_interval = 1ms,
         .rate_per_second = 2e5,
         .burst = 5000,
         .subscriber_buffer = 64});
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<bool> done{false};
  auto sub = h.subscribe();
  std::thread consumer([&] {
    std::vector<event> buf;
    while (!done.load()) {
      if (sub.wait_for(10ms)) {
        buf.clear();
        consumed += sub.drain_into(buf);
      }
    }
  });
  constexpr int producers = 4, per = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < producers; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per; ++i) h.publish(ev(t * per + i));
    });
  for (auto& t : ts) t.join();
  h.stop();
  done = true;
  consumer.join();
  consumed += sub.drain().size();

  const std::uint64_t published = producers * per;
  EXPECT_EQ(h.published(), published);
  EXPECT_EQ(h.published(), h.delivered() + h.dropped_queue_full() + h.dropped_rate_limited() +
                               h.dropped_slow_subscriber() + h.dropped_stopped());
  EXPECT_EQ(h.dispatched(), h.published() - h.dropped_queue_full() - h.dropped_rate_limited());
  EXPECT_EQ(consumed.load(), h.delivered());
  EXPECT_EQ(sub.dropped(), h.dropped_slow_subscriber());
  EXPECT_EQ(h.dropped_stopped(), 0u);
}

TEST(ConcurrencyHub, PublishRacingStopLosesNothingUncounted) {
  hub h(unlimited({.queue_capacity = 1 << 20}));
  auto sub = h.subscribe({}, 1 << 20);
  std::atomic<bool> go{true};
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&] {
      int i = 0;
      while (go.load(std::memory_order_relaxed)) h.publish(ev(i++));
    });
  ASSERT_TRUE(eventually([&] { return h.published() > 1000; }));
  h.stop();
  go = false;
  for (auto& t : ts) t.join();
  EXPECT_EQ(h.published(), sub.pending() + h.dropped_stopped());
  EXPECT_EQ(h.dropped_queue_full() + h.dropped_rate_limited() + h.dropped_slow_subscriber(), 0u);
}

TEST(ConcurrencyHub, UnsubscribeWhileDispatching) {
  hub h(unlimited({.batch_size = 8, .batch_interval = 1ms}));
  std::atomic<bool> go{true};
  std::thread producer([&] {
    int i = 0;
    while (go.load(std::memory_order_relaxed)) h.publish(ev(i++));
  });
  std::atomic<int> calls{0};
  for (int round = 0; round < 200; ++round) {
    auto sub = h.subscribe([&] { ++calls; }, 16);
    sub.wait_for(1ms);
  }  // each handle unsubscribes while the dispatcher may be delivering to it
  go = false;
  producer.join();
  EXPECT_EQ(h.subscribers(), 0u);
}

// --- persister ----------------------------------------------------------------

/// An event store that refuses the first `n` appends, storing nothing for
/// them, and records when each append was tried.
class flaky_store {
 public:
  explicit flaky_store(int failures) : failures_left_(failures) {}

  result<std::int64_t> append(const std::string& stream, std::span<const event> events) {
    {
      std::lock_guard lock(mu_);
      attempts_.push_back(std::chrono::steady_clock::now());
      if (failures_left_ > 0) {
        --failures_left_;
        return error(errc::unavailable, "flaky store: try again");
      }
    }
    return inner_.append(stream, events);
  }
  result<std::vector<stored_event>> read(const std::string& stream, std::int64_t from) {
    return inner_.read(stream, from);
  }
  result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                 const std::string& type) {
    return inner_.read_by_type(stream, type);
  }
  std::vector<std::chrono::steady_clock::time_point> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }

 private:
  mutable std::mutex mu_;
  int failures_left_;
  std::vector<std::chrono::steady_clock::time_point> attempts_;
  stores::event_memory_store inner_;
};
static_assert(event_store<flaky_store>);

template <class Store>
void expect_all_in_order(Store& store, const std::string& stream, int n) {
  auto r = store.read(stream, 0);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), std::size_t(n));
  for (int i = 0; i < n; ++i) {
    const auto& s = (*r)[std::size_t(i)];
    EXPECT_EQ(s.version, i + 1);
    EXPECT_EQ(s.stream, stream);
    EXPECT_EQ(s.event, ev(i));
  }
}

TEST(ConcurrencyPersister, WritesEverythingToTheMemoryStoreInOrder) {
  hub h(unlimited({.queue_capacity = 100000}));
  stores::event_memory_store store;
  persister p(h, store, "s1");
  for (int i = 0; i < 1050; ++i) h.publish(ev(i));
  p.stop();
  expect_all_in_order(store, "s1", 1050);
  EXPECT_EQ(p.written(), 1050u);
  EXPECT_EQ(p.last_version(), 1050);
  EXPECT_GE(p.appends(), 11u);  // batches of at most 100
  EXPECT_EQ(p.failed_appends(), 0u);
  EXPECT_EQ(p.dropped(), 0u);
  EXPECT_EQ(h.subscribers(), 0u);  // stop unsubscribed
}

TEST(ConcurrencyPersister, WritesEverythingToTheSqliteStoreInOrder) {
  temp_dir dir;
  hub h(unlimited({.queue_capacity = 100000}));
  stores::event_sqlite_store store(dir.path() / "events.db");
  {
    persister p(h, store, "session-42");
    for (int i = 0; i < 500; ++i) h.publish(ev(i));
    p.flush();
    EXPECT_EQ(p.written(), 500u);
    for (int i = 500; i < 777; ++i) h.publish(ev(i));
  }  // the destructor stops: drains and flushes
  expect_all_in_order(store, "session-42", 777);
  auto by_type = store.read_by_type("session-42", "tool.started");
  ASSERT_TRUE(by_type);
  EXPECT_EQ(by_type->size(), 777u);
}

TEST(ConcurrencyPersister, WritesByTimeWithoutStopOrFlush) {
  hub h(unlimited({.batch_interval = 5ms}));
  stores::event_memory_store store;
  persister p(h, store, "s1", {.batch_size = 100, .flush_interval = 20ms});
  for (int i = 0; i < 3; ++i) h.publish(ev(i));  // far below a batch
  ASSERT_TRUE(eventually([&] { return p.written() == 3; }));
  expect_all_in_order(store, "s1", 3);
}

TEST(ConcurrencyPersister, FailedAppendsAreRetriedWithBackoffNothingLostOrDoubled) {
  hub h(unlimited({.queue_capacity = 100000}));
  flaky_store store(4);
  persister p(h, store, "s1", {.batch_size = 10, .backoff_initial = 5ms, .backoff_max = 20ms});
  for (int i = 0; i < 95; ++i) h.publish(ev(i));
  p.flush();
  expect_all_in_order(store, "s1", 95);
  EXPECT_EQ(p.failed_appends(), 4u);
  EXPECT_EQ(p.retries(), 4u);
  EXPECT_EQ(p.abandoned(), 0u);
  EXPECT_EQ(p.last_error(), "flaky store: try again");
  // The waits between attempts are at least 5, 10, 20, 20 ms: doubling, capped.
  auto at = store.attempts();
  ASSERT_GE(at.size(), 5u);
  const std::chrono::milliseconds expected[] = {5ms, 10ms, 20ms, 20ms};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_GE(at[i + 1] - at[i], expected[i]) << "gap " << i;
}

TEST(ConcurrencyPersister, StopDrainsAndFlushesThroughFailures) {
  hub h(unlimited({.queue_capacity = 100000, .batch_size = 1000, .batch_interval = 1h}));
  flaky_store store(3);
  persister p(h, store, "s1", {.batch_size = 1000, .flush_interval = 1h, .backoff_initial = 1ms});
  for (int i = 0; i < 250; ++i) h.publish(ev(i));  // still in the hub's queue
  p.stop();
  expect_all_in_order(store, "s1", 250);
  EXPECT_EQ(p.failed_appends(), 3u);
  EXPECT_EQ(p.abandoned(), 0u);
  EXPECT_EQ(h.subscribers(), 0u);
  p.stop();  // idempotent
}

TEST(ConcurrencyPersister, StopGivesUpOnADeadStoreAfterItsTimeoutAndCounts) {
  hub h(unlimited());
  flaky_store store(1 << 30);
  persister p(h, store, "s1", {.backoff_initial = 1ms, .backoff_max = 10ms, .stop_timeout = 50ms});
  for (int i = 0; i < 42; ++i) h.publish(ev(i));
  p.stop();
  EXPECT_EQ(p.written(), 0u);
  EXPECT_EQ(p.abandoned(), 42u);
  EXPECT_GE(p.failed_appends(), 1u);
}

TEST(ConcurrencyPersister, ManyProducersOneStream) {
  hub h(unlimited({.queue_capacity = 1 << 20}));
  stores::event_memory_store store;
  persister p(h, store, "s1", {.buffer = 1 << 20});
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) h.publish(ev(t * 3000 + i));
    });
  for (auto& t : ts) t.join();
  p.stop();
  auto r = store.read("s1", 0);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 9000u);
  std::vector<int> last(3, -1);
  for (std::size_t i = 0; i < r->size(); ++i) {
    EXPECT_EQ((*r)[i].version, std::int64_t(i) + 1);
    const int n = std::stoi((*r)[i].event.task.substr(1));
    EXPECT_GT(n % 3000, last[std::size_t(n / 3000)]);  // each producer's order is kept
    last[std::size_t(n / 3000)] = n % 3000;
  }
}

}  // namespace
