// The usage event (seeds 000 and 003): one model call, tool call or turn of
// an agent, with its tokens and cost. A token count that is absent is
// unknown, not zero; `total_tokens` is derived from the parts when absent.
// Parsing checks every field and names the first one that is wrong: text
// must be clean (no NUL, valid UTF-8), numbers within the bounds below.
// A `limit_snapshot` is not usage but a quota reading of an account (its
// `window`, `used` of `limit`, `used_percent`, `resets_at`): a usage store
// that is a `limit_store` keeps it apart from the usage (agent/ledger.hpp).
#pragma once

#include <boost/json.hpp>

#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "vitals/core/error.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/time.hpp"

namespace vitals::agent {

struct usage_event {
  timestamp occurred_at{};
  std::string source_system, source_channel = "api", event_type = "message_usage";
  std::string provider_id, account_id, agent_name = "unknown", workspace_id, session_id;
  std::string turn_id, message_id, tool_call_id, model_raw, model_canonical, tool_name;
  std::string status = "ok";
  // The machine whose monitor took the event in (its --host-name): the same
  // agent name on two hosts is two agents. Not part of the dedup key, so an
  // event an agent resends to another host is still one event.
  std::string host;
  std::optional<std::int64_t> input_tokens, output_tokens, reasoning_tokens, cache_read_tokens,
      cache_write_tokens, total_tokens, requests;
  std::optional<double> cost_usd, duration_ms;
  std::string payload;  // raw JSON, kept as sent
  // limit_snapshot events only: the account's quota over `window` ("5h",
  // "weekly", ...), `used` of `limit` (in the provider's unit) or as a percentage.
  std::string window;
  std::optional<double> used, limit, used_percent;
  std::optional<timestamp> resets_at;

  /// The model as reported once normalised, else as reported.
  const std::string& model() const noexcept {
    return model_canonical.empty() ? model_raw : model_canonical;
  }
};

/// Upper bounds on what one event may report (docs/http-api.md): far above
/// any real model call, low enough that sums of many events stay exact in
/// int64 and in a double. An event over a bound is refused, naming the field.
inline constexpr std::int64_t max_tokens = 1'000'000'000'000;  // per field, and all parts together
inline constexpr std::int64_t max_requests = 1'000'000;
inline constexpr double max_cost_usd = 1e6;
inline constexpr double max_duration_ms = 1e10;   // about 115 days
inline constexpr double max_limit_amount = 1e15;  // `used` and `limit` of a limit snapshot
inline constexpr double max_used_percent = 1e4;

namespace detail {

inline constexpr std::array<std::string_view, 6> channels{"hook",  "sse", "otel",
                                                          "jsonl", "api", "sqlite"};
inline constexpr std::array<std::string_view, 6> event_types{
    "turn_completed", "message_usage", "tool_usage",
    "limit_snapshot", "raw_envelope",  "reconcile_adjustment"};
inline constexpr std::array<std::string_view, 4> statuses{"ok", "error", "aborted", "unknown"};

template <std::size_t N>
bool one_of(std::string_view v, const std::array<std::string_view, N>& set) {
  for (auto s : set)
    if (s == v) return true;
  return false;
}

template <std::size_t N>
std::string list(const std::array<std::string_view, N>& set) {
  std::string out;
  for (auto s : set) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

struct text_field {
  std::string_view name;
  std::string usage_event::*member;
};
inline constexpr text_field usage_texts[] = {{"source_system", &usage_event::source_system},
                                             {"source_channel", &usage_event::source_channel},
                                             {"event_type", &usage_event::event_type},
                                             {"provider_id", &usage_event::provider_id},
                                             {"account_id", &usage_event::account_id},
                                             {"agent_name", &usage_event::agent_name},
                                             {"workspace_id", &usage_event::workspace_id},
                                             {"session_id", &usage_event::session_id},
                                             {"turn_id", &usage_event::turn_id},
                                             {"message_id", &usage_event::message_id},
                                             {"tool_call_id", &usage_event::tool_call_id},
                                             {"model_raw", &usage_event::model_raw},
                                             {"model_canonical", &usage_event::model_canonical},
                                             {"tool_name", &usage_event::tool_name},
                                             {"status", &usage_event::status},
                                             {"window", &usage_event::window},
                                             {"host", &usage_event::host}};
struct count_field {
  std::string_view name;
  std::optional<std::int64_t> usage_event::*member;
};
inline constexpr count_field usage_counts[] = {
    {"input_tokens", &usage_event::input_tokens},
    {"output_tokens", &usage_event::output_tokens},
    {"reasoning_tokens", &usage_event::reasoning_tokens},
    {"cache_read_tokens", &usage_event::cache_read_tokens},
    {"cache_write_tokens", &usage_event::cache_write_tokens},
    {"total_tokens", &usage_event::total_tokens},
    {"requests", &usage_event::requests}};
struct real_field {
  std::string_view name;
  std::optional<double> usage_event::*member;
  double max;
  std::string_view over;  // why a value above `max` is refused
};
inline constexpr real_field usage_reals[] = {
    {"cost_usd", &usage_event::cost_usd, max_cost_usd, "more than 1000000 (USD per event)"},
    {"duration_ms", &usage_event::duration_ms, max_duration_ms,
     "more than 10000000000 (ms per event)"},
    {"used", &usage_event::used, max_limit_amount, "more than 10^15"},
    {"limit", &usage_event::limit, max_limit_amount, "more than 10^15"},
    {"used_percent", &usage_event::used_percent, max_used_percent, "more than 10000"}};
}  // namespace detail

/// Checks an event built in code as parsing checks one from JSON: text
/// clean (no NUL, valid UTF-8) and at most 512 bytes, every number within
/// the bounds above, the channel, type and status known; derives
/// `total_tokens` from the parts when absent. Names the first wrong field.
inline status validate_usage_event(usage_event& e) {
  auto bad = [](std::string_view field, std::string_view what) {
    return error(errc::invalid_argument, std::string(field) + ": " + std::string(what));
  };
  for (const auto& f : detail::usage_texts) {
    const std::string& v = e.*f.member;
    if (v.size() > 512) return bad(f.name, "longer than 512 characters");
    if (!is_clean_text(v)) return bad(f.name, "NUL or invalid UTF-8");
  }
  for (const auto& f : detail::usage_counts) {
    const auto& v = e.*f.member;
    if (!v) continue;
    const bool req = f.member == &usage_event::requests;
    if (*v < 0) return bad(f.name, "expected a non-negative integer");
    if (*v > (req ? max_requests : max_tokens))
      return bad(f.name, req ? "more than 1000000 per event" : "more than 10^12 per event");
  }
  for (const auto& f : detail::usage_reals) {
    const auto& v = e.*f.member;
    if (v && (!(*v >= 0) || !std::isfinite(*v)))
      return bad(f.name, "expected a non-negative number");
    if (v && *v > f.max) return bad(f.name, f.over);
  }
  if (e.agent_name.empty()) e.agent_name = "unknown";
  if (!detail::one_of(e.source_channel, detail::channels))
    return bad("source_channel", "expected one of " + detail::list(detail::channels));
  if (!detail::one_of(e.event_type, detail::event_types))
    return bad("event_type", "expected one of " + detail::list(detail::event_types));
  if (!detail::one_of(e.status, detail::statuses))
    return bad("status", "expected one of " + detail::list(detail::statuses));
  if (e.event_type == "limit_snapshot") {
    if (e.window.empty()) return bad("window", "required in a limit_snapshot (such as 5h, weekly)");
    if (!e.used && !e.used_percent)
      return bad("used", "a limit_snapshot needs used or used_percent");
    if (!e.used_percent && e.used && e.limit && *e.limit > 0) {
      const double p = *e.used / *e.limit * 100;
      if (p <= max_used_percent) e.used_percent = p;
    }
  } else {
    const char* only = !e.window.empty() ? "window"
                       : e.used          ? "used"
                       : e.limit         ? "limit"
                       : e.used_percent  ? "used_percent"
                       : e.resets_at     ? "resets_at"
                                         : nullptr;
    if (only) return bad(only, "only in a limit_snapshot event");
  }
  std::int64_t sum = 0;  // each part is at most max_tokens: five cannot overflow
  bool any = false;
  for (auto part : {e.input_tokens, e.output_tokens, e.reasoning_tokens, e.cache_read_tokens,
                    e.cache_write_tokens})
    if (part) {
      sum += *part;
      any = true;
    }
  if (sum > max_tokens) return bad("total_tokens", "the token counts add up to more than 10^12");
  if (!e.total_tokens && any) e.total_tokens = sum;
  return {};
}

/// One event from a JSON object. `received` is the default `occurred_at`.
inline result<usage_event> parse_usage_event(const boost::json::value& v, timestamp received) {
  const auto* o = v.if_object();
  if (!o) return error(errc::invalid_argument, "expected a JSON object");
  usage_event e;
  e.occurred_at = received;
  auto bad = [](std::string_view field, std::string_view what) {
    return error(errc::invalid_argument, std::string(field) + ": " + std::string(what));
  };
  for (const auto& [key, val] : *o) {
    if (key == "payload") {
      e.payload = boost::json::serialize(val);
      continue;
    }
    if (val.is_null()) continue;  // null is "unknown", like an absent field
    if (key == "occurred_at" || key == "resets_at") {
      if (!val.is_string()) return bad(key, "expected an RFC 3339 string");
      auto t = parse_rfc3339(val.get_string());
      if (!t) return bad(key, "expected an RFC 3339 time such as 2026-11-26T10:00:00Z");
      (key == "occurred_at" ? e.occurred_at : e.resets_at.emplace()) = *t;
      continue;
    }
    bool known = false;
    for (const auto& f : detail::usage_reals) {
      if (f.name != key) continue;
      if (!val.is_number()) return bad(key, "expected a number");
      const double d = val.to_number<double>();
      if (!(d >= 0) || !std::isfinite(d)) return bad(key, "expected a non-negative number");
      e.*f.member = d;
      known = true;
    }
    for (const auto& f : detail::usage_texts) {
      if (f.name != key) continue;
      if (!val.is_string()) return bad(key, "expected a string");
      e.*f.member = std::string(val.get_string());
      known = true;
    }
    for (const auto& f : detail::usage_counts) {
      if (f.name != key) continue;
      std::int64_t n = -1;
      if (val.is_int64()) n = val.get_int64();
      if (val.is_uint64() && val.get_uint64() < (1ull << 62)) n = std::int64_t(val.get_uint64());
      if (val.is_double() && val.get_double() >= 0 &&
          val.get_double() == std::trunc(val.get_double()) && val.get_double() < 9e15)
        n = std::int64_t(val.get_double());
      if (n < 0) return bad(key, "expected a non-negative integer");
      e.*f.member = n;
      known = true;
    }
    if (!known) return bad(key, "unknown field");
  }
  if (auto st = validate_usage_event(e); !st) return st.error();
  return e;
}

/// How much a channel's report is trusted: hook 4 > sse = otel 3 >
/// sqlite = jsonl 2 > api 1. An agent's own OpenTelemetry event (otel) is,
/// like its stream, sent live per request (with its cost): above log files.
inline int channel_priority(std::string_view channel) noexcept {
  if (channel == "hook") return 4;
  if (channel == "sse" || channel == "otel") return 3;
  if (channel == "sqlite" || channel == "jsonl") return 2;
  if (channel == "api") return 1;
  return 0;
}

/// Enriches `stored` with a duplicate report of the same event: a channel of
/// higher priority replaces what it knows; one of equal or lower priority
/// only fills what is unknown. True when anything changed.
inline bool merge_usage(usage_event& stored, const usage_event& incoming) {
  const bool higher =
      channel_priority(incoming.source_channel) > channel_priority(stored.source_channel);
  bool changed = false;
  auto text = [&](std::string& mine, const std::string& theirs, std::string_view unknown = {}) {
    if (theirs.empty() || theirs == unknown || theirs == mine) return;
    if (higher || mine.empty() || mine == unknown) {
      mine = theirs;
      changed = true;
    }
  };
  auto opt = [&](auto& mine, const auto& theirs) {
    if (!theirs || theirs == mine) return;
    if (higher || !mine) {
      mine = theirs;
      changed = true;
    }
  };
  for (auto f : {&usage_event::source_system, &usage_event::provider_id, &usage_event::account_id,
                 &usage_event::workspace_id, &usage_event::session_id, &usage_event::turn_id,
                 &usage_event::message_id, &usage_event::tool_call_id, &usage_event::model_raw,
                 &usage_event::model_canonical, &usage_event::tool_name, &usage_event::payload})
    text(stored.*f, incoming.*f);
  text(stored.agent_name, incoming.agent_name, "unknown");
  text(stored.status, incoming.status, "unknown");
  for (auto f :
       {&usage_event::input_tokens, &usage_event::output_tokens, &usage_event::reasoning_tokens,
        &usage_event::cache_read_tokens, &usage_event::cache_write_tokens,
        &usage_event::total_tokens, &usage_event::requests})
    opt(stored.*f, incoming.*f);
  opt(stored.cost_usd, incoming.cost_usd);
  opt(stored.duration_ms, incoming.duration_ms);
  if (higher && changed) stored.source_channel = incoming.source_channel;
  return changed;
}

/// The event as JSON, with the field names it was parsed from (absent
/// optionals left out), for storage and replay.
inline boost::json::object to_json(const usage_event& e) {
  boost::json::object o;
  o["occurred_at"] = to_rfc3339(e.occurred_at);
  auto text = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) o[k] = v;
  };
  text("source_system", e.source_system);
  text("source_channel", e.source_channel);
  text("event_type", e.event_type);
  text("provider_id", e.provider_id);
  text("account_id", e.account_id);
  text("agent_name", e.agent_name);
  text("workspace_id", e.workspace_id);
  text("session_id", e.session_id);
  text("turn_id", e.turn_id);
  text("message_id", e.message_id);
  text("tool_call_id", e.tool_call_id);
  text("model_raw", e.model_raw);
  text("model_canonical", e.model_canonical);
  text("tool_name", e.tool_name);
  text("status", e.status);
  text("window", e.window);
  text("host", e.host);
  auto count = [&](std::string_view k, const std::optional<std::int64_t>& v) {
    if (v) o[k] = *v;
  };
  count("input_tokens", e.input_tokens);
  count("output_tokens", e.output_tokens);
  count("reasoning_tokens", e.reasoning_tokens);
  count("cache_read_tokens", e.cache_read_tokens);
  count("cache_write_tokens", e.cache_write_tokens);
  count("total_tokens", e.total_tokens);
  count("requests", e.requests);
  for (const auto& f : detail::usage_reals)
    if (const auto& v = e.*f.member) o[f.name] = *v;
  if (e.resets_at) o["resets_at"] = to_rfc3339(*e.resets_at);
  if (!e.payload.empty()) {
    boost::system::error_code ec;
    auto payload = boost::json::parse(e.payload, ec);
    if (!ec) o["payload"] = std::move(payload);
  }
  return o;
}

}  // namespace vitals::agent
