// Time in vitals: wall-clock instants at millisecond resolution, the unit that
// Prometheus, OpenMetrics and the HTTP API all exchange.
#pragma once

#include <chrono>
#include <cstdint>

namespace vitals {

using clock = std::chrono::system_clock;
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

/// The current wall-clock time, truncated to milliseconds.
inline timestamp now() noexcept {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(clock::now());
}

/// Milliseconds since the Unix epoch, the wire form of a timestamp.
constexpr std::int64_t to_unix_ms(timestamp t) noexcept { return t.time_since_epoch().count(); }

constexpr timestamp from_unix_ms(std::int64_t ms) noexcept {
  return timestamp{std::chrono::milliseconds{ms}};
}

/// Seconds since the Unix epoch as a double (OpenMetrics timestamps, `_created`).
constexpr double to_unix_seconds(timestamp t) noexcept {
  return static_cast<double>(to_unix_ms(t)) / 1000.0;
}

}  // namespace vitals
