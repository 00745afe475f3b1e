// Runtime benchmarks (issue 5). The hub has no C++ peer here, so these are
// absolute figures against the issue's target: hub_publish >= 5 M events/s
// from one producer.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "vitals/runtime/hub.hpp"

namespace {

using namespace vitals;

// Shared by the benchmark's threads; thread 0 builds it before the timed loop
// and tears it down after (Google Benchmark puts a barrier at both ends).
struct hub_fixture {
  std::unique_ptr<hub> h;
  hub::subscription sub;
  std::vector<event> sink;
};
hub_fixture& fixture() {
  static hub_fixture f;
  return f;
}

// The rate limit is set far above what one core can publish, so the token
// bucket stays on the path (one clock read per event) but never drops. A
// subscriber drains each batch on the dispatcher thread, as a UI would.
void hub_publish_vitals(benchmark::State& state) {
  auto& f = fixture();
  if (state.thread_index() == 0) {
    f.h = std::make_unique<hub>(hub_options{.queue_capacity = 1 << 16,
                                            .rate_per_second = 1e12,
                                            .burst = 1e12,
                                            .subscriber_buffer = 1 << 12});
    f.sub = f.h->subscribe([&f] {
      f.sink.clear();
      f.sub.drain_into(f.sink);
    });
  }
  const event e{"tool.started", now(), "session-1", "plan-1", "task-1", R"({"n":1})"};
  for (auto _ : state) f.h->publish(e);
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    f.h->stop();
    const auto published = double(f.h->published());
    state.counters["dropped"] = double(f.h->dropped());
    state.counters["drop_ratio"] = published > 0 ? double(f.h->dropped()) / published : 0;
    f.sub.reset();
    f.h.reset();
  }
}

}  // namespace

BENCHMARK(hub_publish_vitals)->Name("hub_publish/vitals")->Threads(1)->Threads(2)->UseRealTime();
