// JSON text with numbers as people write them. Boost.JSON 1.81 serializes
// every double in exponent form (`1E0`, `5.65E1`, `3.2366592E7`); here a
// double is its shortest decimal that reads back as the same double
// (`std::to_chars`: `1`, `56.5`, `32366592`, `1e+21` only when that is
// shorter), and a double that is not finite, which JSON cannot hold, is
// `null`. Strings and keys are escaped by Boost.JSON's own serializer, so
// the text is what `boost::json::serialize` gives but for the numbers.
//
// Rounding to what a number means (a percentage to 0.01, a ratio to 0.001)
// is the report's business: round_to() below, at the point where the
// report builds the value.
#pragma once

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace vitals::format {

namespace detail {

template <class Int>
void append_integer(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];  // the shortest round-trip form of a double is at most 24 characters
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void append_json_string(std::string& out, std::string_view s) {
  // Most keys and values need no escape (no quote, backslash or control
  // character): appended as they are. Anything else is Boost.JSON's to escape.
  const bool plain = std::none_of(s.begin(), s.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
  if (!plain) {
    out += boost::json::serialize(boost::json::string_view(s.data(), s.size()));
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

}  // namespace detail

/// Appends `v` as JSON text to `out` (see the file comment).
inline void append_json_text(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      return;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case boost::json::kind::int64:
      detail::append_integer(out, v.get_int64());
      return;
    case boost::json::kind::uint64:
      detail::append_integer(out, v.get_uint64());
      return;
    case boost::json::kind::double_:
      detail::append_double(out, v.get_double());
      return;
    case boost::json::kind::string:
      detail::append_json_string(out, v.get_string());
      return;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_json_text(out, e);
      }
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        detail::append_json_string(out, kv.key());
        out += ':';
        append_json_text(out, kv.value());
      }
      out += '}';
      return;
    }
  }
}

/// `v` as JSON text (see the file comment).
inline std::string json_text(const boost::json::value& v) {
  std::string out;
  append_json_text(out, v);
  return out;
}

/// `v` rounded to `decimals` places (0 to 9), for a value whose further
/// digits mean nothing (a percentage, a ratio, a rate). Not finite stays as it is.
inline double round_to(double v, int decimals) {
  static constexpr double scale[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  if (!std::isfinite(v) || decimals < 0 || decimals > 9) return v;
  const double s = scale[decimals];
  const double r = std::round(v * s) / s;
  return std::isfinite(r) ? r : v;  // v * s overflowed: v has no digits past the point anyway
}

/// A count or byte total kept as a double (an average, a sum of gauges) as
/// a JSON integer when it fits one exactly, rounded to the nearest unit.
inline boost::json::value whole(double v) {
  constexpr double exact_int = 9007199254740992.0;  // 2^53
  if (!std::isfinite(v) || std::fabs(v) > exact_int) return v;
  return static_cast<std::int64_t>(std::llround(v));
}

}  // namespace vitals::format
