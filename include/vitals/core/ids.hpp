// Ids that end up in paths, URLs and labels (target ids, session ids): 1 to
// 128 characters from [A-Za-z0-9._-], never "." or "..", so none can climb
// out of a directory or need escaping.
#pragma once

#include <algorithm>
#include <string_view>

namespace vitals {

constexpr bool is_safe_id(std::string_view id) noexcept {
  const bool ok_chars = std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  return ok_chars && !id.empty() && id.size() <= 128 && id != "." && id != "..";
}

}  // namespace vitals
