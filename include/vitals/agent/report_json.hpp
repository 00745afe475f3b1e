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
#include <string_view>
#include <vector>

#include "vitals/agent/report_queries.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/format/json_text.hpp"

namespace vitals::agent {

namespace detail {

// Units, as docs/http-api.md gives them: tokens, counts and bytes are
// integers; percentages (0 to 100 per core for CPU) to 0.01; ratios (0 to 1)
// to 0.001; USD to 1e-9 (a token costs about 1e-7 USD: no price is lost,
// and sums print as 0.3, not 0.30000000000000004); durations in ms to 0.1.
inline double percent(double v) { return format::round_to(v, 2); }
inline double ratio(double v) { return format::round_to(v, 3); }
inline double usd(double v) { return format::round_to(v, 9); }
inline double ms(double v) { return format::round_to(v, 1); }
using format::whole;

inline boost::json::object tokens_json(const usage_totals& t) {
  return {{"input", t.input},           {"output", t.output},
          {"cache_read", t.cache_read}, {"cache_write", t.cache_write},
          {"reasoning", t.reasoning},   {"total", t.total}};
}

/// Tokens, cost and calls of a group, the shape every report shares.
inline boost::json::object totals_json(const usage_totals& t) {
  boost::json::object o;
  o["tokens"] = tokens_json(t);
  o["cost_usd"] = usd(t.cost_usd);
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
    case daily_by::host:
      return r.host;
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
    case daily_by::host:
      return "host";
    case daily_by::model:
      break;
  }
  return "model";
}

}  // namespace detail

namespace detail {

/// One bucket of the daily or series report: its totals and its groups
/// ({totals, "key"}, and "avg_duration_ms" for tools); adds its totals to `all`.
inline boost::json::object bucket_json(const usage_day& b, daily_by by, usage_totals& all) {
  boost::json::array groups;
  for (const auto& g : b.groups) {
    auto o = totals_json(g.totals);
    const auto& key = group_key(g, by);
    o["key"] = key.empty() ? "unknown" : key;
    if (by == daily_by::tool)
      o["avg_duration_ms"] =
          ms(g.totals.tool_calls ? g.totals.duration_ms / g.totals.tool_calls : 0);
    groups.push_back(std::move(o));
  }
  all.add(b.totals);
  auto o = totals_json(b.totals);
  o["groups"] = std::move(groups);
  return o;
}

}  // namespace detail

/// {"by", "from", "to", "days": [{totals, "date", "groups": [{totals, "key"
/// (, "avg_duration_ms" for tools)}]}], "totals"}.
inline boost::json::object daily_json(const std::vector<usage_day>& days, daily_by by,
                                      timestamp from, timestamp to) {
  boost::json::array out;
  usage_totals all;
  for (const auto& day : days) {
    auto d = detail::bucket_json(day, by, all);
    d["date"] = detail::utc_date(day.day);
    out.push_back(std::move(d));
  }
  boost::json::object o;
  o["by"] = detail::daily_by_name(by);
  o["from"] = to_rfc3339(from);
  o["to"] = to_rfc3339(to);
  o["days"] = std::move(out);
  o["totals"] = detail::totals_json(all);
  return o;
}

/// {"by", "step", "step_seconds", "from", "to", "buckets": [{totals,
/// "start", "groups": [{totals, "key"}]}], "totals"}: the daily report's
/// shape at any step of series_steps. Buckets without events are left out.
inline boost::json::object series_json(const std::vector<usage_day>& buckets, daily_by by,
                                       std::string_view step, std::chrono::seconds width,
                                       timestamp from, timestamp to) {
  boost::json::array out;
  usage_totals all;
  for (const auto& b : buckets) {
    auto o = detail::bucket_json(b, by, all);
    o["start"] = to_rfc3339(b.day);
    out.push_back(std::move(o));
  }
  boost::json::object o;
  o["by"] = detail::daily_by_name(by);
  o["step"] = step;
  o["step_seconds"] = width.count();
  o["from"] = to_rfc3339(from);
  o["to"] = to_rfc3339(to);
  o["buckets"] = std::move(out);
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
  using namespace detail;
  o["cpu"] = {{"avg_percent", percent(use.cpu_avg_percent)},
              {"max_percent", percent(use.cpu_max_percent)}};
  o["memory"] = {{"avg_bytes", whole(use.mem_avg_bytes)},
                 {"max_bytes", whole(use.mem_max_bytes)},
                 {"avg_percent", percent(use.mem_avg_percent())}};
  o["disk"] = {{"read_bytes", whole(use.disk_read_bytes)},
               {"write_bytes", whole(use.disk_write_bytes)}};
  o["network"] = {{"rx_bytes", whole(use.net_rx_bytes)}, {"tx_bytes", whole(use.net_tx_bytes)}};
  o["tokens"] = tokens_json(t);
  o["cost"] = {{"total_usd", usd(t.cost_usd)}};
  o["requests"] = t.requests;
  o["tool_calls"] = t.tool_calls;
  boost::json::array ms;
  for (const auto* m : models)
    ms.push_back({{"model", m->model.empty() ? "unknown" : m->model},
                  {"cost_usd", usd(m->totals.cost_usd)},
                  {"input_tokens", m->totals.input},
                  {"output_tokens", m->totals.output},
                  {"requests", m->totals.requests}});
  o["models"] = std::move(ms);
  return o;
}

/// One agent of the agents report: its state and current resources.
inline boost::json::object agent_state_json(const std::string& name, const agent_source* s,
                                            const std::string& state, const resource_use& use,
                                            const timestamp* last_event, timestamp now) {
  boost::json::object a;
  a["agent_name"] = name;
  a["role"] = s ? s->role : "";
  a["tool"] = s ? s->tool : "";
  a["runtime"] = s ? s->runtime : "";
  a["state"] = state;
  a["cpu_percent"] = detail::percent(use.cpu_now_percent);
  a["mem_used_bytes"] = detail::whole(use.mem_now_bytes);
  a["mem_limit_bytes"] = detail::whole(use.mem_limit_bytes);
  a["mem_percent"] = detail::percent(use.mem_now_percent());
  a["last_event_at"] =
      last_event ? boost::json::value(to_rfc3339(*last_event)) : boost::json::value(nullptr);
  // Uptime of the agent's process, from its start time; null when unknown
  // (no process target, or it exited).
  const double up = to_unix_seconds(now) - use.started_at;
  a["uptime_seconds"] = use.started_at > 0 && state != "done" && up >= 0
                            ? detail::whole(up)
                            : boost::json::value(nullptr);
  return a;
}

/// The agents report around its `agents` (agent_state_json each): the
/// state counts and the utilisation (working / active; active is idle,
/// working or stuck).
inline boost::json::object agents_json(timestamp now, std::size_t total,
                                       std::map<std::string, int> counts, boost::json::array agents,
                                       const agent_roles& roles = {},
                                       const std::string& workspace_path = {}) {
  const int active = counts["idle"] + counts["working"] + counts["stuck"];
  boost::json::object o;
  o["collected_at"] = to_rfc3339(now);
  if (!workspace_path.empty()) o["workspace_path"] = workspace_path;
  o["total_agents"] = std::int64_t(total);
  o["active_agents"] = active;
  o["coordinators"] = roles.coordinators;
  o["workers"] = roles.workers;
  boost::json::object by_role;
  for (const auto& [role, n] : roles.by_role) by_role[role] = n;
  o["roles"] = std::move(by_role);
  for (const auto& [state, n] : counts) o[state] = n;
  o["utilisation"] = detail::ratio(active ? double(counts["working"]) / active : 0.0);
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
      o["burn_rate"] = {{"tokens_per_minute", format::round_to(b.burn_rate->tokens_per_minute, 1)},
                        {"cost_per_hour", detail::usd(b.burn_rate->cost_per_hour)}};
    else
      o["burn_rate"] = nullptr;
    if (b.projection)
      o["projection"] = {
          {"total_tokens", detail::whole(b.projection->total_tokens)},
          {"cost_usd", detail::usd(b.projection->cost_usd)},
          {"remaining_minutes", format::round_to(b.projection->remaining_minutes, 1)}};
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
