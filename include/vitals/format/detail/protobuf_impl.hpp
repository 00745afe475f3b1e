// The definitions behind format/protobuf.hpp: included by it in the
// header-only mode, compiled once into vitals::compiled otherwise.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "vitals/core/detail/protobuf.hpp"
#include "vitals/format/detail/exposition.hpp"
#include "vitals/format/protobuf.hpp"

namespace vitals::format {

namespace detail {

namespace pb = vitals::detail::pb;

// Field numbers of io.prometheus.client's metrics.proto (client_model).
namespace pm {
constexpr std::uint32_t family_name = 1, family_help = 2, family_type = 3, family_metric = 4,
                        family_unit = 5;
constexpr std::uint32_t metric_label = 1, metric_gauge = 2, metric_counter = 3, metric_summary = 4,
                        metric_untyped = 5, metric_timestamp_ms = 6, metric_histogram = 7;
constexpr std::uint32_t label_name = 1, label_value = 2;
constexpr std::uint32_t value = 1;  // Gauge, Untyped, Counter
constexpr std::uint32_t counter_exemplar = 2, counter_created = 3;
constexpr std::uint32_t summary_count = 1, summary_sum = 2, summary_quantile = 3,
                        summary_created = 4;
constexpr std::uint32_t quantile_quantile = 1, quantile_value = 2;
constexpr std::uint32_t histogram_count = 1, histogram_sum = 2, histogram_bucket = 3,
                        histogram_schema = 5, histogram_zero_threshold = 6,
                        histogram_zero_count = 7, histogram_negative_span = 9,
                        histogram_negative_delta = 10, histogram_positive_span = 12,
                        histogram_positive_delta = 13, histogram_created = 15;
constexpr std::uint32_t bucket_count = 1, bucket_upper_bound = 2, bucket_exemplar = 3;
constexpr std::uint32_t exemplar_label = 1, exemplar_value = 2, exemplar_timestamp = 3;
constexpr std::uint32_t timestamp_seconds = 1, timestamp_nanos = 2;
enum type : std::uint8_t {
  counter = 0,
  gauge = 1,
  summary = 2,
  untyped = 3,
  histogram = 4,
  gauge_histogram = 5
};
}  // namespace pm

// Messages nest, and a nested message goes out after its length: each is
// written into a scratch string of its own, then appended with its length.
struct pb_scratch {
  std::string family, metric, part, bucket, exemplar, inner;
};

using pb::put_message;

// Counts are doubles in the snapshot; the format wants uint64.
inline std::uint64_t as_count(double v) noexcept {
  if (!(v > 0)) return 0;
  return v >= 0x1p64 ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(v);
}

inline void put_label(std::string& out, std::uint32_t field, std::string_view name,
                      std::string_view value, std::string& scratch) {
  scratch.clear();
  pb::put_string(scratch, pm::label_name, name);
  pb::put_string(scratch, pm::label_value, value);
  put_message(out, field, scratch);
}

// A google.protobuf.Timestamp from unix seconds; nothing when out of range.
inline void put_timestamp(std::string& out, std::uint32_t field, double unix_seconds,
                          std::string& scratch) {
  if (!std::isfinite(unix_seconds) || std::fabs(unix_seconds) > 9e12) return;
  const double whole = std::floor(unix_seconds);
  scratch.clear();
  pb::put_int64(scratch, pm::timestamp_seconds, static_cast<std::int64_t>(whole));
  const auto nanos = static_cast<std::int64_t>(std::llround((unix_seconds - whole) * 1e9));
  if (nanos > 0 && nanos < 1'000'000'000) pb::put_int64(scratch, pm::timestamp_nanos, nanos);
  put_message(out, field, scratch);
}

inline void put_exemplar(std::string& out, std::uint32_t field, const exemplar& e, pb_scratch& s) {
  std::string& body = s.exemplar;
  body.clear();
  for (const auto& l : e.labels) put_label(body, pm::exemplar_label, l.name, l.value, s.inner);
  pb::put_double(body, pm::exemplar_value, e.value);
  if (e.t) put_timestamp(body, pm::exemplar_timestamp, *e.t, s.inner);
  put_message(out, field, body);
}

inline void put_histogram(std::string& out, const metric_point& p, pb_scratch& s) {
  std::string& h = s.part;
  h.clear();
  pb::put_uint64(h, pm::histogram_count, as_count(p.count));
  pb::put_double(h, pm::histogram_sum, p.sum);
  if (p.native) {
    const native_buckets& n = *p.native;
    pb::put_sint64(h, pm::histogram_schema, n.schema);
    pb::put_double(h, pm::histogram_zero_threshold, n.zero_threshold);
    pb::put_uint64(h, pm::histogram_zero_count, n.zero_count);
    pb::put_native_side(h, pm::histogram_negative_span, pm::histogram_negative_delta, n.negative,
                        s.inner);
    pb::put_native_side(h, pm::histogram_positive_span, pm::histogram_positive_delta, n.positive,
                        s.inner);
    if (n.positive.empty() && n.negative.empty() && n.zero_threshold == 0 && n.zero_count == 0) {
      // Nothing tells an empty native histogram from a classic one: an
      // empty span does, as client_golang writes it.
      s.inner.clear();
      pb::put_uint64(s.inner, pb::span_length, 0);
      put_message(h, pm::histogram_positive_span, s.inner);
    }
  } else {
    for (const auto& b : p.buckets) {
      if (std::isinf(b.le) && b.le > 0) continue;  // implied by sample_count
      std::string& bucket = s.bucket;
      bucket.clear();
      pb::put_uint64(bucket, pm::bucket_count, as_count(b.count));
      pb::put_double(bucket, pm::bucket_upper_bound, b.le);
      if (b.exemplar) put_exemplar(bucket, pm::bucket_exemplar, *b.exemplar, s);
      put_message(h, pm::histogram_bucket, bucket);
    }
  }
  if (p.created) put_timestamp(h, pm::histogram_created, *p.created, s.inner);
  put_message(out, pm::metric_histogram, h);
}

inline void put_metric(std::string& out, const metric_family& f, const metric_point& p,
                       pb_scratch& s) {
  std::string& m = s.metric;
  m.clear();
  for (const auto& l : p.labels) put_label(m, pm::metric_label, l.name, l.value, s.inner);
  auto value_message = [&](std::uint32_t field, double v) {
    s.part.clear();
    pb::put_double(s.part, pm::value, v);
    put_message(m, field, s.part);
  };
  switch (f.type) {
    case metric_type::counter:
      s.part.clear();
      pb::put_double(s.part, pm::value, p.value);
      if (p.exemplar) put_exemplar(s.part, pm::counter_exemplar, *p.exemplar, s);
      if (p.created) put_timestamp(s.part, pm::counter_created, *p.created, s.inner);
      put_message(m, pm::metric_counter, s.part);
      break;
    case metric_type::gauge:
    case metric_type::stateset:
      value_message(pm::metric_gauge, p.value);
      break;
    case metric_type::info:
      value_message(pm::metric_gauge, 1);
      break;
    case metric_type::unknown:
      value_message(pm::metric_untyped, p.value);
      break;
    case metric_type::summary:
      s.part.clear();
      pb::put_uint64(s.part, pm::summary_count, as_count(p.count));
      pb::put_double(s.part, pm::summary_sum, p.sum);
      for (const auto& q : p.quantiles) {
        s.inner.clear();
        pb::put_double(s.inner, pm::quantile_quantile, q.q);
        pb::put_double(s.inner, pm::quantile_value, q.value);
        put_message(s.part, pm::summary_quantile, s.inner);
      }
      if (p.created) put_timestamp(s.part, pm::summary_created, *p.created, s.inner);
      put_message(m, pm::metric_summary, s.part);
      break;
    case metric_type::histogram:
    case metric_type::gaugehistogram:
      put_histogram(m, p, s);
      break;
  }
  if (p.t) pb::put_int64(m, pm::metric_timestamp_ms, to_unix_ms(*p.t));
  put_message(out, pm::family_metric, m);
}

inline pm::type wire_type(metric_type t) noexcept {
  switch (t) {
    case metric_type::counter:
      return pm::counter;
    case metric_type::gauge:
    case metric_type::info:
    case metric_type::stateset:
      return pm::gauge;
    case metric_type::summary:
      return pm::summary;
    case metric_type::histogram:
      return pm::histogram;
    case metric_type::gaugehistogram:
      return pm::gauge_histogram;
    case metric_type::unknown:
      break;
  }
  return pm::untyped;
}

}  // namespace detail

VITALS_DECL void write_protobuf(std::string& out, const metric_snapshot& snap) {
  namespace pb = vitals::detail::pb;
  detail::pb_scratch s;
  for (const auto& f : snap) {
    std::string& body = s.family;
    body.clear();
    const std::string_view suffix = f.type == metric_type::counter ? "_total"
                                    : f.type == metric_type::info  ? "_info"
                                                                   : "";
    pb::put_length(body, detail::pm::family_name, f.name.size() + suffix.size());
    body += f.name;
    body += suffix;
    if (!f.help.empty()) pb::put_string(body, detail::pm::family_help, f.help);
    pb::put_uint64(body, detail::pm::family_type, detail::wire_type(f.type));
    for (const auto& p : f.points) detail::put_metric(body, f, p, s);
    if (detail::unit_fits(f.name, f.unit)) pb::put_string(body, detail::pm::family_unit, f.unit);
    pb::put_varint(out, body.size());
    out += body;
  }
}

VITALS_DECL std::string to_protobuf(const metric_snapshot& snap) {
  std::string out;
  write_protobuf(out, snap);
  return out;
}

}  // namespace vitals::format
