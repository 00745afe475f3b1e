// A persister: subscribes to a hub and appends its events to an event store
// under one stream, in batches. A failed append is counted and retried with
// exponential backoff, the same batch again, so nothing is lost or doubled
// (an event store's append either stores the whole batch or nothing).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/runtime/hub.hpp"

namespace vitals {

struct persister_options {
  std::size_t batch_size = 100;                   // append once this many are waiting
  std::chrono::milliseconds flush_interval{500};  // ... or when the oldest waited this long
  std::size_t buffer = 10000;  // the subscription's bound: ~10 s at the hub's default rate,
                               // more than the longest backoff
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds stop_timeout{10000};  // how long stop() keeps retrying a failing store
};

template <event_store EventStore>
class persister {
 public:
  using options = persister_options;

  /// `h` and `store` must outlive the persister.
  persister(hub& h, EventStore& store, std::string stream, options o = {})
      : hub_(h), store_(store), stream_(std::move(stream)), opt_(o) {
    opt_.batch_size = std::max<std::size_t>(opt_.batch_size, 1);
    sub_ = hub_.subscribe(
        [this] {
          {
            std::lock_guard lock(mu_);
            signalled_ = true;
          }
          cv_.notify_one();
        },
        opt_.buffer);
    thread_ = std::thread([this] { run(); });
  }
  persister(const persister&) = delete;
  persister& operator=(const persister&) = delete;
  ~persister() { stop(); }

  /// Blocks until every event the hub accepted before the call is in the
  /// store (or, while stopping, given up after stop_timeout and counted).
  void flush() {
    hub_.flush();
    std::unique_lock lock(mu_);
    if (exited_) return;
    const std::uint64_t ticket = ++flush_requested_;
    cv_.notify_one();
    flushed_.wait(lock, [&] { return flush_done_ >= ticket || exited_; });
  }

  /// Drains the subscription (everything the hub accepted before the call),
  /// writes it to the store, then unsubscribes. A store that keeps failing is
  /// retried for stop_timeout; what is still unwritten then is counted in
  /// abandoned(). Idempotent.
  void stop() {
    std::lock_guard join(join_mu_);
    if (!thread_.joinable()) return;
    hub_.flush();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      stop_deadline_ = std::chrono::steady_clock::now() + opt_.stop_timeout;
    }
    cv_.notify_one();
    thread_.join();
    std::lock_guard lock(sub_mu_);
    dropped_at_stop_ = sub_.dropped();
    sub_.reset();
  }

  const std::string& stream() const noexcept { return stream_; }
  /// Events appended to the store.
  std::uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }
  /// Successful appends (batches).
  std::uint64_t appends() const noexcept { return appends_.load(std::memory_order_relaxed); }
  /// Appends the store refused; each is followed by a retry or, at stop, abandonment.
  std::uint64_t failed_appends() const noexcept { return failed_.load(std::memory_order_relaxed); }
  std::uint64_t retries() const noexcept { return retries_.load(std::memory_order_relaxed); }
  /// Events given up on at stop because the store kept failing.
  std::uint64_t abandoned() const noexcept { return abandoned_.load(std::memory_order_relaxed); }
  /// Events the hub could not put in this persister's buffer (it fell behind).
  std::uint64_t dropped() const {
    std::lock_guard lock(sub_mu_);
    return sub_ ? sub_.dropped() : dropped_at_stop_;
  }
  /// The version the store gave the last event written (0 before any).
  std::int64_t last_version() const noexcept {
    return last_version_.load(std::memory_order_relaxed);
  }
  /// The message of the most recent failed append, empty if none.
  std::string last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  using clock = std::chrono::steady_clock;

  void run() {
    std::vector<event> pending;
    clock::time_point oldest{};
    std::unique_lock lock(mu_);
    for (;;) {
      auto ready = [&] { return signalled_ || stopping_ || flush_requested_ > flush_done_; };
      if (pending.empty())
        cv_.wait(lock, ready);
      else
        cv_.wait_until(lock, oldest + opt_.flush_interval, ready);
      signalled_ = false;
      const bool stop = stopping_;
      const std::uint64_t ticket = flush_requested_;
      const bool flushing = ticket > flush_done_;
      lock.unlock();

      const bool was_empty = pending.empty();
      sub_.drain_into(pending);
      if (was_empty && !pending.empty()) oldest = clock::now();
      const bool all =
          stop || flushing || (!pending.empty() && clock::now() >= oldest + opt_.flush_interval);
      write(pending, all);

      lock.lock();
      if (flushing) {
        flush_done_ = ticket;
        flushed_.notify_all();
      }
      if (stop) break;
    }
    exited_ = true;
    flushed_.notify_all();
  }

  /// Appends full batches; with `all`, the remainder too.
  void write(std::vector<event>& pending, bool all) {
    std::size_t off = 0;
    while (pending.size() - off >= opt_.batch_size || (all && off < pending.size())) {
      const std::size_t n = std::min(opt_.batch_size, pending.size() - off);
      if (!append_with_retry(std::span<const event>(pending.data() + off, n))) {
        abandoned_.fetch_add(pending.size() - off, std::memory_order_relaxed);
        off = pending.size();
        break;
      }
      off += n;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(off));
  }

  /// False only when stopping and the stop deadline has passed.
  bool append_with_retry(std::span<const event> batch) {
    auto backoff = opt_.backoff_initial;
    for (;;) {
      auto r = store_.append(stream_, batch);
      if (r) {
        written_.fetch_add(batch.size(), std::memory_order_relaxed);
        appends_.fetch_add(1, std::memory_order_relaxed);
        last_version_.store(*r, std::memory_order_relaxed);
        return true;
      }
      failed_.fetch_add(1, std::memory_order_relaxed);
      std::unique_lock lock(mu_);
      last_error_ = r.error().message;
      const auto retry_at = clock::now() + backoff;
      for (;;) {
        const auto now = clock::now();
        if (stopping_ && now >= stop_deadline_) return false;
        if (now >= retry_at) break;
        // Woken early by new events or by stop(); the loop re-reads the clock.
        cv_.wait_until(lock, stopping_ ? std::min(retry_at, stop_deadline_) : retry_at);
      }
      lock.unlock();
      retries_.fetch_add(1, std::memory_order_relaxed);
      backoff = std::min(backoff * 2, opt_.backoff_max);
    }
  }

  hub& hub_;
  EventStore& store_;
  const std::string stream_;
  options opt_;

  mutable std::mutex mu_;
  std::condition_variable cv_, flushed_;
  bool signalled_ = false, stopping_ = false, exited_ = false;
  clock::time_point stop_deadline_{};
  std::uint64_t flush_requested_ = 0, flush_done_ = 0;
  std::string last_error_;

  std::atomic<std::uint64_t> written_{0}, appends_{0}, failed_{0}, retries_{0}, abandoned_{0};
  std::atomic<std::int64_t> last_version_{0};

  mutable std::mutex
      sub_mu_;  // guards reset against dropped(); the thread reads sub_ before stop joins it
  hub_subscription sub_;
  std::uint64_t dropped_at_stop_ = 0;
  std::mutex join_mu_;
  std::thread thread_;
};

}  // namespace vitals
