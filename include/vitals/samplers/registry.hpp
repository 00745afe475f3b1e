// Turns an exposition snapshot into samples, so in-process instruments flow
// through the same stores and sinks as everything sampled from outside.
// Sample names are the exposition's: `_total` for counters, `_bucket{le}`,
// `_sum` and `_count` for histograms, `{quantile}` for summaries. A native
// histogram's buckets ride on its `_count` sample (sample::native).
#pragma once

#include <charconv>
#include <cmath>
#include <concepts>
#include <string>
#include <string_view>

#include "vitals/core/concepts.hpp"
#include "vitals/core/snapshot.hpp"

namespace vitals::samplers {

namespace detail {
inline std::string le_label(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

inline label_set merge(const label_set& a, const label_set& b) {
  label_set out = a;
  for (const auto& l : b) out = out.with(l.name, l.value);
  return out;
}
}  // namespace detail

/// Appends the samples of `snap` to `out`, each with `extra` labels added.
inline void append_samples(const metric_snapshot& snap, timestamp t, const label_set& extra,
                           sample_batch& out) {
  for (const auto& f : snap) {
    for (const auto& p : f.points) {
      const label_set l = extra.empty() ? p.labels : detail::merge(p.labels, extra);
      const timestamp at = p.t.value_or(t);
      // The exemplar by pointer: a defaulted std::optional<exemplar> made
      // GCC 12 warn -Wmaybe-uninitialized at -O2 wherever this was inlined.
      auto add = [&](std::string name, label_set ls, double v, const exemplar* ex = nullptr) {
        out.push_back({series(std::move(name), std::move(ls)), at, v,
                       ex ? std::make_shared<const exemplar>(*ex) : nullptr});
      };
      auto of = [](const std::optional<exemplar>& e) { return e ? &*e : nullptr; };
      switch (f.type) {
        case metric_type::counter:
          add(f.name + "_total", l, p.value, of(p.exemplar));
          break;
        case metric_type::histogram:
        case metric_type::gaugehistogram:
          for (const auto& b : p.buckets)
            add(f.name + "_bucket", l.with("le", detail::le_label(b.le)), b.count, of(b.exemplar));
          add(f.name + "_sum", l, p.sum);
          add(f.name + "_count", l, p.count);
          out.back().native = p.native;
          break;
        case metric_type::summary:
          for (const auto& q : p.quantiles)
            add(f.name, l.with("quantile", detail::le_label(q.q)), q.value);
          add(f.name + "_sum", l, p.sum);
          add(f.name + "_count", l, p.count);
          break;
        case metric_type::info:
          add(f.name + "_info", l, 1);
          break;
        default:
          add(f.name, l, p.value);
          break;
      }
    }
  }
}

/// A vitals::registry, or a bridge from another library: `snapshot_source`
/// lives in core/sampling.hpp; the name stays usable here.
using vitals::snapshot_source;

template <snapshot_source Source>
class registry_sampler {
 public:
  explicit registry_sampler(const Source& src, label_set extra = {}, std::string name = "registry")
      : src_(&src), extra_(std::move(extra)), name_(std::move(name)) {}

  std::string_view name() const noexcept { return name_; }
  status collect(sample_batch& out, timestamp now) {
    append_samples(src_->collect(), now, extra_, out);
    return {};
  }

 private:
  const Source* src_;
  label_set extra_;
  std::string name_;
};

/// Any function `status(sample_batch&, timestamp)` as a sampler.
template <class F>
requires std::is_invocable_r_v<status, F&, sample_batch&, timestamp>
class callback_sampler {
 public:
  callback_sampler(std::string name, F fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string_view name() const noexcept { return name_; }
  status collect(sample_batch& out, timestamp now) { return fn_(out, now); }

 private:
  std::string name_;
  F fn_;
};

}  // namespace vitals::samplers
