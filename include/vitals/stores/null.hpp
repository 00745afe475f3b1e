// The null store: takes every batch, keeps nothing but a count, answers every
// query empty. For a server whose /metrics shows its registry only (the
// minimal exporter) and the test fake of anything that needs a store.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"

namespace vitals::stores {

class null_store {
 public:
  status append(std::span<const sample> batch) {
    samples_.fetch_add(batch.size(), std::memory_order_relaxed);
    return {};
  }
  std::optional<point> latest(const series&) { return std::nullopt; }
  std::vector<point> range(const series&, timestamp, timestamp) { return {}; }
  std::vector<series> list_series() { return {}; }
  std::vector<std::pair<series, point>> latest_all() { return {}; }

  /// Every query answers empty, always: a reader may skip asking (/metrics
  /// then compiles no store-families code for it, http/metrics_route.hpp).
  static constexpr bool always_empty = true;

  /// Samples taken (and dropped) so far.
  std::uint64_t samples() const noexcept { return samples_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> samples_{0};
};

static_assert(store<null_store>);
static_assert(latest_all_store<null_store>);

}  // namespace vitals::stores
