// Agent telemetry benchmarks (issue 7): usage events into SQLite through
// the ledger (validation, pricing, dedup, store), and the daily report over
// a million stored events. No C++ peer keeps usage events; the memory store
// runs beside SQLite as the floor.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <random>

#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/stores/memory.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
namespace fs = std::filesystem;

const char* const agents[] = {"planner", "coder-1", "coder-2", "reviewer", "tester"};
const char* const models[] = {"claude-sonnet-4-5-20250929", "gpt-5", "claude-haiku-4-5",
                              "gemini-2.5-pro"};

// A temporary database file, removed with its WAL at the end.
struct temp_db {
  fs::path path = fs::temp_directory_path() / ("vitals-bench-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(std::random_device{}()) + ".db");
  ~temp_db() {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
  }
};

// `n` NDJSON usage events as an agent hook sends them, ids from `first`.
std::string ndjson_batch(std::size_t first, std::size_t n, std::mt19937& rng) {
  std::string out;
  const auto base = to_unix_ms(vitals::now()) - 3'600'000;
  for (std::size_t i = first; i < first + n; ++i) {
    out += R"({"source_system":"claude-code","source_channel":"hook","agent_name":")";
    out += agents[rng() % 5];
    out += R"(","session_id":"s-)" + std::to_string(i / 100) + R"(","message_id":"msg_)" +
           std::to_string(i) + R"(","model_raw":")" + models[rng() % 4] + R"(","occurred_at":")" +
           to_rfc3339(from_unix_ms(base + std::int64_t(i))) + R"(","input_tokens":)" +
           std::to_string(rng() % 5000) + R"(,"output_tokens":)" + std::to_string(rng() % 800) +
           R"(,"cache_read_tokens":)" + std::to_string(rng() % 20000) + "}\n";
  }
  return out;
}

// ingest_events: batches of 1,000 new events through the ledger into SQLite
// (WAL, synchronous=NORMAL, the dedup lookup by key included).
template <class Usage>
void ingest(benchmark::State& state, Usage& usage) {
  registry reg;
  ledger l(usage, reg);
  std::mt19937 rng(1);
  std::size_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto body = ndjson_batch(next, 1000, rng);
    next += 1000;
    state.ResumeTiming();
    auto r = l.ingest(body);
    if (r.accepted != 1000) state.SkipWithError("events were not accepted");
  }
  state.SetItemsProcessed(std::int64_t(next));
}

void ingest_events_sqlite(benchmark::State& state) {
  temp_db db;
  usage_sqlite usage(db.path);
  ingest(state, usage);
}
BENCHMARK(ingest_events_sqlite)->Unit(benchmark::kMillisecond)->MinTime(3);

void ingest_events_memory(benchmark::State& state) {
  usage_memory usage;
  ingest(state, usage);
}
BENCHMARK(ingest_events_memory)->Unit(benchmark::kMillisecond)->MinTime(3);

// A million events over 30 days, spread over 5 agents and 4 models, one in
// ten a tool call and one in fifty an error.
template <class Usage>
void fill_million(Usage& usage) {
  std::mt19937 rng(2);
  const auto start = vitals::now() - std::chrono::days(30);
  std::vector<usage_record> batch;
  for (std::size_t i = 0; i < 1'000'000; ++i) {
    usage_event e;
    e.occurred_at = start + std::chrono::milliseconds(i * 2'592);  // 30 days / 1M
    e.agent_name = agents[rng() % 5];
    e.provider_id = "anthropic";
    e.session_id = "s-" + std::to_string(i / 500);
    if (i % 10 == 0) {
      e.event_type = "tool_usage";
      e.tool_call_id = "toolu_" + std::to_string(i);
      e.tool_name = (i / 10) % 3 ? "Bash" : "Read";
      e.duration_ms = double(rng() % 5000);
    } else {
      e.message_id = "msg_" + std::to_string(i);
      e.model_canonical = normalise_model(models[rng() % 4]);
      e.input_tokens = rng() % 5000;
      e.output_tokens = rng() % 800;
      e.total_tokens = *e.input_tokens + *e.output_tokens;
      e.cost_usd = *e.input_tokens * 3e-6 + *e.output_tokens * 15e-6;
    }
    if (i % 50 == 7) e.status = "error";
    batch.push_back({dedup_key(e), std::move(e)});
    if (batch.size() == 10'000) {
      (void)usage.put(batch);
      batch.clear();
    }
  }
}

// usage_daily_1M: the daily report by model over all of them.
template <class Usage>
void daily_million(benchmark::State& state, Usage& usage) {
  usage_reports<Usage, stores::memory_store> reports(usage, nullptr);
  const auto to = vitals::now(), from = to - std::chrono::days(31);
  for (auto _ : state) {
    auto r = reports.daily(from, to, daily_by::model);
    if (!r) state.SkipWithError(r.error().message.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 1'000'000);
}

void usage_daily_1M_sqlite(benchmark::State& state) {
  static temp_db db;
  static usage_sqlite usage(db.path);
  static const bool filled = (fill_million(usage), true);
  (void)filled;
  daily_million(state, usage);
}
BENCHMARK(usage_daily_1M_sqlite)->Unit(benchmark::kMillisecond)->Iterations(5);

void usage_daily_1M_memory(benchmark::State& state) {
  static usage_memory usage;
  static const bool filled = (fill_million(usage), true);
  (void)filled;
  daily_million(state, usage);
}
BENCHMARK(usage_daily_1M_memory)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
