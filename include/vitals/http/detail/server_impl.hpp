// The definitions of detail::server_core (server.hpp): included by server.hpp
// in the header-only mode, compiled once into vitals::compiled otherwise.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <tuple>

#include "vitals/http/guard.hpp"
#include "vitals/http/params.hpp"
#include "vitals/http/server.hpp"

namespace vitals::http::detail {

// A named type rather than a lambda: the coroutine frame holding it has
// external linkage in the separately compiled mode.
struct chunk_extension_limit {
  std::size_t total, limit;
  void operator()(std::uint64_t, std::string_view ext, beast::error_code& e) {
    total += ext.size();
    if (total > limit) e = bhttp::error::header_limit;
  }
};

VITALS_DECL server_core::server_core(asio::any_io_executor ex, void* handler, handler_fn call,
                                     registry& metrics, server_options o)
    : ex_(std::move(ex)),
      strand_(asio::make_strand(ex_)),
      acceptor_(strand_),
      grace_(strand_),
      handler_(handler),
      call_(call),
      opts_(std::move(o)),
      requests_(metrics.counter_family("vitals_http_requests",
                                       "HTTP requests answered, by route and status code.",
                                       {"route", "code"})),
      latency_(metrics.histogram_family(
          "vitals_http_request_duration_seconds",
          "Time from a complete request to its answer written, by route.", {"route"},
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5})),
      open_(metrics.gauge("vitals_http_connections", "Open HTTP connections.")),
      refused_(metrics.counter_family(
          "vitals_http_refused_connections",
          "Connections answered 503 because a cap was reached, by cap (total, per_address).",
          {"cause"})) {}

VITALS_DECL status server_core::start() {
  beast::error_code ec;
  const auto addr = asio::ip::make_address(opts_.address, ec);
  if (ec) return error(errc::invalid_argument, "bad listen address '" + opts_.address + "'");
  const tcp::endpoint ep{addr, opts_.port};
  auto fail = [&](std::string_view what) {
    return error(errc::io_error, std::string(what) + " " + opts_.address + ":" +
                                     std::to_string(opts_.port) + ": " + ec.message());
  };
  if (acceptor_.open(ep.protocol(), ec); ec) return fail("cannot open");
  if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec); ec)
    return fail("cannot set options on");
  if (acceptor_.bind(ep, ec); ec) return fail("cannot bind");
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec)
    return fail("cannot listen on");
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(strand_, accept_loop(), asio::detached);
  return {};
}

VITALS_DECL std::size_t server_core::connections() const {
  std::lock_guard lock(mu_);
  return conns_.size();
}

VITALS_DECL void server_core::stop() {
  asio::post(strand_, [this] {
    if (stopping_.exchange(true)) return;
    beast::error_code ec;
    acceptor_.close(ec);
    for (auto& c : snapshot()) ask(c);
    if (connections() == 0) return;
    grace_.expires_after(opts_.shutdown_grace);
    grace_.async_wait([this](beast::error_code e) {
      if (!e)
        for (auto& c : snapshot()) force(c);
    });
  });
}

VITALS_DECL std::set<server_core::conn_ptr> server_core::snapshot() const {
  std::lock_guard lock(mu_);
  return conns_;
}

VITALS_DECL void server_core::ask(const conn_ptr& c) {
  asio::post(c->stream.get_executor(), [c] {
    c->stopping = true;
    c->stop_signal.cancel();
    if (c->idle) c->stream.cancel();  // a kept-alive connection waiting for a request
  });
}
VITALS_DECL void server_core::force(const conn_ptr& c) {
  asio::post(c->stream.get_executor(), [c] {
    beast::error_code ec;
    c->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    c->stream.close();
  });
}

VITALS_DECL asio::awaitable<void> server_core::accept_loop() {
  for (;;) {
    auto [ec, sock] = co_await acceptor_.async_accept(asio::make_strand(ex_),
                                                      asio::as_tuple(asio::use_awaitable));
    if (stopping_) co_return;
    if (ec) {  // out of descriptors and the like: wait, then go on accepting
      if (ec == asio::error::operation_aborted) co_return;
      asio::steady_timer pause(strand_, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    beast::error_code pec, lec;
    auto peer = sock.remote_endpoint(pec).address();
    auto local = sock.local_endpoint(lec).address();
    if (pec || lec) continue;  // gone before we looked: the socket closes here
    std::string_view refused_by;
    auto c = std::make_shared<connection>(std::move(sock), peer, local);
    {
      std::lock_guard lock(mu_);
      auto& mine = per_address_[peer];
      if (conns_.size() >= opts_.max_connections)
        refused_by = "total";
      else if (mine >= opts_.max_connections_per_address)
        refused_by = "per_address";
      if (refused_by.empty()) {
        ++mine;
        conns_.insert(c);
        open_.set(double(conns_.size()));
      } else if (mine == 0) {
        per_address_.erase(peer);
      }
    }
    if (!refused_by.empty()) {
      refused_.with(refused_by).inc();
      auto ex = c->stream.get_executor();
      asio::co_spawn(ex, refuse(c->stream.release_socket(), refused_by), asio::detached);
      continue;
    }
    asio::co_spawn(c->stream.get_executor(), session(c),
                   [this, c](std::exception_ptr) { finished(c); });
  }
}

VITALS_DECL void server_core::finished(const conn_ptr& c) {
  std::size_t left;
  {
    std::lock_guard lock(mu_);
    if (conns_.erase(c) != 0)
      if (auto it = per_address_.find(c->peer); it != per_address_.end() && --it->second == 0)
        per_address_.erase(it);
    left = conns_.size();
    open_.set(double(left));
  }
  if (left == 0 && stopping_) asio::post(strand_, [this] { grace_.cancel(); });
}

// Over the cap: a short 503, then the socket is drained briefly so the
// client reads the answer instead of a reset.
VITALS_DECL asio::awaitable<void> server_core::refuse(tcp::socket sock, std::string_view cause) {
  beast::tcp_stream s(std::move(sock));
  auto res = json_error(
      bhttp::status::service_unavailable,
      cause == "total" ? "too many connections" : "too many connections from your address");
  res.set(bhttp::field::retry_after, "1");
  res.keep_alive(false);
  res.prepare_payload();
  s.expires_after(std::chrono::seconds(2));
  if (!co_await write_response(s, res)) co_await drain(s);
}

VITALS_DECL asio::awaitable<void> server_core::drain(beast::tcp_stream& s) {
  beast::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
  char sink[4096];
  s.expires_after(std::chrono::seconds(1));
  for (std::size_t total = 0; total < (4u << 20);) {
    auto [e, n] =
        co_await s.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (e) break;
    total += n;
  }
}

VITALS_DECL asio::awaitable<void> server_core::session(conn_ptr c) {
  // The buffer's cap bounds what Beast holds while it waits for the end of
  // a line: a chunk header with its extensions, or the trailer, neither of
  // which counts against header_limit. Body bytes pass through it.
  beast::flat_buffer buf(opts_.header_limit + (16u << 10));
  exchange ex(*c);
  while (!c->stopping) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(opts_.body_limit);
    parser.header_limit(static_cast<std::uint32_t>(opts_.header_limit));
    // All chunk extensions of one request together get the header's limit.
    chunk_extension_limit on_chunk{0, opts_.header_limit};
    parser.on_chunk_header(on_chunk);
    c->stream.expires_after(opts_.request_timeout);
    c->idle = true;
    auto [ec, n] = co_await bhttp::async_read_header(c->stream, buf, parser,
                                                     asio::as_tuple(asio::use_awaitable));
    c->idle = false;
    if (ec) {
      co_await read_failed(c, ec);
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    request& req = parser.get();
    const bool head = req.method() == bhttp::verb::head;
    if (head) req.method(bhttp::verb::get);
    ex.reset(head);
    if (auto refused = guard(req, *c, !parser.is_done(), ex)) {
      // Refused before the body: it is never read, so the connection ends.
      refused->set(bhttp::field::server, "vitals");
      if (parser.is_done()) {
        if (co_await answer(c, ex, req, *refused, started, head)) continue;
      } else {
        co_await finish_with(c, *refused, ex.route());
      }
      break;
    }
    if (!parser.is_done()) {
      if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
        static constexpr std::string_view go_ahead = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [wec, wn] =
            co_await asio::async_write(c->stream, asio::buffer(go_ahead.data(), go_ahead.size()),
                                       asio::as_tuple(asio::use_awaitable));
        if (wec) break;
      }
      std::tie(ec, n) =
          co_await bhttp::async_read(c->stream, buf, parser, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        co_await read_failed(c, ec);
        break;
      }
    }
    std::optional<response> res;
    try {
      res = co_await call_(handler_, req, ex);
    } catch (const std::exception& e) {
      res = json_error(bhttp::status::internal_server_error, e.what(), req.version());
    }
    if (!res) {  // streamed: the connection is done
      count(ex.route(), ex.streamed_status(), started);
      break;
    }
    if (!co_await answer(c, ex, req, *res, started, head)) break;
  }
  beast::error_code ec;
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// Writes a complete answer; true when the connection stays open. A HEAD
// answer keeps the GET answer's headers, Content-Length included.
VITALS_DECL asio::awaitable<bool> server_core::answer(const conn_ptr& c, exchange& ex,
                                                      const request& req, response& res,
                                                      std::chrono::steady_clock::time_point started,
                                                      bool head) {
  res.version(req.version());
  res.keep_alive(req.keep_alive() && !c->stopping);
  res.set(bhttp::field::server, "vitals");
  res.prepare_payload();
  if (head) res.body().clear();
  c->stream.expires_after(opts_.request_timeout);
  const auto wec = co_await write_response(c->stream, res);
  count(ex.route(), res.result_int(), started);
  co_return !wec && res.keep_alive();
}

// A request that could not be read: over a limit (413, 431), malformed
// (400), or a closed, timed-out or cancelled connection (nothing to say).
VITALS_DECL asio::awaitable<void> server_core::read_failed(const conn_ptr& c,
                                                           beast::error_code ec) {
  if (ec == bhttp::error::body_limit) {
    auto res =
        json_error(bhttp::status::payload_too_large,
                   "request body is larger than " + std::to_string(opts_.body_limit) + " bytes");
    co_return co_await finish_with(c, res, "body_limit");
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    auto res = json_error(bhttp::status::request_header_fields_too_large,
                          "request header, chunk extensions or trailer are larger than " +
                              std::to_string(opts_.header_limit) + " bytes");
    co_return co_await finish_with(c, res, "header_limit");
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    auto res = json_error(bhttp::status::bad_request, "malformed request: " + ec.message());
    co_await finish_with(c, res, "malformed");
  }
}

// Host, token, then (without a token) Origin and Content-Type: all from
// the header alone, so a refused body is never read and no 100 is sent.
VITALS_DECL std::optional<response> server_core::guard(const request& req, const connection& c,
                                                       bool has_body, exchange& ex) const {
  const auto path = path_of(req.target());
  auto refused =
      check_request(req, path, has_body, host_policy{opts_.address, opts_.allowed_hosts, c.local},
                    !opts_.token.empty());
  if (refused) {
    auto res = json_error(refused->status, refused->message, req.version(), refused->header);
    ex.route(refused->route);
    return res;
  }
  if (!authorized(req)) {
    ex.route("unauthorized");
    auto res =
        json_error(bhttp::status::unauthorized, "missing or wrong bearer token", req.version());
    res.set(bhttp::field::www_authenticate, R"(Bearer realm="vitals")");
    return res;
  }
  return std::nullopt;
}

VITALS_DECL asio::awaitable<void> server_core::finish_with(const conn_ptr& c, response& res,
                                                           std::string_view route) {
  res.keep_alive(false);
  res.prepare_payload();
  c->stream.expires_after(std::chrono::seconds(5));
  const auto ec = co_await write_response(c->stream, res);
  requests_.with(route, std::to_string(res.result_int())).inc();
  if (!ec) co_await drain(c->stream);
}

VITALS_DECL bool server_core::authorized(const request& req) const {
  if (opts_.token.empty() || path_of(req.target()) == "/healthz") return true;
  const auto auth = req[bhttp::field::authorization];
  if (auth.starts_with("Bearer ") && equal_constant_time(auth.substr(7), opts_.token)) return true;
  if (req.target().find("access_token=") == std::string_view::npos) return false;
  auto p = params::parse(req.target());
  const auto* ok = std::get_if<params>(&p);
  return ok && ok->access_token() && equal_constant_time(*ok->access_token(), opts_.token);
}

VITALS_DECL void server_core::count(std::string_view route, unsigned code,
                                    std::chrono::steady_clock::time_point started) {
  requests_.with(route, std::to_string(code)).inc();
  latency_.with(route).observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace vitals::http::detail
