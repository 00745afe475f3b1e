// The null sink: accepts everything, keeps nothing but a count. The smallest
// sink there is, and the test fake of the pipeline.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "vitals/core/concepts.hpp"

namespace vitals::sinks {

class null_sink {
 public:
  status write(std::span<const sample> batch) {
    samples_.fetch_add(batch.size(), std::memory_order_relaxed);
    return {};
  }
  status flush() { return {}; }
  std::uint64_t samples() const noexcept { return samples_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> samples_{0};
};

static_assert(sink<null_sink>);

}  // namespace vitals::sinks
