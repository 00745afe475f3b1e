// OTLP/HTTP with JSON: metrics POSTed to <url>/v1/metrics of an OpenTelemetry
// collector (or any OTLP receiver), in the proto3 JSON mapping. Typed export
// comes from a registry snapshot; plain samples carry no type, so a name
// ending in `_total` is sent as a cumulative monotonic sum (the suffix left
// off, as OpenTelemetry names counters) and anything else as a gauge.
// Exemplars go with their points (trace_id and span_id as traceId/spanId).
// Native histograms go as exponential histograms (OTLP's bucket i is
// Prometheus' i + 1: (base^i, base^(i+1)]).
// Queueing, retries and counts as in detail/push.hpp. Plain http:// only.
#pragma once

#include <boost/json.hpp>

#include <cmath>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/exponential_histogram.hpp"
#include "vitals/sinks/detail/push.hpp"

namespace vitals::sinks {

struct otlp_options {
  std::string service_name = "vitals";  // the resource's `service.name`
  push_options push{};
};

namespace detail {

namespace json = boost::json;

/// proto3 JSON writes 64-bit integers as strings.
inline json::string unix_nano(double unix_seconds) {
  return json::string(
      std::to_string(static_cast<std::int64_t>(std::llround(unix_seconds * 1e3)) * 1'000'000));
}
inline json::string unix_nano(timestamp t) {
  return json::string(std::to_string(to_unix_ms(t) * 1'000'000));
}
inline json::string uint_string(double v) {
  return json::string(std::to_string(static_cast<std::uint64_t>(std::max(0.0, v))));
}

/// A double as proto3 JSON has it: a number, or "NaN", "Infinity", "-Infinity".
inline json::value json_double(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
}

inline json::array attributes(const label_set& labels) {
  json::array out;
  for (const auto& l : labels)
    out.push_back({{"key", l.name}, {"value", {{"stringValue", l.value}}}});
  return out;
}

/// An OTLP metric of any kind from one point; `start` is when the cumulative
/// counts began (the point's `created`, else when the sink was made).
class otlp_encoder {
 public:
  otlp_encoder(std::string service_name, timestamp start)
      : service_(std::move(service_name)), start_(start) {}

  std::string operator()(std::span<const metric_family> batch) {
    json::array metrics;
    std::unordered_map<std::string, std::size_t> index;  // name and kind -> position
    for (const auto& f : batch) {
      const char* kind = kind_of(f);
      auto [it, added] = index.try_emplace(f.name + '\0' + kind, metrics.size());
      if (added) metrics.push_back(new_metric(f, kind));
      auto& points = metrics[it->second].as_object()[kind].as_object()["dataPoints"].as_array();
      for (const auto& p : f.points) points.push_back(point(f.type, kind, p));
    }
    const json::object resource{
        {"attributes",
         json::array{{{"key", "service.name"}, {"value", {{"stringValue", service_}}}}}}};
    const json::object body{
        {"resourceMetrics",
         json::array{
             {{"resource", resource},
              {"scopeMetrics", json::array{{{"scope", {{"name", "vitals"}, {"version", "0.1.0"}}},
                                            {"metrics", std::move(metrics)}}}}}}}};
    return json::serialize(body);
  }

 private:
  static const char* kind_of(const metric_family& f) {
    switch (f.type) {
      case metric_type::counter:
        return "sum";
      case metric_type::histogram:
        return !f.points.empty() && f.points.front().native ? "exponentialHistogram" : "histogram";
      case metric_type::summary:
        return "summary";
      default:
        return "gauge";
    }
  }

  static json::object new_metric(const metric_family& f, std::string_view kind) {
    json::object data{{"dataPoints", json::array{}}};
    if (kind == "sum") data["isMonotonic"] = true;
    if (kind != "gauge" && kind != "summary") data["aggregationTemporality"] = 2;  // cumulative
    json::object m{{"name", f.name}};
    if (!f.help.empty()) m["description"] = f.help;
    if (!f.unit.empty()) m["unit"] = f.unit;
    m[kind] = std::move(data);
    return m;
  }

  json::object point(metric_type type, std::string_view kind, const metric_point& p) const {
    json::object o{{"attributes", attributes(p.labels)},
                   {"timeUnixNano", unix_nano(p.t.value_or(vitals::now()))}};
    if (kind != "gauge")
      o["startTimeUnixNano"] = p.created ? unix_nano(*p.created) : unix_nano(start_);
    switch (type) {
      case metric_type::histogram:
        if (p.native)
          exponential_fields(o, p);
        else
          histogram_fields(o, p);
        break;
      case metric_type::summary: {
        o["count"] = uint_string(p.count);
        o["sum"] = json_double(p.sum);
        json::array qs;
        for (const auto& q : p.quantiles)
          qs.push_back({{"quantile", q.q}, {"value", json_double(q.value)}});
        o["quantileValues"] = std::move(qs);
        break;
      }
      default:
        value_field(o, p.value);
    }
    json::array ex;
    if (p.exemplar) ex.push_back(exemplar_json(*p.exemplar));
    for (const auto& b : p.buckets)
      if (b.exemplar) ex.push_back(exemplar_json(*b.exemplar));
    if (!ex.empty()) o["exemplars"] = std::move(ex);
    return o;
  }

  /// An OTLP Exemplar: `trace_id` and `span_id` labels of the right hex
  /// length go to traceId and spanId (hex in OTLP JSON), the other labels
  /// to filteredAttributes.
  json::object exemplar_json(const exemplar& e) const {
    auto is_hex = [](std::string_view v, std::size_t n) {
      return v.size() == n &&
             v.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
    };
    json::object o;
    std::vector<label> others;
    for (const auto& l : e.labels) {
      if (l.name == "trace_id" && is_hex(l.value, 32))
        o["traceId"] = l.value;
      else if (l.name == "span_id" && is_hex(l.value, 16))
        o["spanId"] = l.value;
      else
        others.push_back(l);
    }
    if (!others.empty()) o["filteredAttributes"] = attributes(label_set(std::move(others)));
    o["timeUnixNano"] = e.t ? unix_nano(*e.t) : unix_nano(vitals::now());
    o["asDouble"] = json_double(e.value);
    return o;
  }

  /// Whole numbers that a double holds exactly go as asInt, others as asDouble.
  static void value_field(json::object& o, double v) {
    if (std::isfinite(v) && std::trunc(v) == v && std::abs(v) < 9007199254740992.0)
      o["asInt"] = json::string(std::to_string(static_cast<std::int64_t>(v)));
    else
      o["asDouble"] = json_double(v);
  }

  /// vitals' buckets are cumulative and end at +Inf; OTLP's are per bucket,
  /// with one more count than there are bounds.
  static void histogram_fields(json::object& o, const metric_point& p) {
    json::array bounds, counts;
    double below = 0;
    for (const auto& b : p.buckets) {
      if (std::isinf(b.le)) break;
      bounds.push_back(b.le);
      counts.push_back(uint_string(b.count - below));
      below = b.count;
    }
    counts.push_back(uint_string(p.count - below));
    o["count"] = uint_string(p.count);
    o["sum"] = json_double(p.sum);
    o["bucketCounts"] = std::move(counts);
    o["explicitBounds"] = std::move(bounds);
  }

  /// An ExponentialHistogramDataPoint: scale is the schema, and the sparse
  /// buckets become an offset and dense counts (at most max_dense wide: a
  /// wider spread is sent at a lower scale).
  static void exponential_fields(json::object& o, const metric_point& p) {
    static constexpr std::int64_t max_dense = 4096;
    auto width = [](const std::vector<native_buckets::entry>& v) {
      return v.empty() ? 0 : std::int64_t{v.back().index} - v.front().index + 1;
    };
    auto too_wide = [&](const native_buckets& b) {
      return std::max(width(b.positive), width(b.negative)) > max_dense &&
             b.schema > exponential_histogram::min_schema;
    };
    const bool merge = too_wide(*p.native);
    native_buckets coarser;  // a copy only when the buckets must be merged
    if (merge) {
      coarser = *p.native;
      while (too_wide(coarser)) exponential_histogram::downscale(coarser, 1);
    }
    const native_buckets& n = merge ? coarser : *p.native;
    auto side = [](const std::vector<native_buckets::entry>& v) {
      json::object s{{"offset", v.empty() ? 0 : std::int64_t{v.front().index} - 1}};
      json::array counts;
      std::int64_t next = v.empty() ? 0 : v.front().index;
      for (const auto& e : v) {
        for (; next < e.index; ++next) counts.push_back("0");
        counts.push_back(json::string(std::to_string(e.count)));
        next = std::int64_t{e.index} + 1;
      }
      s["bucketCounts"] = std::move(counts);
      return s;
    };
    o["count"] = uint_string(p.count);
    o["sum"] = json_double(p.sum);
    o["scale"] = n.schema;
    o["zeroCount"] = json::string(std::to_string(n.zero_count));
    o["zeroThreshold"] = n.zero_threshold;
    o["positive"] = side(n.positive);
    o["negative"] = side(n.negative);
  }

  std::string service_;
  timestamp start_;
};

inline push_request otlp_request() {
  return {"application/json", {{"User-Agent", "vitals-otlp/0.1"}}};
}

inline std::string otlp_metrics_url(std::string_view base) {
  while (base.ends_with('/')) base.remove_suffix(1);
  return std::string(base) + "/v1/metrics";
}

}  // namespace detail

class otlp_http_sink {
 public:
  /// `url` is the receiver's OTLP/HTTP base, e.g. http://127.0.0.1:4318 (as
  /// OTEL_EXPORTER_OTLP_ENDPOINT); `/v1/metrics` is appended. A bad or https
  /// URL throws std::invalid_argument.
  explicit otlp_http_sink(std::string_view url, otlp_options o = {})
      : otlp_http_sink(url, std::move(o), nullptr) {}
  /// Also counts `vitals_otlp_*` in `metrics`, which must outlive the sink.
  otlp_http_sink(std::string_view url, otlp_options o, registry& metrics)
      : otlp_http_sink(url, std::move(o), &metrics) {}

  /// Plain samples: `_total` names become sums, others gauges (see the top).
  status write(std::span<const sample> batch) {
    std::vector<metric_family> items;
    items.reserve(batch.size());
    for (const auto& s : batch) {
      const bool counter = s.series.name().ends_with("_total");
      auto& f = items.emplace_back();
      f.name = counter ? s.series.name().substr(0, s.series.name().size() - 6) : s.series.name();
      f.type = counter ? metric_type::counter : metric_type::gauge;
      auto& p = f.points.emplace_back();
      p.labels = s.series.labels();
      p.value = s.value;
      p.t = s.t;
      if (s.exemplar) p.exemplar = *s.exemplar;
    }
    return push_.enqueue(std::make_move_iterator(items.begin()),
                         std::make_move_iterator(items.end()));
  }

  /// A typed snapshot (registry::collect(), format::parse()), stamped `t`
  /// where a point has no time of its own. Gauge histograms have no OTLP form
  /// with these semantics and are left out.
  status write(metric_snapshot snapshot, timestamp t = vitals::now()) {
    std::erase_if(snapshot,
                  [](const metric_family& f) { return f.type == metric_type::gaugehistogram; });
    for (auto& f : snapshot)
      for (auto& p : f.points)
        if (!p.t) p.t = t;
    return push_.enqueue(std::make_move_iterator(snapshot.begin()),
                         std::make_move_iterator(snapshot.end()));
  }

  status export_registry(const registry& reg) { return write(reg.collect()); }

  status flush() { return push_.flush(); }
  push_stats stats() const { return push_.stats(); }
  std::string last_error() const { return push_.last_error(); }

 private:
  otlp_http_sink(std::string_view url, otlp_options o, registry* metrics)
      : push_(detail::otlp_metrics_url(url), std::move(o.push), detail::otlp_request(),
              detail::otlp_encoder(std::move(o.service_name), vitals::now()), metrics,
              "vitals_otlp") {}

  detail::pusher<metric_family, detail::otlp_encoder> push_;
};

static_assert(sink<otlp_http_sink>);

}  // namespace vitals::sinks
