// Fuzz target: usage events as `POST /api/v1/events` takes them, through
// agent::ledger::ingest over agent::usage_memory: one JSON object, a JSON
// array or NDJSON. Nothing is silently dropped: every item is accepted, a
// duplicate or rejected with its line. The reports then run over what was
// kept, as the usage routes call them.
#pragma once

#include <boost/json.hpp>

#include <string_view>

#include "common.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/stores/memory.hpp"

namespace vitals::fuzz {

/// How many items the ledger sees in `body`: the elements of a JSON array,
/// one for any other JSON value, else the non-blank lines of NDJSON.
inline std::size_t usage_items(std::string_view body) {
  boost::system::error_code ec;
  const auto whole = boost::json::parse(body, ec);
  if (!ec) return whole.is_array() ? whole.get_array().size() : 1;
  std::size_t n = 0;
  while (!body.empty()) {
    const auto nl = body.find('\n');
    const auto line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) ++n;
  }
  return n;
}

inline void usage_events(std::string_view data) {
  agent::usage_memory usage;
  registry metrics;
  agent::ledger ledger(usage, metrics);
  const auto r = ledger.ingest(data);
  const std::size_t items = usage_items(data);
  VITALS_FUZZ_CHECK(r.accepted + r.duplicates + r.rejected.size() == items,
                    "every item is accepted, a duplicate or rejected");
  for (const auto& x : r.rejected) {
    VITALS_FUZZ_CHECK(x.line >= 1 && x.line <= std::max<std::size_t>(items, 1) + data.size(),
                      "a rejected item names its line");
    VITALS_FUZZ_CHECK(!x.error.empty(), "a rejected item says why");
  }
  // Again: what is kept is now known; nothing new is accepted twice.
  const auto again = ledger.ingest(data);
  VITALS_FUZZ_CHECK(again.accepted + again.duplicates + again.rejected.size() == items,
                    "every item is accounted for the second time too");

  stores::memory_store samples;
  agent::usage_reports reports(usage, &samples, [] {
    return std::vector<agent::agent_source>{{.name = "a", .target = "t"}, {.name = "unknown"}};
  });
  const timestamp first = from_unix_ms(-62'135'596'800'000);  // 0001-01-01
  const timestamp last = from_unix_ms(253'402'300'799'000);   // 9999-12-31
  const timestamp fixed = from_unix_ms(1'790'000'000'000);
  for (auto by : {agent::daily_by::model, agent::daily_by::agent, agent::daily_by::tool,
                  agent::daily_by::provider})
    (void)reports.daily(first, last, by);
  (void)reports.summary(std::nullopt, first, last);
  (void)reports.agents(fixed);
  (void)reports.blocks(std::chrono::hours(5), first, fixed);
}

}  // namespace vitals::fuzz
