// Mappers over memory stores for the OTLP receiver's tests: metrics into a
// memory store, logs into a usage ledger.
#pragma once

#include "otlp.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/otlp_logs.hpp"
#include "vitals/agent/otlp_metrics.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/stores/memory.hpp"

namespace vitals::test::otlp {

struct metrics_rig {
  explicit metrics_rig(std::size_t series_per_resource = 3)
      : mapper(
            reg,
            [this](std::span<const sample> b) -> status {
              if (refuse) return error(errc::unavailable, "full");
              pushed.insert(pushed.end(), b.begin(), b.end());
              return store.append(b);
            },
            [this](const series& s) { return store.latest(s); },
            agent::otlp_metrics_options{.max_series_per_resource = series_per_resource}) {}

  registry reg;
  stores::memory_store store;
  std::vector<sample> pushed;  // exemplars included, which the store does not keep
  bool refuse = false;
  agent::otlp_metrics_mapper mapper;
};

struct logs_rig {
  registry reg;
  agent::usage_memory usage;
  agent::ledger<agent::usage_memory> ledger{usage, reg};
  agent::otlp_logs_mapper mapper{reg, [this](std::vector<agent::usage_event> es) {
                                   return ledger.ingest_events(std::move(es));
                                 }};

  agent::usage_totals totals(const std::string& agent_name) {
    auto rows = usage.aggregate({.agent = agent_name, .group = agent::by_agent});
    return rows && rows->size() == 1 ? rows->front().totals : agent::usage_totals{};
  }
};

}  // namespace vitals::test::otlp
