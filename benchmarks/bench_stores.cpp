// Store benchmarks (issue: stores). No peer in C++ keeps samples this way, so
// these are absolute figures against the targets.
#include <benchmark/benchmark.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "vitals/stores/memory.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/sqlite.hpp"

namespace {

using namespace vitals;
using namespace vitals::stores;

constexpr std::int64_t t0 = 1'700'000'000'000;
constexpr std::int64_t every = 10'000;  // 10 s

// CPU percent as the process sampler derives it: a bounded random walk with
// one decimal.
std::vector<double> cpu_walk(std::size_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<double> step(0, 2);
  std::vector<double> v(n);
  double x = 35;
  for (auto& y : v) {
    x = std::clamp(x + step(rng), 0.0, 100.0);
    y = std::round(x * 10) / 10;
  }
  return v;
}

// A byte counter such as node_network_receive_bytes_total on a quiet host:
// grows by a steady 1.5 kB/s of background traffic plus an occasional burst.
std::vector<double> byte_counter(std::size_t n) {
  std::mt19937 rng(7);
  std::vector<double> v(n);
  double x = 1e9;
  for (std::size_t i = 0; i < n; ++i) {
    x += 15'000 + (rng() % 20 == 0 ? double(rng() % 1'000'000) : 0.0);
    v[i] = x;
  }
  return v;
}

sample_batch batch_of(const series& s, const std::vector<double>& v, std::size_t from = 0,
                      std::size_t n = SIZE_MAX) {
  sample_batch b;
  for (std::size_t i = from; i < std::min(v.size(), from + n); ++i)
    b.push_back({s, from_unix_ms(t0 + std::int64_t(i) * every), v[i]});
  return b;
}

void ring_append(benchmark::State& state) {
  memory_store st;
  const series s("cpu_percent", {{"agent", "a"}});
  auto b = batch_of(s, cpu_walk(1000));
  std::int64_t round = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < b.size(); ++i)
      b[i].t = from_unix_ms(t0 + (round * 1000 + std::int64_t(i)) * every);
    ++round;
    benchmark::DoNotOptimize(st.append(b));
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t(b.size()));
}
BENCHMARK(ring_append)->Name("ring_append/vitals");

// ring_append with N subscribers watching every series (an SSE client each):
// the writer's cost of the watch path once every series is classified, the
// subscribers full and never drained (each sample evicts the oldest).
// 100 samples of 20 series with the labels an agent's samples carry.
void watched_append(benchmark::State& state) {
  memory_store st;
  std::vector<subscription> subs;
  for (std::int64_t i = 0; i < state.range(0); ++i)
    subs.push_back(st.watch(
        selector::by_name("cpu_percent"), [] {}, 4096));
  sample_batch b;
  for (int i = 0; i < 100; ++i)
    b.push_back({series("cpu_percent", {{"agent", "agent-" + std::to_string(i % 20)},
                                        {"host", "build-host-01.example.internal"},
                                        {"model", "claude-sonnet-4-5-20250929"}}),
                 from_unix_ms(t0), 1.0});
  std::int64_t round = 0;
  const auto stamp = [&] {
    for (std::size_t i = 0; i < b.size(); ++i)
      b[i].t = from_unix_ms(t0 + (round * 100 + std::int64_t(i) / 20) * every);
    ++round;
  };
  stamp();
  (void)st.append(b);
  for (auto& s : subs) benchmark::DoNotOptimize(s.drain());  // classifies the 20 series
  for (auto _ : state) {
    stamp();
    benchmark::DoNotOptimize(st.append(b));
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t(b.size()));
}
BENCHMARK(watched_append)->Name("watched_append/vitals")->Arg(0)->Arg(1)->Arg(8);

void ring_range(benchmark::State& state, aggregation agg, bool compress) {
  memory_store st(memory_options{.compress = compress});
  const series s("cpu_percent", {});
  const auto v = cpu_walk(60480);
  (void)st.append(batch_of(s, v));
  range_query q{selector::by_name("cpu_percent"), from_unix_ms(t0),
                from_unix_ms(t0 + 60480 * every), std::nullopt, agg};
  std::size_t points = 0;
  for (auto _ : state) {
    auto r = query_range(st, q);
    points = r->at(0).points.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["points"] = double(points);
}
BENCHMARK_CAPTURE(ring_range, mean, aggregation::mean, false)
    ->Name("ring_range_60480_to_120/mean/vitals")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(ring_range, m4, aggregation::m4, false)
    ->Name("ring_range_60480_to_120/m4/vitals")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(ring_range, mean_compressed, aggregation::mean, true)
    ->Name("ring_range_60480_to_120/mean_compressed/vitals")
    ->Unit(benchmark::kMicrosecond);

void ring_bytes_per_sample(benchmark::State& state, bool counter, bool compress) {
  const auto v = counter ? byte_counter(60480) : cpu_walk(60480);
  const series s(counter ? "bytes_total" : "cpu_percent", {});
  double bps = 0;
  for (auto _ : state) {
    memory_store st(memory_options{.compress = compress});
    (void)st.append(batch_of(s, v));
    bps = double(st.sample_bytes()) / double(st.sample_count());
  }
  state.counters["bytes_per_sample"] = bps;
}
const bool ring_bytes_registered = [] {
  for (bool counter : {false, true})
    for (bool compress : {false, true}) {
      const std::string name = std::string("ring_bytes_per_sample/") +
                               (counter ? "counter" : "cpu") + (compress ? "_compressed" : "_raw") +
                               "/vitals";
      benchmark::RegisterBenchmark(name.c_str(), ring_bytes_per_sample, counter, compress)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  return true;
}();

std::filesystem::path bench_db(const char* name) {
  auto p = std::filesystem::temp_directory_path() /
           ("vitals-bench-" + std::to_string(::getpid()) + "-" + name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p;
}

void sqlite_append_batch(benchmark::State& state) {
  const auto file = bench_db("append");
  {
    sqlite_store st(file);
    const series s("cpu_percent", {{"agent", "a"}});
    auto b = batch_of(s, cpu_walk(1000));
    std::int64_t round = 0;
    for (auto _ : state) {
      for (std::size_t i = 0; i < b.size(); ++i)
        b[i].t = from_unix_ms(t0 + (round * 1000 + std::int64_t(i)) * every);
      ++round;
      if (!st.append(b)) state.SkipWithError("append failed");
      if (round % 100 == 0) (void)st.checkpoint();  // as the maintenance loop would
    }
    state.SetItemsProcessed(state.iterations() * std::int64_t(b.size()));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
}
BENCHMARK(sqlite_append_batch)->Name("sqlite_append_batch/vitals")->Unit(benchmark::kMillisecond);

void sqlite_range_1m(benchmark::State& state) {
  const auto file = bench_db("range");
  {
    sqlite_store st(file);
    const series s("cpu_percent", {});
    const auto v = cpu_walk(1'000'000);
    for (std::size_t i = 0; i < v.size(); i += 100'000) (void)st.append(batch_of(s, v, i, 100'000));
    (void)st.checkpoint();
    range_query q{selector::by_name("cpu_percent"), from_unix_ms(t0),
                  from_unix_ms(t0 + 1'000'000 * every), std::nullopt, aggregation::mean};
    std::size_t points = 0;
    for (auto _ : state) {
      auto r = query_range(st, q);
      points = r->at(0).points.size();
    }
    state.counters["points"] = double(points);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
}
BENCHMARK(sqlite_range_1m)->Name("sqlite_range_1M/vitals")->Unit(benchmark::kMillisecond);

}  // namespace
