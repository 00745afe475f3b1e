// An HTTP/1.1 server on Boost.Beast and C++20 coroutines. Each connection is
// a plain loop on its own strand: set the deadline, read, handle, write,
// repeat. Every request has a deadline, a header and a body limit (413); the
// number of connections is capped, in all and per client address (503
// beyond it); the read buffer is bounded, so chunk extensions and trailers
// are too. Right after the header, before any `100 Continue` or body byte,
// the guard (guard.hpp) checks Host, Origin and Content-Type and an optional
// bearer token guards everything but /healthz (401). HEAD is answered as GET
// without the body. stop() shuts down in two steps: it
// asks (idle connections close, busy ones finish their answer, streams end),
// then forces whatever is left after the grace period.
//
// The handler is a compile-time parameter (a `router` over routes, usually);
// see `request_handler` in http/concepts.hpp. Everything but the call to it is one
// non-template class (detail::server_core, defined in detail/server_impl.hpp):
// the handler is called through a function pointer once per request, so the
// connection loop is compiled once per program in the separately compiled
// mode (core/detail/config.hpp) and once per translation unit, not once per
// handler type, in the header-only one.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/error.hpp"
#include "vitals/http/concepts.hpp"
#include "vitals/http/exchange.hpp"
#include "vitals/http/guard.hpp"
#include "vitals/http/params.hpp"
#include "vitals/http/server_options.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::http {

namespace detail {

/// The server without its handler, which it calls through `handler_fn`.
class server_core {
 public:
  using handler_fn = asio::awaitable<std::optional<response>> (*)(void* handler, const request& req,
                                                                  exchange& ex);

  VITALS_DECL server_core(asio::any_io_executor ex, void* handler, handler_fn call,
                          registry& metrics, server_options o);
  server_core(const server_core&) = delete;
  server_core& operator=(const server_core&) = delete;

  /// Binds and starts accepting. Errors (address in use, bad address) are values.
  VITALS_DECL status start();

  /// The bound port (useful with port 0).
  std::uint16_t port() const noexcept { return port_; }
  VITALS_DECL std::size_t connections() const;

  /// Two-step shutdown, callable from any thread: stop accepting and ask
  /// every connection to finish; after the grace period, close the rest.
  /// The executor runs out of this server's work once all are gone.
  VITALS_DECL void stop();

 private:
  using conn_ptr = std::shared_ptr<connection>;

  VITALS_DECL std::set<conn_ptr> snapshot() const;
  VITALS_DECL static void ask(const conn_ptr& c);
  VITALS_DECL static void force(const conn_ptr& c);
  VITALS_DECL asio::awaitable<void> accept_loop();
  VITALS_DECL void finished(const conn_ptr& c);
  VITALS_DECL static asio::awaitable<void> refuse(tcp::socket sock, std::string_view cause);
  VITALS_DECL static asio::awaitable<void> drain(beast::tcp_stream& s);
  VITALS_DECL asio::awaitable<void> session(conn_ptr c);
  VITALS_DECL asio::awaitable<bool> answer(const conn_ptr& c, exchange& ex, const request& req,
                                           response& res,
                                           std::chrono::steady_clock::time_point started,
                                           bool head);
  VITALS_DECL asio::awaitable<void> read_failed(const conn_ptr& c, beast::error_code ec);
  VITALS_DECL std::optional<response> guard(const request& req, const connection& c, bool has_body,
                                            exchange& ex) const;
  VITALS_DECL asio::awaitable<void> finish_with(const conn_ptr& c, response& res,
                                                std::string_view route);
  VITALS_DECL bool authorized(const request& req) const;
  VITALS_DECL void count(std::string_view route, unsigned code,
                         std::chrono::steady_clock::time_point started);

  asio::any_io_executor ex_;
  asio::strand<asio::any_io_executor> strand_;
  tcp::acceptor acceptor_;
  asio::steady_timer grace_;
  void* handler_;
  handler_fn call_;
  server_options opts_;
  family<vitals::counter>& requests_;
  family<vitals::histogram>& latency_;
  vitals::gauge& open_;
  family<vitals::counter>& refused_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::set<conn_ptr> conns_;
  std::map<asio::ip::address, std::size_t> per_address_;  // open connections by peer
};

}  // namespace detail

template <request_handler Handler>
class server : public detail::server_core {
 public:
  /// `metrics` receives the access counters; it must outlive the server.
  server(asio::any_io_executor ex, Handler& h, registry& metrics, server_options o = {})
      : server_core(std::move(ex), &h, &call, metrics, std::move(o)) {}

 private:
  // Not a coroutine: hands back the handler's own awaitable, so a request
  // costs one indirect call and no extra frame.
  static asio::awaitable<std::optional<response>> call(void* h, const request& req, exchange& ex) {
    return static_cast<Handler*>(h)->handle(req, ex);
  }
};

}  // namespace vitals::http

#if defined(VITALS_HEADER_ONLY)
#include "vitals/http/detail/server_impl.hpp"
#endif
