// One hub subscriber's bounded buffer (runtime/hub.hpp): the dispatcher
// pushes batches into it, the subscriber drains or pops; when full the new
// event is refused and counted. The queue itself is core/detail's
// bounded_queue; this adds the wait, the notify callback and close().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "vitals/core/detail/bounded_queue.hpp"
#include "vitals/core/event.hpp"

namespace vitals::detail {

/// One subscriber's bounded buffer. When full, the *new* event is refused and
/// counted (as in the seed): an event once counted delivered stays delivered.
class hub_buffer {
 public:
  hub_buffer(std::size_t capacity, std::function<void()> notify)
      : q_(capacity), notify_(std::move(notify)) {}

  /// Dispatcher side. Returns how many were refused. `move` lets the last
  /// subscriber of a batch take the events instead of copying them.
  std::size_t push(std::span<event> batch, bool move) {
    std::size_t refused = 0;
    {
      std::lock_guard lock(mu_);
      if (closed_) return 0;  // unsubscribed meanwhile: neither delivered nor dropped
      for (auto& e : batch) refused += !(move ? q_.push(std::move(e)) : q_.push(e));
    }
    ready_.notify_all();
    std::lock_guard lock(notify_mu_);  // close() waits for a running callback
    if (notify_ && !notify_closed_) notify_();
    return refused;
  }

  std::size_t drain_into(std::vector<event>& out) {
    std::lock_guard lock(mu_);
    return q_.take_all(out);
  }

  std::optional<event> pop() {
    std::lock_guard lock(mu_);
    return q_.pop();
  }

  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mu_);
    ready_.wait_for(lock, timeout, [&] { return !q_.empty() || closed_; });
    return !q_.empty();
  }

  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return q_.size();
  }
  std::uint64_t delivered() const { return q_.accepted(); }
  std::uint64_t dropped() const { return q_.dropped(); }
  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

  /// After close() returns, the notify callback is not running and never runs
  /// again; what is buffered can still be drained.
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    ready_.notify_all();
    std::lock_guard lock(notify_mu_);
    notify_closed_ = true;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable ready_;
  bounded_queue<event, drop_policy::refuse_newest> q_;  // under mu_
  bool closed_ = false;
  std::mutex notify_mu_;
  std::function<void()> notify_;
  bool notify_closed_ = false;
};

}  // namespace vitals::detail
