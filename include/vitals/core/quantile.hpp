// Quantile estimates from cumulative histogram buckets.
//
// The estimate interpolates linearly inside the bucket that holds the rank,
// as Prometheus' histogram_quantile does. Error bound: the true quantile lies
// in the same bucket, so |estimate - true| <= (upper - lower) of that bucket,
// and the estimate is exact when observations are spread evenly within it.
// The lowest bucket's lower edge is 0 when its bound is positive; a rank in
// the +Inf bucket answers the highest finite bound (nothing better is known).
#pragma once

#include <cmath>
#include <limits>
#include <span>

#include "vitals/core/snapshot.hpp"

namespace vitals {

/// q in [0, 1]; NaN when there are no observations or q is out of range.
inline double estimate_quantile(double q, std::span<const bucket> cumulative) noexcept {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (!(q >= 0 && q <= 1) || cumulative.empty()) return nan;
  const double total = cumulative.back().count;
  if (total <= 0) return nan;
  const double rank = q * total;
  std::size_t i = 0;
  while (i + 1 < cumulative.size() && cumulative[i].count < rank) ++i;
  if (std::isinf(cumulative[i].le)) {
    // Above every finite bound: the best answer is the highest finite bound.
    return i > 0 ? cumulative[i - 1].le : nan;
  }
  const double upper = cumulative[i].le;
  double lower = i > 0 ? cumulative[i - 1].le : (upper > 0 ? 0.0 : upper);
  const double below = i > 0 ? cumulative[i - 1].count : 0.0;
  const double in_bucket = cumulative[i].count - below;
  if (in_bucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / in_bucket);
}

/// q in [0, 1]; NaN when there are no observations or q is out of range.
inline double estimate_native_quantile(double q, const native_buckets& b) noexcept {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (!(q >= 0 && q <= 1)) return nan;
  double total = static_cast<double>(b.zero_count);
  for (const auto& e : b.positive) total += static_cast<double>(e.count);
  for (const auto& e : b.negative) total += static_cast<double>(e.count);
  if (total <= 0) return nan;
  const double rank = q * total;
  const double width = std::exp2(-static_cast<double>(b.schema));  // log2 of base
  double below = 0;
  // Ascending values: negative buckets from the highest index down, the zero
  // bucket, positive buckets from the lowest index up.
  for (auto it = b.negative.rbegin(); it != b.negative.rend(); ++it) {
    const double n = static_cast<double>(it->count);
    if (n > 0 && below + n >= rank)
      return -std::exp2((it->index - (rank - below) / n) * width);  // from -base^i up
    below += n;
  }
  if (const double n = static_cast<double>(b.zero_count); n > 0 && below + n >= rank) {
    const double lower = b.negative.empty() ? 0 : -b.zero_threshold;
    return lower + (b.zero_threshold - lower) * ((rank - below) / n);
  }
  below += static_cast<double>(b.zero_count);
  for (const auto& e : b.positive) {
    const double n = static_cast<double>(e.count);
    if (n > 0 && below + n >= rank)
      return std::exp2((e.index - 1 + (rank - below) / n) * width);  // from base^(i-1) up
    below += n;
  }
  // Rounding left the rank past the last bucket: its upper bound.
  if (!b.positive.empty()) return std::exp2(b.positive.back().index * width);
  return b.zero_count > 0 ? b.zero_threshold : -std::exp2((b.negative.front().index - 1) * width);
}

}  // namespace vitals
