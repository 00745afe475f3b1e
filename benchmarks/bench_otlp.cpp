// otlp_ingest: OTLP log records and data points per second through decode,
// mapping and store, in protobuf and in OTLP JSON (issue 16's targets:
// >= 100k log records/s, >= 500k data points/s), the logs into the memory
// usage store and into SQLite (the monitor's). No peer: prometheus-cpp has
// no OTLP receiver.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "vitals/agent/ledger.hpp"
#include "vitals/agent/otlp_decode.hpp"
#include "vitals/agent/otlp_logs.hpp"
#include "vitals/agent/otlp_metrics.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/stores/memory.hpp"

using namespace vitals;
namespace pb = vitals::otlp::v1;

namespace {

constexpr int per_export = 500;

void attr(google::protobuf::RepeatedPtrField<pb::KeyValue>* kvs, const std::string& k,
          const std::string& v) {
  auto* kv = kvs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

// One export of `per_export` Claude Code api_request records, ids from `round`.
std::string logs_body(std::int64_t round, agent::otlp_encoding enc) {
  pb::ExportLogsServiceRequest req;
  auto* rl = req.add_resource_logs();
  attr(rl->mutable_resource()->mutable_attributes(), "service.name", "claude-code");
  auto* sl = rl->add_scope_logs();
  const auto t0 = std::uint64_t(to_unix_ms(vitals::now()) - 60000) * 1000000ull;
  for (int i = 0; i < per_export; ++i) {
    auto* rec = sl->add_log_records();
    rec->set_time_unix_nano(t0 + std::uint64_t(i));
    auto* a = rec->mutable_attributes();
    attr(a, "event.name", "claude_code.api_request");
    attr(a, "session.id", "session-" + std::to_string(i % 8));
    attr(a, "model", "claude-sonnet-4-5");
    attr(a, "input_tokens", "120");
    attr(a, "output_tokens", "30");
    attr(a, "cache_read_tokens", "1000");
    attr(a, "cost_usd", "0.0125");
    attr(a, "request_id", "req-" + std::to_string(round) + "-" + std::to_string(i));
  }
  return agent::otlp_serialize(req, enc);
}

// One export of `per_export` delta sum points over 100 series, at `round`.
std::string metrics_body(std::int64_t round, agent::otlp_encoding enc) {
  pb::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  attr(rm->mutable_resource()->mutable_attributes(), "service.name", "claude-code");
  auto* m = rm->add_scope_metrics()->add_metrics();
  m->set_name("claude_code.token.usage");
  m->set_unit("tokens");
  m->mutable_sum()->set_is_monotonic(true);
  m->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_DELTA);
  const auto t0 = std::uint64_t(to_unix_ms(vitals::now()) - 3000000) * 1000000ull;
  for (int i = 0; i < per_export; ++i) {
    auto* p = m->mutable_sum()->add_data_points();
    attr(p->mutable_attributes(), "session.id", "session-" + std::to_string(i % 100));
    attr(p->mutable_attributes(), "type", "input");
    attr(p->mutable_attributes(), "model", "claude-sonnet-4-5");
    // Each series gets a newer point every export: a millisecond per round.
    p->set_time_unix_nano(t0 + std::uint64_t(round * 5 + i / 100) * 1000000ull);
    p->set_as_double(10);
  }
  return agent::otlp_serialize(req, enc);
}

template <class Usage>
void ingest_logs(benchmark::State& state, Usage& usage) {
  const auto enc = agent::otlp_encoding(state.range(0));
  registry reg;
  agent::ledger<Usage> ledger(usage, reg);
  agent::otlp_logs_mapper mapper(
      reg, [&](std::vector<agent::usage_event> es) { return ledger.ingest_events(std::move(es)); });
  std::int64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto body = logs_body(round++, enc);
    state.ResumeTiming();
    google::protobuf::Arena arena(agent::otlp_arena_options(body.size()));
    auto& req = *google::protobuf::Arena::CreateMessage<pb::ExportLogsServiceRequest>(&arena);
    if (!agent::otlp_parse(body, enc, req)) state.SkipWithError("decode");
    if (mapper.ingest(req).accepted != per_export) state.SkipWithError("not all accepted");
  }
  state.SetItemsProcessed(state.iterations() * per_export);
}

void otlp_ingest_logs(benchmark::State& state) {
  agent::usage_memory usage;
  ingest_logs(state, usage);
}

// The monitor's usage store: SQLite in WAL (synchronous NORMAL), a temp file.
void otlp_ingest_logs_sqlite(benchmark::State& state) {
  const auto file =
      std::filesystem::temp_directory_path() / ("bench_otlp_" + std::to_string(::getpid()) + ".db");
  {
    agent::usage_sqlite usage(file);
    ingest_logs(state, usage);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
}

void otlp_ingest_points(benchmark::State& state) {
  const auto enc = agent::otlp_encoding(state.range(0));
  registry reg;
  stores::memory_store store;
  agent::otlp_metrics_mapper mapper(
      reg, [&](std::span<const sample> b) { return store.append(b); },
      [&](const series& s) { return store.latest(s); });
  std::int64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto body = metrics_body(round++, enc);
    state.ResumeTiming();
    google::protobuf::Arena arena(agent::otlp_arena_options(body.size()));
    auto& req = *google::protobuf::Arena::CreateMessage<pb::ExportMetricsServiceRequest>(&arena);
    if (!agent::otlp_parse(body, enc, req)) state.SkipWithError("decode");
    if (mapper.ingest(req).accepted != per_export) state.SkipWithError("not all accepted");
  }
  state.SetItemsProcessed(state.iterations() * per_export);
}

}  // namespace

// Argument 0: protobuf, 1: OTLP JSON.
BENCHMARK(otlp_ingest_logs)->Arg(0)->Arg(1)->Iterations(200);
BENCHMARK(otlp_ingest_logs_sqlite)->Arg(0)->Iterations(100);
BENCHMARK(otlp_ingest_points)->Arg(0)->Arg(1)->Iterations(200);
