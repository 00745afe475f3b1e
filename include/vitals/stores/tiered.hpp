// Two stores as one: every sample goes to both; reads come from the hot
// tier (a memory ring: recent, fast, watchable) when it still holds the
// start of the window, else from the cold tier (SQLite: everything). An
// append refused by the cold tier is refused as a whole, so the caller can
// spool it: the cold tier is the one that must not lose samples.
#pragma once

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_set>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/watch.hpp"

namespace vitals::stores {

/// `Hot` is a `hot_tier` (core/storage.hpp): it downsamples in place, says how
/// far back it reaches, and can be watched.
template <class Hot, store Cold>
requires hot_tier<Hot, range_query, selector>
class tiered {
 public:
  tiered(Hot& hot, Cold& cold) : hot_(hot), cold_(cold) {}

  status append(std::span<const sample> batch) {
    status c = cold_.append(batch);
    status h = hot_.append(batch);
    return c ? h : c;
  }

  std::optional<point> latest(const series& id) {
    if (auto p = hot_.latest(id)) return p;
    return cold_.latest(id);
  }

  /// Every series' latest point: the hot tier's where it has one (it is
  /// newer), the cold tier's for series only the cold tier holds. Every
  /// append reaches the hot tier too, so a series only the cold tier holds
  /// was last written before this process started and its latest point is
  /// frozen: the cold tier is read once, not on every /metrics request, and
  /// again only after a prune or a drop changed it.
  std::vector<std::pair<series, point>> latest_all() {
    auto out = latest_points(hot_);
    std::unordered_set<series, series_hasher> hot;
    hot.reserve(out.size());
    for (const auto& [id, _] : out) hot.insert(id);
    std::lock_guard lock(cold_latest_mu_);
    if (!cold_latest_) cold_latest_ = latest_points(cold_);
    for (const auto& e : *cold_latest_)
      if (!hot.contains(e.first)) out.push_back(e);
    return out;
  }

  /// versioned_store when the hot tier is: the hot tier's version plus one
  /// for each time the cold tier's cached latest points were forgotten.
  std::uint64_t version() requires versioned_store<Hot> {
    return hot_.version() + cold_epoch_.load(std::memory_order_acquire);
  }

  std::vector<point> range(const series& id, timestamp from, timestamp to) {
    return covers(id, from) ? hot_.range(id, from, to) : cold_.range(id, from, to);
  }

  std::vector<series> list_series() {
    auto out = cold_.list_series();
    auto hot = hot_.list_series();
    out.insert(out.end(), std::make_move_iterator(hot.begin()), std::make_move_iterator(hot.end()));
    std::sort(out.begin(), out.end());  // the tiers may order differently
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  std::vector<point> downsample(const series& id, const range_query& q) {
    if (!check_range(q)) return {};  // query_range reports why
    if (covers(id, query_start(q))) return hot_.downsample(id, q);
    return stores::downsample(cold_.range(id, query_start(q), q.to), q);
  }

  result<std::vector<point>> range_aggregated(const series& id, const range_query& q,
                                              duration step) {
    if (auto st = check_range(q, step); !st) return st.error();
    if (covers(id, q.from)) return hot_.downsample(id, q);
    if constexpr (aggregating_store<Cold, range_query>)
      return cold_.range_aggregated(id, q, step);
    else
      return stores::downsample(cold_.range(id, q.from, q.to), q);
  }

  /// Forgets a series in both tiers; true when either held it.
  bool drop(const series& id) {
    const bool c = cold_.drop(id);
    const bool h = hot_.drop(id);
    forget_cold_latest();  // after the tiers changed, so nothing reads them in between
    return c || h;
  }

  /// Forgets every series labelled `name`=`value` in both tiers (each must
  /// be a label_dropping_store); returns the series forgotten, as the tier
  /// that held more of them counts (every append reaches both). The cold
  /// tier's error, when it fails, after the hot tier forgot them anyway.
  result<std::size_t> drop_labelled(std::string_view name, std::string_view value) requires
      label_dropping_store<Hot> && label_dropping_store<Cold> {
    auto c = cold_.drop_labelled(name, value);
    auto h = hot_.drop_labelled(name, value);
    forget_cold_latest();  // after the tiers changed, so nothing reads them in between
    if (!c) return c.error();
    if (!h) return h.error();
    return std::max(*c, *h);
  }

  /// Prunes both tiers where they can (samples before `cutoff`); returns
  /// what the cold tier deleted.
  result<std::int64_t> prune_before(timestamp cutoff) {
    if constexpr (requires { hot_.prune_before(cutoff); }) (void)hot_.prune_before(cutoff);
    result<std::int64_t> pruned = std::int64_t{0};
    if constexpr (requires { cold_.prune_before(cutoff); }) pruned = cold_.prune_before(cutoff);
    forget_cold_latest();  // after the tiers changed, so nothing reads them in between
    return pruned;
  }

  /// The hot tier's subscription: every sample reaches the hot tier.
  auto watch(selector sel, std::function<void()> notify, std::size_t capacity) {
    return hot_.watch(std::move(sel), std::move(notify), capacity);
  }

  Hot& hot() noexcept { return hot_; }
  Cold& cold() noexcept { return cold_; }

 private:
  void forget_cold_latest() {
    std::lock_guard lock(cold_latest_mu_);
    cold_latest_.reset();
    cold_epoch_.fetch_add(1, std::memory_order_release);
  }
  bool covers(const series& id, timestamp from) const {
    const auto first = hot_.earliest(id);
    return first && *first <= from;
  }

  Hot& hot_;
  std::mutex cold_latest_mu_;
  std::optional<std::vector<std::pair<series, point>>> cold_latest_;  // read once, see latest_all
  std::atomic<std::uint64_t> cold_epoch_{0};
  Cold& cold_;
};

}  // namespace vitals::stores
