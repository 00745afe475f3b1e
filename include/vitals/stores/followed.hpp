// A store as other processes write it, read only: a view over a database
// that a fleet of monitors shares. Every read goes to the store; appends are
// refused (a view writes nothing); `poll()` publishes to watchers the points
// stored since the last poll, so live views (SSE) follow the database and
// not only what this process wrote. Call `poll()` periodically. A store with
// `since(after, per_series)` (the PostgreSQL store: one query, an index probe
// per series) is asked for the points stamped after the previous poll's
// time less `grace`: a point stored later than that after its own time (a
// spool replayed) is in the store but not in the live stream. Other stores:
// one `latest_all()` plus one `range()` per series that moved. Its
// `version()` moves at each poll that finds news, so /metrics renders the
// fleet's series once per poll however often it is scraped.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/latest.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/watch.hpp"

namespace vitals::stores {

template <store Store>
class followed {
 public:
  /// `max_series`: series whose progress is remembered between polls; a
  /// series beyond it is not followed (counted in `unfollowed()`).
  explicit followed(Store& s, std::size_t max_series = watch_hub::default_max_series,
                    std::chrono::milliseconds grace = std::chrono::seconds(10))
      : store_(s), max_series_(max_series), grace_(grace) {}

  /// Refused: a view stores nothing.
  status append(std::span<const sample>) {
    return error(errc::invalid_argument, "read-only view: samples are not stored here");
  }

  std::optional<point> latest(const series& id) { return store_.latest(id); }
  std::vector<point> range(const series& id, timestamp from, timestamp to) {
    return store_.range(id, from, to);
  }
  std::vector<series> list_series() { return store_.list_series(); }

  std::vector<std::pair<series, point>> latest_all() requires latest_all_store<Store> {
    return store_.latest_all();
  }

  result<std::vector<point>> range_aggregated(const series& id, const range_query& q,
                                              std::chrono::milliseconds step) requires
      aggregating_store<Store, range_query> {
    return store_.range_aggregated(id, q, step);
  }

  /// Refused like append: dropping would write.
  result<std::size_t> drop_labelled(std::string_view, std::string_view) {
    return error(errc::invalid_argument, "read-only view: nothing is dropped here");
  }

  auto watch(selector sel, std::function<void()> notify, std::size_t capacity) {
    return watchers_.subscribe(std::move(sel), capacity, std::move(notify));
  }

  /// Publishes the points stored since the last call to the watchers, in
  /// time order per series; the first call only notes where each series is.
  /// Returns how many points it published.
  std::size_t poll() {
    std::lock_guard lock(mu_);
    sample_batch fresh;
    if constexpr (requires { store_.since(timestamp{}, std::size_t{}); }) {
      const timestamp wall = vitals::now();
      for (auto& p : store_.since(last_wall_ - grace_, per_poll)) {
        auto it = seen_.find(p.series);
        if (it == seen_.end()) {
          if (seen_.size() >= max_series_) {
            ++unfollowed_;
            continue;
          }
          it = seen_.emplace(p.series, timestamp::min()).first;
        } else if (p.t <= it->second) {
          continue;
        }
        it->second = p.t;
        if (primed_) fresh.push_back(std::move(p));
      }
      last_wall_ = wall;
    } else {
      collect_moved(fresh);
    }
    if (!primed_ || !fresh.empty()) version_.fetch_add(1, std::memory_order_release);
    primed_ = true;
    watchers_.publish(fresh);
    published_ += fresh.size();
    return fresh.size();
  }

  /// Moves at the first poll and at each that finds points (versioned_store):
  /// what latest_all() returns may have changed only then, as far as this
  /// view can tell. A drop or prune by another process shows from the next
  /// poll that finds news.
  /// Not under the poll's lock: a scrape does not wait for a poll's query.
  std::uint64_t version() const requires latest_all_store<Store> {
    return version_.load(std::memory_order_acquire);
  }

  /// Points published by poll() so far.
  std::uint64_t published() const {
    std::lock_guard lock(mu_);
    return published_;
  }
  /// Points (with since()) or series (without) beyond `max_series`, not followed.
  std::uint64_t unfollowed() const {
    std::lock_guard lock(mu_);
    return unfollowed_;
  }

  Store& underlying() noexcept { return store_; }

 private:
  static constexpr std::size_t per_poll = 10'000;  // points per series and poll, at most

  // Without since(): the latest point of every series, and the range of
  // each that moved since the last poll.
  void collect_moved(sample_batch& fresh) {
    auto now = stores::latest_points(store_);
    for (auto& [id, p] : now) {
      auto it = seen_.find(id);
      if (it == seen_.end()) {
        if (seen_.size() >= max_series_) {
          ++unfollowed_;
          continue;
        }
        seen_.emplace(id, p.t);
        if (primed_) fresh.push_back({id, p.t, p.value});  // a new series: its latest point
        continue;
      }
      if (p.t <= it->second) continue;
      for (const auto& q : store_.range(id, it->second + std::chrono::milliseconds(1), p.t))
        fresh.push_back({id, q.t, q.value});
      it->second = p.t;
    }
  }

  Store& store_;
  std::size_t max_series_;
  std::chrono::milliseconds grace_;
  timestamp last_wall_ = vitals::now();
  watch_hub watchers_;
  mutable std::mutex mu_;  // one poll at a time
  std::unordered_map<series, timestamp, series_hasher> seen_;
  bool primed_ = false;
  std::uint64_t published_ = 0, unfollowed_ = 0;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace vitals::stores
