// JSON export through Boost.JSON: an array with one object per point. JSON has
// no NaN or infinities, so non-finite numbers are the strings "NaN", "+Inf"
// and "-Inf"; integral values up to 2^53 are JSON integers, other numbers doubles.
//
// Shape, per point: {"name", "type", "help", ["unit"], "labels": {...},
// ["timestamp": unix ms], ["created": unix s], then by type:
//   counter, gauge, unknown, stateset: "value"; info: "value": 1
//   histogram, gaugehistogram: "count", "sum", "buckets": [{"le", "count"}],
//                              "p50", "p90", "p99" (estimated from the buckets)
//   summary: "count", "sum", "quantiles": [{"q", "value"}]}
#pragma once

#include <boost/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "vitals/core/quantile.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/core/time.hpp"
#include "vitals/format/json_text.hpp"

namespace vitals::format {

namespace detail {

inline boost::json::value json_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Boost.JSON prints doubles as `4.2E1`; counts and most values are whole.
  constexpr double exact_int = 9007199254740992.0;  // 2^53
  if (std::fabs(v) <= exact_int && v == std::trunc(v) && !(v == 0 && std::signbit(v)))
    return static_cast<std::int64_t>(v);
  return v;
}

inline boost::json::object json_point(const metric_family& f, const metric_point& p) {
  boost::json::object o;
  o["name"] = f.name;
  o["type"] = to_string(f.type);
  o["help"] = f.help;
  if (!f.unit.empty()) o["unit"] = f.unit;
  boost::json::object labels;
  for (const auto& l : p.labels) labels[l.name] = l.value;
  o["labels"] = std::move(labels);
  if (p.t) o["timestamp"] = to_unix_ms(*p.t);
  if (p.created) o["created"] = json_number(*p.created);

  switch (f.type) {
    case metric_type::histogram:
    case metric_type::gaugehistogram: {
      o["count"] = json_number(p.count);
      o["sum"] = json_number(p.sum);
      boost::json::array buckets;
      buckets.reserve(p.buckets.size());
      for (const auto& b : p.buckets)
        buckets.push_back(
            boost::json::object{{"le", json_number(b.le)}, {"count", json_number(b.count)}});
      o["buckets"] = std::move(buckets);
      o["p50"] = json_number(estimate_quantile(0.5, p.buckets));
      o["p90"] = json_number(estimate_quantile(0.9, p.buckets));
      o["p99"] = json_number(estimate_quantile(0.99, p.buckets));
      break;
    }
    case metric_type::summary: {
      o["count"] = json_number(p.count);
      o["sum"] = json_number(p.sum);
      boost::json::array quantiles;
      quantiles.reserve(p.quantiles.size());
      for (const auto& q : p.quantiles)
        quantiles.push_back(
            boost::json::object{{"q", json_number(q.q)}, {"value", json_number(q.value)}});
      o["quantiles"] = std::move(quantiles);
      break;
    }
    case metric_type::info:
      o["value"] = 1;  // as both writers print it: an info point's value is always 1
      break;
    default:
      o["value"] = json_number(p.value);
      break;
  }
  return o;
}

}  // namespace detail

/// One object per point, families in snapshot order (a family without
/// points contributes nothing).
inline boost::json::value to_json_value(const metric_snapshot& snap) {
  boost::json::array out;
  for (const auto& f : snap)
    for (const auto& p : f.points) out.push_back(detail::json_point(f, p));
  return out;
}

inline std::string to_json(const metric_snapshot& snap) { return json_text(to_json_value(snap)); }

}  // namespace vitals::format
