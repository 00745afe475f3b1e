// The registry: named families of instruments plus callbacks evaluated at
// collection. Registering a name twice with the same shape returns the same
// family; a different type or label set for a known name is an error.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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
  // `opts.ttl`: series idle that long leave the family (family.hpp, "Stale series").
  family<vitals::counter>& counter_family(std::string name, std::string help,
                                          std::vector<std::string> labels,
                                          family_options opts = {}) {
    if (name.ends_with("_total")) name.resize(name.size() - 6);
    return add<vitals::counter>(std::move(name), std::move(help), std::move(labels), {}, opts);
  }
  family<vitals::gauge>& gauge_family(std::string name, std::string help,
                                      std::vector<std::string> labels, family_options opts = {}) {
    return add<vitals::gauge>(std::move(name), std::move(help), std::move(labels), {}, opts);
  }
  family<vitals::histogram>& histogram_family(
      std::string name, std::string help, std::vector<std::string> labels,
      std::vector<double> bounds = buckets::prometheus_default(), family_options opts = {}) {
    return add<vitals::histogram>(std::move(name), std::move(help), std::move(labels),
                                  vitals::histogram::config(std::move(bounds)), opts);
  }

  /// Unlabelled shorthands.
  vitals::counter& counter(std::string name, std::string help) {
    return counter_family(std::move(name), std::move(help), {}).with();
  }
  vitals::gauge& gauge(std::string name, std::string help) {
    return gauge_family(std::move(name), std::move(help), {}).with();
  }
  vitals::histogram& histogram(std::string name, std::string help,
                               std::vector<double> bounds = buckets::prometheus_default()) {
    return histogram_family(std::move(name), std::move(help), {}, std::move(bounds)).with();
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

  /// A gauge whose value is read from `fn` at each collection.
  void gauge_callback(std::string name, std::string help, std::function<double()> fn) {
    add_callback(std::move(name), metric_type::gauge, std::move(help), std::move(fn));
  }
  /// A counter whose value is read from `fn` at each collection (it must not decrease).
  void counter_callback(std::string name, std::string help, std::function<double()> fn) {
    if (name.ends_with("_total")) name.resize(name.size() - 6);
    add_callback(std::move(name), metric_type::counter, std::move(help), std::move(fn));
  }

  /// Any number of families produced at collection (labelled callbacks,
  /// bridges from other libraries).
  void add_collector(std::function<void(metric_snapshot&)> fn) {
    std::lock_guard lock(mu_);
    collectors_.push_back(std::move(fn));
  }

  bool remove(const std::string& name) {
    std::lock_guard lock(mu_);
    return families_.erase(name) > 0;
  }

  metric_snapshot collect() const {
    metric_snapshot out;
    std::lock_guard lock(mu_);
    out.reserve(families_.size() + 2);
    for (const auto& [name, f] : families_) f.impl->collect(out);
    for (const auto& fn : collectors_) fn(out);
    if (opts_.self_metrics) collect_self(out);
    return out;
  }

 private:
  struct entry {
    metric_type type;
    std::vector<std::string> labels;
    std::unique_ptr<collectable> impl;
    std::uint64_t (*overflowed)(const collectable&) = nullptr;
    std::uint64_t (*expired)(const collectable&) = nullptr;  // families with a ttl
  };

  template <class Metric>
  family<Metric>* find_family(std::string_view name) const {
    std::lock_guard lock(mu_);
    const auto it = families_.find(name);
    // `overflowed` is set for instrument families only, not for callbacks.
    if (it == families_.end() || it->second.type != Metric::type || !it->second.overflowed)
      return nullptr;
    return static_cast<family<Metric>*>(it->second.impl.get());
  }

  template <class Metric>
  family<Metric>& add(std::string name, std::string help, std::vector<std::string> labels,
                      typename Metric::config cfg, family_options opts = {}) {
    std::lock_guard lock(mu_);
    if (auto it = families_.find(name); it != families_.end()) {
      if (it->second.type != Metric::type || it->second.labels != labels || !it->second.overflowed)
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
            Metric::type, std::move(labels), std::move(f),
            [](const collectable& c) { return static_cast<const family<Metric>&>(c).overflowed(); },
            opts.ttl.count() > 0
                ? +[](const collectable&
                          c) { return static_cast<const family<Metric>&>(c).expired(); }
                : nullptr});
    return ref;
  }

  class callback_family final : public collectable {
   public:
    callback_family(std::string n, metric_type t, std::string h, std::function<double()> fn)
        : name_(std::move(n)), type_(t), help_(std::move(h)), fn_(std::move(fn)) {}
    void collect(metric_snapshot& out) const override {
      metric_family f{name_, type_, help_, {}, {}};
      f.points.emplace_back().value = fn_();
      out.push_back(std::move(f));
    }

   private:
    std::string name_;
    metric_type type_;
    std::string help_;
    std::function<double()> fn_;
  };

  void add_callback(std::string name, metric_type t, std::string help, std::function<double()> fn) {
    if (auto s = check_metric_name(name); !s) throw std::invalid_argument(s.error().message);
    std::lock_guard lock(mu_);
    if (families_.contains(name))
      throw std::invalid_argument("metric '" + name + "' is already registered");
    auto impl = std::make_unique<callback_family>(name, t, std::move(help), std::move(fn));
    families_.emplace(std::move(name), entry{t, {}, std::move(impl)});
  }

  void collect_self(metric_snapshot& out) const {
    auto& st = detail::instrument_stats::get();
    metric_family rejected{"vitals_instrument_rejected",
                           metric_type::counter,
                           "Writes refused by instruments, by reason.",
                           {},
                           {}};
    auto add_point = [](metric_family& f, label l, double v) {
      auto& p = f.points.emplace_back();
      p.labels = label_set{std::move(l)};
      p.value = v;
    };
    add_point(rejected, {"reason", "negative_counter_add"},
              double(st.negative_counter_adds.load()));
    add_point(rejected, {"reason", "nan_observation"}, double(st.nan_observations.load()));
    add_point(rejected, {"reason", "dropped_exemplar"}, double(st.dropped_exemplars.load()));
    out.push_back(std::move(rejected));

    metric_family overflow{"vitals_cardinality_overflow",
                           metric_type::counter,
                           "Lookups of new label values sent to the overflow series because the "
                           "family reached its series limit.",
                           {},
                           {}};
    for (const auto& [name, e] : families_)
      if (e.overflowed) add_point(overflow, {"family", name}, double(e.overflowed(*e.impl)));
    if (!overflow.points.empty()) out.push_back(std::move(overflow));

    metric_family expired{"vitals_series_expired",
                          metric_type::counter,
                          "Series dropped from a family with a ttl for being idle that long.",
                          {},
                          {}};
    for (const auto& [name, e] : families_)
      if (e.expired) add_point(expired, {"family", name}, double(e.expired(*e.impl)));
    if (!expired.points.empty()) out.push_back(std::move(expired));
  }

  registry_options opts_;
  mutable std::mutex mu_;
  std::map<std::string, entry, std::less<>> families_;
  std::vector<std::function<void(metric_snapshot&)>> collectors_;
};

}  // namespace vitals
