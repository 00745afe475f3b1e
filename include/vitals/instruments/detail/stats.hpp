// Process-wide counts of writes the instruments refused. They are rare, so a
// shared atomic is fine here; the registry exposes them as metrics.
#pragma once

#include <atomic>
#include <cstdint>

namespace vitals::detail {

struct instrument_stats {
  std::atomic<std::uint64_t> negative_counter_adds{0};
  std::atomic<std::uint64_t> nan_observations{0};
  std::atomic<std::uint64_t> dropped_exemplars{0};  // invalid labels, or a concurrent writer
  // An exponential histogram could not grow its window (out of memory or cells).
  std::atomic<std::uint64_t> lost_observations{0};

  static instrument_stats& get() noexcept {
    static instrument_stats s;
    return s;
  }
};

}  // namespace vitals::detail
