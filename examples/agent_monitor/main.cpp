// The agent monitor: samples itself, the host and any tracked agent (process,
// cgroup or /metrics endpoint), keeps recent samples in a memory ring for
// live views and everything in SQLite (or PostgreSQL), takes usage events
// into the same database's usage tables, optionally pushes samples with
// remote write and OTLP, and serves the whole HTTP API, the usage reports
// and the dashboard. Its own lifecycle events (agent/lifecycle.hpp) go
// through a hub and a persister into the same backend's event store, and
// each agent session's METRICS.json is kept under DATA/sessions.
// `agent_monitor --help` lists the flags.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "vitals/agent/spool.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/stores/event_memory.hpp"
#include "vitals/stores/event_sqlite.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/sqlite.hpp"
#include "vitals/stores/tiered.hpp"
#ifdef VITALS_MONITOR_POSTGRES
#include "vitals/agent/usage_postgres.hpp"
#include "vitals/stores/event_postgres.hpp"
#include "vitals/stores/followed.hpp"
#include "vitals/stores/postgres.hpp"
#endif

#include "serve.hpp"

namespace fs = std::filesystem;
using namespace vitals;

namespace {

/// The stores of one choice, reached through their erased interfaces.
template <class Store, class Usage, class Events>
int serve_with(const monitor_flags& f, Store& store, Usage& usage, agent::spool* sp,
               Events& events) {
  stores::any_store samples(store);
  agent::any_usage_store used(usage);
  stores::any_event_store logged(events);
  return agent_monitor::serve(f, samples, used, sp, logged);
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_monitor_flags(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  const auto& f = std::get<monitor_flags>(parsed);
  try {
    if (f.memory_only) {
      stores::memory_store mem;
      agent::usage_memory usage;
      stores::event_memory_store events;
      return serve_with(f, mem, usage, nullptr, events);
    }
    if (f.read_only) {  // the flags made sure of --postgres
#ifdef VITALS_MONITOR_POSTGRES
      agent::usage_postgres usage(f.postgres);
      stores::postgres_store db(stores::postgres_options{.dsn = f.postgres});
      stores::followed store(db);
      stores::event_postgres_store events(f.postgres);
      return serve_with(f, store, usage, nullptr, events);
#else
      std::fprintf(stderr, "agent_monitor: --postgres: built without libpq\n");
      return 1;
#endif
    }
    fs::create_directories(f.data);
    agent::spool spool(fs::path(f.data) / "spool");
    if (!f.postgres.empty()) {
#ifdef VITALS_MONITOR_POSTGRES
      agent::usage_postgres usage(f.postgres);  // connects and migrates first: a bad DSN stops here
      stores::memory_store hot;
      // While the database is away, batches wait on disk under --data and
      // are replayed, oldest first, when it is back (also after a kill -9).
      stores::postgres_store cold(
          stores::postgres_options{.dsn = f.postgres, .spool_dir = fs::path(f.data) / "pg-spool"});
      stores::tiered store(hot, cold);
      stores::event_postgres_store events(f.postgres);
      return serve_with(f, store, usage, &spool, events);
#else
      std::fprintf(stderr, "agent_monitor: --postgres: built without libpq\n");
      return 1;
#endif
    }
    stores::memory_store hot;
    stores::sqlite_store cold(fs::path(f.data) / "samples.db");
    stores::tiered store(hot, cold);
    agent::usage_sqlite usage(fs::path(f.data) / "usage.db", true);
    stores::event_sqlite_store events(fs::path(f.data) / "events.db");
    return serve_with(f, store, usage, &spool, events);
  } catch (const std::exception& e) {
    std::string line = e.what();  // libpq's messages span lines: one line here
    std::replace_if(
        line.begin(), line.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
    std::fprintf(stderr, "agent_monitor: %s\n", line.c_str());
    return 1;
  }
}
