// The definitions behind format/families.hpp: included by it in the
// header-only mode, compiled once into vitals::compiled otherwise.
#pragma once

#include "vitals/format/families.hpp"

namespace vitals::format {

VITALS_DECL std::vector<std::string> exposed_names(std::string_view name, metric_type type) {
  const std::string n(name);
  switch (type) {
    case metric_type::counter:
      return {n, n + "_total", n + "_created"};
    case metric_type::histogram:
    case metric_type::gaugehistogram:
      return {n,           n + "_bucket", n + "_sum", n + "_count", n + "_created",
              n + "_gsum", n + "_gcount"};
    case metric_type::summary:
      return {n, n + "_sum", n + "_count", n + "_created"};
    case metric_type::info:
      return {n, n + "_info"};
    default:
      return {n};
  }
}

VITALS_DECL name_set exposed_names(const metric_snapshot& snap) {
  name_set out;
  for (const auto& f : snap)
    for (auto& n : exposed_names(f.name, f.type)) out.insert(std::move(n));
  return out;
}

namespace detail {

inline bool parse_bound(std::string_view s, double& out) {
  if (s == "+Inf" || s == "Inf") return out = std::numeric_limits<double>::infinity(), true;
  if (s == "-Inf") return out = -std::numeric_limits<double>::infinity(), true;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && !std::isnan(out);
}

inline label_set without(const label_set& ls, std::string_view name) {
  std::vector<label> kept;
  for (const auto& l : ls)
    if (l.name != name) kept.push_back(l);
  return label_set::from_sorted_unchecked(std::move(kept));
}

using latest_point = std::pair<const series*, point>;
using by_name = std::map<std::string_view, std::vector<latest_point>, std::less<>>;

class family_builder {
 public:
  family_builder(const by_name& names, name_set& taken) : names_(names), taken_(taken) {}

  /// Adds `f` unless one of its names is taken; marks its parts consumed.
  bool emit(metric_family f, std::initializer_list<std::string_view> parts, metric_snapshot& out) {
    auto names = exposed_names(f.name, f.type);
    for (const auto& n : names)
      if (taken_.contains(n)) return false;
    for (auto& n : names) taken_.insert(std::move(n));
    for (auto p : parts) consumed_.insert(std::string(p));
    out.push_back(std::move(f));
    return true;
  }

  bool consumed(std::string_view name) const { return consumed_.contains(name); }

  const std::vector<latest_point>* find(std::string_view name) const {
    auto it = names_.find(name);
    return it == names_.end() ? nullptr : &it->second;
  }

  /// `base_sum` and `base_count` per label set, when every one is there.
  bool sums_and_counts(std::string_view base, const std::map<label_set, metric_point>& points,
                       std::map<label_set, metric_point>& filled) const {
    const auto* sums = find(std::string(base) + "_sum");
    const auto* counts = find(std::string(base) + "_count");
    if (!sums || !counts || sums->size() != points.size() || counts->size() != points.size())
      return false;
    filled = points;
    for (const auto& [id, p] : *sums) {
      auto it = filled.find(id->labels());
      if (it == filled.end()) return false;
      it->second.sum = p.value;
    }
    for (const auto& [id, p] : *counts) {
      auto it = filled.find(id->labels());
      if (it == filled.end()) return false;
      it->second.count = p.value;
    }
    return true;
  }

 private:
  const by_name& names_;
  name_set& taken_;
  name_set consumed_;
};

inline void add_histograms(family_builder& b, const by_name& names, metric_snapshot& out) {
  for (const auto& [name, pts] : names) {
    if (!name.ends_with("_bucket")) continue;
    const std::string_view base = name.substr(0, name.size() - 7);
    std::map<label_set, metric_point> points;
    bool ok = true;
    for (const auto& [id, p] : pts) {
      double le = 0;
      if (!parse_bound(id->labels().get("le"), le)) {
        ok = false;
        break;
      }
      auto& mp = points[without(id->labels(), "le")];
      mp.buckets.push_back({le, p.value});
    }
    std::map<label_set, metric_point> filled;
    if (!ok || !b.sums_and_counts(base, points, filled)) continue;
    metric_family f{std::string(base), metric_type::histogram, "Latest sampled value.", {}, {}};
    for (auto& [ls, mp] : filled) {
      std::sort(mp.buckets.begin(), mp.buckets.end(),
                [](const bucket& x, const bucket& y) { return x.le < y.le; });
      if (mp.buckets.empty() || !std::isinf(mp.buckets.back().le)) ok = false;
      mp.labels = ls;
      f.points.push_back(std::move(mp));
    }
    if (ok)
      b.emit(std::move(f), {name, std::string(base) + "_sum", std::string(base) + "_count"}, out);
  }
}

inline void add_summaries(family_builder& b, const by_name& names, metric_snapshot& out) {
  for (const auto& [name, pts] : names) {
    if (b.consumed(name) || pts.empty() || pts.front().first->labels().get("quantile").empty())
      continue;
    std::map<label_set, metric_point> points;
    bool ok = true;
    for (const auto& [id, p] : pts) {
      double q = 0;
      if (!parse_bound(id->labels().get("quantile"), q)) {
        ok = false;
        break;
      }
      points[without(id->labels(), "quantile")].quantiles.push_back({q, p.value});
    }
    std::map<label_set, metric_point> filled;
    if (!ok || !b.sums_and_counts(name, points, filled)) continue;
    metric_family f{std::string(name), metric_type::summary, "Latest sampled value.", {}, {}};
    for (auto& [ls, mp] : filled) {
      std::sort(mp.quantiles.begin(), mp.quantiles.end(),
                [](const quantile& x, const quantile& y) { return x.q < y.q; });
      mp.labels = ls;
      f.points.push_back(std::move(mp));
    }
    b.emit(std::move(f), {name, std::string(name) + "_sum", std::string(name) + "_count"}, out);
  }
}

inline bool is_part_name(std::string_view n) noexcept {
  for (std::string_view s : {"_bucket", "_sum", "_count", "_created", "_info", "_gsum", "_gcount"})
    if (n.ends_with(s)) return true;
  return false;
}

}  // namespace detail

VITALS_DECL std::size_t append_families(std::span<const std::pair<series, point>> latest,
                                        name_set& taken, metric_snapshot& out) {
  detail::by_name names;
  for (const auto& [id, p] : latest) names[id.name()].push_back({&id, p});
  detail::family_builder b(names, taken);
  detail::add_histograms(b, names, out);
  detail::add_summaries(b, names, out);
  std::size_t left_out = 0;
  for (const auto& [name, pts] : names) {
    if (b.consumed(name)) continue;
    metric_family f;
    f.help = "Latest sampled value.";
    if (name.ends_with("_total")) {
      f.name = std::string(name.substr(0, name.size() - 6));
      f.type = metric_type::counter;
    } else {
      f.name = std::string(name);
      f.type = detail::is_part_name(name) ? metric_type::unknown : metric_type::gauge;
    }
    for (const auto& [id, p] : pts) {
      auto& mp = f.points.emplace_back();
      mp.labels = id->labels();
      mp.value = p.value;
    }
    if (!b.emit(std::move(f), {name}, out)) left_out += pts.size();
  }
  return left_out;
}

}  // namespace vitals::format
