// The poller on a real io_context thread. Suites are named Concurrency* so
// they also run under TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "vitals/runtime/pipeline.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/sinks/null.hpp"
#include "vitals/stores/memory.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;

struct counting_sampler {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::chrono::milliseconds work{0};
  status collect(sample_batch& out, timestamp t) {
    ++*calls;
    if (work.count()) std::this_thread::sleep_for(work);
    out.push_back({series("ticks", {}), t, double(calls->load())});
    return {};
  }
  std::string_view name() const { return "counting"; }
};

struct failing_sampler {
  status collect(sample_batch&, timestamp) { return error(errc::unavailable, "target vanished"); }
  std::string_view name() const { return "failing"; }
};

/// An io_context running on its own thread for the test's lifetime.
struct io_thread {
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread t{[this] { ioc.run(); }};
  ~io_thread() {
    work.reset();
    ioc.stop();
    t.join();
  }
};

using test_pipeline = pipeline<stores::memory_store, sinks::null_sink>;
using test_poller = poller<test_pipeline, counting_sampler, failing_sampler>;

TEST(ConcurrencyPoller, TicksAtOnceThenEveryIntervalWithoutDrift) {
  stores::memory_store st;
  sinks::null_sink sk;
  test_pipeline pipe(st, sk);
  io_thread io;
  test_poller p(io.ioc.get_executor(), pipe, poller_options{.interval = 50ms});
  counting_sampler s;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(p.track("a", s));
  while (*s.calls == 0) std::this_thread::sleep_for(1ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 40ms);  // at once, not after one interval
  std::this_thread::sleep_for(520ms);
  const int n = *s.calls;
  p.stop();
  // 1 + 10 ticks in ~520 ms at 50 ms; allow for a loaded machine.
  EXPECT_GE(n, 6);
  EXPECT_LE(n, 13);
  const auto pts = st.range(series("ticks", {}), from_unix_ms(0), now());
  EXPECT_EQ(pts.size(), std::size_t(n));
  EXPECT_EQ(sk.samples(), std::size_t(n));
}

TEST(ConcurrencyPoller, TrackAndUntrackAreIdempotent) {
  stores::memory_store st;
  sinks::null_sink sk;
  test_pipeline pipe(st, sk);
  io_thread io;
  test_poller p(io.ioc.get_executor(), pipe, poller_options{.interval = 20ms});
  EXPECT_TRUE(p.track("a", counting_sampler{}));
  EXPECT_FALSE(p.track("a", counting_sampler{}));
  EXPECT_EQ(p.size(), 1u);
  EXPECT_TRUE(p.untrack("a"));
  EXPECT_FALSE(p.untrack("a"));
  EXPECT_FALSE(p.untrack("never"));
  EXPECT_TRUE(p.track("a", counting_sampler{}));  // the id is free again
  p.stop();
  EXPECT_FALSE(p.track("b", counting_sampler{}));  // stopped
}

TEST(ConcurrencyPoller, ErrorsAreCountedPerTargetWithTheLastMessage) {
  stores::memory_store st;
  sinks::null_sink sk;
  test_pipeline pipe(st, sk);
  io_thread io;
  test_poller p(io.ioc.get_executor(), pipe, poller_options{.interval = 10ms});
  ASSERT_TRUE(p.track("bad", failing_sampler{}));
  ASSERT_TRUE(p.track("slow", counting_sampler{.work = 30ms}));  // over the 10 ms timeout
  std::this_thread::sleep_for(150ms);
  auto st_list = p.status();
  ASSERT_EQ(st_list.size(), 2u);
  EXPECT_GE(st_list[0].errors, 2u);
  EXPECT_EQ(st_list[0].last_error, "target vanished");
  EXPECT_EQ(st_list[0].sampler, "failing");
  EXPECT_GE(st_list[1].errors, 1u);
  EXPECT_NE(st_list[1].last_error.find("timeout"), std::string::npos);
  metric_snapshot m;
  p.collect(m);
  ASSERT_EQ(m[0].name, "vitals_poller_errors");
  EXPECT_EQ(m[0].points[0].labels.get("target"), "bad");
  EXPECT_GE(m[0].points[0].value, 2);
  p.stop();
}

TEST(ConcurrencyPoller, UntrackDuringASampleAndStopWithManyTargets) {
  stores::memory_store st;
  sinks::null_sink sk;
  test_pipeline pipe(st, sk);
  io_thread io;
  test_poller p(io.ioc.get_executor(), pipe, poller_options{.interval = 5ms, .jitter = 5ms});
  counting_sampler slow{.work = 50ms};
  ASSERT_TRUE(p.track("slow", slow));
  while (*slow.calls == 0) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(p.untrack("slow"));  // while it sleeps in collect()
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p.track("t" + std::to_string(i), counting_sampler{}));
  std::this_thread::sleep_for(50ms);
  const int slow_calls = *slow.calls;
  p.stop();  // returns only once every coroutine has ended
  EXPECT_EQ(p.size(), 0u);
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(*slow.calls, slow_calls);  // nothing runs after stop
  EXPECT_LE(slow_calls, 2);
}

/// An async sample that waits until the test releases it (cancels its timer).
struct gated_sampler {
  std::shared_ptr<std::atomic<boost::asio::steady_timer*>> waiting =
      std::make_shared<std::atomic<boost::asio::steady_timer*>>(nullptr);
  boost::asio::awaitable<status> async_collect(sample_batch& out, timestamp t) {
    boost::asio::steady_timer gate(co_await boost::asio::this_coro::executor,
                                   std::chrono::hours(1));
    *waiting = &gate;
    boost::system::error_code ec;
    co_await gate.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    *waiting = nullptr;
    out.push_back({series("gated", {}), t, 1});
    co_return status{};
  }
  std::string_view name() const { return "gated"; }
};

TEST(ConcurrencyPoller, UntrackWithDropKeepsTheBatchInFlightOutOfTheSink) {
  for (const auto batch : {in_flight::push, in_flight::drop}) {
    stores::memory_store st;
    sinks::null_sink sk;
    test_pipeline pipe(st, sk);
    io_thread io;  // one thread: the release below cannot race the sample
    poller<test_pipeline, gated_sampler> p(io.ioc.get_executor(), pipe,
                                           poller_options{.interval = 10s});
    gated_sampler s;
    ASSERT_TRUE(p.track("g", s));
    for (int i = 0; i < 5000 && !s.waiting->load(); ++i) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(s.waiting->load());  // the sample is in flight
    ASSERT_TRUE(p.untrack("g", batch));
    auto settled = boost::asio::co_spawn(io.ioc, p.async_settle(), boost::asio::use_future);
    ASSERT_EQ(settled.wait_for(5s), std::future_status::ready);
    boost::asio::post(io.ioc, [w = s.waiting] {
      if (auto* gate = w->load()) gate->cancel();
    });
    p.stop();  // returns once the sample has finished
    EXPECT_EQ(st.list_series().size(), batch == in_flight::push ? 1u : 0u);
  }
}

}  // namespace
