// JSON export through Boost.JSON: an array with one object per point. JSON has
// no NaN or infinities, so non-finite numbers are the strings "NaN", "+Inf"
// and "-Inf"; integral values up to 2^53 are JSON integers, other numbers doubles.
//
// Shape, per point: {"name", "type", "help", ["unit"], "labels": {...},
// ["timestamp": unix ms], ["created": unix s], then by type:
//   counter, gauge, unknown, stateset: "value"; info: "value": 1
//   histogram, gaugehistogram: "count", "sum", "buckets": [{"le", "count"}],
//                              "p50", "p90", "p99" (estimated from the buckets);
//                              a native histogram also "native": {"schema",
//                              "zero_threshold", "zero_count", "positive" and
//                              "negative": [[index, count], ...]}, its p50-p99 from those
//                              (core/quantile.hpp)
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
      auto q = [&](double at) {
        return json_number(p.native ? estimate_native_quantile(at, *p.native)
                                    : estimate_quantile(at, p.buckets));
      };
      o["p50"] = q(0.5);
      o["p90"] = q(0.9);
      o["p99"] = q(0.99);
      if (p.native) {
        auto side = [](const std::vector<native_buckets::entry>& v) {
          boost::json::array a;
          a.reserve(v.size());
          for (const auto& e : v) a.push_back(boost::json::array{e.index, e.count});
          return a;
        };
        o["native"] = boost::json::object{{"schema", p.native->schema},
                                          {"zero_threshold", json_number(p.native->zero_threshold)},
                                          {"zero_count", p.native->zero_count},
                                          {"positive", side(p.native->positive)},
                                          {"negative", side(p.native->negative)}};
      }
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
