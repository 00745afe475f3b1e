// The definitions behind instruments/registry.hpp: included by it in the
// header-only mode, compiled once into vitals::compiled otherwise.
#pragma once

#include "vitals/instruments/registry.hpp"

namespace vitals {

VITALS_DECL family<vitals::counter>& registry::counter_family(std::string name, std::string help,
                                                              std::vector<std::string> labels,
                                                              family_options opts) {
  if (name.ends_with("_total")) name.resize(name.size() - 6);
  return add<vitals::counter>(std::move(name), std::move(help), std::move(labels), {}, opts);
}

VITALS_DECL family<vitals::gauge>& registry::gauge_family(std::string name, std::string help,
                                                          std::vector<std::string> labels,
                                                          family_options opts) {
  return add<vitals::gauge>(std::move(name), std::move(help), std::move(labels), {}, opts);
}

VITALS_DECL family<vitals::histogram>& registry::histogram_family(std::string name,
                                                                  std::string help,
                                                                  std::vector<std::string> labels,
                                                                  std::vector<double> bounds,
                                                                  family_options opts) {
  return add<vitals::histogram>(std::move(name), std::move(help), std::move(labels),
                                vitals::histogram::config(std::move(bounds)), opts);
}

VITALS_DECL vitals::counter& registry::counter(std::string name, std::string help) {
  return counter_family(std::move(name), std::move(help), {}).with();
}

VITALS_DECL vitals::gauge& registry::gauge(std::string name, std::string help) {
  return gauge_family(std::move(name), std::move(help), {}).with();
}

VITALS_DECL vitals::histogram& registry::histogram(std::string name, std::string help,
                                                   std::vector<double> bounds) {
  return histogram_family(std::move(name), std::move(help), {}, std::move(bounds)).with();
}

VITALS_DECL void registry::gauge_callback(std::string name, std::string help,
                                          std::function<double()> fn) {
  add_callback(std::move(name), metric_type::gauge, std::move(help), std::move(fn));
}

VITALS_DECL void registry::counter_callback(std::string name, std::string help,
                                            std::function<double()> fn) {
  if (name.ends_with("_total")) name.resize(name.size() - 6);
  add_callback(std::move(name), metric_type::counter, std::move(help), std::move(fn));
}

VITALS_DECL void registry::add_collector(std::function<void(metric_snapshot&)> fn) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(fn));
}

VITALS_DECL bool registry::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  return families_.erase(name) > 0;
}

VITALS_DECL metric_snapshot registry::collect() const {
  metric_snapshot out;
  std::lock_guard lock(mu_);
  out.reserve(families_.size() + 2);
  for (const auto& [name, f] : families_) f.impl->collect(out);
  for (const auto& fn : collectors_) fn(out);
  if (opts_.self_metrics) collect_self(out);
  return out;
}

class registry::callback_family final : public collectable {
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

VITALS_DECL void registry::add_callback(std::string name, metric_type t, std::string help,
                                        std::function<double()> fn) {
  if (auto s = check_metric_name(name); !s) throw std::invalid_argument(s.error().message);
  std::lock_guard lock(mu_);
  if (families_.contains(name))
    throw std::invalid_argument("metric '" + name + "' is already registered");
  auto impl = std::make_unique<callback_family>(name, t, std::move(help), std::move(fn));
  families_.emplace(std::move(name), entry{t, nullptr, {}, std::move(impl)});
}

VITALS_DECL void registry::collect_self(metric_snapshot& out) const {
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
  add_point(rejected, {"reason", "negative_counter_add"}, double(st.negative_counter_adds.load()));
  add_point(rejected, {"reason", "nan_observation"}, double(st.nan_observations.load()));
  add_point(rejected, {"reason", "dropped_exemplar"}, double(st.dropped_exemplars.load()));
  add_point(rejected, {"reason", "lost_observation"}, double(st.lost_observations.load()));
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

}  // namespace vitals
