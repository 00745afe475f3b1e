// pg_append_batch: samples per second from append() until written and
// committed (append + flush per batch, so no batch overlaps the next), on a
// local PostgreSQL 15 started for the run with its default durability
// (fsync, synchronous commit). The peer is the SQLite store's batch append
// (WAL, synchronous NORMAL) in the same binary.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "support/postgres_server.hpp"
#include "vitals/stores/postgres.hpp"
#include "vitals/stores/sqlite.hpp"

namespace {

using namespace vitals;
using namespace vitals::stores;

vitals::test::postgres_server& server() {
  static vitals::test::postgres_server s(/*durable=*/true);
  return s;
}

constexpr std::int64_t t0 = 1'700'000'000'000, every = 10'000;

// One batch of `n` samples spread over 100 series (a poller's tick over many
// targets), stamped for round `round`.
void stamp(sample_batch& b, std::int64_t round) {
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i].t = from_unix_ms(t0 + (round * std::int64_t(b.size()) + std::int64_t(i)) * every);
}
sample_batch make(std::size_t n) {
  std::vector<series> ids;
  for (int i = 0; i < 100; ++i)
    ids.emplace_back("cpu_percent", label_set{{"agent", std::to_string(i)}});
  sample_batch b;
  for (std::size_t i = 0; i < n; ++i) b.push_back({ids[i % ids.size()], {}, double(i % 1000) / 10});
  return b;
}

void pg_append_batch(benchmark::State& state) {
  const auto dsn = server().create_database();
  {
    postgres_store st(postgres_options{.dsn = dsn, .batch_max = std::size_t(state.range(0))});
    auto b = make(std::size_t(state.range(0)));
    std::int64_t round = 0;
    for (auto _ : state) {
      stamp(b, round++);
      if (!st.append(b) || !st.flush(std::chrono::seconds(60)))
        state.SkipWithError("append failed");
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
  }
  server().drop_database(dsn);
}
BENCHMARK(pg_append_batch)
    ->Name("pg_append_batch/vitals")
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void sqlite_append_batch(benchmark::State& state) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("vitals-bench-pg-peer-" + std::to_string(::getpid()) + ".db");
  {
    sqlite_store st(file);
    auto b = make(std::size_t(state.range(0)));
    std::int64_t round = 0;
    for (auto _ : state) {
      stamp(b, round++);
      if (!st.append(b)) state.SkipWithError("append failed");
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
}
BENCHMARK(sqlite_append_batch)
    ->Name("pg_append_batch/sqlite")
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
