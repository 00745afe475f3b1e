// Turns parsed lines into families and points. A sample joins the family its
// name belongs to (the name itself, or the name less a suffix its type
// allows), and the point with its label set (without `le` / `quantile`) and
// timestamp. A sample that fits no family starts an `unknown` one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vitals/core/labels.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/format/detail/parse_line.hpp"

namespace vitals::format::detail {

/// The part of a point that one sample line carries.
enum class part : std::uint8_t {
  value = 1,
  created = 2,
  sum = 4,
  count = 8,
  bucket = 16,
  quantile = 32
};

/// Which part a sample `<family><suffix>` carries in a family of type `t`;
/// nothing when the suffix does not belong to that type. The text format
/// has no `_created`, and its counters may omit `_total` (older clients).
inline std::optional<part> part_for(metric_type t, std::string_view suffix, dialect d) {
  const bool om = d == dialect::openmetrics;
  switch (t) {
    case metric_type::counter:
      if (suffix == "_total" || (!om && suffix.empty())) return part::value;
      if (om && suffix == "_created") return part::created;
      return std::nullopt;
    case metric_type::gauge:
    case metric_type::stateset:
    case metric_type::unknown:
      if (suffix.empty()) return part::value;
      return std::nullopt;
    case metric_type::info:
      if (suffix == "_info") return part::value;
      return std::nullopt;
    case metric_type::histogram:
    case metric_type::summary:
      if (suffix == "_sum") return part::sum;
      if (suffix == "_count") return part::count;
      if (om && suffix == "_created") return part::created;
      if (t == metric_type::histogram && suffix == "_bucket") return part::bucket;
      if (t == metric_type::summary && suffix.empty()) return part::quantile;
      return std::nullopt;
    case metric_type::gaugehistogram:
      if (suffix == "_bucket") return part::bucket;
      if (suffix == "_gsum") return part::sum;
      if (suffix == "_gcount") return part::count;
      return std::nullopt;
  }
  return std::nullopt;
}

inline std::optional<metric_type> parse_type(std::string_view s, dialect d) {
  if (s == "counter") return metric_type::counter;
  if (s == "gauge") return metric_type::gauge;
  if (s == "histogram") return metric_type::histogram;
  if (s == "summary") return metric_type::summary;
  if (d == dialect::text) {
    if (s == "untyped") return metric_type::unknown;
    return std::nullopt;
  }
  if (s == "unknown") return metric_type::unknown;
  if (s == "info") return metric_type::info;
  if (s == "stateset") return metric_type::stateset;
  if (s == "gaugehistogram") return metric_type::gaugehistogram;
  return std::nullopt;
}

struct label_set_hash {
  std::size_t operator()(const label_set& labels) const noexcept {
    std::size_t h = labels.size();
    for (const auto& l : labels) {
      h = h * 31 + std::hash<std::string_view>{}(l.name);
      h = h * 31 + std::hash<std::string_view>{}(l.value);
    }
    return h;
  }
};

class snapshot_builder {
 public:
  explicit snapshot_builder(dialect d) : d_(d) {}

  line_error help(std::string_view name, std::string_view escaped) {
    if (!is_valid_metric_name(name)) return "invalid metric name " + excerpt(name) + " in HELP";
    std::string text;
    if (auto e = unescape(escaped, text)) return *e + " in HELP";
    const std::size_t i = declared(name);
    if (states_[i].helped) return "second HELP line for " + excerpt(name);
    states_[i].helped = true;
    families_[i].help = std::move(text);
    return {};
  }

  line_error type(std::string_view name, std::string_view type_name) {
    if (!is_valid_metric_name(name)) return "invalid metric name " + excerpt(name) + " in TYPE";
    const auto t = parse_type(type_name, d_);
    if (!t) return "unknown metric type " + excerpt(type_name);
    const std::size_t i = declared(name);
    if (states_[i].typed) return "second TYPE line for " + excerpt(name);
    if (!families_[i].points.empty())
      return "TYPE line for " + excerpt(name) + " after its samples";
    if (auto e = clash(name, i, *t)) return e;
    states_[i].typed = true;
    families_[i].type = *t;
    // Text 0.0.4 declares counters by their sample name; the model keeps
    // family names without `_total`.
    if (d_ == dialect::text && *t == metric_type::counter && name.ends_with("_total")) {
      const std::string_view base = name.substr(0, name.size() - 6);
      if (!by_name_.contains(base)) {
        by_name_.erase(families_[i].name);
        families_[i].name = base;
        by_name_.emplace(std::string(base), i);
      }
    }
    return {};
  }

  line_error unit(std::string_view name, std::string_view unit) {
    if (!is_valid_metric_name(name)) return "invalid metric name " + excerpt(name) + " in UNIT";
    if (!unit.empty() && !unit_fits(name, unit))
      return "unit " + excerpt(unit) + " is not the suffix of " + excerpt(name);
    const std::size_t i = declared(name);
    if (states_[i].united) return "second UNIT line for " + excerpt(name);
    states_[i].united = true;
    families_[i].unit = unit;
    return {};
  }

  line_error add(sample_line&& s) {
    auto [family, what] = resolve(s.name);
    if (family && !what)
      return "no " + std::string(to_string(families_[*family].type)) + " sample may be named " +
             excerpt(s.name);

    double bound = 0;  // `le` or `quantile`
    if (what == part::bucket || what == part::quantile) {
      const std::string_view key = what == part::bucket ? "le" : "quantile";
      auto it = std::find_if(s.labels.begin(), s.labels.end(),
                             [&](const label& l) { return l.name == key; });
      if (it == s.labels.end())
        return "sample " + excerpt(s.name) + " has no '" + std::string(key) + "' label";
      const auto v = parse_double(it->value);
      if (!v || std::isnan(*v))
        return "invalid " + std::string(key) + " value " + excerpt(it->value);
      bound = *v;
      s.labels.erase(it);
      if (std::any_of(s.labels.begin(), s.labels.end(),
                      [&](const label& l) { return l.name == key; }))
        return "duplicate label name '" + std::string(key) + "'";
    }
    auto labels = label_set::make(std::move(s.labels));
    if (!labels) return labels.error().message;

    if (!family) {  // only now, so that a bad line leaves no empty family behind
      family = add_family(s.name);
      what = part::value;
    }
    return merge(*family, *what, std::move(*labels), s, bound);
  }

  metric_snapshot finish() && { return std::move(families_); }

 private:
  struct state {
    bool typed = false;
    bool helped = false;
    bool united = false;
    std::unordered_map<label_set, std::size_t, label_set_hash> latest;  // labels -> newest point
    std::vector<std::uint8_t> seen;  // per point: the scalar parts set so far
  };

  // The suffixes a family's sample names may carry.
  static constexpr std::string_view sample_suffixes[] = {"_total", "_created", "_bucket", "_sum",
                                                         "_count", "_gsum",    "_gcount", "_info"};

  /// A family `name` of type `t` whose sample names would also name another
  /// family (`foo` a histogram beside a family `foo_bucket`, or the other way
  /// round) makes every such sample ambiguous: refused at its TYPE line.
  line_error clash(std::string_view name, std::size_t i, metric_type t) const {
    for (std::string_view suffix : sample_suffixes) {
      if (part_for(t, suffix, d_))
        if (auto other = find(by_name_, std::string(name) + std::string(suffix));
            other && *other != i)
          return "TYPE line for " + excerpt(name) + " clashes with the family " +
                 excerpt(families_[*other].name) + ", which its " + std::string(suffix) +
                 " samples would be named as";
      if (!name.ends_with(suffix)) continue;
      if (auto base = find(by_name_, name.substr(0, name.size() - suffix.size()));
          base && *base != i && part_for(families_[*base].type, suffix, d_))
        return "TYPE line for " + excerpt(name) + " clashes with the " +
               std::string(to_string(families_[*base].type)) + " " +
               excerpt(families_[*base].name) + ", whose samples are named so";
    }
    return {};
  }

  /// The family a sample name belongs to, and the part it carries there.
  /// A family without a part means the name is taken by a family of a type
  /// that has no such sample.
  std::pair<std::optional<std::size_t>, std::optional<part>> resolve(std::string_view name) const {
    const auto exact = find(by_name_, name);
    if (exact) {
      if (auto p = part_for(families_[*exact].type, "", d_)) return {exact, p};
    }
    for (std::string_view suffix : sample_suffixes) {
      if (!name.ends_with(suffix)) continue;
      const auto base = find(by_name_, name.substr(0, name.size() - suffix.size()));
      if (!base) continue;
      if (auto p = part_for(families_[*base].type, suffix, d_)) return {base, p};
    }
    return {exact, std::nullopt};
  }

  line_error merge(std::size_t family, part what, label_set labels, const sample_line& s,
                   double bound) {
    metric_family& f = families_[family];
    state& st = states_[family];
    // A point is one label set at one instant: the same labels with another
    // timestamp are the next point (OpenMetrics allows several per metric).
    auto [it, is_new] = st.latest.try_emplace(labels, 0);
    if (is_new || f.points[it->second].t != s.t) {
      it->second = f.points.size();
      f.points.emplace_back().labels = std::move(labels);
      f.points.back().t = s.t;
      st.seen.push_back(0);
    }
    const std::size_t i = it->second;
    metric_point& p = f.points[i];
    const auto bit = static_cast<std::uint8_t>(what);
    switch (what) {
      case part::bucket:
        if (!p.buckets.empty() && !(bound > p.buckets.back().le))
          return "bucket le=\"" + format_bound(bound) + "\" of " + excerpt(s.name) +
                 " is not above the previous bucket";
        p.buckets.push_back({bound, s.value, s.exemplar});
        return {};
      case part::quantile:
        p.quantiles.push_back({bound, s.value});
        return {};
      default:
        break;
    }
    if (st.seen[i] & bit) return "duplicate sample " + excerpt(s.name) + " for the same labels";
    st.seen[i] |= bit;
    if (what == part::value) {
      p.value = s.value;
      if (f.type == metric_type::counter)
        p.exemplar = s.exemplar;  // the spec's only value with one
    }
    if (what == part::sum) p.sum = s.value;
    if (what == part::count) p.count = s.value;
    if (what == part::created) p.created = s.value;
    return {};
  }

  static std::string format_bound(double v) {
    std::string out;
    append_number(out, render_g, v);
    return out;
  }

  static std::optional<std::size_t> find(const std::map<std::string, std::size_t, std::less<>>& m,
                                         std::string_view name) {
    const auto it = m.find(name);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }

  std::size_t add_family(std::string_view name) {
    const std::size_t i = families_.size();
    families_.emplace_back().name = name;
    states_.emplace_back();
    by_name_.emplace(std::string(name), i);
    declared_.emplace(std::string(name), i);
    return i;
  }

  /// The family a HELP, TYPE or UNIT line names, made if it is new.
  std::size_t declared(std::string_view name) {
    if (auto i = find(declared_, name)) return *i;
    if (auto i = find(by_name_, name)) return *i;
    return add_family(name);
  }

  dialect d_;
  metric_snapshot families_;
  std::vector<state> states_;
  std::map<std::string, std::size_t, std::less<>> by_name_;   // family name -> index
  std::map<std::string, std::size_t, std::less<>> declared_;  // name in metadata lines -> index
};

}  // namespace vitals::format::detail
