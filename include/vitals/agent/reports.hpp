// The usage reports (seeds 000 and 003, and ccusage's billing blocks), as
// JSON for the HTTP API and for anyone who links the library:
//   daily(from, to, by)      tokens, cost and calls per UTC day and group;
//   summary(agent, from, to) per agent: resources from the samples, tokens,
//                            cost and the models ordered by cost;
//   agents(now)              each agent's state and resources, state counts
//                            and utilisation (working / active);
//   blocks(hours, from, now) billing blocks with burn rate and projection.
// Token and cost totals come from a usage store's `aggregate`; resources
// come from a sample store, read by the `target` label the agent's samples
// carry.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/agent/usage_store.hpp"
#include "vitals/core/concepts.hpp"

namespace vitals::agent {

/// What the monitor knows of one agent besides its usage events.
struct agent_source {
  std::string name{};    // the agent_name its usage events carry
  std::string target{};  // the `target` label of its samples; empty: none
  std::string role{}, tool{}, runtime{};
  bool exited = false;   // its process is gone
  bool failing = false;  // its sampler's last tick failed for another reason
};

/// How an agent's state is derived when it does not report one:
///   stopped  known from its usage events only: no tracked target;
///   done     its process exited; error: its sampler fails;
///   stuck    busy (CPU at least `busy_cpu_percent`) with no usage event
///            for `stuck_after`, having reported some before;
///   working  busy, or a usage event within `active_within`;
///   idle     otherwise.
struct report_options {
  double busy_cpu_percent = 5;
  std::chrono::seconds active_within{60};
  std::chrono::seconds stuck_after{15 * 60};
};

enum class daily_by { model, agent, tool, provider };

inline std::optional<daily_by> parse_daily_by(std::string_view s) {
  if (s == "model") return daily_by::model;
  if (s == "agent") return daily_by::agent;
  if (s == "tool") return daily_by::tool;
  if (s == "provider") return daily_by::provider;
  return std::nullopt;
}

/// Resource use of one target over a window: rates from counters, averages
/// and maxima from gauges, increases (across counter resets) for I/O.
struct resource_use {
  double cpu_avg_percent = 0, cpu_max_percent = 0, cpu_now_percent = 0;
  double mem_avg_bytes = 0, mem_max_bytes = 0, mem_now_bytes = 0, mem_limit_bytes = 0;
  double disk_read_bytes = 0, disk_write_bytes = 0, net_rx_bytes = 0, net_tx_bytes = 0;

  double mem_avg_percent() const {
    return mem_limit_bytes > 0 ? 100 * mem_avg_bytes / mem_limit_bytes : 0;
  }
  double mem_now_percent() const {
    return mem_limit_bytes > 0 ? 100 * mem_now_bytes / mem_limit_bytes : 0;
  }
};

namespace detail {

/// The increase of a counter over the points: a drop is a restart from zero.
inline double increase(const std::vector<point>& ps) {
  double sum = 0;
  for (std::size_t i = 1; i < ps.size(); ++i)
    sum += ps[i].value >= ps[i - 1].value ? ps[i].value - ps[i - 1].value : ps[i].value;
  return sum;
}

inline double seconds_between(const point& a, const point& b) {
  return std::chrono::duration<double>(b.t - a.t).count();
}

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

}  // namespace detail

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
    static constexpr std::pair<daily_by, usage_key> bits[] = {{daily_by::model, by_model},
                                                              {daily_by::agent, by_agent},
                                                              {daily_by::tool, by_tool},
                                                              {daily_by::provider, by_provider}};
    unsigned group = 0;
    for (auto [b, bit] : bits)
      if (b == by) group = bit;
    const usage_kind kind = by == daily_by::tool    ? usage_kind::tool_calls
                            : by == daily_by::agent ? usage_kind::all
                                                    : usage_kind::model_calls;
    auto rows = usage_.aggregate({.from = from,
                                  .to = to,
                                  .agent = std::move(agent),
                                  .group = group,
                                  .bucket = std::chrono::days(1),
                                  .kind = kind});
    if (!rows) return rows.error();
    boost::json::array days;
    usage_totals all;
    for (auto it = rows->begin(); it != rows->end();) {
      auto end =
          std::find_if(it, rows->end(), [&](const auto& r) { return r.bucket != it->bucket; });
      std::vector<usage_row> groups(it, end);
      std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
        return a.totals.cost_usd > b.totals.cost_usd;
      });
      usage_totals day;
      boost::json::array out;
      for (const auto& g : groups) {
        day.add(g.totals);
        auto o = detail::totals_json(g.totals);
        const auto& key = detail::group_key(g, by);
        o["key"] = key.empty() ? "unknown" : key;
        if (by == daily_by::tool)
          o["avg_duration_ms"] =
              g.totals.tool_calls ? g.totals.duration_ms / g.totals.tool_calls : 0;
        out.push_back(std::move(o));
      }
      all.add(day);
      auto d = detail::totals_json(day);
      d["date"] = detail::utc_date(it->bucket);
      d["groups"] = std::move(out);
      days.push_back(std::move(d));
      it = end;
    }
    boost::json::object o;
    o["by"] = by_name(by);
    o["from"] = to_rfc3339(from);
    o["to"] = to_rfc3339(to);
    o["days"] = std::move(days);
    o["totals"] = detail::totals_json(all);
    return o;
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
    std::vector<series> all = samples_ ? samples_->list_series() : std::vector<series>{};
    boost::json::array out;
    for (const auto& [name, t] : by_name) {
      const auto src = known.find(name);
      const agent_source* s = src == known.end() ? nullptr : &src->second;
      const resource_use use = s ? measure(all, s->target, from, to) : resource_use{};
      boost::json::object o;
      o["agent_name"] = name;
      o["role"] = s ? s->role : "";
      o["tool"] = s ? s->tool : "";
      o["runtime"] = s ? s->runtime : "";
      o["state"] =
          state_of(s, current(all, s, now), last->contains(name) ? &last->at(name) : nullptr, now);
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
      std::vector<const usage_row*> mine;
      for (const auto& m : *models)
        if (m.agent == name) mine.push_back(&m);
      std::stable_sort(mine.begin(), mine.end(), [](const auto* a, const auto* b) {
        return a->totals.cost_usd > b->totals.cost_usd;
      });
      boost::json::array ms;
      for (const auto* m : mine)
        ms.push_back({{"model", m->model.empty() ? "unknown" : m->model},
                      {"cost_usd", m->totals.cost_usd},
                      {"input_tokens", m->totals.input},
                      {"output_tokens", m->totals.output},
                      {"requests", m->totals.requests}});
      o["models"] = std::move(ms);
      out.push_back(std::move(o));
    }
    return out;
  }

  /// Each agent's state and current resources, the state counts and the
  /// utilisation (working / active; active is idle, working or stuck).
  result<boost::json::object> agents(timestamp now = vitals::now()) {
    auto known = sources();
    auto last = last_events(now);
    if (!last) return last.error();
    std::set<std::string> names;
    for (const auto& [name, _] : known) names.insert(name);
    for (const auto& [name, _] : *last) names.insert(name);
    std::vector<series> all = samples_ ? samples_->list_series() : std::vector<series>{};
    std::map<std::string, int> counts{{"idle", 0},  {"working", 0}, {"done", 0},
                                      {"stuck", 0}, {"error", 0},   {"stopped", 0}};
    boost::json::array list;
    for (const auto& name : names) {
      const auto src = known.find(name);
      const agent_source* s = src == known.end() ? nullptr : &src->second;
      const resource_use use = current(all, s, now);
      const auto l = last->find(name);
      const std::string state = state_of(s, use, l == last->end() ? nullptr : &l->second, now);
      ++counts[state];
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
      a["last_event_at"] = l == last->end() ? boost::json::value(nullptr)
                                            : boost::json::value(to_rfc3339(l->second));
      list.push_back(std::move(a));
    }
    const int active = counts["idle"] + counts["working"] + counts["stuck"];
    boost::json::object o;
    o["collected_at"] = to_rfc3339(now);
    o["total_agents"] = std::int64_t(names.size());
    o["active_agents"] = active;
    for (const auto& [state, n] : counts) o[state] = n;
    o["utilisation"] = active ? double(counts["working"]) / active : 0.0;
    o["agents"] = std::move(list);
    return o;
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
    struct block {
      timestamp start;
      usage_totals t;
      std::set<std::string> models;
    };
    std::vector<block> bs;
    // Hour buckets never straddle a block's end (both fall on hours), and
    // gaps within an hour are under `hours`, so hourly sums decide exactly.
    for (const auto& r : *rows) {
      if (bs.empty() || r.totals.first >= bs.back().start + hours ||
          r.totals.first - bs.back().t.last > hours)
        bs.push_back({std::chrono::floor<std::chrono::hours>(r.totals.first), {}, {}});
      bs.back().t.add(r.totals);
      if (!r.model.empty()) bs.back().models.insert(r.model);
    }
    boost::json::array out;
    for (const auto& b : bs) {
      const timestamp end = b.start + hours;
      const bool active = now < end && now - b.t.last < hours;
      auto o = detail::totals_json(b.t);
      o["start"] = to_rfc3339(b.start);
      o["end"] = to_rfc3339(end);
      o["first_event_at"] = to_rfc3339(b.t.first);
      o["last_event_at"] = to_rfc3339(b.t.last);
      o["active"] = active;
      o["models"] = boost::json::array(b.models.begin(), b.models.end());
      const double minutes =
          std::chrono::duration<double, std::ratio<60>>(b.t.last - b.t.first).count();
      if (minutes > 0) {
        const double tokens_per_minute = b.t.total / minutes;
        const double cost_per_hour = b.t.cost_usd / minutes * 60;
        o["burn_rate"] = {{"tokens_per_minute", tokens_per_minute},
                          {"cost_per_hour", cost_per_hour}};
        if (active) {
          const double left = std::chrono::duration<double, std::ratio<60>>(end - now).count();
          o["projection"] = {{"total_tokens", b.t.total + tokens_per_minute * left},
                             {"cost_usd", b.t.cost_usd + cost_per_hour * left / 60},
                             {"remaining_minutes", left}};
        }
      }
      if (!o.contains("burn_rate")) o["burn_rate"] = nullptr;
      if (!o.contains("projection")) o["projection"] = nullptr;
      out.push_back(std::move(o));
    }
    boost::json::object o;
    o["block_hours"] = hours.count();
    o["blocks"] = std::move(out);
    return o;
  }

  /// Resource use of the target over [from, to].
  resource_use measure(const std::vector<series>& all, const std::string& target, timestamp from,
                       timestamp to) {
    resource_use u;
    if (!samples_ || target.empty()) return u;
    auto points = [&](std::initializer_list<std::string_view> names, bool any_target = false) {
      std::vector<std::vector<point>> out;
      for (const auto& s : all)
        if (std::find(names.begin(), names.end(), s.name()) != names.end() &&
            (any_target || s.labels().get("target") == target))
          out.push_back(samples_->range(s, from, to));
      return out;
    };
    for (const auto& ps :
         points({"process_cpu_seconds_total", "container_cpu_usage_seconds_total"})) {
      if (ps.size() < 2) continue;
      const double span = detail::seconds_between(ps.front(), ps.back());
      if (span > 0) u.cpu_avg_percent = 100 * detail::increase(ps) / span;
      for (std::size_t i = 1; i < ps.size(); ++i) {
        const double dt = detail::seconds_between(ps[i - 1], ps[i]);
        if (dt <= 0) continue;
        const double rate = 100 * detail::increase({ps[i - 1], ps[i]}) / dt;
        u.cpu_max_percent = std::max(u.cpu_max_percent, rate);
        u.cpu_now_percent = rate;
      }
      break;
    }
    for (const auto& ps :
         points({"process_resident_memory_bytes", "container_memory_working_set_bytes"})) {
      if (ps.empty()) continue;
      double sum = 0;
      for (const auto& p : ps) {
        sum += p.value;
        u.mem_max_bytes = std::max(u.mem_max_bytes, p.value);
      }
      u.mem_avg_bytes = sum / double(ps.size());
      u.mem_now_bytes = ps.back().value;
      break;
    }
    for (const auto& ps : points({"container_spec_memory_limit_bytes"}))
      if (!ps.empty() && ps.back().value > 0) u.mem_limit_bytes = ps.back().value;
    if (u.mem_limit_bytes == 0)  // no cgroup limit: the host's memory
      for (const auto& ps : points({"node_memory_MemTotal_bytes"}, true))
        if (!ps.empty()) u.mem_limit_bytes = ps.back().value;
    auto increase_of = [&](std::initializer_list<std::string_view> names) {
      double sum = 0;
      for (const auto& ps : points(names)) sum += detail::increase(ps);
      return sum;
    };
    u.disk_read_bytes =
        increase_of({"process_io_read_bytes_total", "container_fs_reads_bytes_total"});
    u.disk_write_bytes =
        increase_of({"process_io_write_bytes_total", "container_fs_writes_bytes_total"});
    u.net_rx_bytes = increase_of({"container_network_receive_bytes_total"});
    u.net_tx_bytes = increase_of({"container_network_transmit_bytes_total"});
    return u;
  }

 private:
  static const char* by_name(daily_by by) {
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

  std::map<std::string, agent_source> sources() const {
    std::map<std::string, agent_source> out;
    if (agents_)
      for (auto& a : agents_()) out.emplace(a.name, std::move(a));
    return out;
  }

  // "Now" is the last two minutes: enough samples for a rate at any
  // sampling interval up to a minute.
  resource_use current(const std::vector<series>& all, const agent_source* s, timestamp now) {
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

  std::string state_of(const agent_source* s, const resource_use& use, const timestamp* last,
                       timestamp now) const {
    if (!s) return "stopped";
    if (s->exited) return "done";
    if (s->failing) return "error";
    const bool busy = use.cpu_now_percent >= opts_.busy_cpu_percent;
    if (busy && last && now - *last >= opts_.stuck_after) return "stuck";
    if (busy || (last && now - *last <= opts_.active_within)) return "working";
    return "idle";
  }

  Usage& usage_;
  Samples* samples_;
  agent_list agents_;
  report_options opts_;
};

}  // namespace vitals::agent
