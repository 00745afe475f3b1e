// Per-second rates from cumulative counters, between consecutive samples of
// the same series. A drop is a counter reset (the process restarted), never a
// negative rate: the increase is then the new value itself.
//
// `with_rates<S>` wraps a sampler and adds the derived values the 004 seed's
// dashboards show: for every `<x>_total` sample a `<x>_per_second`, and
// `process_cpu_percent` / `container_cpu_percent` (100 = one core busy).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vitals/core/concepts.hpp"

namespace vitals::samplers {

class rate_tracker {
 public:
  /// The rate since the previous value of `s`, or nullopt for the first value
  /// (or a timestamp that did not move forward).
  std::optional<double> update(const series& s, timestamp t, double v) {
    auto [it, fresh] = last_.try_emplace(s, point{t, v});
    if (fresh) return std::nullopt;
    const point prev = it->second;
    it->second = {t, v};
    const double seconds = double(to_unix_ms(t) - to_unix_ms(prev.t)) / 1000.0;
    if (seconds <= 0) return std::nullopt;
    const double increase = v >= prev.value ? v - prev.value : v;
    return increase / seconds;
  }

  void forget(const series& s) { last_.erase(s); }
  std::size_t size() const noexcept { return last_.size(); }

 private:
  std::unordered_map<series, point, series_hasher> last_;
};

template <sampler S>
class with_rates {
 public:
  explicit with_rates(S inner) : inner_(std::move(inner)) {}

  std::string_view name() const noexcept { return inner_.name(); }
  S& inner() noexcept { return inner_; }

  status collect(sample_batch& out, timestamp now) {
    const std::size_t first = out.size();
    status st = inner_.collect(out, now);
    const std::size_t end = out.size();
    for (std::size_t i = first; i < end; ++i) {
      if (!out[i].series.name().ends_with("_total")) continue;
      const std::string n = out[i].series.name();  // a copy: push_back below may move `out`
      auto r = rates_.update(out[i].series, out[i].t, out[i].value);
      if (!r) continue;
      const std::string base = n.substr(0, n.size() - 6);
      const label_set labels = out[i].series.labels();
      const timestamp t = out[i].t;
      out.push_back({series(base + "_per_second", labels), t, *r});
      if (n == "process_cpu_seconds_total" || n == "container_cpu_usage_seconds_total")
        out.push_back(
            {series(n.starts_with("process") ? "process_cpu_percent" : "container_cpu_percent",
                    labels),
             t, *r * 100});
    }
    return st;
  }

 private:
  S inner_;
  rate_tracker rates_;
};

}  // namespace vitals::samplers
