// A request body of JSON items: one object, an array of them, or NDJSON (one
// per line). What POST /api/v1/events and POST /api/v1/channels take; a line
// that is not JSON is reported by its number while the others are kept.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vitals::agent {

/// An item refused, by its place in the body.
struct rejected_line {
  std::size_t line = 0;  // 1-based NDJSON line, or array index + 1
  std::string error;
};

/// The body's items with their line (NDJSON) or index + 1 (array); lines
/// that do not parse go to `rejected`. Blank lines are skipped.
inline std::vector<std::pair<std::size_t, boost::json::value>> split_json_items(
    std::string_view body, std::vector<rejected_line>& rejected) {
  std::vector<std::pair<std::size_t, boost::json::value>> items;
  boost::system::error_code ec;
  auto whole = boost::json::parse(body, ec);
  if (!ec && whole.is_array()) {
    std::size_t i = 0;
    for (auto& v : whole.get_array()) items.emplace_back(++i, std::move(v));
    return items;
  }
  if (!ec) {
    items.emplace_back(1, std::move(whole));
    return items;
  }
  std::size_t line = 0;  // NDJSON
  while (!body.empty()) {
    const auto nl = body.find('\n');
    std::string_view text = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    boost::system::error_code lec;
    auto v = boost::json::parse(text, lec);
    if (lec)
      rejected.push_back({line, "invalid JSON: " + lec.message()});
    else
      items.emplace_back(line, std::move(v));
  }
  return items;
}

}  // namespace vitals::agent
