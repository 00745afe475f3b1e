// The ledger's instruments (agent/ledger.hpp): the `vitals_agent_*` counters
// and the OpenTelemetry GenAI histograms, registered once in the caller's
// registry. An event counts what it adds over its earlier version, so an
// enrichment never counts a call twice; after a restart the counters go on
// from the store's totals.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "vitals/agent/usage_event.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/core/error.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::agent::detail {

class ledger_metrics {
 public:
  explicit ledger_metrics(registry& metrics)
      : tokens_(metrics.counter_family("vitals_agent_tokens",
                                       "Tokens used, by agent, model and type.",
                                       {"agent", "model", "type"})),
        cost_(metrics.counter_family("vitals_agent_cost_usd",
                                     "Cost in US dollars, by agent and model.",
                                     {"agent", "model"})),
        requests_(metrics.counter_family(
            "vitals_agent_requests", "Model requests, by agent and model.", {"agent", "model"})),
        tool_calls_(metrics.counter_family("vitals_agent_tool_calls",
                                           "Tool calls, by agent, tool and status.",
                                           {"agent", "tool", "status"})),
        tool_duration_(metrics.histogram_family(
            "vitals_agent_tool_duration_seconds", "Tool call durations, by agent and tool.",
            {"agent", "tool"}, buckets::genai_operation_duration())),
        genai_tokens_(metrics.histogram_family("gen_ai_client_token_usage",
                                               "Tokens per model call (OpenTelemetry GenAI).",
                                               {"gen_ai_token_type", "gen_ai_request_model",
                                                "gen_ai_provider_name", "gen_ai_operation_name"},
                                               buckets::genai_token_usage())),
        genai_duration_(metrics.histogram_family(
            "gen_ai_client_operation_duration_seconds",
            "Model call durations (OpenTelemetry GenAI).",
            {"gen_ai_request_model", "gen_ai_provider_name", "gen_ai_operation_name"},
            buckets::genai_operation_duration())),
        rejected_(metrics.counter("vitals_agent_events_rejected",
                                  "Usage events refused: invalid, or the store refused them.")),
        duplicates_(metrics.counter("vitals_agent_events_duplicate",
                                    "Usage events already seen (by their dedup key).")),
        unpriced_(metrics.counter_family("vitals_agent_unpriced_events",
                                         "Usage events without a cost whose model has no price.",
                                         {"model"})) {}

  void rejected(std::uint64_t n) { rejected_.inc(n); }
  void duplicates(std::uint64_t n) { duplicates_.inc(n); }
  /// An event without a cost whose model has no price.
  void unpriced(std::string_view model) {
    unpriced_.with(model.empty() ? std::string_view("unknown") : model).inc();
  }

  // After a restart the counters go on from the stored totals of `host`
  // (and of events stored before hosts were kept, host ""): monitors that
  // share a database each count what they took in. The histograms start
  // again, as a restarted process's do.
  template <usage_store Store>
  status restore(Store& store, std::string_view host) {
    auto mine = [host](const usage_row& r) { return r.host.empty() || r.host == host; };
    auto models =
        store.aggregate({.group = by_agent | by_model | by_host, .kind = usage_kind::model_calls});
    if (!models) return models.error();
    for (const auto& r : *models) {
      if (!mine(r)) continue;
      const auto& t = r.totals;
      const std::pair<const char*, std::int64_t> parts[] = {{"input", t.input},
                                                            {"output", t.output},
                                                            {"cache_read", t.cache_read},
                                                            {"cache_write", t.cache_write},
                                                            {"reasoning", t.reasoning}};
      for (auto [type, n] : parts)
        if (n > 0) tokens_.with(r.agent, or_unknown(r.model), type).inc(std::uint64_t(n));
      if (t.requests > 0)
        requests_.with(r.agent, or_unknown(r.model)).inc(std::uint64_t(t.requests));
      if (t.cost_usd > 0) cost_.with(r.agent, or_unknown(r.model)).add(t.cost_usd);
    }
    auto tools = store.aggregate(
        {.group = by_agent | by_tool | by_status | by_host, .kind = usage_kind::tool_calls});
    if (!tools) return tools.error();
    for (const auto& r : *tools) {
      if (!mine(r)) continue;
      tool_calls_.with(r.agent, or_unknown(r.tool), r.status)
          .inc(std::uint64_t(r.totals.tool_calls));
      if (r.totals.cost_usd > 0) cost_.with(r.agent, "unknown").add(r.totals.cost_usd);
    }
    return {};
  }

  // What `e` adds over `before`, its earlier version (an enrichment only
  // ever adds to the counters; calls and observations count once).
  void count(const usage_event& e, const usage_event* before) {
    usage_totals now, was;
    now.add(e);
    if (before) was.add(*before);
    const std::string_view m = or_unknown(grouped_model(e));
    if (e.event_type == "tool_usage") {
      if (!before) {
        const std::string_view tool = or_unknown(e.tool_name);
        tool_calls_.with(e.agent_name, tool, e.status).inc();
        if (e.duration_ms) tool_duration_.with(e.agent_name, tool).observe(*e.duration_ms / 1000.0);
      }
    } else {
      auto grow = [](std::int64_t a, std::int64_t b) { return std::uint64_t(a > b ? a - b : 0); };
      const std::pair<const char*, std::uint64_t> parts[] = {
          {"input", grow(now.input, was.input)},
          {"output", grow(now.output, was.output)},
          {"cache_read", grow(now.cache_read, was.cache_read)},
          {"cache_write", grow(now.cache_write, was.cache_write)},
          {"reasoning", grow(now.reasoning, was.reasoning)}};
      for (auto [type, n] : parts)
        if (n > 0) tokens_.with(e.agent_name, m, type).inc(n);
      if (!before) {
        requests_.with(e.agent_name, m).inc(std::uint64_t(now.requests));
        const std::string_view provider = or_unknown(e.provider_id);
        if (e.status != "error" && e.input_tokens)
          genai_tokens_.with("input", m, provider, "chat").observe(double(*e.input_tokens));
        if (e.status != "error" && e.output_tokens)
          genai_tokens_.with("output", m, provider, "chat").observe(double(*e.output_tokens));
        if (e.duration_ms)
          genai_duration_.with(m, provider, "chat").observe(*e.duration_ms / 1000.0);
      }
    }
    if (const double extra = now.cost_usd - was.cost_usd; extra > 0)
      cost_.with(e.agent_name, m).add(extra);
  }

 private:
  static std::string_view or_unknown(std::string_view s) { return s.empty() ? "unknown" : s; }

  family<vitals::counter>& tokens_;
  family<vitals::counter>& cost_;
  family<vitals::counter>& requests_;
  family<vitals::counter>& tool_calls_;
  family<vitals::histogram>& tool_duration_;
  family<vitals::histogram>& genai_tokens_;
  family<vitals::histogram>& genai_duration_;
  vitals::counter& rejected_;
  vitals::counter& duplicates_;
  family<vitals::counter>& unpriced_;
};

}  // namespace vitals::agent::detail
