// Minimal types that satisfy each concept that lives above core (runtime's
// target_manager, agent's usage_store, http/concepts.hpp), and near misses
// that must not; archetypes.hpp has core's.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/agent/usage_store.hpp"
#include "vitals/http/concepts.hpp"
#include "vitals/runtime/targets.hpp"

namespace vitals::archetypes {

struct target_manager_archetype {
  status add(target_spec s) {
    if (auto ok = check_target_id(s.id); !ok) return ok;
    if (targets.contains(s.id)) return error(errc::already_exists, "id: already tracked");
    const auto id = s.id;
    targets.emplace(id, target_info{std::move(s)});
    return {};
  }
  bool remove(const std::string& id) { return targets.erase(id) > 0; }
  std::vector<target_info> list() {
    std::vector<target_info> out;
    for (const auto& [_, t] : targets) out.push_back(t);
    return out;
  }
  std::map<std::string, target_info> targets;
};

/// Keeps the records by key; aggregates into one row, counting events.
struct usage_store_archetype {
  result<std::vector<std::optional<agent::usage_event>>> find(std::span<const std::string> keys) {
    std::vector<std::optional<agent::usage_event>> out;
    for (const auto& k : keys) {
      auto it = events.find(k);
      out.push_back(it == events.end() ? std::nullopt : std::optional(it->second));
    }
    return out;
  }
  status put(std::span<const agent::usage_record> records) {
    for (const auto& r : records) events.insert_or_assign(r.key, r.event);
    return {};
  }
  result<std::vector<agent::usage_row>> aggregate(const agent::usage_query& q) {
    agent::usage_row row;
    row.bucket = q.from;
    row.totals.events = static_cast<std::int64_t>(events.size());
    return std::vector<agent::usage_row>{row};
  }
  result<std::size_t> count() { return events.size(); }
  std::map<std::string, agent::usage_event> events;
};

/// Keeps every reading; the newest is the last put.
struct limit_store_archetype : usage_store_archetype {
  result<std::size_t> put_limits(std::span<const agent::limit_snapshot> l) {
    limits.insert(limits.end(), l.begin(), l.end());
    return l.size();
  }
  result<std::vector<agent::limit_snapshot>> latest_limits(const std::string&, const std::string&) {
    if (limits.empty()) return std::vector<agent::limit_snapshot>{};
    return std::vector{limits.back()};
  }
  std::vector<agent::limit_snapshot> limits;
};

/// Answers 204 to everything.
struct request_handler_archetype {
  boost::asio::awaitable<std::optional<http::response>> handle(const http::request& req,
                                                               http::exchange&) {
    co_return http::response{http::bhttp::status::no_content, req.version()};
  }
};

struct route_archetype : request_handler_archetype {
  bool matches(std::string_view path) const { return path == "/archetype"; }
  bool allows(http::bhttp::verb v) const { return v == http::bhttp::verb::get; }
  std::string_view allow() const { return "GET"; }
};

/// Its own answer type: event_ingest checks the shape the route reads.
struct ingest_answer {
  struct line_error {
    std::size_t line = 0;
    std::string error;
  };
  std::size_t accepted = 0, duplicates = 0;
  std::vector<line_error> rejected;
};
struct event_ingest_archetype {
  ingest_answer ingest(std::string_view body) {
    ingest_answer a;
    if (!body.empty()) a.accepted = 1;
    if (body.empty()) a.rejected.push_back({1, "empty"});
    return a;
  }
};

struct usage_reports_archetype {  // each report takes a host last (usage_reports 6)
  result<boost::json::object> daily(timestamp, timestamp, agent::daily_by, std::string,
                                    std::string) {
    return boost::json::object{};
  }
  result<boost::json::array> summary(std::optional<std::string_view>, timestamp, timestamp,
                                     timestamp, std::string) {
    return boost::json::array{};
  }
  result<boost::json::object> agents(timestamp, std::string) { return boost::json::object{}; }
  result<boost::json::object> blocks(std::chrono::hours, timestamp, timestamp, std::string,
                                     std::string) {
    return boost::json::object{};
  }
  result<boost::json::object> series(timestamp, timestamp, agent::daily_by, std::string_view,
                                     std::string, std::string) {
    return boost::json::object{};
  }
};

struct spool_source_archetype {
  struct state {
    std::size_t pending = 0, dead = 0;
  };
  state spool_status(std::size_t) const { return {}; }
};

// Near misses: each breaks exactly one numbered requirement.
struct target_manager_without_list {  // target_manager 3
  status add(target_spec) { return {}; }
  bool remove(const std::string&) { return false; }
};
struct target_manager_throwing_add {  // target_manager 1: a refusal is a value
  void add(target_spec) {}
  bool remove(const std::string&) { return false; }
  std::vector<target_info> list() { return {}; }
};
struct usage_store_without_count : usage_store_archetype {  // usage_store 4
  result<std::size_t> count() = delete;
};
struct usage_store_counting_unchecked : usage_store_archetype {  // usage_store 4: a result
  std::size_t count() { return events.size(); }
};
struct limit_store_unchecked : usage_store_archetype {  // limit_store 1: a refusal is a value
  std::size_t put_limits(std::span<const agent::limit_snapshot> l) { return l.size(); }
  result<std::vector<agent::limit_snapshot>> latest_limits(const std::string&, const std::string&) {
    return std::vector<agent::limit_snapshot>{};
  }
};
struct request_handler_blocking {  // request_handler 1: a coroutine
  http::response handle(const http::request&, http::exchange&) { return {}; }
};
struct route_without_allow : request_handler_archetype {  // route 3
  bool matches(std::string_view) const { return true; }
  bool allows(http::bhttp::verb) const { return true; }
};
struct event_ingest_all_or_nothing {  // event_ingest 1: answers per line
  bool ingest(std::string_view) { return true; }
};
struct event_ingest_without_lines {  // event_ingest 3: a rejection names its line
  struct answer {
    std::size_t accepted = 0, duplicates = 0;
    std::vector<std::string> rejected;
  };
  answer ingest(std::string_view) { return {}; }
};
struct usage_reports_without_blocks : usage_reports_archetype {  // usage_reports 4
  result<boost::json::object> blocks(std::chrono::hours, timestamp, timestamp, std::string,
                                     std::string) = delete;
};
struct usage_reports_without_host : usage_reports_archetype {  // usage_reports 6
  result<boost::json::object> daily(timestamp, timestamp, agent::daily_by, std::string) {
    return boost::json::object{};
  }
};
struct spool_source_mutating {  // spool_source 1: callable on a const object
  spool_source_archetype::state spool_status(std::size_t) { return {}; }
};

}  // namespace vitals::archetypes
