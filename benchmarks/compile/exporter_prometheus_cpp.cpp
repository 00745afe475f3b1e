// Compile-time probe (scripts/compile-times): minimal_exporter.cpp's work
// with prometheus-cpp, whose Exposer (civetweb) is a shared library: a
// counter and a histogram served on /metrics while main does the work.
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

namespace {
std::atomic<bool> stop_asked{false};
}

int main() {
  auto reg = std::make_shared<prometheus::Registry>();
  auto& jobs = prometheus::BuildCounter()
                   .Name("jobs_done_total")
                   .Help("Jobs finished.")
                   .Register(*reg)
                   .Add({});
  auto& took = prometheus::BuildHistogram()
                   .Name("job_duration_seconds")
                   .Help("Time per job.")
                   .Register(*reg)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.1, 1, 10});
  prometheus::Exposer exposer("127.0.0.1:9464");
  exposer.RegisterCollectable(reg);
  for (int sig : {SIGINT, SIGTERM}) std::signal(sig, [](int) { stop_asked = true; });
  while (!stop_asked) {
    jobs.Increment();
    took.Observe(0.1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}
