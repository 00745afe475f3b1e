// A registry's /metrics served by vitals' own server on 127.0.0.1:<port>,
// run by a thread of its own, for a real Prometheus to scrape; stopped when
// the object goes (an ASSERT that returns early included).
#pragma once

#include <boost/asio/io_context.hpp>

#include <string>
#include <thread>

#include "vitals/http/metrics_route.hpp"
#include "vitals/http/server.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/stores/null.hpp"

namespace vitals::test {

class registry_exporter {
 public:
  explicit registry_exporter(registry& reg)
      : routes_(http::health_route(), http::metrics_route(reg, none_)),
        server_(io_.get_executor(), routes_, reg, {.port = 0}),
        started_(server_.start()) {
    if (started_) thread_ = std::thread([this] { io_.run(); });
  }
  ~registry_exporter() {
    if (!started_) return;
    server_.stop();  // callable from any thread
    thread_.join();
  }
  registry_exporter(const registry_exporter&) = delete;
  registry_exporter& operator=(const registry_exporter&) = delete;

  bool started() const noexcept { return started_; }
  /// host:port, as a scrape config's target.
  std::string target() const { return "127.0.0.1:" + std::to_string(server_.port()); }

 private:
  using routes = http::router<decltype(http::health_route()),
                              http::metrics_route<registry, stores::null_store>>;
  stores::null_store none_;
  boost::asio::io_context io_;
  routes routes_;
  http::server<routes> server_;
  bool started_;
  std::thread thread_;
};

}  // namespace vitals::test
