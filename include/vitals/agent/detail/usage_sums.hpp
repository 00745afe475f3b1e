// What the SQL usage stores share: the keys of an hourly sums row and of a
// report group, the grouped columns of a query (fixed names, never input),
// which hours of a window are whole, and the groups turned into rows.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "vitals/agent/usage_store.hpp"

namespace vitals::agent::detail {

inline constexpr std::int64_t hour_ms = 3'600'000;
inline constexpr std::int64_t max_ms = std::numeric_limits<std::int64_t>::max();

/// The hour and the keys of an hourly sums row: agent, model, tool,
/// provider, status, a tool call or not, host (the tables' column order).
using usage_hour_key = std::tuple<std::int64_t, std::string, std::string, std::string, std::string,
                                  std::string, bool, std::string>;
/// A report group: its bucket (unix ms) and keys (agent, model, tool,
/// provider, status, host).
using usage_group_key = std::tuple<std::int64_t, std::string, std::string, std::string, std::string,
                                   std::string, std::string>;
using usage_groups = std::map<usage_group_key, usage_totals>;

inline usage_hour_key hour_of(const usage_event& e) {
  const std::int64_t t = to_unix_ms(e.occurred_at);
  return {t - t % hour_ms,
          e.agent_name,
          grouped_model(e),
          e.tool_name,
          e.provider_id,
          e.status,
          e.event_type == "tool_usage",
          e.host};
}

inline usage_totals totals_of(const usage_event& e) {
  usage_totals t;
  t.add(e);
  return t;
}

/// The select list (", col" or ", ''" for each key) and the GROUP BY list
/// of a query; column names are ours.
inline std::pair<std::string, std::string> grouping(const usage_query& q) {
  static constexpr std::pair<usage_key, std::string_view> keys[] = {
      {by_agent, "agent"},       {by_model, "model"},   {by_tool, "tool"},
      {by_provider, "provider"}, {by_status, "status"}, {by_host, "host"}};
  std::string select, group = "bucket";
  for (auto [bit, column] : keys) {
    const bool on = q.group & bit;
    select += on ? ", " + std::string(column) : ", ''";
    if (on) group += ", " + std::string(column);
  }
  return {select, group};
}

/// How one SQL store spells what the aggregate query needs: its six
/// placeholders (the time range, the agent or '', the bucket width or the
/// one bucket, the host or '', and 1 when host '' counts as that host), the
/// sums over usage_events and over usage_hourly, and the hourly rows of tool
/// calls and of model calls.
struct usage_dialect {
  std::string_view from, to, agent, width, host, unset_host_too;
  std::string_view event_sums, hourly_sums;
  std::string_view tool_rows, model_rows;
};

/// One part of an aggregate: the groups of `usage_events` (`hourly` false)
/// or of `usage_hourly` between the first two placeholders.
inline std::string usage_sql(const usage_query& q, const usage_dialect& d, bool hourly) {
  const auto [select, group] = grouping(q);
  const std::string t = hourly ? "hour" : "t", w(d.width);
  std::string sql =
      "SELECT " +
      (q.bucket.count() > 0 ? t + " - ((" + t + " % " + w + ") + " + w + ") % " + w : w) +
      " AS bucket" + select + ", " + std::string(hourly ? d.hourly_sums : d.event_sums) +
      (hourly ? " FROM usage_hourly" : " FROM usage_events") + " WHERE " + t +
      " >= " + std::string(d.from) + " AND " + t + " <= " + std::string(d.to) + " AND (" +
      std::string(d.agent) + " = '' OR agent = " + std::string(d.agent) + ") AND (" +
      std::string(d.host) + " = '' OR host = " + std::string(d.host) + " OR (" +
      std::string(d.unset_host_too) + " = 1 AND host = ''))";
  if (q.kind != usage_kind::all) {
    const bool tools = q.kind == usage_kind::tool_calls;
    if (hourly)
      sql += " AND " + std::string(tools ? d.tool_rows : d.model_rows);
    else
      sql += tools ? " AND event_type = 'tool_usage'" : " AND event_type <> 'tool_usage'";
  }
  return sql + " GROUP BY " + group;
}

/// A query's window in unix ms, and [from_h, to_h): the hours wholly inside
/// it, which hourly sums can answer when buckets are whole hours (`whole`).
struct usage_window {
  std::int64_t width, from, to, from_h, to_h;
  bool whole;

  explicit usage_window(const usage_query& q)
      : width(q.bucket.count() > 0 ? std::chrono::milliseconds(q.bucket).count() : 0),
        from(to_unix_ms(q.from)),
        to(q.to >= from_unix_ms(max_ms) ? max_ms : to_unix_ms(q.to)),
        from_h(from <= 0 ? 0 : (from + hour_ms - 1) / hour_ms * hour_ms),
        to_h(to == max_ms ? max_ms / hour_ms * hour_ms : (to + 1) / hour_ms * hour_ms),
        whole(width % hour_ms == 0 && from_h < to_h) {}

  /// Calls part(from, to, from_hourly) for each part of the window.
  template <class Part>
  status each_part(Part&& part) const {
    if (!whole) return part(from, to, false);
    status st;
    if (from < from_h) st = part(from, from_h - 1, false);
    if (st) st = part(from_h, to_h - 1, true);
    if (st && to_h <= to) st = part(to_h, to, false);
    return st;
  }
};

/// An event from a row of the stores' event columns (key, t, source_system
/// ... model_canonical, the grouping model, tool, status, the seven counts,
/// cost, duration, host), its payload at `payload_col`. `Row` reads column c with
/// text(c), int64(c), real(c) and null(c); unknown counts stay unknown.
template <class Row>
usage_event read_usage_event(const Row& r, int payload_col) {
  usage_event e;
  e.occurred_at = clamp_time(from_unix_ms(r.int64(1)));  // a stored row may predate the checks
  int c = 2;
  for (std::string* v : {&e.source_system, &e.source_channel, &e.event_type, &e.provider_id,
                         &e.account_id, &e.agent_name, &e.workspace_id, &e.session_id, &e.turn_id,
                         &e.message_id, &e.tool_call_id, &e.model_raw, &e.model_canonical})
    *v = std::string(r.text(c++));
  ++c;  // the grouping model is derived
  e.tool_name = std::string(r.text(c++));
  e.status = std::string(r.text(c++));
  for (auto* v : {&e.input_tokens, &e.output_tokens, &e.reasoning_tokens, &e.cache_read_tokens,
                  &e.cache_write_tokens, &e.total_tokens, &e.requests}) {
    if (!r.null(c)) *v = r.int64(c);
    ++c;
  }
  for (auto* v : {&e.cost_usd, &e.duration_ms}) {
    if (!r.null(c)) *v = r.real(c);
    ++c;
  }
  e.host = std::string(r.text(c));
  if (!r.null(payload_col)) e.payload = std::string(r.text(payload_col));
  return e;
}

/// The newest reading per (account, window) of `usage_limits`, only of the
/// account and window bound to the placeholders `account` and `window`
/// unless they are ''.
inline std::string latest_limits_sql(std::string_view account, std::string_view window) {
  const std::string a(account), w(window);
  return "SELECT l.account, l.limit_window, l.t, l.provider, l.agent, l.source, l.used,"
         " l.limit_max, l.used_percent, l.resets_at FROM usage_limits l JOIN (SELECT account,"
         " limit_window, max(t) AS t FROM usage_limits WHERE (" +
         a + " = '' OR account = " + a + ") AND (" + w + " = '' OR limit_window = " + w +
         ") GROUP BY account, limit_window) m USING (account, limit_window, t)"
         " ORDER BY l.account, l.limit_window";
}

/// A limit snapshot from a row of latest_limits_sql's columns.
template <class Row>
limit_snapshot read_limit(const Row& r) {
  limit_snapshot l;
  l.account = std::string(r.text(0));
  l.window = std::string(r.text(1));
  l.at = clamp_time(from_unix_ms(r.int64(2)));
  l.provider = std::string(r.text(3));
  l.agent = std::string(r.text(4));
  l.source = std::string(r.text(5));
  int c = 6;
  for (auto* v : {&l.used, &l.limit, &l.used_percent}) {
    if (!r.null(c)) *v = r.real(c);
    ++c;
  }
  if (!r.null(9)) l.resets_at = clamp_time(from_unix_ms(r.int64(9)));
  return l;
}

/// A report row's group key (columns 0 to 6) and sums (7 on: ten counts,
/// cost, duration, first, last), added to `groups`.
template <class Row>
void add_group_row(const Row& r, usage_groups& groups) {
  usage_group_key k{r.int64(0),
                    std::string(r.text(1)),
                    std::string(r.text(2)),
                    std::string(r.text(3)),
                    std::string(r.text(4)),
                    std::string(r.text(5)),
                    std::string(r.text(6))};
  usage_totals t;
  int c = 7;
  for (auto* v : {&t.input, &t.output, &t.cache_read, &t.cache_write, &t.reasoning, &t.total,
                  &t.requests, &t.tool_calls, &t.errors, &t.events})
    *v = r.int64(c++);
  t.cost_usd = r.real(c++);
  t.duration_ms = r.real(c++);
  t.first = clamp_time(from_unix_ms(r.int64(c++)));  // stored rows may predate the checks
  t.last = clamp_time(from_unix_ms(r.int64(c++)));
  groups[std::move(k)].add(t);
}

/// The groups as report rows, in key order; a group an enrichment moved
/// everything out of is left out.
inline std::vector<usage_row> rows_of(usage_groups& groups) {
  std::vector<usage_row> out;
  out.reserve(groups.size());
  for (auto& [k, t] : groups) {
    if (t.events <= 0) continue;
    auto& [bucket, agent, model, tool, provider, status, host] = k;
    out.push_back({from_unix_ms(bucket), agent, model, tool, provider, status, t, host});
  }
  return out;
}

}  // namespace vitals::agent::detail
