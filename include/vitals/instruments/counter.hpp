// A monotonic counter. Increments touch only this thread's cell (see
// detail/cells.hpp), so threads never contend; reading sums all cells. An
// increment may carry an exemplar (detail/exemplar_cell.hpp).
#pragma once

#include <cstdint>

#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/detail/cells.hpp"
#include "vitals/instruments/detail/exemplar_cell.hpp"
#include "vitals/instruments/detail/stats.hpp"

namespace vitals {

class counter {
 public:
  static constexpr metric_type type = metric_type::counter;
  struct config {};

  counter() : created_(to_unix_seconds(now())) {}
  explicit counter(const config&) : counter() {}

  void inc() noexcept { detail::add_u64(cells_.id(), 1); }
  void inc(std::uint64_t n) noexcept { detail::add_u64(cells_.id(), n); }

  /// Adds a non-negative amount. A negative or NaN amount would break
  /// monotonicity: it is refused, counted, and `false` is returned.
  bool add(double v) noexcept {
    if (!(v >= 0)) [[unlikely]] {
      detail::instrument_stats::get().negative_counter_adds.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    detail::add_f64(cells_.id() + 1, v);
    return true;
  }

  /// With an exemplar (a traced increment; the last one wins): costs a
  /// sequence-locked copy of the labels on top of the increment, and one
  /// allocation on the counter's first exemplar. Labels that are invalid
  /// or longer than 128 characters drop the exemplar (counted), never the
  /// increment.
  void inc(exemplar_labels ex) noexcept {
    inc();
    exemplars_.store(0, 1, 1, ex);
  }
  bool add(double v, exemplar_labels ex) noexcept {
    if (!add(v)) return false;
    exemplars_.store(0, 1, v, ex);
    return true;
  }

  double value() const {
    std::uint64_t whole = 0;
    detail::sum_u64(cells_.id(), 1, &whole);
    return static_cast<double>(whole) + detail::sum_f64(cells_.id() + 1);
  }

  /// Unix seconds when the counter was made (OpenMetrics `_created`).
  double created() const noexcept { return created_; }

  void collect(metric_point& p) const {
    p.value = value();
    p.created = created_;
    p.exemplar = exemplars_.load(0);
  }

 private:
  detail::cell_range cells_{2};  // [0] whole increments, [1] fractional adds
  double created_;
  detail::exemplar_cells exemplars_;
};

}  // namespace vitals
