// Where accepted usage events live, and the one query every usage report is
// built from: token, cost, request and tool-call totals over a window,
// grouped by any of agent, model, tool, provider, status and host, optionally in
// time buckets. `usage_memory` is the in-process implementation;
// `usage_sqlite` (agent/usage_sqlite.hpp) keeps them in a file. A store that
// is also a `limit_store` keeps the accounts' quota readings (limit_snapshot
// events) apart from the usage, and answers the latest per account and window.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "vitals/agent/usage_event.hpp"
#include "vitals/core/error.hpp"

namespace vitals::agent {

/// How long the SQL usage stores keep what they prune.
struct usage_retention {
  std::chrono::hours events = std::chrono::days(400);  // event rows
  std::chrono::hours payloads = std::chrono::days(3);  // raw payloads (the 003 seed keeps 72 h)
};

struct prune_result {
  std::int64_t events = 0, payloads = 0;
};

/// One accepted event under its dedup key. A later `put` of the same key
/// replaces it (an enrichment).
struct usage_record {
  std::string key;
  usage_event event;
};

/// What to group by: any combination of these bits.
enum usage_key : unsigned {
  by_agent = 1u << 0,
  by_model = 1u << 1,
  by_tool = 1u << 2,
  by_provider = 1u << 3,
  by_status = 1u << 4,
  by_host = 1u << 5,  // the monitor that took the event in (usage_event::host)
};

/// Which events count: all, model calls only (every type but tool_usage),
/// or tool calls only.
enum class usage_kind { all, model_calls, tool_calls };

struct usage_query {
  timestamp from{};
  timestamp to = timestamp::max();  // inclusive
  std::string agent{};              // only this agent; empty: every agent
  std::string host{};               // only this host's events; empty: every host
  bool unset_host_too = false;      // with `host`: also events stored before hosts were (host '')
  unsigned group = 0;               // usage_key bits
  std::chrono::seconds bucket{0};   // 0: the whole window; else buckets from the unix epoch (UTC)
  usage_kind kind = usage_kind::all;
};

namespace detail {

/// int64 sums that stop at the limits instead of overflowing: a stored
/// database may hold sums beyond what one event can report (written by an
/// older version, or by hand), and a report must still answer.
constexpr std::int64_t sat_add(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return b > 0 ? std::numeric_limits<std::int64_t>::max()
               : std::numeric_limits<std::int64_t>::min();
}
constexpr std::int64_t sat_sub(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r;
  if (!__builtin_sub_overflow(a, b, &r)) return r;
  return b < 0 ? std::numeric_limits<std::int64_t>::max()
               : std::numeric_limits<std::int64_t>::min();
}

}  // namespace detail

/// Sums over a group. Tokens of events with status "error" are not summed,
/// their requests are (an error still costs a call). Every int64 sum
/// saturates (detail::sat_add) rather than overflow.
struct usage_totals {
  std::int64_t input = 0, output = 0, cache_read = 0, cache_write = 0, reasoning = 0, total = 0;
  std::int64_t requests = 0;    // model requests (tool events count none)
  std::int64_t tool_calls = 0;  // tool_usage events
  std::int64_t errors = 0;      // events with status "error"
  std::int64_t events = 0;
  double cost_usd = 0;
  double duration_ms = 0;  // summed over the events that report one
  timestamp first = timestamp::max(), last = timestamp::min();

  /// Adds one event.
  void add(const usage_event& e) {
    const bool tool = e.event_type == "tool_usage";
    using detail::sat_add;
    if (e.status != "error") {
      input = sat_add(input, e.input_tokens.value_or(0));
      output = sat_add(output, e.output_tokens.value_or(0));
      cache_read = sat_add(cache_read, e.cache_read_tokens.value_or(0));
      cache_write = sat_add(cache_write, e.cache_write_tokens.value_or(0));
      reasoning = sat_add(reasoning, e.reasoning_tokens.value_or(0));
      total = sat_add(total, e.total_tokens.value_or(0));
    }
    requests = sat_add(requests, tool ? 0 : e.requests.value_or(1));
    tool_calls = sat_add(tool_calls, tool ? 1 : 0);
    errors = sat_add(errors, e.status == "error" ? 1 : 0);
    events = sat_add(events, 1);
    cost_usd += e.cost_usd.value_or(0);
    duration_ms += e.duration_ms.value_or(0);
    first = std::min(first, e.occurred_at);
    last = std::max(last, e.occurred_at);
  }

  /// Adds another group's sums.
  void add(const usage_totals& o) {
    each(o, detail::sat_add);
    cost_usd += o.cost_usd, duration_ms += o.duration_ms;
    first = std::min(first, o.first);
    last = std::max(last, o.last);
  }

  /// Takes another group's sums away (an event replaced by its enrichment);
  /// `first` and `last` stay as they are.
  void subtract(const usage_totals& o) {
    each(o, detail::sat_sub);
    cost_usd -= o.cost_usd, duration_ms -= o.duration_ms;
  }

 private:
  template <class Op>
  void each(const usage_totals& o, Op op) {
    for (auto m : {&usage_totals::input, &usage_totals::output, &usage_totals::cache_read,
                   &usage_totals::cache_write, &usage_totals::reasoning, &usage_totals::total,
                   &usage_totals::requests, &usage_totals::tool_calls, &usage_totals::errors,
                   &usage_totals::events})
      this->*m = op(this->*m, o.*m);
  }
};

/// One group: the keys not grouped by are empty. `bucket` is the start of
/// the time bucket, or the query's `from` when the window is one bucket.
struct usage_row {
  timestamp bucket{};
  std::string agent, model, tool, provider, status;
  usage_totals totals;
  std::string host;
};

// --- usage_store -------------------------------------------------------------
// A place for accepted usage events. It lives here, beside usage_event,
// usage_record, usage_query and usage_row, not in core/: its requirements name
// those agent types, and core is std only (see core/concepts.hpp for the map).
// 1. `s.find(keys)` returns, for each dedup key in order, the stored event or
//    nullopt, as `result<std::vector<std::optional<usage_event>>>`: the ledger
//    asks for a whole batch at once (one query, not one per event) and
//    enriches a known event instead of inserting it twice.
// 2. `s.put(records)` stores them all or none and returns a `status`; a known
//    key is replaced. All or none, so a refused batch can be spooled whole
//    and replayed without leaving half of it behind.
// 3. `s.aggregate(query)` returns the groups in bucket order, then by key, as
//    `result<std::vector<usage_row>>`: every report is one aggregation the
//    store may push down (SQL GROUP BY), and a failed query is a value.
// 4. `s.count()` returns `result<std::size_t>`, how many events are stored
//    (a health figure); on a database counting may fail too, so a `result`.
template <class S>
concept usage_store = requires(S& s, std::span<const std::string> keys,
                               std::span<const usage_record> records, const usage_query& q) {
  { s.find(keys) } -> std::same_as<result<std::vector<std::optional<usage_event>>>>;
  { s.put(records) } -> std::same_as<status>;
  { s.aggregate(q) } -> std::same_as<result<std::vector<usage_row>>>;
  { s.count() } -> std::same_as<result<std::size_t>>;
};

/// A quota reading of an account (a limit_snapshot event): `used` of `limit`
/// over `window` at `at`, or `used_percent`; unknowns stay unknown.
struct limit_snapshot {
  timestamp at{};
  std::string account, window, provider, agent, source;
  std::optional<double> used, limit, used_percent;
  std::optional<timestamp> resets_at;

  static limit_snapshot of(const usage_event& e) {
    return {e.occurred_at,   e.account_id, e.window, e.provider_id,  e.agent_name,
            e.source_system, e.used,       e.limit,  e.used_percent, e.resets_at};
  }
};

// --- limit_store -------------------------------------------------------------
// A usage store that keeps quota readings apart from the usage they would
// otherwise be summed with.
// 1. `s.put_limits(snapshots)` stores them all or none and returns how many
//    were new, as `result<std::size_t>`: a reading is known by its account,
//    window and time, and the first one stored stays (a resent reading is a
//    duplicate, not an error).
// 2. `s.latest_limits(account, window)` returns the newest reading of each
//    (account, window), ordered by account then window, only those of
//    `account` and `window` when they are not empty, as
//    `result<std::vector<limit_snapshot>>`: what a quota panel shows.
template <class S>
concept limit_store = requires(S& s, std::span<const limit_snapshot> l, const std::string& name) {
  { s.put_limits(l) } -> std::same_as<result<std::size_t>>;
  { s.latest_limits(name, name) } -> std::same_as<result<std::vector<limit_snapshot>>>;
};

namespace detail {

/// The model a usage row is grouped under: tool calls have none.
inline const std::string& grouped_model(const usage_event& e) {
  static const std::string none;
  return e.event_type == "tool_usage" ? none : e.model();
}

inline bool counts(const usage_query& q, const usage_event& e) {
  if (e.occurred_at < q.from || e.occurred_at > q.to) return false;
  if (!q.agent.empty() && e.agent_name != q.agent) return false;
  if (!q.host.empty() && e.host != q.host && !(q.unset_host_too && e.host.empty())) return false;
  const bool tool = e.event_type == "tool_usage";
  return q.kind == usage_kind::all || (q.kind == usage_kind::tool_calls) == tool;
}

inline timestamp bucket_of(const usage_query& q, timestamp t) {
  if (q.bucket.count() <= 0) return q.from;
  const std::int64_t width = std::chrono::milliseconds(q.bucket).count();
  const std::int64_t ms = to_unix_ms(t);
  return from_unix_ms(ms - ((ms % width) + width) % width);
}

}  // namespace detail

/// Usage events in memory: for tests, `--memory-only` and as the reference
/// the SQLite store is checked against.
class usage_memory {
 public:
  result<std::vector<std::optional<usage_event>>> find(std::span<const std::string> keys) const {
    std::lock_guard lock(mu_);
    std::vector<std::optional<usage_event>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) {
      auto it = index_.find(k);
      out.push_back(it == index_.end() ? std::nullopt
                                       : std::optional<usage_event>(events_[it->second]));
    }
    return out;
  }

  status put(std::span<const usage_record> records) {
    std::lock_guard lock(mu_);
    for (const auto& r : records) {
      if (auto it = index_.find(r.key); it != index_.end()) {
        events_[it->second] = r.event;
        continue;
      }
      index_.emplace(r.key, events_.size());
      events_.push_back(r.event);
    }
    return {};
  }

  result<std::vector<usage_row>> aggregate(const usage_query& q) const {
    using group_key = std::tuple<timestamp, std::string, std::string, std::string, std::string,
                                 std::string, std::string>;
    std::map<group_key, usage_totals> groups;
    std::lock_guard lock(mu_);
    auto keep = [&](unsigned bit, const std::string& v) {
      return q.group & bit ? v : std::string();
    };
    for (const auto& e : events_) {
      if (!detail::counts(q, e)) continue;
      groups[{detail::bucket_of(q, e.occurred_at), keep(by_agent, e.agent_name),
              keep(by_model, detail::grouped_model(e)), keep(by_tool, e.tool_name),
              keep(by_provider, e.provider_id), keep(by_status, e.status), keep(by_host, e.host)}]
          .add(e);
    }
    std::vector<usage_row> out;
    out.reserve(groups.size());
    for (auto& [k, t] : groups) {
      auto& [bucket, agent, model, tool, provider, status, host] = k;
      out.push_back({bucket, agent, model, tool, provider, status, t, host});
    }
    return out;
  }

  result<std::size_t> count() const {
    std::lock_guard lock(mu_);
    return events_.size();
  }

  result<std::size_t> put_limits(std::span<const limit_snapshot> snapshots) {
    std::lock_guard lock(mu_);
    std::size_t added = 0;
    for (const auto& l : snapshots)
      added += limits_.try_emplace({l.account, l.window, to_unix_ms(l.at)}, l).second;
    return added;
  }

  result<std::vector<limit_snapshot>> latest_limits(const std::string& account,
                                                    const std::string& window) const {
    constexpr auto last = std::numeric_limits<std::int64_t>::max();
    std::lock_guard lock(mu_);
    std::vector<limit_snapshot> out;
    // One step per (account, window): to the first key after its newest reading.
    auto it = account.empty()
                  ? limits_.begin()
                  : limits_.lower_bound({account, "", std::numeric_limits<std::int64_t>::min()});
    while (it != limits_.end() && (account.empty() || std::get<0>(it->first) == account)) {
      const auto& [a, w, t] = it->first;
      auto next = limits_.upper_bound({a, w, last});
      if (window.empty() || w == window) out.push_back(std::prev(next)->second);
      it = next;
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::size_t> index_;
  std::deque<usage_event> events_;  // grows without moving what it holds
  // By account, window and time (unix ms).
  std::map<std::tuple<std::string, std::string, std::int64_t>, limit_snapshot> limits_;
};

static_assert(usage_store<usage_memory>);
static_assert(limit_store<usage_memory>);

}  // namespace vitals::agent
