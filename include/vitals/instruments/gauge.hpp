// A gauge: a value that goes up and down. `set` is a single relaxed store;
// `add` is a compare-and-swap loop, as a gauge has one value, not a sum.
#pragma once

#include <atomic>

#include "vitals/core/snapshot.hpp"

namespace vitals {

class gauge {
 public:
  static constexpr metric_type type = metric_type::gauge;
  struct config {};

  gauge() = default;
  explicit gauge(const config&) {}

  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  void sub(double d) noexcept { v_.fetch_sub(d, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  void set_to_current_time() noexcept { set(to_unix_seconds(now())); }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

  void collect(metric_point& p) const { p.value = value(); }

 private:
  std::atomic<double> v_{0};
};

}  // namespace vitals
