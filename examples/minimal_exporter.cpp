// The smallest exporter: one counter and one histogram on /metrics.
//   minimal_exporter [port]   (default 9464; 0 picks a free one)
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <cstdlib>
#include "vitals/http/metrics_route.hpp"
#include "vitals/http/router.hpp"
#include "vitals/http/server.hpp"
#include "vitals/stores/null.hpp"

int main(int argc, char** argv) {
  vitals::registry reg;
  auto& jobs = reg.counter("jobs_done_total", "Jobs finished.");
  auto& took = reg.histogram("job_duration_seconds", "Time per job.");
  vitals::stores::null_store none;  // nothing sampled: /metrics shows the registry only
  boost::asio::io_context io;
  vitals::http::router routes(vitals::http::health_route(), vitals::http::metrics_route(reg, none));
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 9464);
  vitals::http::server server(io.get_executor(), routes, reg, {.port = port});
  if (auto st = server.start(); !st)
    return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
  std::printf("serving http://127.0.0.1:%u/metrics\n", unsigned(server.port()));
  std::fflush(stdout);
  boost::asio::steady_timer work(io);  // pretend to work: a job every 100 ms
  std::function<void()> tick = [&] {
    jobs.inc();
    took.observe(0.1);
    work.expires_after(std::chrono::milliseconds(100));
    work.async_wait([&](auto ec) {
      if (!ec) tick();
    });
  };
  tick();
  boost::asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](auto, int) { work.cancel(), server.stop(); });
  io.run();
}
