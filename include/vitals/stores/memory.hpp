// The in-memory store: a time-ordered ring per series (60480 samples by
// default: 7 days at 10 s), oldest overwritten. Out-of-order and duplicate
// timestamps: a sample at the series' latest time replaces that value (a
// re-sent sample is idempotent); an older sample is dropped and counted, so
// every ring stays sorted and range reads are binary searches.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/detail/ring.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/watch.hpp"

namespace vitals::stores {

struct memory_options {
  std::size_t capacity = 60480;   // samples kept per series
  std::size_t watch_buffer = 64;  // per subscriber
  bool compress = false;          // keep closed chunks Gorilla-compressed
  // Series interned for watchers (stores/watch.hpp); past it, a watched
  // sample carries its own copy, counted in watchers().uninterned().
  std::size_t watch_series = watch_hub::default_max_series;
};

struct memory_stats {
  std::uint64_t appended = 0;
  std::uint64_t replaced = 0;      // same timestamp as the latest: value replaced
  std::uint64_t out_of_order = 0;  // older than the latest: dropped
  std::uint64_t overwritten = 0;   // evicted by the ring's capacity (live series)
};

class memory_store {
 public:
  memory_store() : memory_store(memory_options{}) {}
  explicit memory_store(memory_options o) : opts_(o), watchers_(o.watch_series) {}

  status append(std::span<const sample> batch) {
    std::uint64_t counts[3] = {};
    {
      std::unique_lock lock(mu_);
      const series* last_id = nullptr;
      detail::ring* r = nullptr;
      for (const auto& s : batch) {
        if (!last_id || !(*last_id == s.series)) {  // batches often repeat a series
          r = &ring_for(s.series);
          last_id = &s.series;
        }
        ++counts[static_cast<int>(r->push(s.t, s.value))];
      }
    }
    appended_.fetch_add(counts[0], std::memory_order_relaxed);
    replaced_.fetch_add(counts[1], std::memory_order_relaxed);
    out_of_order_.fetch_add(counts[2], std::memory_order_relaxed);
    if (!batch.empty()) version_.fetch_add(1, std::memory_order_release);
    watchers_.publish(batch);
    return {};
  }

  std::optional<point> latest(const series& id) const {
    std::shared_lock lock(mu_);
    auto it = index_.find(id);
    if (it == index_.end() || it->second->empty()) return std::nullopt;
    return it->second->back();
  }

  /// The latest point of every series, in one walk of the index.
  std::vector<std::pair<series, point>> latest_all() const {
    std::shared_lock lock(mu_);
    std::vector<std::pair<series, point>> out;
    out.reserve(index_.size());
    for (const auto& [s, r] : index_)
      if (!r->empty()) out.emplace_back(s, r->back());
    return out;
  }

  /// Grows with every append, drop and prune (versioned_store): what
  /// `latest_all` returns is the same for as long as this is.
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

  /// The oldest time still held for `id`: what a tiered store asks to know
  /// whether this tier covers a window.
  std::optional<timestamp> earliest(const series& id) const {
    std::shared_lock lock(mu_);
    auto it = index_.find(id);
    if (it == index_.end() || it->second->empty()) return std::nullopt;
    return it->second->front_time();
  }

  std::vector<point> range(const series& id, timestamp from, timestamp to) const {
    std::vector<point> out;
    std::shared_lock lock(mu_);
    if (auto it = index_.find(id); it != index_.end()) it->second->read(from, to, out);
    return out;
  }

  /// Bucketing aggregations straight from the ring, without copying it.
  std::vector<point> downsample(const series& id, const range_query& q) const {
    if (!check_range(q)) return {};  // query_range reports why
    std::shared_lock lock(mu_);
    auto it = index_.find(id);
    if (it == index_.end()) return {};
    return downsample_from([&](auto&& feed) { it->second->visit(query_start(q), q.to, feed); }, q);
  }

  std::vector<series> list_series() const {
    std::shared_lock lock(mu_);
    std::vector<series> out;
    out.reserve(index_.size());
    for (const auto& [s, _] : index_) out.push_back(s);
    std::sort(out.begin(), out.end());
    return out;
  }

  /// Forgets a series and its samples (untrack). Returns whether it existed.
  bool drop(const series& id) {
    std::unique_lock lock(mu_);
    version_.fetch_add(1, std::memory_order_release);
    return index_.erase(id) > 0;
  }

  /// Forgets every series whose label `name` is `value` (a target untracked
  /// with its samples discarded). Returns the series forgotten.
  result<std::size_t> drop_labelled(std::string_view name, std::string_view value) {
    std::unique_lock lock(mu_);
    version_.fetch_add(1, std::memory_order_release);
    return std::erase_if(index_, [&](const auto& kv) {
      return !value.empty() && kv.first.labels().get(name) == value;
    });
  }

  /// Forgets every series whose latest sample is older than `cutoff` (a
  /// target gone for longer than the retention); each ring already bounds
  /// what a live series keeps. Returns the samples forgotten.
  result<std::int64_t> prune_before(timestamp cutoff) {
    std::unique_lock lock(mu_);
    version_.fetch_add(1, std::memory_order_release);
    std::int64_t n = 0;
    std::erase_if(index_, [&](const auto& kv) {
      const bool stale = kv.second->empty() || kv.second->back().t < cutoff;
      if (stale) n += static_cast<std::int64_t>(kv.second->size());
      return stale;
    });
    return n;
  }

  std::size_t drop(const selector& sel) {
    std::unique_lock lock(mu_);
    version_.fetch_add(1, std::memory_order_release);
    return std::erase_if(index_, [&](const auto& kv) { return sel.matches(kv.first); });
  }

  /// New samples matching `sel`, into a bounded buffer; `notify` (optional)
  /// is called from the writer's thread after each delivery.
  subscription watch(selector sel, std::function<void()> notify = {}) {
    return watch(std::move(sel), std::move(notify), opts_.watch_buffer);
  }
  /// As above with this subscriber's own bound (an SSE client wants more
  /// than a batch of the largest sampler).
  subscription watch(selector sel, std::function<void()> notify, std::size_t capacity) {
    return watchers_.subscribe(std::move(sel), capacity, std::move(notify));
  }

  /// The watchers and their intern table (watch_hub::interned, uninterned).
  const watch_hub& watchers() const noexcept { return watchers_; }

  memory_stats stats() const {
    std::uint64_t evicted = 0;
    {
      std::shared_lock lock(mu_);
      for (const auto& [_, r] : index_) evicted += r->evicted();
    }
    return {appended_.load(), replaced_.load(), out_of_order_.load(), evicted};
  }

  /// Bytes held by sample data (not the index): compare raw and compressed.
  std::size_t sample_bytes() const {
    std::shared_lock lock(mu_);
    std::size_t n = 0;
    for (const auto& [_, r] : index_) n += r->bytes();
    return n;
  }

  std::size_t sample_count() const {
    std::shared_lock lock(mu_);
    std::size_t n = 0;
    for (const auto& [_, r] : index_) n += r->size();
    return n;
  }

 private:
  detail::ring& ring_for(const series& id) {
    auto it = index_.find(id);
    if (it == index_.end())
      it = index_.emplace(id, std::make_unique<detail::ring>(opts_.capacity, opts_.compress)).first;
    return *it->second;
  }

  memory_options opts_;
  mutable std::shared_mutex mu_;
  std::unordered_map<series, std::unique_ptr<detail::ring>, series_hasher> index_;
  watch_hub watchers_;
  std::atomic<std::uint64_t> appended_{0}, replaced_{0}, out_of_order_{0};
  std::atomic<std::uint64_t> version_{0};
};

static_assert(hot_tier<memory_store, range_query, selector> && versioned_store<memory_store> &&
              label_dropping_store<memory_store>);

}  // namespace vitals::stores
