// OTLP names and attribute values as Prometheus has them (its OTLP
// translation, "underscore escaping with suffixes"): a metric name's
// non-alphanumeric runs become one underscore, the unit becomes a suffix
// (`s` -> `_seconds`, `By` -> `_bytes`, `{tokens}` -> nothing, `1` on a
// gauge -> `_ratio`), monotonic sums end in `_total`; attribute keys become
// label names the same way.
#pragma once

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "vitals/agent/otlp_decode.hpp"

namespace vitals::agent {

namespace detail {

inline bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

/// Alphanumeric runs of `s`, joined by single underscores.
inline std::string underscore_words(std::string_view s) {
  std::string out;
  bool gap = false;
  for (char c : s) {
    if (!name_char(c)) {
      gap = true;
      continue;
    }
    if (gap && !out.empty()) out += '_';
    gap = false;
    out += c;
  }
  return out;
}

inline std::string_view unit_word(std::string_view u) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 25> units{{
      {"d", "days"},          {"h", "hours"},         {"min", "minutes"},    {"s", "seconds"},
      {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
      {"KiBy", "kibibytes"},  {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"TiBy", "tibibytes"},
      {"KBy", "kilobytes"},   {"MBy", "megabytes"},   {"GBy", "gigabytes"},  {"TBy", "terabytes"},
      {"m", "meters"},        {"V", "volts"},         {"A", "amperes"},      {"J", "joules"},
      {"W", "watts"},         {"g", "grams"},         {"Cel", "celsius"},    {"Hz", "hertz"},
      {"%", "percent"},
  }};
  for (auto [k, v] : units)
    if (k == u) return v;
  return u;
}

inline std::string_view per_unit_word(std::string_view u) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> units{{
      {"s", "second"},
      {"m", "minute"},
      {"h", "hour"},
      {"d", "day"},
      {"w", "week"},
      {"mo", "month"},
      {"y", "year"},
  }};
  for (auto [k, v] : units)
    if (k == u) return v;
  return u;
}

inline bool has_word(std::string_view name, std::string_view word) {
  if (word.empty()) return true;
  for (std::size_t pos = name.find(word); pos != std::string_view::npos;
       pos = name.find(word, pos + 1)) {
    const bool starts = pos == 0 || name[pos - 1] == '_';
    const bool ends = pos + word.size() == name.size() || name[pos + word.size()] == '_';
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace detail

/// The Prometheus name of an OTLP metric. `counter`: a monotonic sum.
inline std::string prometheus_metric_name(std::string_view name, std::string_view unit,
                                          bool counter, bool gauge) {
  std::string out = detail::underscore_words(name);
  if (out.empty()) out = "unnamed";
  if (std::isdigit(static_cast<unsigned char>(out.front()))) out.insert(0, "_");
  if (counter && out.ends_with("_total")) out.resize(out.size() - 6);
  // Annotations in braces ({tokens}, {request}) carry no unit.
  std::string u;
  for (std::size_t depth = 0; char c : unit.substr(0, 64)) {
    if (c == '{') ++depth;
    if (depth == 0) u += c;
    if (c == '}' && depth > 0) --depth;
  }
  std::string_view main = u, per;
  if (auto slash = main.find('/'); slash != std::string_view::npos) {
    per = main.substr(slash + 1);
    main = main.substr(0, slash);
  }
  std::string suffix = detail::underscore_words(detail::unit_word(main));
  if (main == "1") suffix = gauge ? "ratio" : "";
  if (!per.empty()) {
    auto p = detail::underscore_words(detail::per_unit_word(per));
    if (!p.empty()) suffix += (suffix.empty() ? "per_" : "_per_") + p;
  }
  if (!suffix.empty() && !detail::has_word(out, suffix)) out += "_" + suffix;
  if (counter) out += "_total";
  return out;
}

/// The Prometheus label name of an attribute key.
inline std::string prometheus_label_name(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) out += detail::name_char(c) ? c : '_';
  if (out.empty()) return "key_empty";
  if (std::isdigit(static_cast<unsigned char>(out.front()))) out.insert(0, "key_");
  if (out.starts_with("__")) out.insert(0, "key");  // __ is reserved for Prometheus
  return out;
}

/// An attribute value as text: strings as they are, numbers and booleans as
/// written in JSON, arrays and maps as a compact JSON-like text.
inline std::string otlp_value_text(const otlp_pb::AnyValue& v, int depth = 0) {
  using V = otlp_pb::AnyValue;
  switch (v.value_case()) {
    case V::kStringValue:
      return v.string_value();
    case V::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case V::kIntValue:
      return std::to_string(v.int_value());
    case V::kDoubleValue: {
      std::string s = std::to_string(v.double_value());
      if (v.double_value() == double(std::int64_t(v.double_value())) &&
          std::abs(v.double_value()) < 9e15)
        s = std::to_string(std::int64_t(v.double_value()));
      return s;
    }
    case V::kArrayValue: {
      if (depth > 4) return "[...]";
      std::string s = "[";
      for (const auto& x : v.array_value().values()) {
        if (s.size() > 1) s += ',';
        s += otlp_value_text(x, depth + 1);
        if (s.size() > 1024) break;
      }
      return s + "]";
    }
    case V::kKvlistValue: {
      if (depth > 4) return "{...}";
      std::string s = "{";
      for (const auto& kv : v.kvlist_value().values()) {
        if (s.size() > 1) s += ',';
        s += kv.key() + ":" + otlp_value_text(kv.value(), depth + 1);
        if (s.size() > 1024) break;
      }
      return s + "}";
    }
    case V::kBytesValue: {
      static constexpr char hex[] = "0123456789abcdef";
      std::string s;
      for (unsigned char c : v.bytes_value().substr(0, 512)) {
        s += hex[c >> 4];
        s += hex[c & 15];
      }
      return s;
    }
    default:
      return {};
  }
}

/// A bucket bound or quantile as a label value: the shortest text that
/// reads back the same, as Prometheus writes it.
inline std::string otlp_bound_text(double b) {
  if (std::isinf(b)) return b > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", b);
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, b);
    if (std::strtod(buf, nullptr) == b) break;
  }
  return buf;
}

}  // namespace vitals::agent
