// Small string helpers shared by the parser and content negotiation.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace vitals::format::detail {

/// HTTP optional whitespace: spaces and tabs.
constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// ASCII case-insensitive equality (media types, parameter names).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

/// Input quoted for an error message, cut short so one bad line cannot make
/// a huge message.
inline std::string excerpt(std::string_view s) {
  constexpr std::size_t max = 40;
  std::string out = "'";
  out.append(s.substr(0, max));
  if (s.size() > max) out += "...";
  out += '\'';
  return out;
}

}  // namespace vitals::format::detail
