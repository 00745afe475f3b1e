// The exposition data model: what a registry collects and what the format
// writers print and the parser reads back. Family names carry no `_total`,
// `_bucket`, `_sum`, `_count` or `_created` suffix; writers add them.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vitals/core/labels.hpp"
#include "vitals/core/time.hpp"

namespace vitals {

enum class metric_type {
  counter,
  gauge,
  histogram,
  summary,
  info,
  stateset,
  gaugehistogram,
  unknown
};

constexpr const char* to_string(metric_type t) noexcept {
  switch (t) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
    case metric_type::summary:
      return "summary";
    case metric_type::info:
      return "info";
    case metric_type::stateset:
      return "stateset";
    case metric_type::gaugehistogram:
      return "gaugehistogram";
    case metric_type::unknown:
      return "unknown";
  }
  return "unknown";
}

/// An exemplar (OpenMetrics 1.0): one traced observation kept beside a
/// counter or a histogram bucket, so a dashboard can jump from a spike to
/// the trace behind it. Its labels (usually `trace_id`, `span_id`) are at
/// most 128 UTF-8 characters, names and values together.
struct exemplar {
  label_set labels;
  double value = 0;
  std::optional<double> t;  // unix seconds
  friend bool operator==(const exemplar&, const exemplar&) = default;
};

/// One cumulative histogram bucket: observations less than or equal to `le`.
struct bucket {
  double le = 0;
  double count = 0;
  std::optional<vitals::exemplar> exemplar = std::nullopt;  // the last traced observation here
  friend bool operator==(const bucket&, const bucket&) = default;
};

/// A native histogram's buckets (Prometheus native histograms, OpenTelemetry
/// exponential histograms): with base = 2^(2^-schema), positive bucket `i`
/// counts observations in (base^(i-1), base^i], negative bucket `i` those in
/// [-base^i, -base^(i-1)), and the zero bucket those in [-zero_threshold,
/// zero_threshold]. Only buckets with observations are listed, by ascending
/// index; counts are per bucket, not cumulative.
struct native_buckets {
  struct entry {
    std::int32_t index = 0;
    std::uint64_t count = 0;
    friend bool operator==(const entry&, const entry&) = default;
  };
  std::int32_t schema = 0;  // -4 to 8
  double zero_threshold = 0;
  std::uint64_t zero_count = 0;
  std::vector<entry> positive;
  std::vector<entry> negative;
  double sum = 0;  // of the observations, as the point's: the buckets travel whole without it
  friend bool operator==(const native_buckets&, const native_buckets&) = default;
};

struct quantile {
  double q = 0;
  double value = 0;
  friend bool operator==(const quantile& a, const quantile& b) {
    return a.q == b.q && (a.value == b.value || (std::isnan(a.value) && std::isnan(b.value)));
  }
};

/// One labelled point of a family. Which fields mean something depends on the
/// family's type: `value` for counter, gauge, unknown (and info/stateset);
/// `buckets`, `sum`, `count` for histograms; `quantiles`, `sum`, `count` for summaries.
/// A native histogram also has `native`; its `buckets` hold only +Inf (the
/// count), which is what the text formats can say of it.
struct metric_point {
  label_set labels;
  double value = 0;
  std::vector<bucket> buckets;  // cumulative, ascending `le`, last is +Inf
  std::vector<quantile> quantiles;
  double sum = 0;
  double count = 0;
  std::optional<double> created;  // unix seconds
  std::optional<timestamp> t;
  std::optional<vitals::exemplar> exemplar;  // counters: the last traced increment
  /// Histograms with exponential buckets; shared, so snapshots copy it freely.
  std::shared_ptr<const native_buckets> native;

  friend bool operator==(const metric_point& a, const metric_point& b) {
    auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
    const bool same_native =
        a.native == b.native || (a.native && b.native && *a.native == *b.native);
    return a.labels == b.labels && same(a.value, b.value) && a.buckets == b.buckets &&
           a.quantiles == b.quantiles && same(a.sum, b.sum) && a.count == b.count &&
           a.created == b.created && a.t == b.t && a.exemplar == b.exemplar && same_native;
  }
};

struct metric_family {
  std::string name;
  metric_type type = metric_type::unknown;
  std::string help;
  std::string unit;
  std::vector<metric_point> points;

  friend bool operator==(const metric_family&, const metric_family&) = default;
};

using metric_snapshot = std::vector<metric_family>;

}  // namespace vitals
