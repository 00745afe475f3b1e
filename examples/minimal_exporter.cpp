// The smallest exporter: one counter and one histogram on /metrics, served
// on a thread of its own (http/exporter.hpp) while main does the work.
//   minimal_exporter [port]   (default 9464; 0 picks a free one)
// A program that runs its own Asio loop composes the server and its routes
// instead (http/server.hpp, http/router.hpp: scrape_relay.cpp).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "vitals/http/exporter.hpp"
#include "vitals/instruments/registry.hpp"

namespace {
std::atomic<bool> stop_asked{false};  // set by the signal handler
static_assert(std::atomic<bool>::is_always_lock_free);
}  // namespace

int main(int argc, char** argv) {
  vitals::registry reg;
  auto& jobs = reg.counter("jobs_done_total", "Jobs finished.");
  auto& took = reg.histogram("job_duration_seconds", "Time per job.");
  for (int sig : {SIGINT, SIGTERM}) std::signal(sig, [](int) { stop_asked = true; });
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 9464);
  vitals::http::exporter exporter(reg, {.port = port});  // its thread leaves the signals to main
  if (auto st = exporter.start(); !st)
    return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
  std::printf("serving http://127.0.0.1:%u/metrics\n", unsigned(exporter.port()));
  std::fflush(stdout);
  while (!stop_asked) {  // pretend to work: a job every 100 ms
    jobs.inc();
    took.observe(0.1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  exporter.stop();  // answers in flight finish
}
