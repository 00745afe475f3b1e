// Concurrency tests: run in the normal and ASan builds, and alone under TSan
// (scripts/test selects them by the `Concurrency` prefix).
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <string>
#include <thread>
#include <vector>

#include "vitals/instruments/registry.hpp"

namespace {

using namespace vitals;

template <class F>
void run_threads(int n, F&& body) {
  std::vector<std::thread> ts;
  ts.reserve(n);
  for (int i = 0; i < n; ++i) ts.emplace_back(body, i);
  for (auto& t : ts) t.join();
}

TEST(ConcurrencyCounter, ThreadsNeverLoseIncrementsAndReadersSeeMonotonicValues) {
  counter c;
  constexpr int threads = 4, per_thread = 200000;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    double last = 0;
    while (!done.load()) {
      const double v = c.value();
      ASSERT_GE(v, last);
      last = v;
    }
  });
  run_threads(threads, [&](int) {
    for (int i = 0; i < per_thread; ++i) c.inc();
  });
  done = true;
  reader.join();
  EXPECT_EQ(c.value(), double(threads) * per_thread);
}

TEST(ConcurrencyCounter, MoreThreadsThanSlotsShareTheOverflowCells) {
  counter c;
  constexpr int threads = int(detail::max_slots) + 44;
  std::barrier all_alive(threads);  // keep every thread alive so slots run out
  run_threads(threads, [&](int) {
    all_alive.arrive_and_wait();
    for (int i = 0; i < 1000; ++i) c.inc();
    c.add(0.5);
    all_alive.arrive_and_wait();
  });
  EXPECT_EQ(c.value(), threads * 1000.0 + threads * 0.5);
}

TEST(ConcurrencyCounter, ValuesOfExitedThreadsStayCounted) {
  counter c;
  for (int round = 0; round < 20; ++round) run_threads(3, [&](int) { c.inc(10); });
  EXPECT_EQ(c.value(), 600);
}

TEST(ConcurrencyHistogram, CountsAndSumsAreExact) {
  histogram h(histogram::config({10, 100, 1000}));
  constexpr int threads = 4, per_thread = 50000;
  run_threads(threads, [&](int t) {
    for (int i = 0; i < per_thread; ++i) h.observe(double((i + t) % 2000));
  });
  EXPECT_EQ(h.count(), std::uint64_t(threads) * per_thread);
  double expected_sum = 0;
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < per_thread; ++i) expected_sum += (i + t) % 2000;
  EXPECT_EQ(h.sum(), expected_sum);
  const auto b = h.cumulative();
  EXPECT_EQ(b.back().count, double(threads) * per_thread);
}

TEST(ConcurrencyGauge, AddsFromManyThreadsAreExact) {
  gauge g;
  run_threads(4, [&](int t) {
    for (int i = 0; i < 20000; ++i) t % 2 ? g.inc() : g.add(2);
  });
  EXPECT_EQ(g.value(), 2 * 20000 * 1 + 2 * 20000 * 2);
}

TEST(ConcurrencyFamily, ConcurrentLookupsAndInsertsAgreeOnOneSeriesPerTuple) {
  family<counter> f("m", "", {"k"}, {}, 100000);
  constexpr int threads = 4, keys = 3000;
  std::vector<std::vector<counter*>> seen(threads, std::vector<counter*>(keys));
  run_threads(threads, [&](int t) {
    for (int i = 0; i < keys; ++i) {
      const int k = (i * 7 + t * 13) % keys;  // different orders, same keys
      seen[t][k] = &f.with(std::to_string(k));
      seen[t][k]->inc();
    }
  });
  for (int t = 1; t < threads; ++t) EXPECT_EQ(seen[t], seen[0]);
  EXPECT_EQ(f.size(), std::size_t(keys));
  for (int k = 0; k < keys; ++k) ASSERT_EQ(seen[0][k]->value(), threads);
}

TEST(ConcurrencyFamily, RemovingOtherSeriesDoesNotDisturbLookups) {
  family<counter> f("m", "", {"k"});
  std::atomic<bool> done{false};
  std::thread churn([&] {
    for (int i = 0; i < 3000; ++i) {
      f.with("tmp" + std::to_string(i)).inc();
      f.remove("tmp" + std::to_string(i));
    }
    done = true;
  });
  std::uint64_t incs = 0;
  while (!done.load()) {
    f.with("stable").inc();
    ++incs;
  }
  churn.join();
  EXPECT_EQ(f.with("stable").value(), double(incs));
  EXPECT_EQ(f.size(), 1u);
}

TEST(ConcurrencyRegistry, CollectWhileRegisteringAndWriting) {
  registry r;
  std::atomic<bool> done{false};
  std::thread collector([&] {
    while (!done.load()) {
      const auto s = r.collect();
      for (const auto& fam : s)
        for (const auto& p : fam.points) ASSERT_FALSE(std::isnan(p.value));
    }
  });
  run_threads(3, [&](int t) {
    for (int i = 0; i < 200; ++i) {
      r.counter_family("fam_" + std::to_string(i % 20), "h", {"t"}).with(std::to_string(t)).inc();
      r.histogram("hist_" + std::to_string(i % 5), "h").observe(i);
    }
  });
  done = true;
  collector.join();
  double total = 0;
  for (const auto& fam : r.collect())
    if (fam.name.starts_with("fam_"))
      for (const auto& p : fam.points) total += p.value;
  EXPECT_EQ(total, 600);
}

}  // namespace
