// What main.cpp needs of the rest of the monitor: `serve`, everything above
// the stores, over the erased stores the flags chose. It is compiled in
// serve.cpp, so this header includes no server, route, sampler or HTTP
// client (the flags check a --scrape value with samplers/scrape_flag.hpp):
// the monitor's two files (main.cpp holds the flags and the store backends)
// compile in parallel, and a change to one side leaves the other's object.
#pragma once

#include "vitals/agent/any_usage.hpp"
#include "vitals/agent/spool.hpp"
#include "vitals/stores/any.hpp"
#include "vitals/stores/any_event.hpp"

#include "flags.hpp"

namespace agent_monitor {

/// Runs the monitor until SIGINT or SIGTERM over the stores the flags chose;
/// `sp` (null with --memory-only and in a view) keeps usage events the
/// store refused. Returns the process's exit code.
int serve(const monitor_flags& f, vitals::stores::any_store& store,
          vitals::agent::any_usage_store& usage, vitals::agent::spool* sp,
          vitals::stores::any_event_store& events);

}  // namespace agent_monitor
