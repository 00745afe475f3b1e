// Watching a store: each subscriber gets a bounded buffer. A subscriber that
// does not keep up loses the oldest samples beyond its bound, and every lost
// sample is counted, so a slow consumer never slows the writer.
//
// The writer never runs a subscriber's selector (a regex may be costly): it
// looks the series up in the subscriber's verdict cache, filled by the
// subscriber itself. A known match is queued, a known miss skipped, and a
// series not yet classified waits in a bounded inbox until the subscriber's
// next drain() classifies it, once per series.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "vitals/core/sample.hpp"
#include "vitals/stores/selector.hpp"

namespace vitals::stores {

class watch_queue {
 public:
  static constexpr std::size_t min_inbox = 1024;          // unclassified samples held
  static constexpr std::size_t max_verdicts = 100'000;    // series classified and cached
  static constexpr std::size_t max_pending_drops = 1024;  // series of unclassified drops

  watch_queue(vitals::stores::selector sel, std::size_t capacity, std::function<void()> notify)
      : selector_(std::move(sel)),
        capacity_(std::max<std::size_t>(capacity, 1)),
        inbox_capacity_(std::max(capacity_, min_inbox)),
        notify_(std::move(notify)) {}

  const vitals::stores::selector& selector() const noexcept { return selector_; }

  /// Called by the store, from the writer's thread: a hash lookup, no matching.
  void push(const sample& s) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      const auto seq = next_seq_++;
      if (auto it = verdicts_.find(s.series); it != verdicts_.end()) {
        if (!it->second) return;
        if (q_.size() >= capacity_) {
          q_.pop_front();
          dropped_.fetch_add(1, std::memory_order_relaxed);
        }
        q_.push_back({s, seq});
      } else {
        if (inbox_.size() >= inbox_capacity_) {
          note_inbox_drop(inbox_.front().s.series);
          inbox_.pop_front();
        }
        inbox_.push_back({s, seq});
      }
    }
    if (notify_) notify_();
  }

  /// Takes everything buffered so far, in arrival order, at most `capacity`
  /// samples (older ones are counted as dropped). Classifies the new series
  /// here, on the caller's thread.
  std::vector<sample> drain() {
    std::lock_guard drain_lock(drain_mu_);
    std::deque<entry> known, inbox;
    std::unordered_map<series, std::uint64_t, series_hasher> inbox_drops;
    {
      std::lock_guard lock(mu_);
      known.swap(q_);
      inbox.swap(inbox_);
      inbox_drops.swap(pending_drops_);
    }
    // Only this function writes verdicts_ (under mu_, and drains are
    // serialised), so reading it here without mu_ is safe.
    std::unordered_map<series, bool, series_hasher> fresh;
    const auto verdict = [&](const series& id) {
      if (auto it = verdicts_.find(id); it != verdicts_.end()) return it->second;
      auto [it, inserted] = fresh.try_emplace(id, false);
      if (inserted) {
        it->second = selector_.matches(id);
        classified_.fetch_add(1, std::memory_order_relaxed);
      }
      return it->second;
    };
    std::uint64_t lost = 0;
    for (const auto& [id, n] : inbox_drops)
      if (verdict(id)) lost += n;
    std::vector<entry> merged;
    merged.reserve(known.size() + inbox.size());
    for (auto& e : inbox)
      if (verdict(e.s.series)) merged.push_back(std::move(e));
    // Both deques are in arrival order: merge them back into one.
    const auto middle = merged.size();
    std::move(known.begin(), known.end(), std::back_inserter(merged));
    std::inplace_merge(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(middle),
                       merged.end(), [](const entry& a, const entry& b) { return a.seq < b.seq; });
    std::size_t skip = 0;
    if (merged.size() > capacity_) skip = merged.size() - capacity_, lost += skip;
    if (lost) dropped_.fetch_add(lost, std::memory_order_relaxed);
    if (!fresh.empty()) {
      std::lock_guard lock(mu_);
      for (auto& [id, v] : fresh) {
        if (verdicts_.size() >= max_verdicts) break;  // beyond: classified again next drain
        verdicts_.emplace(id, v);
      }
    }
    std::vector<sample> out;
    out.reserve(merged.size() - skip);
    for (auto it = merged.begin() + static_cast<std::ptrdiff_t>(skip); it != merged.end(); ++it)
      out.push_back(std::move(it->s));
    return out;
  }

  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return q_.size() + inbox_.size();
  }
  /// Samples lost by this subscriber, as of its last drain().
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  /// Series this subscriber's selector has been run on: each once while the
  /// verdict cache has room, always on the subscriber's side.
  std::uint64_t classified() const noexcept { return classified_.load(std::memory_order_relaxed); }

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  struct entry {
    sample s;
    std::uint64_t seq;
  };

  // An unclassified sample pushed out of the inbox is counted against its
  // series and resolved at the next drain; past the bound it is counted as
  // dropped outright (it may not have matched: an over-count, never a silent loss).
  void note_inbox_drop(const series& id) {
    if (auto it = pending_drops_.find(id); it != pending_drops_.end()) {
      ++it->second;
    } else if (pending_drops_.size() < max_pending_drops) {
      pending_drops_.emplace(id, 1);
    } else {
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  vitals::stores::selector selector_;
  std::size_t capacity_, inbox_capacity_;
  std::function<void()> notify_;
  mutable std::mutex mu_;
  std::deque<entry> q_;      // samples of series known to match
  std::deque<entry> inbox_;  // samples of series not yet classified
  std::unordered_map<series, bool, series_hasher> verdicts_;
  std::unordered_map<series, std::uint64_t, series_hasher> pending_drops_;
  std::uint64_t next_seq_ = 0;
  bool closed_ = false;
  std::mutex drain_mu_;
  std::atomic<std::uint64_t> dropped_{0}, classified_{0};
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
  std::uint64_t classified() const { return q_ ? q_->classified() : 0; }
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

  /// Cheap when nobody watches: one relaxed load. Runs no selector: each
  /// subscriber classifies its new series itself (see watch_queue).
  void publish(std::span<const sample> batch) {
    if (active_.load(std::memory_order_relaxed) == 0) return;
    std::vector<std::shared_ptr<watch_queue>> subs;
    {
      std::lock_guard lock(mu_);
      subs = subs_;
    }
    for (const auto& q : subs)
      for (const auto& s : batch) q->push(s);
  }

  std::size_t size() const noexcept { return active_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<watch_queue>> subs_;
  std::atomic<std::size_t> active_{0};
};

}  // namespace vitals::stores
