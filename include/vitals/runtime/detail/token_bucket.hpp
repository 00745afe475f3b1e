// The hub's rate limit (runtime/hub.hpp): a token bucket refilled from a
// coarse monotonic clock that the caller reads outside its lock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <time.h>

namespace vitals::detail {

/// The token bucket's clock, read once per publish: monotonic nanoseconds, from
/// the coarse clock where there is one (Linux: ticks of a few ms, a third of
/// the precise clock's cost), which is plenty to meter a rate.
inline std::int64_t bucket_clock_ns() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#else
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
#endif
}

/// A classic token bucket, refilled from the caller's clock reading (of
/// bucket_clock_ns). Times read before the caller's lock may arrive out of
/// order; an older one adds nothing. Not thread-safe: the caller locks.
class token_bucket {
 public:
  token_bucket(double rate_per_second, double burst, std::int64_t now_ns)
      : rate_(rate_per_second), burst_(burst), tokens_(burst), refilled_(now_ns) {}

  bool take(std::int64_t t) {
    if (t > refilled_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * double(t - refilled_) * 1e-9);
      refilled_ = t;
    }
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_, burst_;
  double tokens_;
  std::int64_t refilled_;  // bucket_clock_ns() of the last refill
};

}  // namespace vitals::detail
