// How the SQL stores keep a series' labels in one text column:
// `<len>:<name><len>:<value>...`, unambiguous for any bytes but NUL (which
// PostgreSQL text cannot hold, and label_set refuses). Labels are written in
// their sorted order; reading checks all of it.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/series.hpp"

namespace vitals::stores::detail {

/// One label as it appears inside an encoded set: what a store searches the
/// column for before decoding the candidates (another label's value may hold
/// the same bytes).
inline std::string encode_label(std::string_view name, std::string_view value) {
  std::string out = std::to_string(name.size()) + ':';
  out += name;
  out += std::to_string(value.size()) + ':';
  out += value;
  return out;
}

inline std::string encode_labels(const label_set& l) {
  std::string out;
  for (const auto& x : l) out += encode_label(x.name, x.value);
  return out;
}

/// The series of a stored row. Every length is checked against what is
/// left, names and values are checked as label_set::make checks them, and
/// the labels must come sorted and unique: a corrupt or hostile row is an
/// error, never a read past the end.
inline result<series> decode_series(std::string_view name, std::string_view enc) {
  auto bad = [&](std::string_view why) {
    return error(errc::parse_error, "stored labels of '" + std::string(name.substr(0, 200)) +
                                        "': " + std::string(why));
  };
  if (name.empty() || !is_clean_text(name)) return bad("an empty or unclean metric name");
  std::vector<label> l;
  std::string_view field;
  auto next = [&]() -> bool {
    const auto colon = enc.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 10) return false;
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(enc.data(), enc.data() + colon, n);
    if (ec != std::errc{} || end != enc.data() + colon) return false;
    if (n > enc.size() - colon - 1) return false;
    field = enc.substr(colon + 1, n);
    enc.remove_prefix(colon + 1 + n);
    return true;
  };
  while (!enc.empty()) {
    if (!next()) return bad("a malformed or truncated length");
    std::string k(field);
    if (!next()) return bad("a label without a value");
    l.push_back({std::move(k), std::string(field)});
  }
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (!is_valid_label_name(l[i].name)) return bad("an invalid label name");
    if (!is_clean_text(l[i].value)) return bad("NUL or invalid UTF-8 in a value");
    if (i > 0 && !(l[i - 1].name < l[i].name)) return bad("labels not sorted or repeated");
  }
  return series(std::string(name), label_set::from_sorted_unchecked(std::move(l)));
}

}  // namespace vitals::stores::detail
