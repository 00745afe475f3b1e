// Minimal types that satisfy each concept, and near misses that must not.
// They double as the smallest possible backends for tests.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "vitals/core/concepts.hpp"

namespace vitals::archetypes {

struct sampler_archetype {
  status collect(sample_batch& out, timestamp now) {
    out.push_back({series("archetype_up", {}), now, 1});
    return {};
  }
  std::string_view name() const { return "archetype"; }
};

struct store_archetype {
  status append(std::span<const sample> batch) {
    for (const auto& s : batch) data[s.series].push_back({s.t, s.value});
    return {};
  }
  std::optional<point> latest(const series& id) {
    auto it = data.find(id);
    if (it == data.end() || it->second.empty()) return std::nullopt;
    return it->second.back();
  }
  std::vector<point> range(const series& id, timestamp from, timestamp to) {
    std::vector<point> out;
    if (auto it = data.find(id); it != data.end())
      for (const auto& p : it->second)
        if (p.t >= from && p.t <= to) out.push_back(p);
    return out;
  }
  std::vector<series> list_series() {
    std::vector<series> out;
    for (const auto& [s, _] : data) out.push_back(s);
    return out;
  }
  std::map<series, std::vector<point>> data;
};

struct sink_archetype {
  status write(std::span<const sample> batch) {
    written += batch.size();
    return {};
  }
  status flush() { return {}; }
  std::size_t written = 0;
};

// Near misses: each breaks exactly one numbered requirement.
struct sampler_returning_bool {  // sampler 1: failure must be a status
  bool collect(sample_batch&, timestamp) { return true; }
  std::string_view name() const { return "x"; }
};
struct sampler_without_name {  // sampler 3
  status collect(sample_batch&, timestamp) { return {}; }
};
struct store_missing_range {  // store 3
  status append(std::span<const sample>) { return {}; }
  std::optional<point> latest(const series&) { return {}; }
  std::vector<series> list_series() { return {}; }
};
struct store_throwing_append {  // store 1: a refused write must be a value
  void append(std::span<const sample>) {}
  std::optional<point> latest(const series&) { return {}; }
  std::vector<point> range(const series&, timestamp, timestamp) { return {}; }
  std::vector<series> list_series() { return {}; }
};
struct store_latest_by_pointer {  // store 2: "nothing yet" is an optional, not a null
  status append(std::span<const sample>) { return {}; }
  const point* latest(const series&) { return nullptr; }
  std::vector<point> range(const series&, timestamp, timestamp) { return {}; }
  std::vector<series> list_series() { return {}; }
};
struct sink_without_flush {  // sink 2
  status write(std::span<const sample>) { return {}; }
};
struct sink_taking_vector {  // sink 1: must accept a span
  status write(std::vector<sample>&) { return {}; }
  status flush() { return {}; }
};

}  // namespace vitals::archetypes
