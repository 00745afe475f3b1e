// The one bounded subscriber queue of vitals (the store's watchers, the
// event hub's subscribers): a ring that holds at most `capacity` elements
// and, when full, either drops its oldest element or refuses the newest one,
// counting each. It grows by doubling up to its bound and then reuses its
// slots, so a steady stream allocates nothing per element.
//
// T is default-constructible and move-assignable (the ring's free slots).
// Not synchronised: its owner holds one lock around it and whatever else it
// guards with it (a watcher's verdict cache, a hub buffer's closed flag), so
// the writer's path takes one lock, not two. The counters are written under
// that lock and may be read without it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

namespace vitals::detail {

enum class drop_policy {
  drop_oldest,    // a slow reader loses its oldest elements (a live view: newest wins)
  refuse_newest,  // what was accepted stays accepted (an event log: nothing reordered)
};

/// The default `on_drop` of bounded_queue::push: the element goes unseen.
struct ignore_drop {
  template <class T>
  void operator()(T&&) const noexcept {}
};

template <class T, drop_policy Policy>
class bounded_queue {
 public:
  static constexpr drop_policy policy = Policy;

  explicit bounded_queue(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}
  bounded_queue(const bounded_queue&) = delete;
  bounded_queue& operator=(const bounded_queue&) = delete;

  /// Queues `v` and returns true, or returns false (refuse_newest, full):
  /// `v` is then left untouched and counted as dropped. Under drop_oldest a
  /// full queue first hands its oldest element to `on_drop` (which may move
  /// from it), then discards and counts it.
  template <class U, class OnDrop = ignore_drop>
  bool push(U&& v, OnDrop&& on_drop = {}) {
    if (size_ >= capacity_) {
      if constexpr (Policy == drop_policy::refuse_newest) {
        bump(dropped_);
        return false;
      } else {
        on_drop(buf_[head_]);
        buf_[head_] = std::forward<U>(v);  // the oldest slot becomes the newest
        head_ = next(head_);
        bump(dropped_);
        bump(accepted_);
        return true;
      }
    }
    if (size_ == buf_.size()) grow();
    buf_[index(size_)] = std::forward<U>(v);
    ++size_;
    bump(accepted_);
    return true;
  }

  /// The oldest element, removed.
  std::optional<T> pop() {
    if (size_ == 0) return std::nullopt;
    std::optional<T> out(std::move(buf_[head_]));
    head_ = next(head_);
    if (--size_ == 0) head_ = 0;
    return out;
  }

  /// Appends everything queued to `out`, oldest first, and empties the queue;
  /// returns how many. An empty `out` without room for them takes the
  /// storage itself when it can (no element moved, no allocation) and leaves
  /// its own storage to the queue.
  std::size_t take_all(std::vector<T>& out) {
    const std::size_t n = size_;
    if (out.empty() && out.capacity() < n && head_ == 0) {
      buf_.resize(n);
      out.swap(buf_);
      buf_.clear();
    } else {
      out.reserve(out.size() + n);
      for (std::size_t i = 0; i < n; ++i) out.push_back(std::move(buf_[index(i)]));
    }
    head_ = 0;
    size_ = 0;
    return n;
  }

  /// Exchanges the queued elements (and their storage) with `o`'s, a queue
  /// of the same capacity; the counters stay where they are. Lets an owner
  /// take a whole queue in O(1) under its lock and read it after.
  void swap_items(bounded_queue& o) noexcept {
    assert(capacity_ == o.capacity_);
    buf_.swap(o.buf_);
    std::swap(head_, o.head_);
    std::swap(size_, o.size_);
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return capacity_; }
  /// Elements queued (drop_oldest: every push).
  std::uint64_t accepted() const noexcept { return accepted_.load(std::memory_order_relaxed); }
  /// Elements evicted (drop_oldest) or refused (refuse_newest).
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  // One writer at a time (the owner's lock): a load and a store, no RMW.
  static void bump(std::atomic<std::uint64_t>& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::size_t next(std::size_t i) const noexcept { return i + 1 == buf_.size() ? 0 : i + 1; }
  std::size_t index(std::size_t i) const noexcept {
    const std::size_t j = head_ + i;
    return j >= buf_.size() ? j - buf_.size() : j;
  }
  // Called when every slot is taken and the bound is not reached: the ring
  // is made contiguous from slot 0, then doubled (at least 16, at most the bound).
  void grow() {
    std::rotate(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_), buf_.end());
    head_ = 0;
    buf_.resize(std::min(capacity_, std::max<std::size_t>(16, buf_.size() * 2)));
  }

  std::size_t capacity_;
  std::vector<T> buf_;  // the ring: [head_, head_ + size_) modulo buf_.size()
  std::size_t head_ = 0, size_ = 0;
  std::atomic<std::uint64_t> accepted_{0}, dropped_{0};
};

}  // namespace vitals::detail
