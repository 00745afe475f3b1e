// Minimal types that satisfy each concept of core/ (core/concepts.hpp), and
// near misses that must not. They double as the smallest possible backends
// for tests. Std only, like the concepts: the concepts that take a store
// layer type (a range query, a selector) have archetypes templated on it.
// The concepts above core have theirs in layer_archetypes.hpp.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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

/// The smallest awaitable of a status, ready at once: async_sampler asks for
/// the shape only (the poller, which knows Asio, asks for asio::awaitable).
struct ready_status {
  status value;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  status await_resume() { return std::move(value); }
};

struct async_sampler_archetype {
  ready_status async_collect(sample_batch& out, timestamp now) {
    out.push_back({series("archetype_async_up", {}), now, 1});
    return {};
  }
  std::string_view name() const { return "async_archetype"; }
};

struct snapshot_source_archetype {
  metric_snapshot collect() const {
    metric_family f;
    f.name = "archetype_jobs";
    f.type = metric_type::counter;
    f.help = "Jobs.";
    f.points.emplace_back().value = 1;
    return {f};
  }
};

struct latest_all_store_archetype : store_archetype {
  std::vector<std::pair<series, point>> latest_all() {
    std::vector<std::pair<series, point>> out;
    for (const auto& [s, pts] : data)
      if (!pts.empty()) out.emplace_back(s, pts.back());
    return out;
  }
};

struct versioned_store_archetype : latest_all_store_archetype {
  status append(std::span<const sample> batch) {
    if (!batch.empty()) ++version_;
    return latest_all_store_archetype::append(batch);
  }
  std::uint64_t version() { return version_; }
  std::uint64_t version_ = 0;
};

/// Buckets are the raw points: the smallest answer of the right type.
template <class Query>
struct aggregating_store_archetype : store_archetype {
  result<std::vector<point>> range_aggregated(const series& id, const Query& q,
                                              std::chrono::milliseconds) {
    return range(id, q.from, q.to);
  }
};

template <class Query>
struct downsampling_store_archetype : store_archetype {
  std::vector<point> downsample(const series& id, const Query& q) {
    return range(id, q.from, q.to);
  }
};

/// Forgets the series labelled name=value.
struct label_dropping_store_archetype : store_archetype {
  result<std::size_t> drop_labelled(std::string_view name, std::string_view value) {
    return std::erase_if(data,
                         [&](const auto& kv) { return kv.first.labels().get(name) == value; });
  }
};

/// A subscription to a store nobody writes: nothing new, nothing lost.
struct subscription_archetype {
  std::vector<sample> drain() { return {}; }
  std::uint64_t dropped() const { return 0; }
};

template <class Selector>
struct watchable_archetype {
  subscription_archetype watch(Selector, std::function<void()>, std::size_t) { return {}; }
};

template <class Query, class Selector>
struct hot_tier_archetype : downsampling_store_archetype<Query> {
  subscription_archetype watch(Selector, std::function<void()>, std::size_t) { return {}; }
  std::optional<timestamp> earliest(const series& id) {
    auto it = this->data.find(id);
    if (it == this->data.end() || it->second.empty()) return std::nullopt;
    return it->second.front().t;
  }
};

struct sink_archetype {
  status write(std::span<const sample> batch) {
    written += batch.size();
    return {};
  }
  status flush() { return {}; }
  std::size_t written = 0;
};

struct event_store_archetype {
  result<std::int64_t> append(const std::string& stream, std::span<const event> events) {
    auto& v = streams[stream];
    for (const auto& e : events) v.push_back({stream, static_cast<std::int64_t>(v.size()) + 1, e});
    return static_cast<std::int64_t>(v.size());
  }
  result<std::vector<stored_event>> read(const std::string& stream, std::int64_t from) {
    std::vector<stored_event> out;
    for (const auto& e : streams[stream])
      if (e.version >= from) out.push_back(e);
    return out;
  }
  result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                 const std::string& type) {
    std::vector<stored_event> out;
    for (const auto& e : streams[stream])
      if (e.event.type == type) out.push_back(e);
    return out;
  }
  std::map<std::string, std::vector<stored_event>> streams;
};

/// A query and a selector of the smallest shape, for the archetypes above:
/// the concepts in core/ do not need the store layer's types.
struct query_archetype {
  timestamp from, to;
};
struct selector_archetype {};

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

struct async_sampler_returning_status {  // async_sampler 1: must be awaitable
  status async_collect(sample_batch&, timestamp) { return {}; }
  std::string_view name() const { return "x"; }
};
struct async_sampler_without_name {  // async_sampler 2
  ready_status async_collect(sample_batch&, timestamp) { return {}; }
};
struct snapshot_source_collecting_mutably {  // snapshot_source 1: const
  metric_snapshot collect() { return {}; }
};
struct latest_all_without_store {  // latest_all_store 1
  std::vector<std::pair<series, point>> latest_all() { return {}; }
};
struct latest_all_as_map : store_archetype {  // latest_all_store 2
  std::map<series, point> latest_all() { return {}; }
};
struct versioned_without_latest_all : store_archetype {  // versioned_store 1
  std::uint64_t version() { return 0; }
};
struct versioned_by_signed_number : latest_all_store_archetype {  // versioned_store 2
  std::int64_t version() { return 0; }
};
template <class Query>
struct aggregating_without_result : store_archetype {  // aggregating_store 2
  std::vector<point> range_aggregated(const series&, const Query&, std::chrono::milliseconds) {
    return {};
  }
};
struct label_dropping_by_count : store_archetype {  // label_dropping_store 2: failure is a value
  std::size_t drop_labelled(std::string_view, std::string_view) { return 0; }
};
struct label_dropping_without_store {  // label_dropping_store 1
  result<std::size_t> drop_labelled(std::string_view, std::string_view) { return std::size_t{0}; }
};
template <class Query>
struct downsampling_without_store {  // downsampling_store 1
  std::vector<point> downsample(const series&, const Query&) { return {}; }
};
template <class Query, class Selector>
struct hot_tier_without_earliest : downsampling_store_archetype<Query> {  // hot_tier 2
  subscription_archetype watch(Selector, std::function<void()>, std::size_t) { return {}; }
};
struct subscription_without_dropped {  // watch_subscription 2: a loss is counted
  std::vector<sample> drain() { return {}; }
};
struct subscription_draining_into {  // watch_subscription 1: takes all at once
  void drain(std::vector<sample>&) {}
  std::uint64_t dropped() const { return 0; }
};
template <class Selector>
struct watchable_without_subscription {  // watchable 1: what it returns is a subscription
  subscription_without_dropped watch(Selector, std::function<void()>, std::size_t) { return {}; }
};
template <class Selector>
struct watchable_borrowing_selector {  // watchable 3: the selector is taken by value
  subscription_archetype watch(Selector&, std::function<void()>, std::size_t) { return {}; }
};
struct event_store_without_read_by_type {  // event_store 3
  result<std::int64_t> append(const std::string&, std::span<const event>) {
    return std::int64_t{0};
  }
  result<std::vector<stored_event>> read(const std::string&, std::int64_t) {
    return std::vector<stored_event>{};
  }
};
struct event_store_append_without_version {  // event_store 1: the version is the answer
  status append(const std::string&, std::span<const event>) { return {}; }
  result<std::vector<stored_event>> read(const std::string&, std::int64_t) {
    return std::vector<stored_event>{};
  }
  result<std::vector<stored_event>> read_by_type(const std::string&, const std::string&) {
    return std::vector<stored_event>{};
  }
};

}  // namespace vitals::archetypes
