// Numbers on the wire, both ways. Every finite double renders in a form that
// reads back to the same value (std::to_chars shortest round-trip); timestamps
// render exactly from integer milliseconds, never through floating point.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace vitals::format::detail {

/// Room for any rendering below: the longest double is 24 characters.
inline constexpr std::size_t number_chars = 32;

inline char* copy_chars(char* p, std::string_view s) noexcept {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

inline char* render_non_finite(char* p, double v) noexcept {
  if (std::isnan(v)) return copy_chars(p, "NaN");
  return copy_chars(p, v > 0 ? "+Inf" : "-Inf");
}

/// Sample values. Integral values below 1e15 print as integers (`42`, and
/// `1000000` rather than `1e+06`): exact, and the common case for counters.
/// Negative zero keeps its sign through the general path.
inline char* render_value(char* p, double v) noexcept {
  if (!std::isfinite(v)) return render_non_finite(p, v);
  if (std::fabs(v) < 1e15 && v == std::trunc(v) && !(v == 0 && std::signbit(v)))
    return std::to_chars(p, p + number_chars, static_cast<std::int64_t>(v)).ptr;
  return std::to_chars(p, p + number_chars, v).ptr;
}

/// The `%g`-with-shortest-digits form of Go's strconv ('g', -1): fixed
/// notation for decimal exponents in [-4, 6), scientific otherwise. It is
/// what the Prometheus client libraries print for `le` and `quantile`, and
/// the base of OpenMetrics' canonical numbers.
inline char* render_g(char* p, double v) noexcept {
  if (!std::isfinite(v)) return render_non_finite(p, v);
  if (v == 0) return copy_chars(p, std::signbit(v) ? "-0" : "0");
  char sci[number_chars];
  char* end = std::to_chars(sci, sci + number_chars, v, std::chars_format::scientific).ptr;
  const char* e =
      static_cast<const char*>(std::memchr(sci, 'e', static_cast<std::size_t>(end - sci)));
  int exponent = 0;
  if (e != nullptr) {
    const char* digits = e + 1;
    const bool negative = *digits == '-';
    if (*digits == '-' || *digits == '+') ++digits;
    std::from_chars(digits, end, exponent);
    if (negative) exponent = -exponent;
  }
  if (exponent < -4 || exponent >= 6)
    return copy_chars(p, {sci, static_cast<std::size_t>(end - sci)});
  return std::to_chars(p, p + number_chars, v, std::chars_format::fixed).ptr;
}

/// OpenMetrics canonical numbers for `le` and `quantile`: render_g, with
/// `.0` added to integral values (`1.0`, `100000.0`, `1e+06`, `+Inf`).
inline char* render_canonical(char* p, double v) noexcept {
  char* end = render_g(p, v);
  if (!std::isfinite(v)) return end;
  for (char* c = p; c != end; ++c)
    if (*c == '.' || *c == 'e') return end;
  return copy_chars(end, ".0");
}

/// Unix milliseconds as OpenMetrics seconds: `1700000000`, `1700000000.5`,
/// `-1.25`. Integer arithmetic, so no millisecond is ever lost to rounding.
inline char* render_ms_as_seconds(char* p, std::int64_t ms) noexcept {
  std::uint64_t magnitude = static_cast<std::uint64_t>(ms);
  if (ms < 0) {
    *p++ = '-';
    magnitude = 0 - magnitude;
  }
  p = std::to_chars(p, p + number_chars, magnitude / 1000).ptr;
  const unsigned frac = static_cast<unsigned>(magnitude % 1000);
  if (frac != 0) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + frac / 100);
    if (frac % 100 != 0) *p++ = static_cast<char>('0' + frac / 10 % 10);
    if (frac % 10 != 0) *p++ = static_cast<char>('0' + frac % 10);
  }
  return p;
}

inline char* render_int(char* p, std::int64_t v) noexcept {
  return std::to_chars(p, p + number_chars, v).ptr;
}

/// Appends what `render` writes for `v` (one of the functions above).
template <class Render, class V>
void append_number(std::string& out, Render render, V v) {
  char buf[number_chars];
  out.append(buf, static_cast<std::size_t>(render(buf, v) - buf));
}

// --- reading -----------------------------------------------------------------

/// A float as the formats write it: decimal or exponent form, an optional
/// sign, and `NaN`, `Inf`, `+Inf`, `-Inf` (any case, as Go's ParseFloat).
/// Values out of double range are refused rather than turned into infinities.
inline std::optional<double> parse_double(std::string_view s) noexcept {
  if (s.size() > 1 && s[0] == '+') {
    if (s[1] == '+' || s[1] == '-') return std::nullopt;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

inline std::optional<std::int64_t> parse_int64(std::string_view s) noexcept {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

/// OpenMetrics seconds to Unix milliseconds. Plain decimals are converted
/// digit by digit (exact; beyond three decimals it rounds half away from
/// zero); exponent forms go through a double.
inline std::optional<std::int64_t> parse_seconds_as_ms(std::string_view s) noexcept {
  constexpr std::int64_t max_seconds = std::numeric_limits<std::int64_t>::max() / 1000 - 1;
  std::string_view body = s;
  const bool negative = !body.empty() && body[0] == '-';
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) body.remove_prefix(1);
  const std::size_t dot = body.find('.');
  const std::string_view whole = body.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : body.substr(dot + 1);
  auto all_digits = [](std::string_view d) {
    for (char c : d)
      if (c < '0' || c > '9') return false;
    return true;
  };
  if (!whole.empty() && all_digits(whole) && all_digits(frac)) {
    std::int64_t secs = 0;
    const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
    if (ec != std::errc{} || secs > max_seconds) return std::nullopt;
    std::int64_t ms = 0;
    for (std::size_t i = 0; i < 3; ++i) ms = ms * 10 + (i < frac.size() ? frac[i] - '0' : 0);
    if (frac.size() > 3 && frac[3] >= '5') ++ms;
    const std::int64_t total = secs * 1000 + ms;
    return negative ? -total : total;
  }
  const auto v = parse_double(s);
  if (!v || !std::isfinite(*v) || std::fabs(*v) > static_cast<double>(max_seconds))
    return std::nullopt;
  return static_cast<std::int64_t>(std::llround(*v * 1000.0));
}

}  // namespace vitals::format::detail
