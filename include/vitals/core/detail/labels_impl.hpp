// The definitions behind core/labels.hpp: included by it in the header-only
// mode, compiled once into vitals::compiled otherwise.
#pragma once

#include <algorithm>

#include "vitals/core/labels.hpp"

namespace vitals {

VITALS_DECL status check_metric_name(std::string_view n) {
  if (is_valid_metric_name(n)) return {};
  return error(errc::invalid_name,
               "invalid metric name '" + std::string(n) + "': must match [a-zA-Z_:][a-zA-Z0-9_:]*");
}

VITALS_DECL status check_label_name(std::string_view n) {
  if (is_valid_label_name(n)) return {};
  if (n.starts_with("__"))
    return error(errc::invalid_name,
                 "invalid label name '" + std::string(n) + "': the '__' prefix is reserved");
  return error(errc::invalid_name,
               "invalid label name '" + std::string(n) + "': must match [a-zA-Z_][a-zA-Z0-9_]*");
}

VITALS_DECL status check_label_value(std::string_view name, std::string_view v) {
  if (is_clean_text(v)) return {};
  return error(errc::invalid_argument,
               "invalid value of label '" + std::string(name) + "': NUL or invalid UTF-8");
}

VITALS_DECL result<label_set> label_set::make(std::vector<label> l) {
  for (const auto& x : l) {
    if (auto s = check_label_name(x.name); !s) return s.error();
    if (auto s = check_label_value(x.name, x.value); !s) return s.error();
  }
  std::sort(l.begin(), l.end(), [](const label& a, const label& b) { return a.name < b.name; });
  for (std::size_t i = 1; i < l.size(); ++i)
    if (l[i].name == l[i - 1].name)
      return error(errc::invalid_argument, "duplicate label name '" + l[i].name + "'");
  return from_sorted_unchecked(std::move(l));
}

}  // namespace vitals
