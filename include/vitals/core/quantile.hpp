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

}  // namespace vitals
