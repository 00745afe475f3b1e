// Query strings and the values the API takes in them: percent-decoding,
// unknown or repeated parameters reported by name, and times given as
// RFC 3339, unix seconds, `now` or `now-<duration>`.
#pragma once

#include <charconv>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/time.hpp"

namespace vitals::http {

/// A parameter the request got wrong; the API answers 400 naming it.
struct param_error {
  std::string name;
  std::string message;
};

namespace detail {

inline int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace detail

/// `%XX` and `+` (a space, as HTML forms send it) decoded; nullopt for a
/// malformed escape.
inline std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = detail::hex_digit(s[i + 1]), lo = detail::hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

/// The path of a request target, without its query.
constexpr std::string_view path_of(std::string_view target) noexcept {
  return target.substr(0, target.find('?'));
}

/// The decoded parameters of a request target. `access_token` is taken out
/// here: it is the server's business, never a route's.
class params {
 public:
  static std::variant<params, param_error> parse(std::string_view target) {
    params p;
    const auto q = target.find('?');
    if (q == std::string_view::npos) return p;
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      auto name = percent_decode(pair.substr(0, eq));
      auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
      if (!name || !value)
        return param_error{name.value_or(std::string(pair.substr(0, eq))),
                           "malformed percent-encoding"};
      if (*name == "access_token") {
        p.token_ = std::move(*value);
        continue;
      }
      p.items_.emplace_back(std::move(*name), std::move(*value));
    }
    return p;
  }

  /// The first parameter not in `allowed`, or given twice.
  std::optional<param_error> check(std::initializer_list<std::string_view> allowed) const {
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const auto& name = items_[i].first;
      bool known = false;
      for (auto a : allowed) known = known || a == name;
      if (!known) return param_error{name, "unknown parameter '" + name + "'"};
      for (std::size_t j = 0; j < i; ++j)
        if (items_[j].first == name)
          return param_error{name, "parameter '" + name + "' given twice"};
    }
    return std::nullopt;
  }

  std::optional<std::string_view> get(std::string_view name) const {
    for (const auto& [k, v] : items_)
      if (k == name) return std::string_view(v);
    return std::nullopt;
  }

  const std::optional<std::string>& access_token() const noexcept { return token_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
  std::optional<std::string> token_;
};

/// RFC 3339, unix seconds (with an optional fraction), `now`, or
/// `now-<duration>`. Whatever the form, a time outside [min_time, max_time]
/// (1970 to 2200, core/time.hpp) is refused before any arithmetic.
inline result<timestamp> parse_time(std::string_view s, timestamp now) {
  auto bad = [&] {
    return error(errc::invalid_argument,
                 "invalid time '" + std::string(s.substr(0, 64)) +
                     "': expected RFC 3339 (2026-11-26T10:00:00Z), unix seconds, now or now-15m");
  };
  auto out_of_range = [&] {
    return error(errc::invalid_argument,
                 "time '" + std::string(s.substr(0, 64)) + "' is outside the years 1970 to 2200");
  };
  now = clamp_time(now);
  if (s == "now") return now;
  if (s.starts_with("now-")) {
    auto d = vitals::parse_duration(s.substr(4));
    if (!d) return error(errc::invalid_argument, d.error().message);
    if (*d > now - min_time) return out_of_range();  // both bounded: no overflow
    return now - *d;
  }
  if (s.size() >= 20 && s[4] == '-') {
    if (auto t = parse_rfc3339(s)) return *t;
    return error(errc::invalid_argument, "invalid or out-of-range time '" +
                                             std::string(s.substr(0, 64)) +
                                             "': RFC 3339 from 1970 to 2200");
  }
  double secs = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
  if (ec == std::errc::result_out_of_range) return out_of_range();
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(secs)) return bad();
  if (secs < 0 || secs > double(max_unix_ms) / 1000.0) return out_of_range();
  return from_unix_ms(static_cast<std::int64_t>(std::llround(secs * 1000.0)));
}

}  // namespace vitals::http
