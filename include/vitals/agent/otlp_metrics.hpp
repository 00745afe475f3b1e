// OTLP metrics into samples. Gauges, sums, histograms and summaries become
// series named as Prometheus' OTLP translation names them, labelled with
// the resource's and the point's attributes (the point's win). Delta sums
// and histograms are added up per series into cumulative series: a point
// not newer than the last one taken for its series is a replayed export
// and is skipped, so a retry never counts twice; a series first seen after
// a restart goes on from the value the store holds. Cumulative points pass
// through (a lower value after a new start_time_unix_nano is the producer's
// reset, which rates read as one). Series per resource, resources and
// remembered series are bounded (a hostile client's attributes cannot grow
// memory); every point not taken is counted with its reason. A series idle
// for `series_idle` is forgotten, freeing its place: when it comes back it
// goes on from the store's last point, as after a restart. Exponential
// histograms become explicit buckets at powers of two (stores keep scalars;
// exponential_buckets below says why and how); with delta temporality only
// their count and sum.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "vitals/agent/otlp_names.hpp"
#include "vitals/core/concepts.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::agent {

struct otlp_metrics_options {
  std::size_t max_series_per_resource = 5000;
  std::size_t max_resources = 1000;
  std::size_t max_remembered_series = 200000;                     // replay and delta state
  std::size_t max_attributes = 128;                               // per point, resource included
  std::size_t max_buckets = 512;                                  // per histogram point
  std::size_t max_value_length = 1024;                            // a label value is cut there
  std::chrono::milliseconds series_idle = std::chrono::hours(1);  // then forgotten
};

/// What one export did: points taken, replays skipped (not an error) and
/// points rejected, with the first reason.
struct otlp_metrics_result {
  std::size_t accepted = 0;
  std::size_t replayed = 0;
  std::size_t rejected = 0;
  std::string message;
  bool store_failed = false;
};

class otlp_metrics_mapper {
 public:
  /// `push` stores a batch (the pipeline's push); `latest` asks the store
  /// for a series' last point, to continue a delta series after a restart.
  using push_fn = std::function<status(std::span<const sample>)>;
  using latest_fn = std::function<std::optional<point>(const series&)>;

  otlp_metrics_mapper(registry& metrics, push_fn push, latest_fn latest,
                      otlp_metrics_options o = {})
      : push_(std::move(push)),
        latest_(std::move(latest)),
        opts_(o),
        points_(metrics.counter_family("vitals_otlp_data_points",
                                       "OTLP data points received, by outcome.", {"outcome"})),
        series_(metrics.gauge("vitals_otlp_series",
                              "OTLP series remembered (delta totals and replay state).")),
        evicted_(metrics.counter("vitals_otlp_series_evicted",
                                 "OTLP series forgotten after being idle (series_idle).")),
        exemplars_dropped_(
            metrics.counter("vitals_otlp_exemplars_dropped",
                            "OTLP exemplars not kept: labels over 128 characters, or invalid.")) {}

  /// Maps, stores and remembers one export, all or nothing: when the store
  /// refuses the batch nothing is remembered, so the sender's retry counts.
  /// `now` is the receiver's time (a parameter for tests).
  otlp_metrics_result ingest(const otlp_pb::ExportMetricsServiceRequest& req,
                             timestamp now = vitals::now()) {
    std::lock_guard lock(mu_);
    otlp_metrics_result r;
    batch_.clear();
    updates_.clear();
    const std::int64_t now_ms = to_unix_ms(now);
    evict_idle(now_ms);
    for (const auto& rm : req.resource_metrics()) {
      std::vector<label> base;
      for (const auto& kv : rm.resource().attributes()) add_label(base, kv);
      const std::uint64_t resource =
          series_hash("resource", label_set::from_sorted_unchecked(sorted_unique(base)));
      for (const auto& sm : rm.scope_metrics())
        for (const auto& m : sm.metrics()) map_metric(m, base, resource, now_ms, r);
    }
    if (!batch_.empty()) {
      if (auto st = push_(batch_); !st) {
        points_.with("store_refused").inc(r.accepted);
        r.rejected += r.accepted;
        r.accepted = 0;
        r.store_failed = true;
        r.message = "not stored: " + st.error().message;
        for (auto h : new_series_) forget_series(h);
        new_series_.clear();
        series_.set(double(owner_.size()));
        return r;
      }
    }
    new_series_.clear();
    for (auto& [h, u] : updates_) state_[h] = u;
    series_.set(double(owner_.size()));
    points_.with("accepted").inc(r.accepted);
    points_.with("replayed").inc(r.replayed);
    return r;
  }

 private:
  struct series_state {
    std::int64_t last_ms = 0;
    double total = 0;  // delta series: the cumulative value
  };

  // Sorted by name, in place; of equal names the later (the point's, over
  // the resource's) is kept. An insertion sort: it is stable, allocates
  // nothing, and a point has at most max_attributes labels.
  static std::vector<label> sorted_unique(std::vector<label> l) {
    for (std::size_t i = 1; i < l.size(); ++i)
      for (std::size_t j = i; j > 0 && l[j].name < l[j - 1].name; --j) std::swap(l[j], l[j - 1]);
    std::size_t n = 0;
    for (std::size_t i = 0; i < l.size(); ++i) {
      if (n > 0 && l[n - 1].name == l[i].name)
        l[n - 1] = std::move(l[i]);
      else if (n++ != i)
        l[n - 1] = std::move(l[i]);
    }
    l.resize(n);
    return l;
  }

  void add_label(std::vector<label>& out, const otlp_pb::KeyValue& kv) {
    auto v = otlp_value_text(kv.value());
    if (v.size() > opts_.max_value_length) v.resize(opts_.max_value_length);
    if (v.empty()) return;  // an empty label is no label in Prometheus
    out.push_back({label_name(kv.key()), std::move(v)});
  }

  // Attribute keys repeat on every point: their label names are kept, up
  // to a bound (past it the cache starts again), so the usual point
  // translates nothing.
  const std::string& label_name(const std::string& key) {
    if (auto it = names_.find(key); it != names_.end()) return it->second;
    if (names_.size() >= max_names) names_.clear();
    return names_.emplace(key, prometheus_label_name(key)).first->second;
  }
  static constexpr std::size_t max_names = 4096;

  void reject(otlp_metrics_result& r, std::string_view reason, std::string message,
              std::size_t n = 1) {
    if (n == 0) return;
    r.rejected += n;
    points_.with(reason).inc(n);
    if (r.message.empty()) r.message = std::move(message);
  }

  // Admits a series of `resource` under the cardinality bounds, and marks
  // it seen. A series belongs to the resource that first sent it.
  bool admit(std::uint64_t resource, std::uint64_t h, std::int64_t now_ms) {
    if (auto o = owner_.find(h); o != owner_.end()) {
      o->second.seen_ms = now_ms;
      return true;
    }
    auto it = per_resource_.find(resource);
    if (it == per_resource_.end()) {
      if (per_resource_.size() >= opts_.max_resources) return false;
      it = per_resource_.emplace(resource, 0).first;
    }
    if (it->second >= opts_.max_series_per_resource || owner_.size() >= opts_.max_remembered_series)
      return false;
    ++it->second;
    owner_.emplace(h, owned{resource, now_ms});
    new_series_.push_back(h);
    return true;
  }

  void forget_series(std::uint64_t h) {
    auto o = owner_.find(h);
    if (o == owner_.end()) return;
    if (auto it = per_resource_.find(o->second.resource);
        it != per_resource_.end() && --it->second == 0)
      per_resource_.erase(it);
    owner_.erase(o);
    state_.erase(h);
  }

  // At most once a minute (or series_idle, if shorter): forgets the series
  // not seen for series_idle, and resources left without series. Bounded
  // by max_remembered_series.
  void evict_idle(std::int64_t now_ms) {
    constexpr std::int64_t ten_years_ms = 315360000000;  // keeps now - idle in range
    const std::int64_t idle = std::clamp<std::int64_t>(opts_.series_idle.count(), 0, ten_years_ms);
    if (now_ms < next_sweep_ms_) return;
    next_sweep_ms_ = now_ms + std::min<std::int64_t>(idle, 60000);
    std::vector<std::uint64_t> gone;
    for (const auto& [h, o] : owner_)
      if (o.seen_ms <= now_ms - idle) gone.push_back(h);
    for (auto h : gone) forget_series(h);
    std::erase_if(per_resource_, [](const auto& kv) { return kv.second == 0; });
    evicted_.inc(gone.size());
    series_.set(double(owner_.size()));
  }

  // One series of a point (a histogram point has several).
  struct out_value {
    std::string name;
    std::vector<label> extra;
    double value;
    std::shared_ptr<const exemplar> ex = nullptr;
  };

  // An OTLP exemplar as the exposition's: trace_id and span_id in hex, the
  // filtered attributes as labels; null (and counted) when it does not fit
  // OpenMetrics' 128 characters or its time is out of range.
  std::shared_ptr<const exemplar> to_exemplar(const otlp_pb::Exemplar& e) {
    std::vector<label> l;
    auto hex = [](const std::string& bytes) {
      static constexpr char digits[] = "0123456789abcdef";
      std::string out;
      for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
      }
      return out;
    };
    if (!e.trace_id().empty()) l.push_back({"trace_id", hex(e.trace_id())});
    if (!e.span_id().empty()) l.push_back({"span_id", hex(e.span_id())});
    for (const auto& kv : e.filtered_attributes()) {
      if (l.size() >= 8) break;
      add_label(l, kv);
    }
    std::size_t chars = 0;
    for (const auto& x : l) chars += x.name.size() + x.value.size();
    auto labels = label_set::make(sorted_unique(std::move(l)));
    if (chars > 128 || !labels) {
      exemplars_dropped_.inc();
      return nullptr;
    }
    auto out = std::make_shared<exemplar>();
    out->labels = std::move(*labels);
    out->value = e.value_case() == otlp_pb::Exemplar::kAsInt ? double(e.as_int()) : e.as_double();
    if (e.time_unix_nano() >= 946684800ull * 1000000000ull &&
        e.time_unix_nano() < 7258118400ull * 1000000000ull)  // 2000 to 2200
      out->t = double(e.time_unix_nano() / 1000000) / 1000;
    return out;
  }

  // The last of `es` that converts (OTLP sends them oldest first).
  template <class Exemplars>
  std::shared_ptr<const exemplar> last_exemplar(const Exemplars& es) {
    for (int i = es.size(); i-- > 0;)
      if (auto e = to_exemplar(es[i])) return e;
    return nullptr;
  }

  void emit_point(const std::vector<label>& base,
                  const google::protobuf::RepeatedPtrField<otlp_pb::KeyValue>& attributes,
                  std::uint64_t time_ns, bool delta, std::uint64_t resource, std::int64_t now_ms,
                  std::vector<out_value> values, otlp_metrics_result& r) {
    if (std::size_t(attributes.size()) + base.size() > opts_.max_attributes)
      return reject(
          r, "too_many_attributes",
          "a data point has more than " + std::to_string(opts_.max_attributes) + " attributes");
    // Range-checked before any arithmetic: 0 is "now"; up to an hour ahead.
    std::int64_t t_ms = now_ms;
    if (time_ns != 0) {
      if (time_ns < 946684800ull * 1000000000ull ||
          time_ns / 1000000 > std::uint64_t(now_ms) + 3600000)
        return reject(r, "bad_time",
                      "time_unix_nano out of range (before 2000 or more than an hour ahead)");
      t_ms = std::int64_t(time_ns / 1000000);
    }
    std::vector<label> labels;
    labels.reserve(base.size() + std::size_t(attributes.size()) + 1);
    labels.assign(base.begin(), base.end());
    for (const auto& kv : attributes) add_label(labels, kv);
    bool replay = false, refused = false;
    std::vector<sample> out;
    std::vector<std::pair<std::uint64_t, series_state>> taken;
    for (std::size_t i = 0; i < values.size(); ++i) {
      auto& v = values[i];
      auto l = i + 1 == values.size() ? std::move(labels) : labels;  // the last takes them
      for (auto& e : v.extra) l.push_back(std::move(e));
      series s(std::move(v.name), label_set::from_sorted_unchecked(sorted_unique(std::move(l))));
      const auto h = s.hash();
      if (!admit(resource, h, now_ms)) {
        refused = true;
        break;
      }
      series_state st;
      if (auto u = updates_.find(h); u != updates_.end())
        st = u->second;
      else if (auto k = state_.find(h); k != state_.end())
        st = k->second;
      else if (auto p = latest_ ? latest_(s) : std::nullopt)
        st = {to_unix_ms(p->t), delta && std::isfinite(p->value) ? p->value : 0};
      if (st.last_ms != 0 && t_ms <= st.last_ms) {
        replay = true;
        break;
      }
      st.last_ms = t_ms;
      if (delta) st.total += v.value;
      taken.emplace_back(h, st);
      out.push_back(
          {std::move(s), from_unix_ms(t_ms), delta ? st.total : v.value, std::move(v.ex)});
    }
    if (refused)
      return reject(r, "cardinality",
                    "too many series for one resource (limit " +
                        std::to_string(opts_.max_series_per_resource) + ")");
    if (replay) {
      ++r.replayed;
      return;
    }
    for (auto& [h, st] : taken) updates_[h] = st;
    for (auto& s : out) batch_.push_back(std::move(s));
    ++r.accepted;
  }

  /// `_bucket` values: per-bucket `counts` added up below each of `bounds`,
  /// then +Inf holding `total`; each exemplar to the bucket its value falls
  /// in (the last one wins there).
  template <class Exemplars>
  std::vector<out_value> bucket_values(const std::string& name, std::span<const double> bounds,
                                       std::span<const double> counts, double total,
                                       const Exemplars& exemplars) {
    std::vector<out_value> vs;
    vs.reserve(bounds.size() + 3);
    double running = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      running += counts[i];
      vs.push_back({name + "_bucket", {{"le", otlp_bound_text(bounds[i])}}, running});
    }
    vs.push_back({name + "_bucket", {{"le", "+Inf"}}, total});
    for (int i = 0; i < std::min(exemplars.size(), 64); ++i) {
      auto e = to_exemplar(exemplars[i]);
      if (!e) continue;
      std::size_t b = 0;
      while (b < bounds.size() && !(e->value <= bounds[b])) ++b;
      vs[b].ex = std::move(e);
    }
    return vs;
  }

  /// An exponential histogram point as explicit buckets, ascending, with
  /// counts per bucket: at a scale of at most 0, so that the bounds are
  /// powers of two whatever scale the producer reaches (its SDK lowers it as
  /// data spreads, and with delta temporality each export starts afresh): a
  /// series per `le` then means the same bucket in every export. Negative
  /// buckets end at -base^i, the zero bucket at zero_threshold, positive
  /// ones at base^(i+1). Empty when it fits, else what is wrong, naming the field.
  std::string exponential_buckets(const otlp_pb::ExponentialHistogramDataPoint& p,
                                  std::vector<double>& bounds, std::vector<double>& counts) const {
    if (p.scale() < -10 || p.scale() > 20) return "scale must be from -10 to 20";
    if ((p.has_sum() && !std::isfinite(p.sum())) || !std::isfinite(p.zero_threshold()) ||
        p.zero_threshold() < 0)
      return "sum and zero_threshold must be finite, zero_threshold not negative";
    const int scale = std::min(p.scale(), 0);
    const int shift = p.scale() - scale;
    const double width = std::exp2(-double(scale));  // log2(base)
    // Each side at `scale`, as (index, count) ascending; bucket i of the
    // producer's scale is bucket floor(i / 2^shift) here.
    using side = std::vector<std::pair<std::int64_t, double>>;
    auto rescale = [&](const otlp_pb::ExponentialHistogramDataPoint::Buckets& b, side& out) {
      for (int k = 0; k < b.bucket_counts_size(); ++k) {
        if (b.bucket_counts(k) == 0) continue;
        const std::int64_t i = (std::int64_t{b.offset()} + k) >> shift;
        if (!out.empty() && out.back().first == i)
          out.back().second += double(b.bucket_counts(k));
        else
          out.emplace_back(i, double(b.bucket_counts(k)));
      }
    };
    side pos, neg;
    rescale(p.positive(), pos);
    rescale(p.negative(), neg);
    if (pos.size() + neg.size() + 2 > opts_.max_buckets)
      return "more than " + std::to_string(opts_.max_buckets) + " buckets";
    // log2 of a bound is index * 2^-scale: past +-1023 it is no double.
    auto fits = [&](const side& v) {
      return v.empty() || (double(v.front().first) * width > -1022 &&
                           (double(v.back().first) + 1) * width < 1023);
    };
    if (!fits(pos)) return "positive.offset out of range for the scale";
    if (!fits(neg)) return "negative.offset out of range for the scale";
    auto add = [&](double le, double n) {
      if (!bounds.empty() && !(le > bounds.back())) {  // the zero bucket reaches past a bound
        counts.back() += n;
        return;
      }
      bounds.push_back(le);
      counts.push_back(n);
    };
    for (auto it = neg.rbegin(); it != neg.rend(); ++it)
      add(-std::exp2(double(it->first) * width), it->second);
    if (p.zero_count() > 0 || !neg.empty()) add(p.zero_threshold(), double(p.zero_count()));
    for (const auto& [i, n] : pos) add(std::exp2((double(i) + 1) * width), n);
    return {};
  }

  void map_metric(const otlp_pb::Metric& m, const std::vector<label>& base, std::uint64_t resource,
                  std::int64_t now_ms, otlp_metrics_result& r) {
    using M = otlp_pb::Metric;
    constexpr std::uint32_t no_value = 1;  // DataPointFlags.NO_RECORDED_VALUE
    const auto delta_t = otlp_pb::AGGREGATION_TEMPORALITY_DELTA;
    auto number = [](const otlp_pb::NumberDataPoint& p) {
      return p.value_case() == otlp_pb::NumberDataPoint::kAsInt ? double(p.as_int())
                                                                : p.as_double();
    };
    switch (m.data_case()) {
      case M::kGauge: {
        const auto name = prometheus_metric_name(m.name(), m.unit(), false, true);
        for (const auto& p : m.gauge().data_points()) {
          if (p.flags() & no_value) continue;  // a staleness marker carries nothing to store
          emit_point(base, p.attributes(), p.time_unix_nano(), false, resource, now_ms,
                     {{name, {}, number(p)}}, r);
        }
        return;
      }
      case M::kSum: {
        const auto& sum = m.sum();
        const bool delta = sum.aggregation_temporality() == delta_t;
        const auto name = prometheus_metric_name(m.name(), m.unit(), sum.is_monotonic(), false);
        for (const auto& p : sum.data_points()) {
          if (p.flags() & no_value) continue;
          const double v = number(p);
          if (!std::isfinite(v) || (sum.is_monotonic() && v < 0)) {
            reject(r, "bad_value",
                   "metric " + m.name().substr(0, 200) +
                       ": a monotonic sum needs a finite, non-negative value");
            continue;
          }
          emit_point(base, p.attributes(), p.time_unix_nano(), delta, resource, now_ms,
                     {{name, {}, v, last_exemplar(p.exemplars())}}, r);
        }
        return;
      }
      case M::kHistogram: {
        const auto& hist = m.histogram();
        const bool delta = hist.aggregation_temporality() == delta_t;
        const auto name = prometheus_metric_name(m.name(), m.unit(), false, false);
        for (const auto& p : hist.data_points()) {
          if (p.flags() & no_value) continue;
          const auto nb = std::size_t(p.bucket_counts_size());
          if (nb > opts_.max_buckets ||
              (nb != 0 && nb != std::size_t(p.explicit_bounds_size()) + 1) ||
              (p.has_sum() && !std::isfinite(p.sum()))) {
            reject(r, "bad_value",
                   "metric " + m.name().substr(0, 200) +
                       ": bucket_counts must be one longer than explicit_bounds (at most " +
                       std::to_string(opts_.max_buckets) + ") and sum finite");
            continue;
          }
          std::vector<out_value> vs;
          if (nb > 0) {
            std::vector<double> counts(p.bucket_counts().begin(), p.bucket_counts().end());
            double total = 0;
            for (double c : counts) total += c;
            vs = bucket_values(name, {p.explicit_bounds().data(), nb - 1}, counts, total,
                               p.exemplars());
          }
          vs.push_back({name + "_count", {}, double(p.count())});
          if (p.has_sum()) vs.push_back({name + "_sum", {}, p.sum()});
          emit_point(base, p.attributes(), p.time_unix_nano(), delta, resource, now_ms,
                     std::move(vs), r);
        }
        return;
      }
      case M::kSummary: {
        const auto name = prometheus_metric_name(m.name(), m.unit(), false, false);
        for (const auto& p : m.summary().data_points()) {
          if (p.flags() & no_value) continue;
          if (std::size_t(p.quantile_values_size()) > opts_.max_buckets) {
            reject(r, "bad_value", "metric " + m.name().substr(0, 200) + ": too many quantiles");
            continue;
          }
          std::vector<out_value> vs;
          for (const auto& q : p.quantile_values())
            vs.push_back({name, {{"quantile", otlp_bound_text(q.quantile())}}, q.value()});
          vs.push_back({name + "_count", {}, double(p.count())});
          vs.push_back({name + "_sum", {}, p.sum()});
          emit_point(base, p.attributes(), p.time_unix_nano(), false, resource, now_ms,
                     std::move(vs), r);
        }
        return;
      }
      case M::kExponentialHistogram: {
        const auto& hist = m.exponential_histogram();
        const bool delta = hist.aggregation_temporality() == delta_t;
        const auto name = prometheus_metric_name(m.name(), m.unit(), false, false);
        for (const auto& p : hist.data_points()) {
          if (p.flags() & no_value) continue;
          std::vector<double> bounds, counts;
          if (auto why = exponential_buckets(p, bounds, counts); !why.empty()) {
            reject(r, "bad_value", "metric " + m.name().substr(0, 200) + ": " + why);
            continue;
          }
          std::vector<out_value> vs;
          // Delta points list only the buckets that changed: adding one up
          // per `le` would miss what a change below adds to every bucket
          // above, so only their count and sum are kept.
          if (!delta) vs = bucket_values(name, bounds, counts, double(p.count()), p.exemplars());
          vs.push_back({name + "_count", {}, double(p.count())});
          if (p.has_sum()) vs.push_back({name + "_sum", {}, p.sum()});
          emit_point(base, p.attributes(), p.time_unix_nano(), delta, resource, now_ms,
                     std::move(vs), r);
        }
        return;
      }
      default:
        return reject(r, "unsupported",
                      "metric " + m.name().substr(0, 200) + ": no data (or an unknown type)");
    }
  }

  push_fn push_;
  latest_fn latest_;
  otlp_metrics_options opts_;
  family<vitals::counter>& points_;
  vitals::gauge& series_;
  vitals::counter& evicted_;
  vitals::counter& exemplars_dropped_;
  std::mutex mu_;
  std::unordered_map<std::uint64_t, series_state> state_;  // by series hash
  struct owned {
    std::uint64_t resource;
    std::int64_t seen_ms;  // the receiver's time it last came
  };
  std::unordered_map<std::uint64_t, std::size_t> per_resource_;  // resource -> its series
  std::unordered_map<std::uint64_t, owned> owner_;               // every series admitted
  std::int64_t next_sweep_ms_ = 0;
  std::unordered_map<std::string, std::string> names_;  // attribute key -> label name
  // This export's work, committed once the store has taken it.
  sample_batch batch_;
  std::unordered_map<std::uint64_t, series_state> updates_;
  std::vector<std::uint64_t> new_series_;
};

}  // namespace vitals::agent
