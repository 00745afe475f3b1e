// Prometheus remote write 1.0: samples (and the exemplars and native
// histograms they carry: a native histogram's buckets ride on its `_count`
// sample and go out as a histogram series named without `_count`) go out
// as a snappy-compressed protobuf WriteRequest to Prometheus, VictoriaMetrics, Mimir, Thanos
// receive, ... write() only queues; a background sender batches, retries and counts (see
// detail/push.hpp). Plain http:// only. Needs libsnappy (vitals::remote_write).
#pragma once

#include <snappy.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/core/detail/protobuf.hpp"
#include "vitals/sinks/detail/push.hpp"

namespace vitals::sinks {

namespace detail {

namespace pb = vitals::detail::pb;

// Field numbers of prometheus/prompb/{remote,types}.proto.
namespace rw {
constexpr std::uint32_t write_request_timeseries = 1;
constexpr std::uint32_t timeseries_labels = 1, timeseries_samples = 2, timeseries_exemplars = 3,
                        timeseries_histograms = 4;
constexpr std::uint32_t histogram_count = 1, histogram_sum = 3, histogram_schema = 4,
                        histogram_zero_threshold = 5, histogram_zero_count = 6,
                        histogram_negative_spans = 8, histogram_negative_deltas = 9,
                        histogram_positive_spans = 11, histogram_positive_deltas = 12,
                        histogram_timestamp = 15;
constexpr std::uint32_t label_name = 1, label_value = 2;
constexpr std::uint32_t sample_value = 1, sample_timestamp = 2;
constexpr std::uint32_t exemplar_labels = 1, exemplar_value = 2, exemplar_timestamp = 3;
}  // namespace rw

/// The series' labels as remote write wants them: `__name__` included, all
/// sorted by name, empty values left out (Prometheus reads empty as absent).
/// `name` instead of the series' own when given.
template <class F>
void for_each_wire_label(const series& s, F&& f, std::string_view name = {}) {
  constexpr std::string_view name_label = "__name__";
  if (name.empty()) name = s.name();
  bool name_done = false;
  for (const auto& l : s.labels()) {
    if (!name_done && std::string_view(l.name) > name_label) {
      f(name_label, name);
      name_done = true;
    }
    if (!l.value.empty()) f(std::string_view(l.name), std::string_view(l.value));
  }
  if (!name_done) f(name_label, name);
}

inline std::size_t label_size(std::string_view name, std::string_view value) {
  return pb::length_delimited_size(rw::label_name, name.size()) +
         pb::length_delimited_size(rw::label_value, value.size());
}

inline std::size_t sample_size(const sample& s) {
  return pb::double_size(rw::sample_value) + pb::int64_size(rw::sample_timestamp, to_unix_ms(s.t));
}

// An exemplar's time: its own, else its sample's (remote write wants one).
inline std::int64_t exemplar_ms(const sample& s) {
  const auto& t = s.exemplar->t;
  return t && std::isfinite(*t) && std::fabs(*t) < 9e12 ? std::llround(*t * 1000) : to_unix_ms(s.t);
}

inline std::size_t exemplar_size(const sample& s) {
  std::size_t n =
      pb::double_size(rw::exemplar_value) + pb::int64_size(rw::exemplar_timestamp, exemplar_ms(s));
  for (const auto& l : s.exemplar->labels)
    n += pb::length_delimited_size(rw::exemplar_labels, label_size(l.name, l.value));
  return n;
}

/// One TimeSeries: the labels of `run[0]`, then every sample of `run`, then
/// the exemplars the samples carry (remote write 1.0, prompb.Exemplar).
inline void put_timeseries(std::string& out, std::span<const sample* const> run) {
  std::size_t size = 0;
  for_each_wire_label(run[0]->series, [&](std::string_view n, std::string_view v) {
    size += pb::length_delimited_size(rw::timeseries_labels, label_size(n, v));
  });
  for (const sample* s : run) {
    size += pb::length_delimited_size(rw::timeseries_samples, sample_size(*s));
    if (s->exemplar) size += pb::length_delimited_size(rw::timeseries_exemplars, exemplar_size(*s));
  }

  pb::put_length(out, rw::write_request_timeseries, size);
  for_each_wire_label(run[0]->series, [&](std::string_view n, std::string_view v) {
    pb::put_length(out, rw::timeseries_labels, label_size(n, v));
    pb::put_string(out, rw::label_name, n);
    pb::put_string(out, rw::label_value, v);
  });
  for (const sample* s : run) {
    pb::put_length(out, rw::timeseries_samples, sample_size(*s));
    pb::put_double(out, rw::sample_value, s->value);
    pb::put_int64(out, rw::sample_timestamp, to_unix_ms(s->t));
  }
  for (const sample* s : run) {
    if (!s->exemplar) continue;
    pb::put_length(out, rw::timeseries_exemplars, exemplar_size(*s));
    for (const auto& l : s->exemplar->labels) {
      pb::put_length(out, rw::exemplar_labels, label_size(l.name, l.value));
      pb::put_string(out, rw::label_name, l.name);
      pb::put_string(out, rw::label_value, l.value);
    }
    pb::put_double(out, rw::exemplar_value, s->exemplar->value);
    pb::put_int64(out, rw::exemplar_timestamp, exemplar_ms(*s));
  }
}

/// A prompb.Histogram with integer counts, in `body`.
inline void put_native_histogram(std::string& body, const sample& s, std::string& scratch) {
  const native_buckets& n = *s.native;
  body.clear();
  pb::put_uint64(body, rw::histogram_count, s.value > 0 ? static_cast<std::uint64_t>(s.value) : 0);
  pb::put_double(body, rw::histogram_sum, n.sum);
  pb::put_sint64(body, rw::histogram_schema, n.schema);
  pb::put_double(body, rw::histogram_zero_threshold, n.zero_threshold);
  pb::put_uint64(body, rw::histogram_zero_count, n.zero_count);
  pb::put_native_side(body, rw::histogram_negative_spans, rw::histogram_negative_deltas, n.negative,
                      scratch);
  pb::put_native_side(body, rw::histogram_positive_spans, rw::histogram_positive_deltas, n.positive,
                      scratch);
  pb::put_int64(body, rw::histogram_timestamp, to_unix_ms(s.t));
}

/// The native histograms of a `_count` run, as a TimeSeries named without `_count`.
inline void put_histogram_timeseries(std::string& out, std::span<const sample* const> run) {
  std::string_view name = run[0]->series.name();
  if (name.ends_with("_count")) name.remove_suffix(6);
  std::string body, scratch, series_body;
  for_each_wire_label(
      run[0]->series,
      [&](std::string_view n, std::string_view v) {
        pb::put_length(series_body, rw::timeseries_labels, label_size(n, v));
        pb::put_string(series_body, rw::label_name, n);
        pb::put_string(series_body, rw::label_value, v);
      },
      name);
  for (const sample* s : run) {
    if (!s->native) continue;
    put_native_histogram(body, *s, scratch);
    pb::put_message(series_body, rw::timeseries_histograms, body);
  }
  pb::put_message(out, rw::write_request_timeseries, series_body);
}

/// Appends the WriteRequest for `batch` to `out`: one TimeSeries per series,
/// its samples in time order (Prometheus refuses them out of order).
/// `order` is scratch space, kept by the caller to save allocations.
inline void encode_write_request(std::span<const sample> batch, std::string& out,
                                 std::vector<const sample*>& order) {
  order.clear();
  for (const auto& s : batch) order.push_back(&s);
  std::sort(order.begin(), order.end(), [](const sample* a, const sample* b) {
    if (a->series.hash() != b->series.hash()) return a->series.hash() < b->series.hash();
    if (a->series != b->series) return a->series < b->series;
    return a->t < b->t;
  });
  for (std::size_t begin = 0, end = 0; begin < order.size(); begin = end) {
    for (end = begin + 1; end < order.size() && order[end]->series == order[begin]->series; ++end) {
    }
    const auto run = std::span<const sample* const>(order).subspan(begin, end - begin);
    put_timeseries(out, run);
    if (std::any_of(run.begin(), run.end(), [](const sample* s) { return s->native != nullptr; }))
      put_histogram_timeseries(out, run);
  }
}

/// Snappy's block format (not its framing format), as remote write specifies.
inline void snappy_compress(std::string_view in, std::string& out) {
  out.resize(snappy::MaxCompressedLength(in.size()));
  std::size_t n = 0;
  snappy::RawCompress(in.data(), in.size(), out.data(), &n);
  out.resize(n);
}

/// Runs on the sender thread only, so its buffers are reused without locks.
class remote_write_encoder {
 public:
  std::string operator()(std::span<const sample> batch) {
    raw_.clear();
    encode_write_request(batch, raw_, order_);
    std::string body;
    snappy_compress(raw_, body);
    return body;
  }

 private:
  std::string raw_;
  std::vector<const sample*> order_;
};

inline push_request remote_write_request() {
  return {"application/x-protobuf",
          {{"Content-Encoding", "snappy"},
           {"X-Prometheus-Remote-Write-Version", "0.1.0"},
           {"User-Agent", "vitals-remote-write/0.1"}}};
}

}  // namespace detail

class remote_write_sink {
 public:
  /// `url` is the receiver's write endpoint, e.g. http://127.0.0.1:9090/api/v1/write
  /// (Prometheus) or http://127.0.0.1:8428/api/v1/write (VictoriaMetrics); a bad
  /// or https URL throws std::invalid_argument.
  explicit remote_write_sink(std::string_view url, push_options o = {})
      : push_(url, std::move(o), detail::remote_write_request(), {}, nullptr, prefix) {}
  /// Also counts `vitals_remote_write_*` in `metrics`, which must outlive the sink.
  remote_write_sink(std::string_view url, push_options o, registry& metrics)
      : push_(url, std::move(o), detail::remote_write_request(), {}, &metrics, prefix) {}

  /// Queues the batch; samples beyond the queue's bound are dropped, counted,
  /// and reported in the status.
  status write(std::span<const sample> batch) { return push_.enqueue(batch.begin(), batch.end()); }
  /// Waits, up to push_options::flush_timeout, until everything written before
  /// the call is sent or counted as lost.
  status flush() { return push_.flush(); }

  push_stats stats() const { return push_.stats(); }
  /// The receiver's last complaint or the last network error, for logs.
  std::string last_error() const { return push_.last_error(); }

 private:
  static constexpr const char* prefix = "vitals_remote_write";
  detail::pusher<sample, detail::remote_write_encoder> push_;
};

static_assert(sink<remote_write_sink>);

}  // namespace vitals::sinks
