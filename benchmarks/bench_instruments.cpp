// vitals against prometheus-cpp, case by case, in one binary: `<case>/vitals`
// beside `<case>/prometheus_cpp`. Multi-threaded cases share one instrument
// between the threads, which is the contended case a metrics library must
// handle. Instrument writes are atomic stores, which the compiler keeps, so
// only the exposition needs benchmark::DoNotOptimize. docs/benchmarks.md holds
// the numbers and the targets.
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "vitals/format/text.hpp"
#include "vitals/instruments/registry.hpp"

namespace {

// Google Benchmark's cpu_time is already CPU time summed over threads divided
// by all threads' operations; this counter names it, in ns, so that a JSON
// reader need not know that. (rate of 1e-9 per op, inverted: CPU ns per op.)
void report_ops(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  state.counters["cpu_ns_per_op"] =
      benchmark::Counter(1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Observations spread log-uniformly over 1 ms .. 20 s: every bucket of the
// Prometheus default (5 ms .. 10 s) and +Inf get some.
const std::array<double, 1024>& observations() {
  static const auto values = [] {
    std::array<double, 1024> v{};
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double u = std::fmod(static_cast<double>(i) * 0.6180339887498949, 1.0);
      v[i] = 1e-3 * std::pow(2e4, u);
    }
    return v;
  }();
  return values;
}

const std::vector<double> prometheus_default_buckets = {.005, .01, .025, .05, .1, .25,
                                                        .5,   1,   2.5,  5,   10};

vitals::registry& vitals_registry() {
  static vitals::registry r;
  return r;
}

prometheus::Registry& prom_registry() {
  static prometheus::Registry r;
  return r;
}

// --- counter_inc --------------------------------------------------------------

void counter_inc_vitals(benchmark::State& state) {
  static auto& c = vitals_registry().counter("bench_counter", "Counter under test.");
  for (auto _ : state) c.inc();
  report_ops(state);
}

void counter_inc_prometheus(benchmark::State& state) {
  static auto& c =
      prometheus::BuildCounter().Name("bench_counter").Register(prom_registry()).Add({});
  for (auto _ : state) c.Increment();
  report_ops(state);
}

// --- gauge_set ----------------------------------------------------------------

void gauge_set_vitals(benchmark::State& state) {
  static auto& g = vitals_registry().gauge("bench_gauge", "Gauge under test.");
  std::int64_t i = 0;
  for (auto _ : state) g.set(static_cast<double>(i++));
  report_ops(state);
}

void gauge_set_prometheus(benchmark::State& state) {
  static auto& g = prometheus::BuildGauge().Name("bench_gauge").Register(prom_registry()).Add({});
  std::int64_t i = 0;
  for (auto _ : state) g.Set(static_cast<double>(i++));
  report_ops(state);
}

// --- histogram_observe ----------------------------------------------------------

void histogram_observe_vitals(benchmark::State& state) {
  static auto& h = vitals_registry().histogram("bench_histogram", "Histogram under test.");
  const auto& v = observations();
  std::size_t i = 0;
  for (auto _ : state) h.observe(v[i++ & (v.size() - 1)]);
  report_ops(state);
}

void histogram_observe_prometheus(benchmark::State& state) {
  static auto& h = prometheus::BuildHistogram()
                       .Name("bench_histogram")
                       .Register(prom_registry())
                       .Add({}, prometheus_default_buckets);
  const auto& v = observations();
  std::size_t i = 0;
  for (auto _ : state) h.Observe(v[i++ & (v.size() - 1)]);
  report_ops(state);
}

// histogram_observe_exemplar: every observation carries a trace (the worst
// case; tracing usually samples). No peer: prometheus-cpp has no exemplars.
void histogram_observe_exemplar_vitals(benchmark::State& state) {
  static auto& h = vitals_registry().histogram("bench_histogram_exemplar", "Histogram under test.");
  const auto& v = observations();
  std::size_t i = 0;
  for (auto _ : state)
    h.observe(v[i++ & (v.size() - 1)],
              {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}, {"span_id", "00f067aa0ba902b7"}});
  report_ops(state);
}

// exp_histogram_observe: a native (exponential) histogram at schema 3, the
// same observations. No peer: prometheus-cpp has no native histograms (its
// classic histogram is histogram_observe/prometheus_cpp above).
void exp_histogram_observe_vitals(benchmark::State& state) {
  static auto& h = vitals_registry().exponential_histogram("bench_exp_histogram",
                                                           "Native histogram under test.");
  const auto& v = observations();
  std::size_t i = 0;
  for (auto _ : state) h.observe(v[i++ & (v.size() - 1)]);
  report_ops(state);
}

// --- labelled_inc: look the series up by its label values, then increment ------

constexpr std::array methods = {"GET", "POST", "PUT", "DELETE"};
constexpr std::array codes = {"200", "201", "404", "500", "503"};

void labelled_inc_vitals(benchmark::State& state) {
  auto& f = vitals_registry().counter_family("bench_requests", "Requests.", {"method", "code"});
  for (auto m : methods)
    for (auto c : codes) f.with(m, c);  // a family of 20 series, not one
  for (auto _ : state) f.with("GET", "200").inc();
  report_ops(state);
}

void labelled_inc_prometheus(benchmark::State& state) {
  auto& f = prometheus::BuildCounter().Name("bench_requests").Register(prom_registry());
  for (auto m : methods)
    for (auto c : codes) f.Add({{"method", m}, {"code", c}});
  for (auto _ : state) f.Add({{"method", "GET"}, {"code", "200"}}).Increment();
  report_ops(state);
}

// --- expose_10k: text exposition of 10,000 labelled counter series --------------

constexpr int expose_series = 10'000;

std::string service(int i) { return "svc-" + std::to_string(i / 100); }
std::string endpoint(int i) { return "/api/v1/endpoint/" + std::to_string(i % 100); }

void expose_10k_vitals(benchmark::State& state) {
  vitals::registry r({.max_series_per_family = expose_series});
  auto& f = r.counter_family("http_requests", "Requests handled.", {"service", "endpoint"});
  for (int i = 0; i < expose_series; ++i) f.with(service(i), endpoint(i)).inc(i);
  std::string out;
  for (auto _ : state) {
    out.clear();
    vitals::format::write_text(out, r.collect());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * expose_series);
  state.counters["bytes"] = static_cast<double>(out.size());
}

void expose_10k_prometheus(benchmark::State& state) {
  prometheus::Registry r;
  auto& f =
      prometheus::BuildCounter().Name("http_requests_total").Help("Requests handled.").Register(r);
  for (int i = 0; i < expose_series; ++i)
    f.Add({{"service", service(i)}, {"endpoint", endpoint(i)}}).Increment(i);
  std::string out;
  for (auto _ : state) {
    out = prometheus::TextSerializer().Serialize(r.Collect());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * expose_series);
  state.counters["bytes"] = static_cast<double>(out.size());
}

}  // namespace

BENCHMARK(counter_inc_vitals)->Name("counter_inc/vitals")->Threads(1)->Threads(2);
BENCHMARK(counter_inc_prometheus)->Name("counter_inc/prometheus_cpp")->Threads(1)->Threads(2);
BENCHMARK(gauge_set_vitals)->Name("gauge_set/vitals");
BENCHMARK(gauge_set_prometheus)->Name("gauge_set/prometheus_cpp");
BENCHMARK(histogram_observe_vitals)->Name("histogram_observe/vitals")->Threads(1)->Threads(2);
BENCHMARK(histogram_observe_prometheus)
    ->Name("histogram_observe/prometheus_cpp")
    ->Threads(1)
    ->Threads(2);
BENCHMARK(histogram_observe_exemplar_vitals)
    ->Name("histogram_observe_exemplar/vitals")
    ->Threads(1)
    ->Threads(2);
BENCHMARK(exp_histogram_observe_vitals)
    ->Name("exp_histogram_observe/vitals")
    ->Threads(1)
    ->Threads(2);
BENCHMARK(labelled_inc_vitals)->Name("labelled_inc/vitals");
BENCHMARK(labelled_inc_prometheus)->Name("labelled_inc/prometheus_cpp");
BENCHMARK(expose_10k_vitals)->Name("expose_10k/vitals")->Unit(benchmark::kMillisecond);
BENCHMARK(expose_10k_prometheus)->Name("expose_10k/prometheus_cpp")->Unit(benchmark::kMillisecond);
