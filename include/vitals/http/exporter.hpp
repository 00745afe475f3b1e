// A /metrics endpoint on a thread of its own, for a program that runs no
// Asio loop: the registry's metrics and /healthz, served by vitals' HTTP
// server (server.hpp: Host and Origin checks, limits, timeouts, the access
// metrics in the same registry), as prometheus-cpp's Exposer serves its
// registries.
//
//   vitals::registry reg;
//   vitals::http::exporter exporter(reg, {.port = 9464});
//   if (auto st = exporter.start(); !st) ...  // st.error().message
//
// With vitals::compiled this header includes neither Asio nor Beast: the
// server is compiled in the library, so a file including it compiles in
// what the registry costs. Header-only, the server is included below.
#pragma once

#include <cstdint>
#include <memory>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/error.hpp"
#include "vitals/http/server_options.hpp"

namespace vitals {
class registry;
}

namespace vitals::http {

/// Serves `GET /metrics` (text, OpenMetrics or protobuf, as the scraper
/// asks) and `GET /healthz` for one registry, which must outlive it.
/// start() binds and starts the thread; stop() (or the destructor) ends it.
/// An exporter serves once: a second start(), or one after stop(), is an
/// error. The thread blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
/// SIGUSR2, so a program's handlers for them run on its own threads. The
/// registry's callbacks and collectors run on the exporter's thread while it
/// answers `/metrics`: do not call stop() holding a lock they take.
class exporter {
 public:
  VITALS_DECL explicit exporter(registry& reg, server_options o = {});
  VITALS_DECL ~exporter();
  exporter(const exporter&) = delete;
  exporter& operator=(const exporter&) = delete;

  /// Binds and starts serving. Errors (address in use, a bad address, a
  /// second start) are values.
  VITALS_DECL status start();
  /// The bound port (with port 0, the one the system chose); 0 before start().
  VITALS_DECL std::uint16_t port() const noexcept;
  /// Stops accepting, lets answers in flight finish (for about
  /// server_options' shutdown_grace at most) and joins the thread. Callable
  /// more than once; not from a signal handler.
  VITALS_DECL void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::http

#if defined(VITALS_HEADER_ONLY)
#include "vitals/http/detail/exporter_impl.hpp"
#endif
