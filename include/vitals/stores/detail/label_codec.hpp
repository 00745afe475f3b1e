// How the SQL stores keep a series' labels in one text column:
// `<len>:<name><len>:<value>...`, unambiguous for any bytes but NUL (which
// PostgreSQL text cannot hold). Labels are written in their sorted order.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/labels.hpp"
#include "vitals/core/series.hpp"

namespace vitals::stores::detail {

inline std::string encode_labels(const label_set& l) {
  std::string out;
  for (const auto& x : l) {
    out += std::to_string(x.name.size()) + ':' + x.name;
    out += std::to_string(x.value.size()) + ':' + x.value;
  }
  return out;
}

inline series decode_series(std::string_view name, std::string_view enc) {
  std::vector<label> l;
  auto next = [&]() {
    const auto colon = enc.find(':');
    std::size_t n = 0;
    std::from_chars(enc.data(), enc.data() + colon, n);
    std::string s(enc.substr(colon + 1, n));
    enc.remove_prefix(colon + 1 + n);
    return s;
  };
  while (!enc.empty()) {
    std::string k = next();
    l.push_back({std::move(k), next()});
  }
  return series(std::string(name), label_set::from_sorted_unchecked(std::move(l)));
}

}  // namespace vitals::stores::detail
