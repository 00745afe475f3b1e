// Scrapes other exporters into a memory store and serves them again, with
// history: /metrics (the latest of everything), range queries, SSE, and
// /api/v1/targets to add or remove exporters at run time.
//   scrape_relay [--listen 127.0.0.1:9465] [--interval 5s]
//                URL[,requests_counter=NAME][,latency_histogram=NAME]...
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <string>
#include <thread>

#include "vitals/http/monitor_samplers.hpp"
#include "vitals/http/sse.hpp"
#include "vitals/http/targets.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/stores/memory.hpp"

using namespace vitals;

int main(int argc, char** argv) {
  std::string address = "127.0.0.1", port = "9465";
  std::chrono::milliseconds interval = std::chrono::seconds(5);
  std::vector<samplers::scrape_flag> urls;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--listen" && i + 1 < argc) {
      const std::string v = argv[++i];
      address = v.substr(0, v.rfind(':'));
      port = v.substr(v.rfind(':') + 1);
    } else if (a == "--interval" && i + 1 < argc) {
      auto d = vitals::parse_duration(argv[++i]);
      if (!d)
        return std::fprintf(stderr, "scrape_relay: --interval: %s\n", d.error().message.c_str()), 2;
      interval = *d;
    } else if (a.starts_with("http://")) {
      auto s = samplers::parse_scrape_flag(a);
      if (!s) return std::fprintf(stderr, "scrape_relay: %s\n", s.error().message.c_str()), 2;
      urls.push_back(std::move(*s));
    } else {
      return std::fprintf(stderr,
                          "usage: scrape_relay [--listen ADDR:PORT] [--interval 5s] "
                          "http://host:port/metrics[,requests_counter=NAME]"
                          "[,latency_histogram=NAME]...\n"),
             2;
    }
  }

  registry reg;
  stores::memory_store store;
  pipeline pipe(store);
  boost::asio::io_context io;
  using poller_t = poller<pipeline<stores::memory_store>, samplers::scrape_sampler>;
  poller_t poll(io.get_executor(), pipe, {.interval = interval});
  reg.add_collector([&](metric_snapshot& out) { poll.collect(out); });
  // The monitor's factory over a poller that only scrapes: other kinds are refused.
  poller_targets targets(poll, http::sampler_factory<poller_t::any_sampler>{});
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const std::string id = "exporter-" + std::to_string(i + 1);
    (void)targets.add({.id = id,
                       .kind = "scrape",
                       .url = urls[i].url,
                       .labels = {{"target", id}},
                       .requests_counter = urls[i].requests_counter,
                       .latency_histogram = urls[i].latency_histogram});
  }

  http::router routes(http::health_route(), http::metrics_route(reg, store),
                      http::query_routes(store), http::watch_route(store, reg),
                      http::targets_route(targets, store));
  const auto p = static_cast<std::uint16_t>(std::stoi(port));
  http::server server(io.get_executor(), routes, reg, {.address = address, .port = p});
  if (auto st = server.start(); !st)
    return std::fprintf(stderr, "scrape_relay: %s\n", st.error().message.c_str()), 1;
  std::printf("scrape_relay: relaying %zu exporter(s) on http://%s:%u/\n", urls.size(),
              address.c_str(), unsigned(server.port()));
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  std::thread stopper;
  signals.async_wait([&](auto, int) {
    server.stop();
    stopper = std::thread([&] { poll.stop(); });  // stop() waits: not on the executor's thread
  });
  io.run();
  if (stopper.joinable()) stopper.join();
}
