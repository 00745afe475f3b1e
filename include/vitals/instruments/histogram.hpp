// A histogram with fixed bucket bounds. An observation increments one bucket
// cell and adds to the sum cell of this thread's slot: no lock, no sharing.
// Counts are kept per bucket and made cumulative only when collected, and
// `_count` is derived from the buckets so `le="+Inf"` always equals it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "vitals/core/quantile.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/detail/cells.hpp"
#include "vitals/instruments/detail/exemplar_cell.hpp"
#include "vitals/instruments/detail/stats.hpp"

namespace vitals {

/// Bucket upper bounds (without +Inf, which is implicit).
namespace buckets {

/// The Prometheus client default, for request latencies in seconds.
inline std::vector<double> prometheus_default() {
  return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
}

/// `count` bounds: start, start*factor, start*factor^2, ...
inline std::vector<double> exponential(double start, double factor, std::size_t count) {
  if (!(start > 0) || !(factor > 1) || count == 0)
    throw std::invalid_argument("exponential buckets need start > 0, factor > 1, count > 0");
  std::vector<double> b(count);
  for (std::size_t i = 0; i < count; ++i) b[i] = start * std::pow(factor, static_cast<double>(i));
  return b;
}

/// `count` bounds: start, start+width, start+2*width, ...
inline std::vector<double> linear(double start, double width, std::size_t count) {
  if (!(width > 0) || count == 0)
    throw std::invalid_argument("linear buckets need width > 0, count > 0");
  std::vector<double> b(count);
  for (std::size_t i = 0; i < count; ++i) b[i] = start + width * static_cast<double>(i);
  return b;
}

/// Latencies in seconds from 1 ms to 10 s: the 001 seed's default buckets
/// (1, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s), finer at the low end
/// than prometheus_default() (which starts at 5 ms) for in-process calls.
inline std::vector<double> latency_1ms_to_10s() {
  return {.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
}

/// OpenTelemetry GenAI `gen_ai.client.token.usage`: 1, 4, 16, ... 67108864.
inline std::vector<double> genai_token_usage() { return exponential(1, 4, 14); }

/// OpenTelemetry GenAI `gen_ai.client.operation.duration` (seconds): 0.01 doubling to 81.92.
inline std::vector<double> genai_operation_duration() { return exponential(0.01, 2, 14); }

}  // namespace buckets

class histogram {
 public:
  static constexpr metric_type type = metric_type::histogram;

  /// Shared by every series of a family, validated once.
  struct config {
    std::shared_ptr<const std::vector<double>> bounds;

    config() : config(buckets::prometheus_default()) {}
    config(std::vector<double> b) {
      if (!b.empty() && std::isinf(b.back()) && b.back() > 0) b.pop_back();
      for (std::size_t i = 0; i < b.size(); ++i) {
        if (!std::isfinite(b[i])) throw std::invalid_argument("histogram bounds must be finite");
        if (i > 0 && !(b[i] > b[i - 1]))
          throw std::invalid_argument("histogram bounds must be strictly increasing");
      }
      bounds = std::make_shared<const std::vector<double>>(std::move(b));
    }
  };

  histogram() : histogram(config{}) {}
  explicit histogram(const config& c)
      : bounds_(c.bounds),
        b_(bounds_->data()),
        n_(bounds_->size()),
        cells_(n_ + 2),
        created_(to_unix_seconds(now())) {}

  void observe(double v) noexcept {
    if (std::isnan(v)) [[unlikely]] {
      detail::instrument_stats::get().nan_observations.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::size_t i = bucket_index(v);
    detail::add_u64(cells_.id() + i, 1);
    detail::add_f64(cells_.id() + n_ + 1, v);
  }

  /// With an exemplar, kept for the observation's bucket (the last one
  /// wins); see counter::inc(exemplar_labels) for its cost.
  void observe(double v, exemplar_labels ex) noexcept {
    if (std::isnan(v)) [[unlikely]]
      return observe(v);  // counted, not observed
    const std::size_t i = bucket_index(v);
    detail::add_u64(cells_.id() + i, 1);
    detail::add_f64(cells_.id() + n_ + 1, v);
    exemplars_.store(i, n_ + 1, v, ex);
  }

  /// Observes a duration in seconds (the unit of every `_seconds` histogram).
  template <class Rep, class Period>
  void observe_duration(std::chrono::duration<Rep, Period> d) noexcept {
    observe(std::chrono::duration<double>(d).count());
  }

  const std::vector<double>& bounds() const noexcept { return *bounds_; }

  /// Cumulative buckets ending with +Inf.
  std::vector<bucket> cumulative() const {
    std::vector<std::uint64_t> raw(n_ + 1);
    detail::sum_u64(cells_.id(), n_ + 1, raw.data());
    std::vector<bucket> out(n_ + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= n_; ++i) {
      running += raw[i];
      out[i] = {i < n_ ? b_[i] : INFINITY, static_cast<double>(running)};
    }
    return out;
  }

  double sum() const { return detail::sum_f64(cells_.id() + n_ + 1); }
  std::uint64_t count() const { return static_cast<std::uint64_t>(cumulative().back().count); }

  /// Interpolated quantile; see core/quantile.hpp for the error bound.
  double quantile(double q) const { return estimate_quantile(q, cumulative()); }

  double created() const noexcept { return created_; }

  void collect(metric_point& p) const {
    p.buckets = cumulative();
    for (std::size_t i = 0; i <= n_; ++i) p.buckets[i].exemplar = exemplars_.load(i);
    p.count = p.buckets.back().count;
    p.sum = sum();
    p.created = created_;
  }

 private:
  // Index of the first bound >= v (n_ when above all): a branch-free binary
  // search, so the cost does not depend on where observations fall.
  std::size_t bucket_index(double v) const noexcept {
    const double* base = b_;
    std::size_t len = n_;
    while (len > 0) {
      const std::size_t half = len / 2;
      const bool right = base[half] < v;
      base = right ? base + half + 1 : base;
      len = right ? len - half - 1 : half;
    }
    return static_cast<std::size_t>(base - b_);
  }

  std::shared_ptr<const std::vector<double>> bounds_;
  const double* b_;
  std::size_t n_;
  detail::cell_range cells_;  // [0, n] bucket counts (n = +Inf), [n + 1] sum
  double created_;
  detail::exemplar_cells exemplars_;  // one per bucket, on the first exemplar
};

}  // namespace vitals
