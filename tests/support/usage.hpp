// The usage summary of any usage store, for the agent tests: token and cost
// totals only (no sample store behind them).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "vitals/agent/reports.hpp"
#include "vitals/stores/memory.hpp"

namespace vitals::test {

template <agent::usage_store Usage>
boost::json::array usage_summary(Usage& usage, std::optional<std::string_view> agent = {}) {
  agent::usage_reports<Usage, stores::memory_store> reports(usage, nullptr);
  auto s = reports.summary(agent, from_unix_ms(0), vitals::now() + std::chrono::hours(1));
  if (!s) throw std::runtime_error(s.error().message);
  return *s;
}

}  // namespace vitals::test
