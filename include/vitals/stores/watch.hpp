// Watching a store: each subscriber gets a bounded buffer. A subscriber that
// does not keep up loses the oldest samples beyond its bound, and every lost
// sample is counted, so a slow consumer never slows the writer.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "vitals/core/sample.hpp"
#include "vitals/stores/selector.hpp"

namespace vitals::stores {

class watch_queue {
 public:
  watch_queue(vitals::stores::selector sel, std::size_t capacity, std::function<void()> notify)
      : selector_(std::move(sel)), capacity_(capacity), notify_(std::move(notify)) {}

  const vitals::stores::selector& selector() const noexcept { return selector_; }

  /// Called by the store, from the writer's thread.
  void push(const sample& s) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      if (q_.size() >= capacity_) {
        q_.pop_front();
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
      q_.push_back(s);
    }
    if (notify_) notify_();
  }

  /// Takes everything buffered so far.
  std::vector<sample> drain() {
    std::lock_guard lock(mu_);
    std::vector<sample> out(std::make_move_iterator(q_.begin()), std::make_move_iterator(q_.end()));
    q_.clear();
    return out;
  }

  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return q_.size();
  }
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  vitals::stores::selector selector_;
  std::size_t capacity_;
  std::function<void()> notify_;
  mutable std::mutex mu_;
  std::deque<sample> q_;
  bool closed_ = false;
  std::atomic<std::uint64_t> dropped_{0};
};

/// Unsubscribes when destroyed.
class subscription {
 public:
  subscription() = default;
  subscription(std::shared_ptr<watch_queue> q, std::function<void(const watch_queue*)> cancel)
      : q_(std::move(q)), cancel_(std::move(cancel)) {}
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&& o) noexcept {
    reset();
    q_ = std::move(o.q_);
    cancel_ = std::move(o.cancel_);
    return *this;
  }
  ~subscription() { reset(); }

  std::vector<sample> drain() { return q_ ? q_->drain() : std::vector<sample>{}; }
  std::size_t pending() const { return q_ ? q_->pending() : 0; }
  std::uint64_t dropped() const { return q_ ? q_->dropped() : 0; }
  explicit operator bool() const noexcept { return q_ != nullptr; }

  void reset() {
    if (!q_) return;
    q_->close();
    if (cancel_) cancel_(q_.get());
    q_.reset();
  }

 private:
  std::shared_ptr<watch_queue> q_;
  std::function<void(const watch_queue*)> cancel_;
};

/// The subscriber list a store keeps. Subscriptions must not outlive it.
class watch_hub {
 public:
  subscription subscribe(selector sel, std::size_t capacity, std::function<void()> notify) {
    auto q = std::make_shared<watch_queue>(std::move(sel), capacity, std::move(notify));
    {
      std::lock_guard lock(mu_);
      subs_.push_back(q);
    }
    active_.fetch_add(1, std::memory_order_relaxed);
    return subscription(q, [this](const watch_queue* w) {
      std::lock_guard lock(mu_);
      std::erase_if(subs_, [w](const auto& s) { return s.get() == w; });
      active_.fetch_sub(1, std::memory_order_relaxed);
    });
  }

  /// Cheap when nobody watches: one relaxed load.
  void publish(std::span<const sample> batch) {
    if (active_.load(std::memory_order_relaxed) == 0) return;
    std::vector<std::shared_ptr<watch_queue>> subs;
    {
      std::lock_guard lock(mu_);
      subs = subs_;
    }
    for (const auto& s : batch)
      for (const auto& q : subs)
        if (q->selector().matches(s.series)) q->push(s);
  }

  std::size_t size() const noexcept { return active_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<watch_queue>> subs_;
  std::atomic<std::size_t> active_{0};
};

}  // namespace vitals::stores
