// The usage reports (seeds 000 and 003, and ccusage's billing blocks), as
// JSON for the HTTP API and for anyone who links the library:
//   daily(from, to, by)      tokens, cost and calls per UTC day and group;
//   series(from, to, by, step) the same per step (1m .. 7d, an allowlist);
//   summary(agent, from, to) per agent: resources from the samples, tokens,
//                            cost and the models ordered by cost;
//   agents(now)              each agent's state and resources, state counts
//                            and utilisation (working / active);
//   blocks(hours, from, now) billing blocks with burn rate and projection.
// Token and cost totals come from a usage store's `aggregate`; resources
// come from a sample store, read by the `target` label the agent's samples
// carry. Here: the reports' queries, composed; what they compute is in
// report_queries.hpp and how it reads as JSON in report_json.hpp.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/agent/report_json.hpp"
#include "vitals/agent/report_queries.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/core/concepts.hpp"

namespace vitals::agent {

template <usage_store Usage, store Samples>
class usage_reports {
 public:
  using agent_list = std::function<std::vector<agent_source>()>;

  /// `samples` may be null (no resources); `agents` lists the tracked agents.
  usage_reports(Usage& usage, Samples* samples, agent_list agents = {}, report_options o = {})
      : usage_(usage), samples_(samples), agents_(std::move(agents)), opts_(o) {}

  /// Per UTC day, the groups ordered by cost. Model and provider groups
  /// count model calls; tool groups count tool calls; agent groups both.
  /// `agent`, `host`: only that agent's or host's events; empty: all.
  result<boost::json::object> daily(timestamp from, timestamp to, daily_by by,
                                    std::string agent = {}, std::string host = {}) {
    auto q = daily_query(from, to, by, std::move(agent));
    q.unset_host_too = own(host);
    q.host = std::move(host);
    auto rows = usage_.aggregate(q);
    if (!rows) return rows.error();
    return daily_json(usage_days(*rows), by, from, to);
  }

  /// Per bucket of `step` (one of series_steps, from the unix epoch, UTC),
  /// the groups ordered by cost: the daily report at any step.
  result<boost::json::object> series(timestamp from, timestamp to, daily_by by,
                                     std::string_view step, std::string agent = {},
                                     std::string host = {}) {
    const auto width = parse_series_step(step);
    if (!width) return error(errc::invalid_argument, "step: not one of the allowed steps");
    auto q = grouped_query(from, to, by, *width, std::move(agent));
    q.unset_host_too = own(host);
    q.host = std::move(host);
    auto rows = usage_.aggregate(q);
    if (!rows) return rows.error();
    return series_json(usage_days(*rows), by, step, *width, from, to);
  }

  /// The 000 seed's agent summary, one per agent (or just `agent`) and
  /// host (or just `host`), by name then host: one agent name on two hosts
  /// is two agents.
  result<boost::json::array> summary(std::optional<std::string_view> agent, timestamp from,
                                     timestamp to, timestamp now = vitals::now(),
                                     std::string host = {}) {
    const std::string only(agent.value_or(""));
    auto totals = usage_.aggregate({.from = from,
                                    .to = to,
                                    .agent = only,
                                    .host = host,
                                    .unset_host_too = own(host),
                                    .group = by_agent | by_host});
    if (!totals) return totals.error();
    auto models = usage_.aggregate({.from = from,
                                    .to = to,
                                    .agent = only,
                                    .host = host,
                                    .unset_host_too = own(host),
                                    .group = by_agent | by_model | by_host,
                                    .kind = usage_kind::model_calls});
    if (!models) return models.error();
    auto known = sources(only, host);
    std::map<agent_key, usage_totals> by_key;
    for (const auto& r : *totals) by_key[key_of(r)].add(r.totals);
    // Each agent's models, merged by model (a row without a host and one
    // with this monitor's are one agent's).
    std::map<agent_key, std::map<std::string, usage_row>> models_of;
    for (const auto& m : *models) {
      auto& row = models_of[key_of(m)][m.model];
      row.model = m.model;
      row.totals.add(m.totals);
    }
    for (const auto& [k, src] : known) by_key.try_emplace(k);
    auto last = last_events(now, host);
    if (!last) return last.error();
    std::vector<vitals::series> all =
        samples_ ? samples_->list_series() : std::vector<vitals::series>{};
    boost::json::array out;
    for (const auto& [k, t] : by_key) {
      const auto src = known.find(k);
      const agent_source* s = src == known.end() ? nullptr : &src->second;
      const resource_use use = s ? measure(all, *s, from, to) : resource_use{};
      const auto l = last->find(k);
      const std::string state =
          agent_state(s, current(all, s, now), l == last->end() ? nullptr : &l->second, now, opts_);
      std::vector<const usage_row*> ordered;  // by cost
      for (const auto& [_, m] : models_of[k]) ordered.push_back(&m);
      std::stable_sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
        return a->totals.cost_usd > b->totals.cost_usd;
      });
      auto o = agent_summary_json(k.second, s, state, use, t, ordered);
      o["host"] = k.first;
      out.push_back(std::move(o));
    }
    return out;
  }

  /// Each agent's state, current resources and uptime, the state counts,
  /// the counts by role and the utilisation (working / active; active is
  /// idle, working or stuck), and the workspace path when one is set. One
  /// entry per agent name and host; `host`: only that host's agents.
  result<boost::json::object> agents(timestamp now = vitals::now(), std::string host = {}) {
    auto known = sources({}, host);
    auto last = last_events(now, host);
    if (!last) return last.error();
    std::set<agent_key> keys;
    for (const auto& [k, _] : known) keys.insert(k);
    for (const auto& [k, _] : *last) keys.insert(k);
    std::vector<vitals::series> all =
        samples_ ? samples_->list_series() : std::vector<vitals::series>{};
    std::map<std::string, int> counts{{"idle", 0},  {"working", 0}, {"done", 0},
                                      {"stuck", 0}, {"error", 0},   {"stopped", 0}};
    agent_roles roles;
    boost::json::array list;
    for (const auto& k : keys) {
      const auto src = known.find(k);
      const agent_source* s = src == known.end() ? nullptr : &src->second;
      const resource_use use = current(all, s, now);
      const auto l = last->find(k);
      const timestamp* last_event = l == last->end() ? nullptr : &l->second;
      const std::string state = agent_state(s, use, last_event, now, opts_);
      ++counts[state];
      if (s) roles.add(s->role);
      auto a = agent_state_json(k.second, s, state, use, last_event, now);
      a["host"] = k.first;
      list.push_back(std::move(a));
    }
    return agents_json(now, keys.size(), std::move(counts), std::move(list), roles,
                       opts_.workspace_path);
  }

  /// Billing blocks as ccusage builds them: a block starts at the hour of
  /// its first event and lasts `hours`; an event after the block's end, or
  /// more than `hours` after the previous event, starts a new one. The
  /// block still open at `now` has a burn rate and a projection to its end.
  result<boost::json::object> blocks(std::chrono::hours hours, timestamp from,
                                     timestamp now = vitals::now(), std::string agent = {},
                                     std::string host = {}) {
    auto rows = usage_.aggregate({.from = from,
                                  .to = now,
                                  .agent = std::move(agent),
                                  .host = host,
                                  .unset_host_too = own(host),
                                  .group = by_model,
                                  .bucket = std::chrono::hours(1)});
    if (!rows) return rows.error();
    return blocks_json(billing_blocks(*rows, hours, now), hours);
  }

  /// Resource use of the target over [from, to].
  resource_use measure(const std::vector<vitals::series>& all, const std::string& target,
                       timestamp from, timestamp to) {
    return measure_resources(samples_, all, target, from, to, opts_.host);
  }

 private:
  // An agent is its name on a host: (host, name). Events stored before
  // hosts were recorded (host '') and agents tracked without a `host` label
  // are this monitor's own (report_options::host).
  using agent_key = std::pair<std::string, std::string>;

  // A filter on this monitor's own host takes the events without one too.
  bool own(const std::string& host) const { return !host.empty() && host == opts_.host; }

  // A host as reported: none is this monitor's.
  const std::string& host_or_own(const std::string& host) const {
    return host.empty() ? opts_.host : host;
  }

  agent_key key_of(const usage_row& r) const { return {host_or_own(r.host), r.agent}; }

  // Resource use of one agent: its target's series on its host.
  resource_use measure(const std::vector<vitals::series>& all, const agent_source& s,
                       timestamp from, timestamp to) {
    return measure_resources(samples_, all, s.target, from, to, host_or_own(s.host));
  }

  // The agents that are not only usage events, by key; `name`, `host`:
  // only those (empty: all).
  std::map<agent_key, agent_source> sources(const std::string& name,
                                            const std::string& host) const {
    std::map<agent_key, agent_source> out;
    if (agents_)
      for (auto& a : agents_()) {
        agent_key k{host_or_own(a.host), a.name};
        if ((name.empty() || k.second == name) && (host.empty() || k.first == host))
          out.emplace(std::move(k), std::move(a));
      }
    return out;
  }

  // "Now" is the last two minutes: enough samples for a rate at any
  // sampling interval up to a minute.
  resource_use current(const std::vector<vitals::series>& all, const agent_source* s,
                       timestamp now) {
    return s ? measure(all, *s, now - std::chrono::minutes(2), now) : resource_use{};
  }

  // When each agent's last usage event happened, over the last day.
  result<std::map<agent_key, timestamp>> last_events(timestamp now, const std::string& host) {
    auto rows = usage_.aggregate({.from = now - std::chrono::days(1),
                                  .to = now,
                                  .host = host,
                                  .unset_host_too = own(host),
                                  .group = by_agent | by_host});
    if (!rows) return rows.error();
    std::map<agent_key, timestamp> out;
    for (const auto& r : *rows) {
      auto [it, fresh] = out.emplace(key_of(r), r.totals.last);
      if (!fresh) it->second = std::max(it->second, r.totals.last);
    }
    return out;
  }

  Usage& usage_;
  Samples* samples_;
  agent_list agents_;
  report_options opts_;
};

}  // namespace vitals::agent
