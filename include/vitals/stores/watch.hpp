// Watching a store: each subscriber gets a bounded buffer. A subscriber that
// does not keep up loses the oldest samples beyond its bound, and every lost
// sample is counted, so a slow consumer never slows the writer.
//
// The writer never runs a subscriber's selector (a regex may be costly): it
// looks the series up in the subscriber's verdict cache, filled by the
// subscriber itself. A known match is queued, a known miss skipped, and a
// series not yet classified waits in a bounded inbox until the subscriber's
// next drain() classifies it, once per series.
//
// Nor does the writer copy a series per subscriber: the hub interns each
// series once (a bounded series_table) and queues a pointer, time and value.
// Past the table's bound a sample carries one shared copy of its series,
// made once per publish and counted (watch_hub::uninterned).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "vitals/core/detail/bounded_queue.hpp"
#include "vitals/core/detail/subscriber_list.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/stores/selector.hpp"

namespace vitals::stores {

/// A sample as a watcher receives it. `series` refers to the hub's interned
/// copy, valid while the subscription (or the store) lives, or to `owned`
/// (set only past the intern table's bound), valid while this sample lives.
struct watched_sample {
  std::reference_wrapper<const vitals::series> series;
  timestamp t;
  double value = 0;
  std::shared_ptr<const vitals::series> owned;
};

class watch_queue {
 public:
  static constexpr std::size_t min_inbox = 1024;          // unclassified samples held
  static constexpr std::size_t max_verdicts = 100'000;    // series classified and cached
  static constexpr std::size_t max_pending_drops = 1024;  // series of unclassified drops

  /// What the hub hands every subscriber: `id` points into the intern table
  /// (kept alive by the queue), or into `owned` past the table's bound.
  struct item {
    const vitals::series* id = nullptr;
    timestamp t{};
    double value = 0;
    std::shared_ptr<const vitals::series> owned;
  };

  watch_queue(vitals::stores::selector sel, std::size_t capacity, std::function<void()> notify,
              std::shared_ptr<const series_table> interned = {})
      : selector_(std::move(sel)),
        q_(capacity),
        inbox_(std::max(q_.capacity(), min_inbox)),
        known_(q_.capacity()),
        unclassified_(inbox_.capacity()),
        notify_(std::move(notify)),
        interned_(std::move(interned)) {}

  const vitals::stores::selector& selector() const noexcept { return selector_; }

  /// Called by the store, from the writer's thread: one lock and a hash
  /// lookup per sample, no matching; `notify` once if anything was queued.
  void push(std::span<const item> batch) {
    bool queued = false;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      for (const auto& it : batch) {
        const auto seq = next_seq_++;
        if (!it.owned) {
          if (auto v = verdicts_.find(it.id); v != verdicts_.end()) {
            if (v->second) {
              q_.push(entry{it, seq});
              queued = true;
            }
            continue;
          }
        }
        inbox_.push(entry{it, seq}, [this](entry& e) { note_inbox_drop(e.it); });
        queued = true;
      }
    }
    if (queued && notify_) notify_();
  }

  /// Takes everything buffered so far, in arrival order, at most `capacity`
  /// samples (older ones are counted as dropped). Classifies the new series
  /// here, on the caller's thread.
  std::vector<watched_sample> drain() {
    std::lock_guard drain_lock(drain_mu_);
    series_map<pending_drop> inbox_drops;
    {
      std::lock_guard lock(mu_);
      q_.swap_items(known_);
      inbox_.swap_items(unclassified_);
      inbox_drops.swap(pending_drops_);
    }
    // Only this function writes verdicts_ (under mu_, and drains are
    // serialised), so reading it here without mu_ is safe.
    struct fresh_verdict {
      bool match = false;
      std::shared_ptr<const vitals::series> owned;  // keeps a key that is not interned alive
    };
    series_map<fresh_verdict> fresh;
    const auto verdict = [&](const vitals::series* id,
                             const std::shared_ptr<const vitals::series>& owned) {
      if (auto it = verdicts_.find(id); it != verdicts_.end()) return it->second;
      auto [it, inserted] = fresh.try_emplace(id, fresh_verdict{false, owned});
      if (inserted) {
        it->second.match = selector_.matches(*id);
        classified_.fetch_add(1, std::memory_order_relaxed);
      }
      return it->second.match;
    };
    std::uint64_t lost = 0;
    for (const auto& [id, d] : inbox_drops)
      if (verdict(id, d.owned)) lost += d.n;
    std::vector<entry> merged;
    merged.reserve(known_.size() + unclassified_.size());
    unclassified_.take_all(merged);
    std::erase_if(merged, [&](const entry& e) { return !verdict(e.it.id, e.it.owned); });
    // Both queues are in arrival order: merge them back into one.
    const auto middle = static_cast<std::ptrdiff_t>(merged.size());
    known_.take_all(merged);
    std::inplace_merge(merged.begin(), merged.begin() + middle, merged.end(),
                       [](const entry& a, const entry& b) { return a.seq < b.seq; });
    std::size_t skip = 0;
    if (merged.size() > q_.capacity()) skip = merged.size() - q_.capacity(), lost += skip;
    if (lost) resolved_drops_.fetch_add(lost, std::memory_order_relaxed);
    if (!fresh.empty()) {
      std::lock_guard lock(mu_);
      for (auto& [id, v] : fresh) {
        if (verdicts_.size() >= max_verdicts) break;  // beyond: classified again next drain
        if (!v.owned) verdicts_.emplace(id, v.match);
      }
    }
    std::vector<watched_sample> out;
    out.reserve(merged.size() - skip);
    for (auto e = merged.begin() + static_cast<std::ptrdiff_t>(skip); e != merged.end(); ++e)
      out.push_back({*e->it.id, e->it.t, e->it.value, std::move(e->it.owned)});
    return out;
  }

  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return q_.size() + inbox_.size();
  }
  /// Samples lost by this subscriber, as of its last drain().
  std::uint64_t dropped() const noexcept {
    return q_.dropped() + resolved_drops_.load(std::memory_order_relaxed);
  }
  /// Series this subscriber's selector has been run on: each once while the
  /// verdict cache has room, always on the subscriber's side.
  std::uint64_t classified() const noexcept { return classified_.load(std::memory_order_relaxed); }

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }

 private:
  struct entry {
    item it;
    std::uint64_t seq = 0;
  };
  struct pending_drop {
    std::uint64_t n = 0;
    std::shared_ptr<const vitals::series> owned;  // keeps the key alive past the table
  };
  // Keyed by the series pointed to; the same pointer (an interned series)
  // answers without comparing strings.
  struct deref_hash {
    std::size_t operator()(const vitals::series* s) const noexcept { return s->hash(); }
  };
  struct deref_eq {
    bool operator()(const vitals::series* a, const vitals::series* b) const noexcept {
      return a == b || *a == *b;
    }
  };
  template <class V>
  using series_map = std::unordered_map<const vitals::series*, V, deref_hash, deref_eq>;
  using queue = vitals::detail::bounded_queue<entry, vitals::detail::drop_policy::drop_oldest>;

  // An unclassified sample pushed out of the inbox is counted against its
  // series and resolved at the next drain; past the bound it is counted as
  // dropped outright (it may not have matched: an over-count, never a silent loss).
  void note_inbox_drop(item& it) {
    if (auto p = pending_drops_.find(it.id); p != pending_drops_.end()) {
      ++p->second.n;
    } else if (pending_drops_.size() < max_pending_drops) {
      pending_drops_.emplace(it.id, pending_drop{1, std::move(it.owned)});
    } else {
      resolved_drops_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  vitals::stores::selector selector_;
  mutable std::mutex mu_;
  queue q_;                    // samples of series known to match
  queue inbox_;                // samples of series not yet classified
  series_map<bool> verdicts_;  // interned series only: their addresses are stable
  series_map<pending_drop> pending_drops_;
  std::uint64_t next_seq_ = 0;
  bool closed_ = false;
  std::mutex drain_mu_;
  queue known_, unclassified_;  // drain()'s side of q_ and inbox_ (swapped in under mu_)
  std::function<void()> notify_;
  std::shared_ptr<const series_table> interned_;  // what the items' ids point into
  std::atomic<std::uint64_t> resolved_drops_{0}, classified_{0};
};

/// Unsubscribes when destroyed. May outlive the store's hub: it then
/// receives nothing more, and what it drains stays valid.
class subscription : public vitals::detail::subscriber_handle<watch_queue> {
 public:
  using subscriber_handle::subscriber_handle;

  std::vector<watched_sample> drain() {
    return queue() ? queue()->drain() : std::vector<watched_sample>{};
  }
  std::size_t pending() const { return queue() ? queue()->pending() : 0; }
  std::uint64_t dropped() const { return queue() ? queue()->dropped() : 0; }
  std::uint64_t classified() const { return queue() ? queue()->classified() : 0; }
};

/// The subscriber list a store keeps, and the table that interns the series
/// its subscribers are handed.
class watch_hub {
 public:
  static constexpr std::size_t default_max_series = 100'000;

  explicit watch_hub(std::size_t max_series = default_max_series)
      : table_(std::make_shared<series_table>(max_series)) {}

  subscription subscribe(selector sel, std::size_t capacity, std::function<void()> notify) {
    auto q = std::make_shared<watch_queue>(std::move(sel), capacity, std::move(notify), table_);
    subs_->add(q);
    return subscription(std::move(q), subs_);
  }

  /// Cheap when nobody watches: one relaxed load. Runs no selector: each
  /// subscriber classifies its new series itself (see watch_queue). Interns
  /// each sample's series once, whatever the number of subscribers.
  void publish(std::span<const sample> batch) {
    if (subs_->size() == 0 || batch.empty()) return;
    const auto subs = subs_->snapshot();
    std::vector<watch_queue::item> items;
    items.reserve(batch.size());
    for (const auto& s : batch) {
      if (const auto* id = table_->try_intern(s.series)) {
        items.push_back({id, s.t, s.value, nullptr});
      } else {
        auto own = std::make_shared<const vitals::series>(s.series);
        const auto* p = own.get();
        items.push_back({p, s.t, s.value, std::move(own)});
        uninterned_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    for (const auto& q : *subs) q->push(items);
  }

  std::size_t size() const noexcept { return subs_->size(); }
  /// Series interned so far (at most the bound given at construction).
  std::size_t interned() const { return table_->size(); }
  /// Samples published past the intern table's bound, each with its own copy.
  std::uint64_t uninterned() const noexcept { return uninterned_.load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<series_table> table_;
  std::shared_ptr<vitals::detail::subscriber_list<watch_queue>> subs_ =
      std::make_shared<vitals::detail::subscriber_list<watch_queue>>();
  std::atomic<std::uint64_t> uninterned_{0};
};

}  // namespace vitals::stores
