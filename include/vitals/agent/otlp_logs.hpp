// Agents' OpenTelemetry log events into usage events (channel "otel"):
// Claude Code `claude_code.api_request`, Codex `codex.sse_event` with
// event.kind response.completed, Gemini CLI `gemini_cli.api_response`, and
// their tool results. Input tokens exclude cache reads for every agent
// (Codex and Gemini count them inside input: subtracted); reasoning and
// thought tokens are reasoning, and part of output as everywhere in vitals
// (Gemini's thoughts are added to its output); Codex's tool_token_count
// (its total) is not added again. The events go to the ledger as structs
// (`ledger::ingest_events`), which validates, prices (when the record has no
// cost) and drops duplicates: a record's request id, or prompt id +
// sequence, is its dedup id, else its content.
// Other records (prompts, decisions) are ignored and counted.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/agent/ledger.hpp"
#include "vitals/agent/otlp_names.hpp"
#include "vitals/agent/usage_event.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::agent {

struct otlp_logs_result {
  std::size_t accepted = 0;    // new usage events
  std::size_t duplicates = 0;  // known already (a retried export)
  std::size_t ignored = 0;     // records that are not usage
  std::size_t rejected = 0;
  std::string message;  // the first rejection's reason
  bool store_failed = false;
};

namespace detail {

// The attributes of a record over its resource's, by key. A scan, newest
// first (the record's win): a record has tens of attributes, and a map
// would cost an allocation per key and per look-up.
class otlp_attributes {
 public:
  void add(const google::protobuf::RepeatedPtrField<otlp_pb::KeyValue>& kvs) {
    for (const auto& kv : kvs) kvs_.emplace_back(kv.key(), &kv.value());
  }
  /// Forgets the record's attributes, keeping the first `n` (the resource's).
  void keep(std::size_t n) { kvs_.resize(std::min(n, kvs_.size())); }
  std::size_t size() const noexcept { return kvs_.size(); }
  const otlp_pb::AnyValue* find(std::string_view k) const {
    for (auto it = kvs_.rbegin(); it != kvs_.rend(); ++it)
      if (it->first == k) return it->second;
    return nullptr;
  }
  std::string text(std::string_view k) const {
    const auto* v = find(k);
    return v ? otlp_value_text(*v) : std::string();
  }
  /// A non-negative whole number below 2^53, sent as an int, a double or a
  /// string (Claude Code sends strings); nullopt when absent or not one.
  std::optional<std::int64_t> count(std::string_view k) const {
    const auto* v = find(k);
    if (!v) return std::nullopt;
    constexpr std::int64_t max = std::int64_t(1) << 53;
    if (v->has_int_value())
      return v->int_value() >= 0 && v->int_value() < max ? std::optional(v->int_value())
                                                         : std::nullopt;
    if (v->has_double_value()) {
      const double d = v->double_value();
      if (d >= 0 && d < double(max) && d == std::trunc(d)) return std::int64_t(d);
      return std::nullopt;
    }
    if (v->has_string_value()) {
      const auto& s = v->string_value();
      std::int64_t n = -1;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc{} && end == s.data() + s.size() && n >= 0 && n < max) return n;
    }
    return std::nullopt;
  }
  /// A finite non-negative number (cost, duration), as int, double or string.
  std::optional<double> number(std::string_view k) const {
    const auto* v = find(k);
    if (!v) return std::nullopt;
    double d = -1;
    if (v->has_int_value()) d = double(v->int_value());
    if (v->has_double_value()) d = v->double_value();
    if (v->has_string_value()) {
      const auto& s = v->string_value();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec != std::errc{} || end != s.data() + s.size()) d = -1;
    }
    if (!(d >= 0) || !std::isfinite(d)) return std::nullopt;
    return d;
  }
  std::optional<bool> flag(std::string_view k) const {
    const auto* v = find(k);
    if (!v) return std::nullopt;
    if (v->has_bool_value()) return v->bool_value();
    if (v->has_string_value()) {
      if (v->string_value() == "true") return true;
      if (v->string_value() == "false") return false;
    }
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string_view, const otlp_pb::AnyValue*>> kvs_;
};

enum class otlp_event { other, claude_request, codex_response, gemini_response, tool_result };

// Claude Code names its events with the bare name in `event.name` and the
// full one in the body; others put the full name in `event.name`.
inline otlp_event classify(const otlp_pb::LogRecord& rec, const otlp_attributes& a,
                           std::string_view& system) {
  std::string name = rec.event_name();
  if (name.empty()) name = a.text("event.name");
  if (name.find('.') == std::string::npos && rec.body().has_string_value() &&
      rec.body().string_value().ends_with("." + name))
    name = rec.body().string_value();
  const std::string service = a.text("service.name");
  if (name.find('.') == std::string::npos && service.find("claude") != std::string::npos)
    name = "claude_code." + name;
  if (name == "claude_code.api_request") return system = "claude-code", otlp_event::claude_request;
  if (name == "codex.sse_event")
    return system = "codex", a.text("event.kind") == "response.completed"
                                 ? otlp_event::codex_response
                                 : otlp_event::other;
  if (name == "gemini_cli.api_response") return system = "gemini-cli", otlp_event::gemini_response;
  if (name == "claude_code.tool_result") return system = "claude-code", otlp_event::tool_result;
  if (name == "codex.tool_result") return system = "codex", otlp_event::tool_result;
  if (name == "gemini_cli.tool_call") return system = "gemini-cli", otlp_event::tool_result;
  return otlp_event::other;
}

inline std::optional<timestamp> record_time(const otlp_pb::LogRecord& rec, const otlp_attributes& a,
                                            timestamp now) {
  constexpr std::uint64_t y2000 = 946684800ull * 1000000000ull;
  const auto ahead = std::uint64_t(to_unix_ms(now) + 3600000) * 1000000ull;
  for (auto ns : {rec.time_unix_nano(), rec.observed_time_unix_nano()})
    if (ns != 0) {
      if (ns < y2000 || ns > ahead) return std::nullopt;
      return from_unix_ms(std::int64_t(ns / 1000000));
    }
  if (auto t = parse_rfc3339(a.text("event.timestamp"))) return *t;
  return now;
}

}  // namespace detail

/// Usage events from one logs export. `ingest` is the ledger's.
class otlp_logs_mapper {
 public:
  using ingest_fn = std::function<ingest_result(std::vector<usage_event>)>;

  otlp_logs_mapper(registry& metrics, ingest_fn ingest)
      : ingest_(std::move(ingest)),
        records_(metrics.counter_family("vitals_otlp_log_records",
                                        "OTLP log records received, by outcome.", {"outcome"})) {}

  otlp_logs_result ingest(const otlp_pb::ExportLogsServiceRequest& req) {
    otlp_logs_result r;
    std::vector<usage_event> events;
    const timestamp now = vitals::now();
    detail::otlp_attributes a;
    for (const auto& rl : req.resource_logs()) {
      a.keep(0);
      a.add(rl.resource().attributes());
      const std::size_t resource = a.size();
      for (const auto& sl : rl.scope_logs())
        for (const auto& rec : sl.log_records()) {
          a.keep(resource);
          a.add(rec.attributes());
          if (auto e = to_event(rec, a, now, r)) events.push_back(std::move(*e));
        }
    }
    if (!events.empty()) {
      const auto got = ingest_(std::move(events));
      r.accepted = got.accepted;
      r.duplicates = got.duplicates;
      r.rejected += got.rejected.size();
      for (const auto& x : got.rejected) {
        r.store_failed = r.store_failed || x.error.starts_with("not stored");
        if (r.message.empty()) r.message = "usage event " + std::to_string(x.line) + ": " + x.error;
      }
    }
    records_.with("accepted").inc(r.accepted);
    records_.with("duplicate").inc(r.duplicates);
    records_.with("ignored").inc(r.ignored);
    records_.with("rejected").inc(r.rejected);
    return r;
  }

 private:
  std::optional<usage_event> to_event(const otlp_pb::LogRecord& rec,
                                      const detail::otlp_attributes& a, timestamp now,
                                      otlp_logs_result& r) {
    using detail::otlp_event;
    std::string_view system;
    const auto kind = detail::classify(rec, a, system);
    if (kind == otlp_event::other) {
      ++r.ignored;
      return std::nullopt;
    }
    auto t = detail::record_time(rec, a, now);
    if (!t) {
      ++r.rejected;
      if (r.message.empty())
        r.message = "time_unix_nano out of range (before 2000 or more than an hour ahead)";
      return std::nullopt;
    }
    usage_event e;
    e.occurred_at = *t;
    e.source_system = std::string(system);
    e.source_channel = "otel";
    e.provider_id = system == "claude-code" ? "anthropic" : system == "codex" ? "openai" : "google";
    e.session_id = a.text("session.id");
    if (e.session_id.empty()) e.session_id = a.text("conversation.id");
    e.agent_name = a.text("agent.name");
    if (e.agent_name.empty()) {
      e.agent_name = a.text("service.name");
      if (e.agent_name.empty()) e.agent_name = system;
      if (!e.session_id.empty()) e.agent_name += ":" + e.session_id.substr(0, 8);
    }
    e.account_id = a.text("user.account_uuid");
    e.workspace_id = a.text("organization.id");
    e.model_raw = a.text("model");
    e.duration_ms = a.number("duration_ms");
    if (kind == otlp_event::tool_result) {
      e.event_type = "tool_usage";
      e.tool_name = a.text("tool_name");
      if (e.tool_name.empty()) e.tool_name = a.text("function_name");  // Gemini
      for (auto id : {"tool_use_id", "call_id", "tool.call_id"})
        if (e.tool_call_id.empty()) e.tool_call_id = a.text(id);
      if (auto ok = a.flag("success")) e.status = *ok ? "ok" : "error";
      set_turn(e, a);
      return e;
    }
    e.event_type = "message_usage";
    e.requests = 1;
    if (kind == otlp_event::claude_request) {
      e.input_tokens = a.count("input_tokens");  // excludes cache already
      e.output_tokens = a.count("output_tokens");
      e.cache_read_tokens = a.count("cache_read_tokens");
      e.cache_write_tokens = a.count("cache_creation_tokens");
      e.cost_usd = a.number("cost_usd");
      e.message_id = a.text("request_id");
    } else {
      const bool codex = kind == otlp_event::codex_response;
      const auto input = a.count("input_token_count");
      const auto cached = a.count(codex ? "cached_token_count" : "cached_content_token_count");
      const auto c = std::min(cached.value_or(0), input.value_or(0));
      if (input) e.input_tokens = *input - c;
      if (cached) e.cache_read_tokens = c;
      e.output_tokens = a.count("output_token_count");
      e.reasoning_tokens = a.count(codex ? "reasoning_token_count" : "thoughts_token_count");
      // vitals counts reasoning inside output (and prices it so); Gemini
      // reports its thoughts beside the output: added to it.
      if (!codex && e.reasoning_tokens)
        e.output_tokens = e.output_tokens.value_or(0) + *e.reasoning_tokens;
      // Codex counts reasoning inside output (as its log files do) and its
      // tool_token_count carries the total: the total is input + output.
      if (codex && input && e.output_tokens) e.total_tokens = *input + *e.output_tokens;
      if (!codex) e.total_tokens = a.count("total_token_count");
      e.message_id = a.text("response_id");
    }
    set_turn(e, a);
    return e;
  }

  // Without a request id, the prompt and the record's sequence number name it.
  static void set_turn(usage_event& e, const detail::otlp_attributes& a) {
    auto prompt = a.text("prompt.id");
    if (prompt.empty()) prompt = a.text("prompt_id");
    const auto seq = a.text("event.sequence");
    if (!prompt.empty() && !seq.empty()) e.turn_id = prompt + "#" + seq;
  }

  ingest_fn ingest_;
  family<vitals::counter>& records_;
};

}  // namespace vitals::agent
