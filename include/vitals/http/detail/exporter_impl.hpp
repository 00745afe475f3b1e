// The definitions of http::exporter (exporter.hpp): included by exporter.hpp
// in the header-only mode, compiled once into vitals::compiled otherwise.
#pragma once

#include <boost/asio/io_context.hpp>

#include <pthread.h>

#include <csignal>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "vitals/http/exporter.hpp"
#include "vitals/http/metrics_route.hpp"
#include "vitals/http/router.hpp"
#include "vitals/http/server.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/stores/null.hpp"

namespace vitals::http {

struct exporter::impl {
  using routes_type = router<decltype(health_route()), metrics_route<registry, stores::null_store>>;

  impl(registry& reg, server_options o)
      : routes(health_route(), metrics_route(reg, none)),
        server(io.get_executor(), routes, reg, std::move(o)) {}

  stores::null_store none;  // nothing sampled: /metrics shows the registry only
  asio::io_context io{1};
  routes_type routes;
  http::server<routes_type> server;
  std::mutex mu;  // start() and stop() from different threads
  std::thread thread;
  bool started = false;
};

VITALS_DECL exporter::exporter(registry& reg, server_options o)
    : impl_(std::make_unique<impl>(reg, std::move(o))) {}

VITALS_DECL exporter::~exporter() { stop(); }

VITALS_DECL status exporter::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started)
    return error(errc::invalid_argument,
                 "start() was called before on this exporter, or stop(): it serves once (make a "
                 "new exporter to try again)");
  impl_->started = true;
  if (auto st = impl_->server.start(); !st) return st;
  // The signals a program handles itself are blocked in the new thread, so
  // their handlers run on the program's own threads.
  sigset_t handled, before;
  sigemptyset(&handled);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&handled, sig);
  pthread_sigmask(SIG_BLOCK, &handled, &before);
  try {
    impl_->thread = std::thread([io = &impl_->io] { io->run(); });
  } catch (const std::system_error& e) {
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
    impl_->server.stop();  // close the listening socket: run the loop dry here
    impl_->io.run();
    return error(errc::io_error, std::string("cannot start the exporter's thread: ") + e.what());
  }
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return {};
}

VITALS_DECL std::uint16_t exporter::port() const noexcept { return impl_->server.port(); }

VITALS_DECL void exporter::stop() {
  std::lock_guard lock(impl_->mu);
  impl_->started = true;  // a start() after this is refused
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();  // the loop runs dry once every connection is done
  impl_->thread.join();
}

}  // namespace vitals::http
