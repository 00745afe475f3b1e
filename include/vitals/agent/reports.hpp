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
  result<boost::json::object> daily(timestamp from, timestamp to, daily_by by,
                                    std::string agent = {}) {
    auto rows = usage_.aggregate(daily_query(from, to, by, std::move(agent)));
    if (!rows) return rows.error();
    return daily_json(usage_days(*rows), by, from, to);
  }

  /// Per bucket of `step` (one of series_steps, from the unix epoch, UTC),
  /// the groups ordered by cost: the daily report at any step.
  result<boost::json::object> series(timestamp from, timestamp to, daily_by by,
                                     std::string_view step, std::string agent = {}) {
    const auto width = parse_series_step(step);
    if (!width) return error(errc::invalid_argument, "step: not one of the allowed steps");
    auto rows = usage_.aggregate(grouped_query(from, to, by, *width, std::move(agent)));
    if (!rows) return rows.error();
    return series_json(usage_days(*rows), by, step, *width, from, to);
  }

  /// The 000 seed's agent summary, one per agent (or just `agent`), by name.
  result<boost::json::array> summary(std::optional<std::string_view> agent, timestamp from,
                                     timestamp to, timestamp now = vitals::now()) {
    const std::string only(agent.value_or(""));
    auto totals = usage_.aggregate({.from = from, .to = to, .agent = only, .group = by_agent});
    if (!totals) return totals.error();
    auto models = usage_.aggregate({.from = from,
                                    .to = to,
                                    .agent = only,
                                    .group = by_agent | by_model,
                                    .kind = usage_kind::model_calls});
    if (!models) return models.error();
    auto known = sources();
    std::map<std::string, usage_totals> by_name;
    for (const auto& r : *totals) by_name[r.agent] = r.totals;
    for (const auto& [name, src] : known)
      if (only.empty() || name == only) by_name.try_emplace(name);
    auto last = last_events(now);
    if (!last) return last.error();
    std::vector<vitals::series> all =
        samples_ ? samples_->list_series() : std::vector<vitals::series>{};
    boost::json::array out;
    for (const auto& [name, t] : by_name) {
      const auto src = known.find(name);
      const agent_source* s = src == known.end() ? nullptr : &src->second;
      const resource_use use = s ? measure(all, s->target, from, to) : resource_use{};
      const std::string state = agent_state(
          s, current(all, s, now), last->contains(name) ? &last->at(name) : nullptr, now, opts_);
      std::vector<const usage_row*> mine;
      for (const auto& m : *models)
        if (m.agent == name) mine.push_back(&m);
      std::stable_sort(mine.begin(), mine.end(), [](const auto* a, const auto* b) {
        return a->totals.cost_usd > b->totals.cost_usd;
      });
      out.push_back(agent_summary_json(name, s, state, use, t, mine));
    }
    return out;
  }

  /// Each agent's state, current resources and uptime, the state counts,
  /// the counts by role and the utilisation (working / active; active is
  /// idle, working or stuck), and the workspace path when one is set.
  result<boost::json::object> agents(timestamp now = vitals::now()) {
    auto known = sources();
    auto last = last_events(now);
    if (!last) return last.error();
    std::set<std::string> names;
    for (const auto& [name, _] : known) names.insert(name);
    for (const auto& [name, _] : *last) names.insert(name);
    std::vector<vitals::series> all =
        samples_ ? samples_->list_series() : std::vector<vitals::series>{};
    std::map<std::string, int> counts{{"idle", 0},  {"working", 0}, {"done", 0},
                                      {"stuck", 0}, {"error", 0},   {"stopped", 0}};
    agent_roles roles;
    boost::json::array list;
    for (const auto& name : names) {
      const auto src = known.find(name);
      const agent_source* s = src == known.end() ? nullptr : &src->second;
      const resource_use use = current(all, s, now);
      const auto l = last->find(name);
      const timestamp* last_event = l == last->end() ? nullptr : &l->second;
      const std::string state = agent_state(s, use, last_event, now, opts_);
      ++counts[state];
      if (s) roles.add(s->role);
      list.push_back(agent_state_json(name, s, state, use, last_event, now));
    }
    return agents_json(now, names.size(), std::move(counts), std::move(list), roles,
                       opts_.workspace_path);
  }

  /// Billing blocks as ccusage builds them: a block starts at the hour of
  /// its first event and lasts `hours`; an event after the block's end, or
  /// more than `hours` after the previous event, starts a new one. The
  /// block still open at `now` has a burn rate and a projection to its end.
  result<boost::json::object> blocks(std::chrono::hours hours, timestamp from,
                                     timestamp now = vitals::now(), std::string agent = {}) {
    auto rows = usage_.aggregate({.from = from,
                                  .to = now,
                                  .agent = std::move(agent),
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
  std::map<std::string, agent_source> sources() const {
    std::map<std::string, agent_source> out;
    if (agents_)
      for (auto& a : agents_()) out.emplace(a.name, std::move(a));
    return out;
  }

  // "Now" is the last two minutes: enough samples for a rate at any
  // sampling interval up to a minute.
  resource_use current(const std::vector<vitals::series>& all, const agent_source* s,
                       timestamp now) {
    return s ? measure(all, s->target, now - std::chrono::minutes(2), now) : resource_use{};
  }

  // When each agent's last usage event happened, over the last day.
  result<std::map<std::string, timestamp>> last_events(timestamp now) {
    auto rows =
        usage_.aggregate({.from = now - std::chrono::days(1), .to = now, .group = by_agent});
    if (!rows) return rows.error();
    std::map<std::string, timestamp> out;
    for (const auto& r : *rows) out.emplace(r.agent, r.totals.last);
    return out;
  }

  Usage& usage_;
  Samples* samples_;
  agent_list agents_;
  report_options opts_;
};

}  // namespace vitals::agent
