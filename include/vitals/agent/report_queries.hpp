// What the usage reports (agent/reports.hpp) compute, before any JSON: an
// agent's resource use from a sample store, its derived state, the day
// groups of the daily report, and ccusage's billing blocks with their burn
// rate and projection. agent/report_json.hpp renders these.
#pragma once

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/agent/usage_store.hpp"
#include "vitals/core/concepts.hpp"

namespace vitals::agent {

/// What the monitor knows of one agent besides its usage events.
struct agent_source {
  std::string name{};    // the agent_name its usage events carry
  std::string target{};  // the `target` label of its samples; empty: none
  std::string host{};    // the `host` label of its samples; empty: this monitor's
  std::string role{}, tool{}, runtime{};
  bool exited = false;   // its process is gone
  bool failing = false;  // its sampler's last tick failed for another reason
};

/// Agents by the `role` label of their targets: every role's count, and the
/// 000 seed's two (`coordinator`, `worker`) on their own.
struct agent_roles {
  std::map<std::string, int> by_role;
  int coordinators = 0, workers = 0;

  void add(const std::string& role) {
    if (role.empty()) return;
    ++by_role[role];
    if (role == "coordinator") ++coordinators;
    if (role == "worker") ++workers;
  }
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
  /// The workspace the agents work in (the 000 seed's Stats.WorkspacePath),
  /// shown by the agents report; empty: not shown.
  std::string workspace_path{};
  /// This monitor's host (its --host-name) when the sample store is shared
  /// with other monitors: an agent's resources are read from its target's
  /// series of this host (or with no `host` label) only, not from another
  /// machine's target of the same name. Empty: every series of the target.
  std::string host{};
};

enum class daily_by { model, agent, tool, provider, host };

inline std::optional<daily_by> parse_daily_by(std::string_view s) {
  if (s == "model") return daily_by::model;
  if (s == "agent") return daily_by::agent;
  if (s == "tool") return daily_by::tool;
  if (s == "provider") return daily_by::provider;
  if (s == "host") return daily_by::host;
  return std::nullopt;
}

/// Resource use of one target over a window: rates from counters, averages
/// and maxima from gauges, increases (across counter resets) for I/O.
struct resource_use {
  double cpu_avg_percent = 0, cpu_max_percent = 0, cpu_now_percent = 0;
  double mem_avg_bytes = 0, mem_max_bytes = 0, mem_now_bytes = 0, mem_limit_bytes = 0;
  double disk_read_bytes = 0, disk_write_bytes = 0, net_rx_bytes = 0, net_tx_bytes = 0;
  double started_at = 0;  // unix seconds (process_start_time_seconds); 0: unknown

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

}  // namespace detail

/// The agents a sample store shows, for a monitor that tracks none (a
/// read-only view over a fleet's database): one per host and target whose
/// CPU series carries an `agent` label (its value names the agent, as
/// agent_sources names a tracked target's), or whose target is one the
/// monitor's flags make (`pid-N`, `cgroup-NAME`, named by the target). An
/// agent with no CPU sample within `fresh` of `now` has exited; one with
/// none within `listed` is not listed (its usage events may still be).
template <store Samples>
std::vector<agent_source> stored_agent_sources(
    Samples& samples, timestamp now, std::chrono::seconds fresh = std::chrono::minutes(2),
    std::chrono::seconds listed = std::chrono::hours(24)) {
  std::map<std::pair<std::string, std::string>, agent_source> found;  // by (host, target)
  auto consider = [&](const series& s, std::optional<point> last) {
    const auto& l = s.labels();
    const auto target = l.get("target"), name = l.get("agent");
    if (!last || last->t < now - listed) return;
    auto [it, fresh_entry] = found.try_emplace({std::string(l.get("host")), std::string(target)});
    auto& a = it->second;
    if (fresh_entry)
      a = {.name = std::string(name.empty() ? target : name),
           .target = std::string(target),
           .host = std::string(l.get("host")),
           .role = std::string(l.get("role")),
           .tool = std::string(l.get("tool")),
           .runtime = std::string(l.get("runtime")),
           .exited = true};
    if (last->t >= now - fresh) a.exited = false;
  };
  auto is_cpu = [](const series& s) {
    const auto& l = s.labels();
    const auto target = l.get("target");
    return (s.name() == "process_cpu_seconds_total" ||
            s.name() == "container_cpu_usage_seconds_total") &&
           !target.empty() &&
           (!l.get("agent").empty() || target.starts_with("pid-") || target.starts_with("cgroup-"));
  };
  if constexpr (latest_all_store<Samples>) {  // one query on a database
    for (auto& [s, p] : samples.latest_all())
      if (is_cpu(s)) consider(s, p);
  } else {
    for (const auto& s : samples.list_series())
      if (is_cpu(s)) consider(s, samples.latest(s));
  }
  std::vector<agent_source> out;
  out.reserve(found.size());
  for (auto& [_, a] : found) out.push_back(std::move(a));
  return out;
}

/// Resource use of `target` over [from, to], read from `samples` (null or
/// no target: none) among its series `all`, by the `target` label; only the
/// series of `host` (or without a `host` label) when `host` is not empty.
template <store Samples>
resource_use measure_resources(Samples* samples, const std::vector<series>& all,
                               const std::string& target, timestamp from, timestamp to,
                               std::string_view host = {}) {
  resource_use u;
  if (!samples || target.empty()) return u;
  auto points = [&](std::initializer_list<std::string_view> names, bool any_target = false) {
    std::vector<std::vector<point>> out;
    for (const auto& s : all)
      if (std::find(names.begin(), names.end(), s.name()) != names.end() &&
          (host.empty() || s.labels().get("host").empty() || s.labels().get("host") == host) &&
          (any_target || s.labels().get("target") == target))
        out.push_back(samples->range(s, from, to));
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
  for (const auto& ps : points({"process_start_time_seconds"}))
    if (!ps.empty() && ps.back().value > 0) u.started_at = ps.back().value;
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

/// The state of an agent (see report_options): `s` null when it is known
/// from its usage events only, `last` null without a usage event lately.
inline std::string agent_state(const agent_source* s, const resource_use& use,
                               const timestamp* last, timestamp now, const report_options& o) {
  if (!s) return "stopped";
  if (s->exited) return "done";
  if (s->failing) return "error";
  const bool busy = use.cpu_now_percent >= o.busy_cpu_percent;
  if (busy && last && now - *last >= o.stuck_after) return "stuck";
  if (busy || (last && now - *last <= o.active_within)) return "working";
  return "idle";
}

/// The daily report's query: model and provider groups count model calls;
/// tool groups count tool calls; agent groups both.
/// The steps the usage series report takes (the 000 seed's interval
/// allowlist, as its TimeRange.PGInterval checks them): text and width.
inline constexpr std::pair<std::string_view, std::chrono::seconds::rep> series_steps[] = {
    {"1m", 60},    {"5m", 300},    {"15m", 900},  {"30m", 1800}, {"1h", 3600},
    {"6h", 21600}, {"12h", 43200}, {"1d", 86400}, {"7d", 604800}};

/// At most this many buckets in a report over time (Prometheus' limit on
/// the points of a range query).
inline constexpr std::int64_t max_report_buckets = 11000;

/// A step of series_steps, else nullopt.
inline std::optional<std::chrono::seconds> parse_series_step(std::string_view s) {
  for (auto [text, width] : series_steps)
    if (s == text) return std::chrono::seconds(width);
  return std::nullopt;
}

/// Groups of `by` in buckets of `step` from the unix epoch (UTC), counting
/// what the group means: model calls for models and providers, tool calls
/// for tools, both for agents.
inline usage_query grouped_query(timestamp from, timestamp to, daily_by by,
                                 std::chrono::seconds step, std::string agent) {
  static constexpr std::pair<daily_by, usage_key> bits[] = {{daily_by::model, by_model},
                                                            {daily_by::agent, by_agent},
                                                            {daily_by::tool, by_tool},
                                                            {daily_by::provider, by_provider},
                                                            {daily_by::host, by_host}};
  unsigned group = 0;
  for (auto [b, bit] : bits)
    if (b == by) group = bit;
  const usage_kind kind = by == daily_by::tool                            ? usage_kind::tool_calls
                          : by == daily_by::agent || by == daily_by::host ? usage_kind::all
                                                                          : usage_kind::model_calls;
  return {.from = from,
          .to = to,
          .agent = std::move(agent),
          .group = group,
          .bucket = step,
          .kind = kind};
}

inline usage_query daily_query(timestamp from, timestamp to, daily_by by, std::string agent) {
  return grouped_query(from, to, by, std::chrono::days(1), std::move(agent));
}

/// One UTC day of the daily report (or one step of the series report): its
/// groups ordered by cost, and their sum.
struct usage_day {
  timestamp day;
  usage_totals totals;
  std::vector<usage_row> groups;
};

/// `rows` (bucketed by day or step, in bucket order) as days.
inline std::vector<usage_day> usage_days(const std::vector<usage_row>& rows) {
  std::vector<usage_day> days;
  for (auto it = rows.begin(); it != rows.end();) {
    auto end = std::find_if(it, rows.end(), [&](const auto& r) { return r.bucket != it->bucket; });
    usage_day d{it->bucket, {}, std::vector<usage_row>(it, end)};
    std::stable_sort(d.groups.begin(), d.groups.end(), [](const auto& a, const auto& b) {
      return a.totals.cost_usd > b.totals.cost_usd;
    });
    for (const auto& g : d.groups) d.totals.add(g.totals);
    days.push_back(std::move(d));
    it = end;
  }
  return days;
}

/// A billing block as ccusage builds them. One still open at `now` and
/// longer than an instant has a burn rate and a projection to its end.
struct billing_block {
  timestamp start, end;
  usage_totals totals;
  std::set<std::string> models;
  bool active = false;
  struct burn {
    double tokens_per_minute = 0, cost_per_hour = 0;
  };
  struct projected {
    double total_tokens = 0, cost_usd = 0, remaining_minutes = 0;
  };
  std::optional<burn> burn_rate;        // when the block spans more than an instant
  std::optional<projected> projection;  // ... and is still open
};

/// A block starts at the hour of its first event and lasts `hours`; an
/// event after the block's end, or more than `hours` after the previous
/// event, starts a new one. `rows`: hourly buckets, in order.
inline std::vector<billing_block> billing_blocks(const std::vector<usage_row>& rows,
                                                 std::chrono::hours hours, timestamp now) {
  std::vector<billing_block> bs;
  // Hour buckets never straddle a block's end (both fall on hours), and
  // gaps within an hour are under `hours`, so hourly sums decide exactly.
  for (const auto& r : rows) {
    if (bs.empty() || r.totals.first >= bs.back().start + hours ||
        r.totals.first - bs.back().totals.last > hours) {
      auto& b = bs.emplace_back();
      b.start = std::chrono::floor<std::chrono::hours>(r.totals.first);
    }
    bs.back().totals.add(r.totals);
    if (!r.model.empty()) bs.back().models.insert(r.model);
  }
  for (auto& b : bs) {
    const auto& t = b.totals;
    b.end = b.start + hours;
    b.active = now < b.end && now - t.last < hours;
    const double minutes = std::chrono::duration<double, std::ratio<60>>(t.last - t.first).count();
    if (minutes <= 0) continue;
    b.burn_rate = billing_block::burn{.tokens_per_minute = t.total / minutes,
                                      .cost_per_hour = t.cost_usd / minutes * 60};
    if (b.active) {
      const double left = std::chrono::duration<double, std::ratio<60>>(b.end - now).count();
      b.projection =
          billing_block::projected{.total_tokens = t.total + b.burn_rate->tokens_per_minute * left,
                                   .cost_usd = t.cost_usd + b.burn_rate->cost_per_hour * left / 60,
                                   .remaining_minutes = left};
    }
  }
  return bs;
}

}  // namespace vitals::agent
