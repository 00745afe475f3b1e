// One hub subscriber's bounded buffer (runtime/hub.hpp): the dispatcher
// pushes batches into it, the subscriber drains or pops; when full the new
// event is refused and counted. Kept apart so that another buffer with the
// same members can take its place.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "vitals/core/event.hpp"

namespace vitals::detail {

/// One subscriber's bounded buffer. When full, the *new* event is refused and
/// counted (as in the seed): an event once counted delivered stays delivered.
class hub_buffer {
 public:
  hub_buffer(std::size_t capacity, std::function<void()> notify)
      : capacity_(std::max<std::size_t>(capacity, 1)), notify_(std::move(notify)) {}

  /// Dispatcher side. Returns how many were refused. `move` lets the last
  /// subscriber of a batch take the events instead of copying them.
  std::size_t push(std::span<event> batch, bool move) {
    std::size_t refused = 0;
    {
      std::lock_guard lock(mu_);
      if (closed_) return 0;  // unsubscribed meanwhile: neither delivered nor dropped
      for (auto& e : batch) {
        if (q_.size() - head_ >= capacity_) {
          ++refused;
        } else if (move) {
          q_.push_back(std::move(e));
        } else {
          q_.push_back(e);
        }
      }
      delivered_ += batch.size() - refused;
      dropped_ += refused;
    }
    ready_.notify_all();
    std::lock_guard lock(notify_mu_);  // close() waits for a running callback
    if (notify_ && !notify_closed_) notify_();
    return refused;
  }

  std::size_t drain_into(std::vector<event>& out) {
    std::lock_guard lock(mu_);
    const std::size_t n = q_.size() - head_;
    if (out.empty() && head_ == 0) {
      out.swap(q_);  // hands the storage over; q_ takes out's (empty) storage back
    } else {
      out.insert(out.end(), std::make_move_iterator(q_.begin() + std::ptrdiff_t(head_)),
                 std::make_move_iterator(q_.end()));
    }
    q_.clear();
    head_ = 0;
    return n;
  }

  std::optional<event> pop() {
    std::lock_guard lock(mu_);
    if (head_ == q_.size()) return std::nullopt;
    event e = std::move(q_[head_++]);
    if (head_ == q_.size()) {
      q_.clear();
      head_ = 0;
    } else if (head_ >= 32 && head_ * 2 >= q_.size()) {  // amortised O(1), bounded growth
      q_.erase(q_.begin(), q_.begin() + std::ptrdiff_t(head_));
      head_ = 0;
    }
    return e;
  }

  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mu_);
    ready_.wait_for(lock, timeout, [&] { return q_.size() > head_ || closed_; });
    return q_.size() > head_;
  }

  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return q_.size() - head_;
  }
  std::uint64_t delivered() const {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  std::uint64_t dropped() const {
    std::lock_guard lock(mu_);
    return dropped_;
  }
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
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::vector<event> q_;  // [head_, size) is buffered; a vector, so no allocation per event
  std::size_t head_ = 0;
  std::uint64_t delivered_ = 0, dropped_ = 0;
  bool closed_ = false;
  std::mutex notify_mu_;
  std::function<void()> notify_;
  bool notify_closed_ = false;
};

}  // namespace vitals::detail
