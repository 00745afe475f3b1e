// Remote write: the in-process cost of a request (encode + snappy) per
// sample, and end-to-end samples/s into a real Prometheus on loopback that
// this benchmark starts. No peer: prometheus-cpp has no remote write.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/prometheus.hpp"
#include "vitals/sinks/remote_write.hpp"

namespace {

constexpr int series_count = 1'000;
constexpr int per_series = 10;  // a batch holds 10 timestamps of each series

/// 10,000 samples: 1,000 series with two labels, 10 points each.
std::vector<vitals::sample> make_batch(std::int64_t t0) {
  std::vector<vitals::sample> batch;
  batch.reserve(series_count * per_series);
  for (int i = 0; i < series_count; ++i) {
    const vitals::series s("bench_requests_total",
                           {{"job", "bench"}, {"instance", "host-" + std::to_string(i)}});
    for (int k = 0; k < per_series; ++k)
      batch.push_back({s, vitals::from_unix_ms(t0 + k), double(i * 10 + k)});
  }
  return batch;
}

/// Moves every timestamp past the previous batch: Prometheus refuses a
/// sample that is not newer than the last one of its series.
void advance(std::vector<vitals::sample>& batch) {
  for (auto& s : batch) s.t += std::chrono::milliseconds(per_series);
}

void remote_write_encode(benchmark::State& state) {
  const auto batch = make_batch(vitals::to_unix_ms(vitals::now()));
  vitals::sinks::detail::remote_write_encoder encode;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto body = encode(batch);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(state.iterations() * std::int64_t(batch.size()));
  state.counters["bytes_per_sample"] = double(bytes) / double(batch.size());
}
BENCHMARK(remote_write_encode)->Unit(benchmark::kMicrosecond);

void remote_write_throughput(benchmark::State& state) {
  if (!std::filesystem::exists(vitals::test::prometheus::exe))
    return state.SkipWithError("no /usr/bin/prometheus");
  vitals::test::prometheus prom;
  if (!prom.ready()) return state.SkipWithError("prometheus did not get ready");

  vitals::sinks::remote_write_sink sink(prom.url() + "/api/v1/write",
                                        {.max_queue = 200'000, .max_batch = 10'000});
  auto batch = make_batch(vitals::to_unix_ms(vitals::now()));
  for (auto _ : state) {  // 5 requests of 10,000 samples, all acknowledged
    for (int r = 0; r < 5; ++r) {
      if (!sink.write(batch)) return state.SkipWithError("queue full");
      advance(batch);
    }
    if (!sink.flush()) return state.SkipWithError(sink.last_error().c_str());
  }
  const auto st = sink.stats();
  if (st.failed + st.rejected + st.dropped > 0) state.SkipWithError(sink.last_error().c_str());
  state.SetItemsProcessed(std::int64_t(st.sent));
}
BENCHMARK(remote_write_throughput)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
