// The registry: named families of instruments plus callbacks evaluated at
// collection. Registering a name twice with the same shape returns the same
// family; a different type or label set for a known name is an error.
//
// Its functions are compiled once into vitals::compiled in the compiled mode
// (core/detail/config.hpp), with the three families it makes; they are
// defined in instruments/detail/registry_impl.hpp.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/counter.hpp"
#include "vitals/instruments/detail/stats.hpp"
#include "vitals/instruments/family.hpp"
#include "vitals/instruments/gauge.hpp"
#include "vitals/instruments/histogram.hpp"

namespace vitals {

struct registry_options {
  std::size_t max_series_per_family = default_max_series;
  /// Expose vitals' own counts of refused writes and cardinality overflows.
  bool self_metrics = true;
};

class registry {
 public:
  registry() = default;
  explicit registry(registry_options o) : opts_(o) {}
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // Counter names may be given with or without `_total`; the family is stored
  // without it and the writers add it back, as OpenMetrics specifies.
  VITALS_DECL family<vitals::counter>& counter_family(std::string name, std::string help,
                                                      std::vector<std::string> labels);
  VITALS_DECL family<vitals::gauge>& gauge_family(std::string name, std::string help,
                                                  std::vector<std::string> labels);
  VITALS_DECL family<vitals::histogram>& histogram_family(
      std::string name, std::string help, std::vector<std::string> labels,
      std::vector<double> bounds = buckets::prometheus_default());

  /// Unlabelled shorthands.
  VITALS_DECL vitals::counter& counter(std::string name, std::string help);
  VITALS_DECL vitals::gauge& gauge(std::string name, std::string help);
  VITALS_DECL vitals::histogram& histogram(
      std::string name, std::string help,
      std::vector<double> bounds = buckets::prometheus_default());

  /// A gauge whose value is read from `fn` at each collection.
  VITALS_DECL void gauge_callback(std::string name, std::string help, std::function<double()> fn);
  /// A counter whose value is read from `fn` at each collection (it must not decrease).
  VITALS_DECL void counter_callback(std::string name, std::string help, std::function<double()> fn);

  /// Any number of families produced at collection (labelled callbacks,
  /// bridges from other libraries).
  VITALS_DECL void add_collector(std::function<void(metric_snapshot&)> fn);

  VITALS_DECL bool remove(const std::string& name);

  VITALS_DECL metric_snapshot collect() const;

 private:
  struct entry {
    metric_type type;
    std::vector<std::string> labels;
    std::unique_ptr<collectable> impl;
    std::uint64_t (*overflowed)(const collectable&) = nullptr;
  };

  template <class Metric>
  family<Metric>& add(std::string name, std::string help, std::vector<std::string> labels,
                      typename Metric::config cfg) {
    std::lock_guard lock(mu_);
    if (auto it = families_.find(name); it != families_.end()) {
      if (it->second.type != Metric::type || it->second.labels != labels || !it->second.overflowed)
        throw std::invalid_argument("metric '" + name +
                                    "' is already registered with another type or labels");
      return static_cast<family<Metric>&>(*it->second.impl);
    }
    auto f = std::make_unique<family<Metric>>(name, std::move(help), labels, std::move(cfg),
                                              opts_.max_series_per_family);
    auto& ref = *f;
    families_.emplace(
        std::move(name),
        entry{Metric::type, std::move(labels), std::move(f), [](const collectable& c) {
                return static_cast<const family<Metric>&>(c).overflowed();
              }});
    return ref;
  }

  class callback_family;

  VITALS_DECL void add_callback(std::string name, metric_type t, std::string help,
                                std::function<double()> fn);
  VITALS_DECL void collect_self(metric_snapshot& out) const;

  registry_options opts_;
  mutable std::mutex mu_;
  std::map<std::string, entry> families_;
  std::vector<std::function<void(metric_snapshot&)>> collectors_;
};

}  // namespace vitals

#if defined(VITALS_HEADER_ONLY)
#include "vitals/instruments/detail/registry_impl.hpp"
#else
namespace vitals {
extern template class family<counter>;
extern template class family<gauge>;
extern template class family<histogram>;
}  // namespace vitals
#endif
