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
#include <string_view>
#include <vector>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/counter.hpp"
#include "vitals/instruments/detail/stats.hpp"
#include "vitals/instruments/exponential_histogram.hpp"
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
  // `opts.ttl`: series idle that long leave the family (family.hpp, "Stale series").
  VITALS_DECL family<vitals::counter>& counter_family(std::string name, std::string help,
                                                      std::vector<std::string> labels,
                                                      family_options opts = {});
  VITALS_DECL family<vitals::gauge>& gauge_family(std::string name, std::string help,
                                                  std::vector<std::string> labels,
                                                  family_options opts = {});
  VITALS_DECL family<vitals::histogram>& histogram_family(
      std::string name, std::string help, std::vector<std::string> labels,
      std::vector<double> bounds = buckets::prometheus_default(), family_options opts = {});

  /// Native (exponential) histograms: no bounds to choose (see
  /// instruments/exponential_histogram.hpp). A bad config throws
  /// std::invalid_argument naming the field. (Templates only so that a
  /// file that does not call them does not compile their family: the
  /// argument is always exponential_histogram::config.)
  template <class Config = vitals::exponential_histogram::config>
  family<vitals::exponential_histogram>& exponential_histogram_family(
      std::string name, std::string help, std::vector<std::string> labels, Config cfg = {},
      family_options opts = {}) {
    static_assert(std::is_same_v<Config, vitals::exponential_histogram::config>);
    cfg.check();
    return add<vitals::exponential_histogram>(std::move(name), std::move(help), std::move(labels),
                                              cfg, opts);
  }

  /// Unlabelled shorthands.
  VITALS_DECL vitals::counter& counter(std::string name, std::string help);
  VITALS_DECL vitals::gauge& gauge(std::string name, std::string help);
  VITALS_DECL vitals::histogram& histogram(
      std::string name, std::string help,
      std::vector<double> bounds = buckets::prometheus_default());
  template <class Config = vitals::exponential_histogram::config>
  vitals::exponential_histogram& exponential_histogram(std::string name, std::string help,
                                                       Config cfg = {}) {
    return exponential_histogram_family(std::move(name), std::move(help), {}, cfg).with();
  }

  /// Lookups that never create (the 001 seed's Get*): the family registered
  /// under `name` as this kind of instrument, else null (absent, another
  /// kind, or a callback). A counter's name may end in `_total`.
  family<vitals::counter>* find_counter_family(std::string_view name) const {
    if (name.ends_with("_total")) name.remove_suffix(6);
    return find_family<vitals::counter>(name);
  }
  family<vitals::gauge>* find_gauge_family(std::string_view name) const {
    return find_family<vitals::gauge>(name);
  }
  family<vitals::histogram>* find_histogram_family(std::string_view name) const {
    return find_family<vitals::histogram>(name);
  }
  family<vitals::exponential_histogram>* find_exponential_histogram_family(
      std::string_view name) const {
    return find_family<vitals::exponential_histogram>(name);
  }

  /// The series of `name` with these label values, else null.
  template <class... V>
  vitals::counter* find_counter(std::string_view name, const V&... values) const {
    auto* f = find_counter_family(name);
    return f ? f->find(values...) : nullptr;
  }
  template <class... V>
  vitals::gauge* find_gauge(std::string_view name, const V&... values) const {
    auto* f = find_gauge_family(name);
    return f ? f->find(values...) : nullptr;
  }
  template <class... V>
  vitals::histogram* find_histogram(std::string_view name, const V&... values) const {
    auto* f = find_histogram_family(name);
    return f ? f->find(values...) : nullptr;
  }
  template <class... V>
  vitals::exponential_histogram* find_exponential_histogram(std::string_view name,
                                                            const V&... values) const {
    auto* f = find_exponential_histogram_family(name);
    return f ? f->find(values...) : nullptr;
  }

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
  // One address per instrument class: what tells a classic histogram family
  // from an exponential one (both are histograms to the exposition).
  template <class Metric>
  static inline const char kind_tag = 0;

  struct entry {
    metric_type type;
    const void* kind;  // &kind_tag<Metric> for instrument families, null for callbacks
    std::vector<std::string> labels;
    std::unique_ptr<collectable> impl;
    std::uint64_t (*overflowed)(const collectable&) = nullptr;
    std::uint64_t (*expired)(const collectable&) = nullptr;  // families with a ttl
  };

  template <class Metric>
  family<Metric>* find_family(std::string_view name) const {
    std::lock_guard lock(mu_);
    const auto it = families_.find(name);
    if (it == families_.end() || it->second.kind != &kind_tag<Metric>) return nullptr;
    return static_cast<family<Metric>*>(it->second.impl.get());
  }

  template <class Metric>
  family<Metric>& add(std::string name, std::string help, std::vector<std::string> labels,
                      typename Metric::config cfg, family_options opts = {}) {
    std::lock_guard lock(mu_);
    if (auto it = families_.find(name); it != families_.end()) {
      if (it->second.kind != &kind_tag<Metric> || it->second.labels != labels)
        throw std::invalid_argument("metric '" + name +
                                    "' is already registered with another type or labels");
      auto& known = static_cast<family<Metric>&>(*it->second.impl);
      if (known.ttl() != opts.ttl)
        throw std::invalid_argument("metric '" + name + "' is already registered with another ttl");
      return known;
    }
    auto f = std::make_unique<family<Metric>>(name, std::move(help), labels, std::move(cfg),
                                              opts_.max_series_per_family, opts);
    auto& ref = *f;
    families_.emplace(
        std::move(name),
        entry{
            Metric::type, &kind_tag<Metric>, std::move(labels), std::move(f),
            [](const collectable& c) { return static_cast<const family<Metric>&>(c).overflowed(); },
            opts.ttl.count() > 0
                ? +[](const collectable&
                          c) { return static_cast<const family<Metric>&>(c).expired(); }
                : nullptr});
    return ref;
  }

  class callback_family;

  VITALS_DECL void add_callback(std::string name, metric_type t, std::string help,
                                std::function<double()> fn);
  VITALS_DECL void collect_self(metric_snapshot& out) const;

  registry_options opts_;
  mutable std::mutex mu_;
  std::map<std::string, entry, std::less<>> families_;
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
extern template class family<exponential_histogram>;
}  // namespace vitals
#endif
