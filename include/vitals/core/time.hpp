// Time in vitals: wall-clock instants at millisecond resolution, the unit that
// Prometheus, OpenMetrics and the HTTP API all exchange.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "vitals/core/error.hpp"

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

/// The instants vitals accepts from outside: 1970-01-01T00:00:00Z up to
/// 2200-01-01T00:00:00Z. Every time read from input (query parameters,
/// scraped or pushed timestamps, event times) is refused or clamped to this
/// range before it meets arithmetic, so differences and sums of two such
/// times never overflow.
inline constexpr std::int64_t min_unix_ms = 0;
inline constexpr std::int64_t max_unix_ms = 7'258'118'400'000;  // 2200-01-01T00:00:00Z
inline constexpr timestamp min_time = from_unix_ms(min_unix_ms);
inline constexpr timestamp max_time = from_unix_ms(max_unix_ms);

constexpr bool in_time_range(timestamp t) noexcept { return t >= min_time && t <= max_time; }
constexpr bool in_time_range_ms(std::int64_t ms) noexcept {
  return ms >= min_unix_ms && ms <= max_unix_ms;
}

/// `ms` as a timestamp when it lies in [min_time, max_time], else nullopt.
constexpr std::optional<timestamp> checked_from_unix_ms(std::int64_t ms) noexcept {
  if (!in_time_range_ms(ms)) return std::nullopt;
  return from_unix_ms(ms);
}

/// `t` moved into [min_time, max_time].
constexpr timestamp clamp_time(timestamp t) noexcept {
  return t < min_time ? min_time : t > max_time ? max_time : t;
}

/// The longest duration anything takes: the whole accepted time range
/// (1970 to 2200), so a time minus a duration stays in int64.
inline constexpr std::chrono::milliseconds max_duration{max_unix_ms - min_unix_ms};

/// `<positive integer><unit>` with unit ms, s, m, h or d ("10s", "5m", "7d"),
/// at most max_duration: query parameters, flags and target intervals.
inline result<std::chrono::milliseconds> parse_duration(std::string_view s) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  const std::string_view unit(end, static_cast<std::size_t>(s.data() + s.size() - end));
  auto bad = [&] {
    return error(errc::invalid_argument, "invalid duration '" + std::string(s) +
                                             "': expected a positive integer and a unit "
                                             "(ms, s, m, h, d), such as 10s, 5m, 1h, 7d");
  };
  if (ec != std::errc{} || end == s.data() || n <= 0) return bad();
  std::int64_t ms_per = 0;
  if (unit == "ms")
    ms_per = 1;
  else if (unit == "s")
    ms_per = 1000;
  else if (unit == "m")
    ms_per = 60'000;
  else if (unit == "h")
    ms_per = 3'600'000;
  else if (unit == "d")
    ms_per = 86'400'000;
  else
    return bad();
  if (n > max_duration.count() / ms_per)
    return error(errc::invalid_argument,
                 "duration '" + std::string(s) + "' is too long (at most 84006d)");
  return std::chrono::milliseconds{n * ms_per};
}

/// Seconds since the Unix epoch as a double (OpenMetrics timestamps, `_created`).
constexpr double to_unix_seconds(timestamp t) noexcept {
  return static_cast<double>(to_unix_ms(t)) / 1000.0;
}

namespace detail {

inline bool rfc3339_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace detail

/// `YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)`; 't' and ' ' also separate.
/// A time outside [min_time, max_time] is refused (nullopt).
inline std::optional<timestamp> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  using detail::rfc3339_digits;
  int y, mo, d, h, mi, sec;
  if (!rfc3339_digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !rfc3339_digits(s, 5, 2, mo) ||
      s[7] != '-' || !rfc3339_digits(s, 8, 2, d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !rfc3339_digits(s, 11, 2, h) ||
      s[13] != ':' || !rfc3339_digits(s, 14, 2, mi) || s[16] != ':' ||
      !rfc3339_digits(s, 17, 2, sec))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t ms = 0;
  if (s[pos] == '.') {
    std::size_t n = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++n)
      if (n < 3) ms = ms * 10 + (s[pos] - '0');
    if (n == 0) return std::nullopt;
    for (; n < 3; ++n) ms *= 10;
  }
  std::int64_t offset_min = 0;
  const std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh, om;
    if (!rfc3339_digits(zone, 1, 2, oh) || !rfc3339_digits(zone, 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = (zone[0] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (y < 1969 || y > 2200) return std::nullopt;  // 1969: a negative offset can reach 1970
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{ms} -
                 minutes{offset_min};
  const auto out = time_point_cast<milliseconds>(t);
  if (!in_time_range(out)) return std::nullopt;
  return out;
}

/// `2026-11-26T10:00:00.250Z`: UTC with milliseconds, the form vitals writes.
inline std::string to_rfc3339(timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                              int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()),
                              int(hms.hours().count()), int(hms.minutes().count()),
                              int(hms.seconds().count()), int(hms.subseconds().count()));
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace vitals
