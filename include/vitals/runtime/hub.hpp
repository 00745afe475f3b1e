// The event hub (the 001 seed's): publish never blocks; a dispatcher thread
// hands events to subscribers in batches. Every event that does not reach a
// subscriber's buffer is counted once, by cause, so that, for a constant set
// of subscribers, published x subscribers = delivered + dropped.
//
// Here: publishing, the dispatcher and the counters. A subscriber's buffer
// is detail/hub_buffer.hpp, a subscription hub_subscription.hpp, the rate
// limit detail/token_bucket.hpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "vitals/core/event.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/runtime/detail/hub_buffer.hpp"
#include "vitals/runtime/detail/token_bucket.hpp"
#include "vitals/runtime/hub_subscription.hpp"

namespace vitals {

struct hub_options {
  std::size_t queue_capacity = 1000;              // events accepted but not yet dispatched
  std::size_t batch_size = 100;                   // dispatch as soon as this many are queued
  std::chrono::milliseconds batch_interval{100};  // ... or this often
  double rate_per_second = 1000;                  // token bucket; <= 0 turns the limit off
  double burst = 1000;                            // bucket size (and the initial fill)
  std::size_t subscriber_buffer = 64;             // default per-subscriber bound
};

class hub {
 public:
  using options = hub_options;
  using subscription = hub_subscription;

  explicit hub(options o = {})
      : opt_(o),
        limited_(o.rate_per_second > 0),
        bucket_(o.rate_per_second, o.burst, detail::bucket_clock_ns()) {
    opt_.batch_size = std::max<std::size_t>(opt_.batch_size, 1);
    if (opt_.batch_interval <= std::chrono::milliseconds::zero())
      opt_.batch_interval = std::chrono::milliseconds(1);
    const std::size_t reserve = std::min<std::size_t>(opt_.queue_capacity, 1 << 16);
    queue_.reserve(reserve);
    spare_.reserve(reserve);
    thread_ = std::thread([this] { run(); });
  }
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  /// Stops (delivering what is queued) and closes every subscription's buffer.
  ~hub() {
    stop();
    const auto subs = registry_->snapshot();  // held: a range-for would not keep it alive
    for (const auto& b : *subs) b->close();
  }

  /// Never blocks on the dispatcher or on subscribers; one short critical
  /// section per event. An event that is not accepted is counted by cause.
  /// After stop, an event is counted as published and dropped{cause="stopped"}.
  /// An event without a timestamp (the epoch) is stamped with now().
  void publish(event e) {
    if (e.t == timestamp{}) e.t = now();
    const std::int64_t t = limited_ ? detail::bucket_clock_ns() : 0;  // read outside the lock
    std::unique_lock lock(mu_);
    ++published_;
    if (!accepting_) {
      ++dropped_stopped_;
      return;
    }
    if (limited_ && !bucket_.take(t)) {
      ++dropped_rate_limited_;
      return;
    }
    if (queue_.size() >= opt_.queue_capacity) {
      ++dropped_queue_full_;
      return;
    }
    queue_.push_back(std::move(e));
    ++accepted_;
    const bool wake = queue_.size() == opt_.batch_size;
    lock.unlock();
    if (wake) wake_.notify_one();
  }

  /// Subscribes; `capacity` 0 means options.subscriber_buffer. `notify` runs
  /// on the dispatcher thread after each batch lands in the buffer, with no
  /// hub lock held: it may drain, but must not flush, stop or unsubscribe.
  subscription subscribe(std::function<void()> notify = {}, std::size_t capacity = 0) {
    auto b = std::make_shared<detail::hub_buffer>(capacity ? capacity : opt_.subscriber_buffer,
                                                  std::move(notify));
    registry_->add(b);
    return subscription(std::move(b), registry_);
  }

  /// Blocks until every event accepted before the call is in the subscribers'
  /// buffers (or refused by them). Returns at once when called from a notify callback.
  void flush() {
    if (on_dispatcher()) return;
    std::uint64_t target;
    {
      std::lock_guard lock(mu_);
      target = accepted_;
      flush_wanted_ = true;
    }
    wake_.notify_one();
    std::unique_lock lock(done_mu_);
    done_.wait(lock, [&] { return dispatched_ >= target || finished_; });
  }

  /// Stops accepting; the dispatcher delivers what is queued and exits. Does not wait.
  void request_stop() {
    {
      std::lock_guard lock(mu_);
      accepting_ = false;
    }
    wake_.notify_one();
  }

  /// Blocks until the dispatcher has exited (after someone's request_stop).
  /// Returns at once when called from a notify callback.
  void wait() {
    if (on_dispatcher()) return;
    std::lock_guard lock(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  /// request_stop() then wait(): everything accepted is delivered on return. Idempotent.
  void stop() {
    request_stop();
    wait();
  }

  std::uint64_t published() const { return read(&hub::published_); }
  std::uint64_t dropped_queue_full() const { return read(&hub::dropped_queue_full_); }
  std::uint64_t dropped_rate_limited() const { return read(&hub::dropped_rate_limited_); }
  std::uint64_t dropped_stopped() const { return read(&hub::dropped_stopped_); }
  std::uint64_t dropped_slow_subscriber() const {
    std::lock_guard lock(done_mu_);
    return dropped_slow_;
  }
  /// Events put into a subscriber's buffer, once per subscriber.
  std::uint64_t delivered() const {
    std::lock_guard lock(done_mu_);
    return delivered_;
  }
  /// Events taken off the queue by the dispatcher (accepted and handed on).
  std::uint64_t dispatched() const {
    std::lock_guard lock(done_mu_);
    return dispatched_;
  }
  std::uint64_t batches() const {
    std::lock_guard lock(done_mu_);
    return batches_;
  }
  std::uint64_t dropped() const {
    return dropped_queue_full() + dropped_rate_limited() + dropped_stopped() +
           dropped_slow_subscriber();
  }
  std::size_t subscribers() const { return registry_->size(); }
  const options& config() const noexcept { return opt_; }

  /// `vitals_hub_published_total`, `vitals_hub_delivered_total` and
  /// `vitals_hub_dropped_total{cause}`, for a registry collector.
  void collect(metric_snapshot& out) const {
    auto counter = [](std::string name, std::string help, double v) {
      metric_family f{std::move(name), metric_type::counter, std::move(help), {}, {}};
      f.points.emplace_back().value = v;
      return f;
    };
    out.push_back(
        counter("vitals_hub_published", "Events passed to publish.", double(published())));
    out.push_back(counter("vitals_hub_delivered",
                          "Events put into a subscriber's buffer, once per subscriber.",
                          double(delivered())));
    metric_family dropped{
        "vitals_hub_dropped", metric_type::counter, "Events dropped, by cause.", {}, {}};
    for (auto [cause, n] : {std::pair{"queue_full", dropped_queue_full()},
                            std::pair{"rate_limited", dropped_rate_limited()},
                            std::pair{"slow_subscriber", dropped_slow_subscriber()},
                            std::pair{"stopped", dropped_stopped()}}) {
      auto& p = dropped.points.emplace_back();
      p.labels = label_set{{"cause", cause}};
      p.value = double(n);
    }
    out.push_back(std::move(dropped));
  }

 private:
  bool on_dispatcher() const noexcept {
    return std::this_thread::get_id() == dispatcher_id_.load(std::memory_order_acquire);
  }

  std::uint64_t read(std::uint64_t hub::*counter) const {
    std::lock_guard lock(mu_);
    return this->*counter;
  }

  void run() {
    using clock = std::chrono::steady_clock;
    dispatcher_id_.store(std::this_thread::get_id(), std::memory_order_release);
    std::vector<event> batch = std::move(spare_);
    auto next = clock::now() + opt_.batch_interval;  // drift-free ticks
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait_until(lock, next, [&] {
        return !accepting_ || flush_wanted_ || queue_.size() >= opt_.batch_size;
      });
      if (const auto now = clock::now(); now >= next) {
        next += opt_.batch_interval;
        if (next <= now) next = now + opt_.batch_interval;  // fell behind: do not burst
      }
      batch.swap(queue_);  // queue_ gets the emptied vector back, capacity kept
      flush_wanted_ = false;
      const bool last = !accepting_;  // nothing more can be queued after this swap
      lock.unlock();
      if (!batch.empty() || last) deliver(batch);
      batch.clear();
      if (last) break;
      lock.lock();
    }
    {
      std::lock_guard l(done_mu_);
      finished_ = true;
    }
    done_.notify_all();
  }

  void deliver(std::vector<event>& batch) {
    const auto subs = registry_->snapshot();
    std::uint64_t delivered = 0, slow = 0, batches = 0;
    for (std::size_t off = 0; off < batch.size(); off += opt_.batch_size) {
      std::span<event> chunk(batch.data() + off, std::min(opt_.batch_size, batch.size() - off));
      for (std::size_t i = 0; i < subs->size(); ++i) {
        const std::size_t refused = (*subs)[i]->push(chunk, i + 1 == subs->size());
        delivered += chunk.size() - refused;
        slow += refused;
      }
      ++batches;
    }
    {
      std::lock_guard l(done_mu_);
      dispatched_ += batch.size();
      delivered_ += delivered;
      dropped_slow_ += slow;
      batches_ += batches;
    }
    done_.notify_all();
  }

  options opt_;
  const bool limited_;

  // The publish path: queue, token bucket and its counters, under one lock.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<event> queue_, spare_;
  bool accepting_ = true, flush_wanted_ = false;
  detail::token_bucket bucket_;
  std::uint64_t published_ = 0, accepted_ = 0;
  std::uint64_t dropped_queue_full_ = 0, dropped_rate_limited_ = 0, dropped_stopped_ = 0;

  // The dispatcher's side, which flush() waits on.
  mutable std::mutex done_mu_;
  std::condition_variable done_;
  std::uint64_t dispatched_ = 0, delivered_ = 0, dropped_slow_ = 0, batches_ = 0;
  bool finished_ = false;

  std::shared_ptr<detail::hub_registry> registry_ = std::make_shared<detail::hub_registry>();
  std::mutex join_mu_;
  std::atomic<std::thread::id> dispatcher_id_{};
  std::thread thread_;
};

}  // namespace vitals
