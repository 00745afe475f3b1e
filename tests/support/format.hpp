// What the format test files share (format_*_test.cpp): a printer that shows
// a family field by field when a comparison fails, and short builders of
// families, points and registry snapshots.
#pragma once

#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <utility>

#include "vitals/core/snapshot.hpp"
#include "vitals/format/detail/number.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals {

// gtest prints families through this on failure (found by ADL).
inline void PrintTo(const metric_family& f, std::ostream* os) {
  auto num = [](double v) {
    char buf[32];
    return std::string(buf, format::detail::render_value(buf, v));
  };
  *os << "\n  " << f.name << " " << to_string(f.type) << " help=\"" << f.help << "\" unit=\""
      << f.unit << "\"";
  for (const auto& p : f.points) {
    *os << "\n    {";
    for (const auto& l : p.labels) *os << l.name << "=\"" << l.value << "\",";
    *os << "} value=" << num(p.value) << " sum=" << num(p.sum) << " count=" << num(p.count);
    for (const auto& b : p.buckets) *os << " le" << num(b.le) << ":" << num(b.count);
    for (const auto& q : p.quantiles) *os << " q" << num(q.q) << ":" << num(q.value);
    if (p.created) *os << " created=" << num(*p.created);
    if (p.t) *os << " t=" << to_unix_ms(*p.t);
  }
}

}  // namespace vitals

namespace vitals::test {

inline constexpr double inf = std::numeric_limits<double>::infinity();
inline constexpr double qnan = std::numeric_limits<double>::quiet_NaN();

inline metric_family make_family(std::string name, metric_type t, std::string help = "",
                                 std::string unit = "") {
  return metric_family{std::move(name), t, std::move(help), std::move(unit), {}};
}

inline metric_point& add_point(metric_family& f, label_set labels, double value = 0) {
  auto& p = f.points.emplace_back();
  p.labels = std::move(labels);
  p.value = value;
  return p;
}

inline metric_snapshot collect_without_self_metrics(const std::function<void(registry&)>& fill) {
  registry reg(registry_options{.max_series_per_family = 20000, .self_metrics = false});
  fill(reg);
  return reg.collect();
}

}  // namespace vitals::test
