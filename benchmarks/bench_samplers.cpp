// Sampler and poller costs (issue: runtime), against the targets.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "vitals/runtime/poller.hpp"
#include "vitals/samplers/process.hpp"
#include "vitals/samplers/system.hpp"
#include "vitals/sinks/null.hpp"

namespace {

using namespace vitals;

void process_sample(benchmark::State& state) {
  auto s = samplers::process_sampler::self({{"target", "bench"}});
  sample_batch b;
  for (auto _ : state) {
    b.clear();
    if (!s.collect(b, now())) state.SkipWithError("collect failed");
  }
  state.counters["samples"] = double(b.size());
}
BENCHMARK(process_sample)->Name("process_sample/vitals")->Unit(benchmark::kMicrosecond);

void system_sample(benchmark::State& state) {
  samplers::system_sampler s;
  sample_batch b;
  for (auto _ : state) {
    b.clear();
    if (!s.collect(b, now())) state.SkipWithError("collect failed");
  }
  state.counters["samples"] = double(b.size());
}
BENCHMARK(system_sample)->Name("system_sample/vitals")->Unit(benchmark::kMicrosecond);

struct trivial_sampler {
  status collect(sample_batch& out, timestamp t) {
    out.push_back({series("up", {}), t, 1});
    return {};
  }
  std::string_view name() const { return "trivial"; }
};

struct null_pipeline {
  sinks::null_sink sink;
  status push(std::span<const sample> b) { return sink.write(b); }
};

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds the poller spends per second of wall time with 1,000 targets
// ticking every second (jittered over the second, as a real fleet would be).
void poller_overhead_1000(benchmark::State& state) {
  for (auto _ : state) {
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    null_pipeline pipe;
    poller<null_pipeline, trivial_sampler> p(
        io.get_executor(), pipe,
        poller_options{.interval = std::chrono::seconds(1), .jitter = std::chrono::seconds(1)});
    std::thread runner([&] { io.run(); });
    for (int i = 0; i < 1000; ++i) p.track("t" + std::to_string(i), trivial_sampler{});
    std::this_thread::sleep_for(std::chrono::seconds(1));  // let the jittered starts settle
    const double c0 = cpu_seconds();
    const auto w0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(5));
    const double cpu = cpu_seconds() - c0;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    p.stop();
    work.reset();
    runner.join();
    state.counters["cpu_fraction_of_one_core"] = cpu / wall;
    state.counters["samples_per_second"] = double(pipe.sink.samples()) / (wall + 1);
  }
}
BENCHMARK(poller_overhead_1000)
    ->Name("poller_overhead_1000/vitals")
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
