// The JSON of the usage reports (agent/reports.hpp), rendered from what
// agent/report_queries.hpp computes. The shapes are documented in
// docs/http-api.md; every group carries the same totals (totals_json).
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vitals/agent/report_queries.hpp"
#include "vitals/agent/usage_store.hpp"

namespace vitals::agent {

namespace detail {

inline boost::json::object tokens_json(const usage_totals& t) {
  return {{"input", t.input},           {"output", t.output},
          {"cache_read", t.cache_read}, {"cache_write", t.cache_write},
          {"reasoning", t.reasoning},   {"total", t.total}};
}

/// Tokens, cost and calls of a group, the shape every report shares.
inline boost::json::object totals_json(const usage_totals& t) {
  boost::json::object o;
  o["tokens"] = tokens_json(t);
  o["cost_usd"] = t.cost_usd;
  o["requests"] = t.requests;
  o["tool_calls"] = t.tool_calls;
  o["errors"] = t.errors;
  o["events"] = t.events;
  return o;
}

inline std::string utc_date(timestamp t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()));
  return buf;
}

inline const std::string& group_key(const usage_row& r, daily_by by) {
  switch (by) {
    case daily_by::agent:
      return r.agent;
    case daily_by::tool:
      return r.tool;
    case daily_by::provider:
      return r.provider;
    case daily_by::model:
      break;
  }
  return r.model;
}

inline const char* daily_by_name(daily_by by) {
  switch (by) {
    case daily_by::agent:
      return "agent";
    case daily_by::tool:
      return "tool";
    case daily_by::provider:
      return "provider";
    case daily_by::model:
      break;
  }
  return "model";
}

}  // namespace detail

/// {"by", "from", "to", "days": [{totals, "date", "groups": [{totals, "key"
/// (, "avg_duration_ms" for tools)}]}], "totals"}.
inline boost::json::object daily_json(const std::vector<usage_day>& days, daily_by by,
                                      timestamp from, timestamp to) {
  boost::json::array out_days;
  usage_totals all;
  for (const auto& day : days) {
    boost::json::array out;
    for (const auto& g : day.groups) {
      auto o = detail::totals_json(g.totals);
      const auto& key = detail::group_key(g, by);
      o["key"] = key.empty() ? "unknown" : key;
      if (by == daily_by::tool)
        o["avg_duration_ms"] = g.totals.tool_calls ? g.totals.duration_ms / g.totals.tool_calls : 0;
      out.push_back(std::move(o));
    }
    all.add(day.totals);
    auto d = detail::totals_json(day.totals);
    d["date"] = detail::utc_date(day.day);
    d["groups"] = std::move(out);
    out_days.push_back(std::move(d));
  }
  boost::json::object o;
  o["by"] = detail::daily_by_name(by);
  o["from"] = to_rfc3339(from);
  o["to"] = to_rfc3339(to);
  o["days"] = std::move(out_days);
  o["totals"] = detail::totals_json(all);
  return o;
}

/// The 000 seed's summary of one agent; `models`: its per-model rows,
/// ordered by cost.
inline boost::json::object agent_summary_json(const std::string& name, const agent_source* s,
                                              const std::string& state, const resource_use& use,
                                              const usage_totals& t,
                                              const std::vector<const usage_row*>& models) {
  boost::json::object o;
  o["agent_name"] = name;
  o["role"] = s ? s->role : "";
  o["tool"] = s ? s->tool : "";
  o["runtime"] = s ? s->runtime : "";
  o["state"] = state;
  o["cpu"] = {{"avg_percent", use.cpu_avg_percent}, {"max_percent", use.cpu_max_percent}};
  o["memory"] = {{"avg_bytes", use.mem_avg_bytes},
                 {"max_bytes", use.mem_max_bytes},
                 {"avg_percent", use.mem_avg_percent()}};
  o["disk"] = {{"read_bytes", use.disk_read_bytes}, {"write_bytes", use.disk_write_bytes}};
  o["network"] = {{"rx_bytes", use.net_rx_bytes}, {"tx_bytes", use.net_tx_bytes}};
  o["tokens"] = detail::tokens_json(t);
  o["cost"] = {{"total_usd", t.cost_usd}};
  o["requests"] = t.requests;
  o["tool_calls"] = t.tool_calls;
  boost::json::array ms;
  for (const auto* m : models)
    ms.push_back({{"model", m->model.empty() ? "unknown" : m->model},
                  {"cost_usd", m->totals.cost_usd},
                  {"input_tokens", m->totals.input},
                  {"output_tokens", m->totals.output},
                  {"requests", m->totals.requests}});
  o["models"] = std::move(ms);
  return o;
}

/// One agent of the agents report: its state and current resources.
inline boost::json::object agent_state_json(const std::string& name, const agent_source* s,
                                            const std::string& state, const resource_use& use,
                                            const timestamp* last_event) {
  boost::json::object a;
  a["agent_name"] = name;
  a["role"] = s ? s->role : "";
  a["tool"] = s ? s->tool : "";
  a["runtime"] = s ? s->runtime : "";
  a["state"] = state;
  a["cpu_percent"] = use.cpu_now_percent;
  a["mem_used_bytes"] = use.mem_now_bytes;
  a["mem_limit_bytes"] = use.mem_limit_bytes;
  a["mem_percent"] = use.mem_now_percent();
  a["last_event_at"] =
      last_event ? boost::json::value(to_rfc3339(*last_event)) : boost::json::value(nullptr);
  return a;
}

/// The agents report around its `agents` (agent_state_json each): the
/// state counts and the utilisation (working / active; active is idle,
/// working or stuck).
inline boost::json::object agents_json(timestamp now, std::size_t total,
                                       std::map<std::string, int> counts,
                                       boost::json::array agents) {
  const int active = counts["idle"] + counts["working"] + counts["stuck"];
  boost::json::object o;
  o["collected_at"] = to_rfc3339(now);
  o["total_agents"] = std::int64_t(total);
  o["active_agents"] = active;
  for (const auto& [state, n] : counts) o[state] = n;
  o["utilisation"] = active ? double(counts["working"]) / active : 0.0;
  o["agents"] = std::move(agents);
  return o;
}

/// {"block_hours", "blocks": [{totals, "start", "end", "first_event_at",
/// "last_event_at", "active", "models", "burn_rate", "projection"}]}; the
/// last two null when the block has none.
inline boost::json::object blocks_json(const std::vector<billing_block>& blocks,
                                       std::chrono::hours hours) {
  boost::json::array out;
  for (const auto& b : blocks) {
    auto o = detail::totals_json(b.totals);
    o["start"] = to_rfc3339(b.start);
    o["end"] = to_rfc3339(b.end);
    o["first_event_at"] = to_rfc3339(b.totals.first);
    o["last_event_at"] = to_rfc3339(b.totals.last);
    o["active"] = b.active;
    o["models"] = boost::json::array(b.models.begin(), b.models.end());
    if (b.burn_rate)
      o["burn_rate"] = {{"tokens_per_minute", b.burn_rate->tokens_per_minute},
                        {"cost_per_hour", b.burn_rate->cost_per_hour}};
    else
      o["burn_rate"] = nullptr;
    if (b.projection)
      o["projection"] = {{"total_tokens", b.projection->total_tokens},
                         {"cost_usd", b.projection->cost_usd},
                         {"remaining_minutes", b.projection->remaining_minutes}};
    else
      o["projection"] = nullptr;
    out.push_back(std::move(o));
  }
  boost::json::object o;
  o["block_hours"] = hours.count();
  o["blocks"] = std::move(out);
  return o;
}

}  // namespace vitals::agent
