// An HTTP/1.1 server on Boost.Beast and C++20 coroutines. Each connection is
// a plain loop on its own strand: set the deadline, read, handle, write,
// repeat. Every request has a deadline, a header and a body limit (413); the
// number of connections is capped (503 beyond it); an optional bearer token
// guards everything but /healthz (401). stop() shuts down in two steps: it
// asks (idle connections close, busy ones finish their answer, streams end),
// then forces whatever is left after the grace period.
//
// The handler is a compile-time parameter (a `router` over routes, usually);
// see `request_handler` below.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "vitals/core/error.hpp"
#include "vitals/http/params.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 9464;  // 0: any free port (see server::port())
  std::size_t body_limit = 1u << 20;
  std::size_t header_limit = 16u << 10;
  /// Reading one request (or waiting for it on a kept-alive connection) and
  /// writing its answer each get this long.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::size_t max_connections = 512;
  std::string token{};  // empty: no authentication
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(5)};
};

namespace detail {

/// The length of the well-formed UTF-8 character at `s[i]` (1 to 4), or 0
/// when it is not one (a stray byte, an overlong form, a surrogate, a cut).
constexpr std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

}  // namespace detail

/// A JSON error answer: `{"error": message}` plus `"parameter"` when one is named.
/// Messages quote what the client sent (paths, parameters): a byte that is
/// not UTF-8 becomes U+FFFD, so the answer is always JSON.
inline response json_error(bhttp::status st, std::string_view message, unsigned version = 11,
                           std::string_view parameter = {}) {
  response res{st, version};
  res.set(bhttp::field::content_type, "application/json");
  std::string body = R"({"error":)";
  auto quote = [&](std::string_view s) {
    body += '"';
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (const auto n = detail::utf8_length(s, i); n == 0) {
        body += "\\ufffd";
        continue;
      } else if (n > 1) {
        body.append(s.substr(i, n));
        i += n - 1;
        continue;
      }
      if (c == '"' || c == '\\') {
        body += '\\';
        body += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        static constexpr char hex[] = "0123456789abcdef";
        body += "\\u00";
        body += hex[(c >> 4) & 0xf];
        body += hex[c & 0xf];
      } else {
        body += c;
      }
    }
    body += '"';
  };
  quote(message);
  if (!parameter.empty()) {
    body += R"(,"parameter":)";
    quote(parameter);
  }
  body += '}';
  res.body() = std::move(body);
  return res;
}

namespace detail {

/// One connection, shared by its session coroutine and the server (which
/// only posts to its strand).
struct connection {
  explicit connection(tcp::socket s)
      : stream(std::move(s)),
        stop_signal(stream.get_executor(), asio::steady_timer::time_point::max()) {}
  beast::tcp_stream stream;
  asio::steady_timer stop_signal;  // cancelled when the server asks to stop
  bool idle = true;                // waiting for a request (strand only)
  bool stopping = false;           // strand only
};

inline bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

}  // namespace detail

/// What a handler sees of its connection: a label for the access counter,
/// and, for a streaming answer, the stream itself.
class exchange {
 public:
  explicit exchange(detail::connection& c) : c_(c) {}

  /// The route's name in `vitals_http_requests_total{route}` (a pattern such
  /// as "targets", never the raw path, so the label stays bounded).
  void route(std::string_view name) { route_ = name; }
  std::string_view route() const noexcept { return route_; }

  /// Streaming answers (SSE): write the header, then data, each write with
  /// its own deadline. A handler that streams returns nullopt and the
  /// connection closes after it.
  asio::awaitable<beast::error_code> write_header(bhttp::response<bhttp::empty_body>& h) {
    status_ = h.result_int();
    bhttp::response_serializer<bhttp::empty_body> sr{h};
    c_.stream.expires_after(std::chrono::seconds(10));
    auto [ec, n] =
        co_await bhttp::async_write_header(c_.stream, sr, asio::as_tuple(asio::use_awaitable));
    co_return ec;
  }
  asio::awaitable<beast::error_code> write(std::string_view data,
                                           std::chrono::milliseconds timeout) {
    c_.stream.expires_after(timeout);
    auto [ec, n] = co_await asio::async_write(c_.stream, asio::buffer(data.data(), data.size()),
                                              asio::as_tuple(asio::use_awaitable));
    co_return ec;
  }

  /// True once the server has asked to stop; streams end when they see it.
  bool stopping() const noexcept { return c_.stopping; }
  /// Completes when the server asks to stop (or when cancelled): an async
  /// operation, so a stream can wait for it beside its own events.
  template <class Token>
  auto async_wait_stopped(Token&& token) {
    return c_.stop_signal.async_wait(std::forward<Token>(token));
  }

  unsigned streamed_status() const noexcept { return status_; }
  void reset() {
    route_ = "unmatched";
    status_ = 0;
  }

 private:
  detail::connection& c_;
  std::string_view route_ = "unmatched";
  unsigned status_ = 0;
};

/// 1. `handle(req, ex)` returns the answer, or nullopt after streaming one
///    through `ex` (then the connection closes). It runs on the connection's
///    strand; several connections may run it at once on a multi-threaded
///    executor, so shared state needs its own synchronisation.
template <class H>
concept request_handler = requires(H& h, const request& req, exchange& ex) {
  { h.handle(req, ex) } -> std::same_as<asio::awaitable<std::optional<response>>>;
};

template <request_handler Handler>
class server {
 public:
  /// `metrics` receives the access counters; it must outlive the server.
  server(asio::any_io_executor ex, Handler& h, registry& metrics, server_options o = {})
      : ex_(std::move(ex)),
        strand_(asio::make_strand(ex_)),
        acceptor_(strand_),
        grace_(strand_),
        handler_(h),
        opts_(std::move(o)),
        requests_(metrics.counter_family("vitals_http_requests",
                                         "HTTP requests answered, by route and status code.",
                                         {"route", "code"})),
        latency_(metrics.histogram_family(
            "vitals_http_request_duration_seconds",
            "Time from a complete request to its answer written, by route.", {"route"},
            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5})),
        open_(metrics.gauge("vitals_http_connections", "Open HTTP connections.")),
        refused_(metrics.counter("vitals_http_refused_connections",
                                 "Connections answered 503 because the cap was reached.")) {}
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts accepting. Errors (address in use, bad address) are values.
  status start() {
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

  /// The bound port (useful with port 0).
  std::uint16_t port() const noexcept { return port_; }
  std::size_t connections() const {
    std::lock_guard lock(mu_);
    return conns_.size();
  }

  /// Two-step shutdown, callable from any thread: stop accepting and ask
  /// every connection to finish; after the grace period, close the rest.
  /// The executor runs out of this server's work once all are gone.
  void stop() {
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

 private:
  using conn_ptr = std::shared_ptr<detail::connection>;

  std::set<conn_ptr> snapshot() const {
    std::lock_guard lock(mu_);
    return conns_;
  }

  static void ask(const conn_ptr& c) {
    asio::post(c->stream.get_executor(), [c] {
      c->stopping = true;
      c->stop_signal.cancel();
      if (c->idle) c->stream.cancel();  // a kept-alive connection waiting for a request
    });
  }
  static void force(const conn_ptr& c) {
    asio::post(c->stream.get_executor(), [c] {
      beast::error_code ec;
      c->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      c->stream.close();
    });
  }

  asio::awaitable<void> accept_loop() {
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
      if (connections() >= opts_.max_connections) {
        refused_.inc();
        auto ex = sock.get_executor();
        asio::co_spawn(ex, refuse(std::move(sock)), asio::detached);
        continue;
      }
      auto c = std::make_shared<detail::connection>(std::move(sock));
      {
        std::lock_guard lock(mu_);
        conns_.insert(c);
        open_.set(double(conns_.size()));
      }
      asio::co_spawn(c->stream.get_executor(), session(c),
                     [this, c](std::exception_ptr) { finished(c); });
    }
  }

  void finished(const conn_ptr& c) {
    std::size_t left;
    {
      std::lock_guard lock(mu_);
      conns_.erase(c);
      left = conns_.size();
      open_.set(double(left));
    }
    if (left == 0 && stopping_) asio::post(strand_, [this] { grace_.cancel(); });
  }

  // Over the cap: a short 503, then the socket is drained briefly so the
  // client reads the answer instead of a reset.
  static asio::awaitable<void> refuse(tcp::socket sock) {
    beast::tcp_stream s(std::move(sock));
    auto res = json_error(bhttp::status::service_unavailable, "too many connections");
    res.set(bhttp::field::retry_after, "1");
    res.keep_alive(false);
    res.prepare_payload();
    s.expires_after(std::chrono::seconds(2));
    auto [ec, n] = co_await bhttp::async_write(s, res, asio::as_tuple(asio::use_awaitable));
    if (!ec) co_await drain(s);
  }

  static asio::awaitable<void> drain(beast::tcp_stream& s) {
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

  asio::awaitable<void> session(conn_ptr c) {
    beast::flat_buffer buf;
    exchange ex(*c);
    while (!c->stopping) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(opts_.body_limit);
      parser.header_limit(static_cast<std::uint32_t>(opts_.header_limit));
      c->stream.expires_after(opts_.request_timeout);
      c->idle = true;
      auto ec = co_await read_request(*c, buf, parser);
      c->idle = false;
      if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
        const bool body = ec == bhttp::error::body_limit;
        auto res = json_error(
            body ? bhttp::status::payload_too_large
                 : bhttp::status::request_header_fields_too_large,
            body
                ? "request body is larger than " + std::to_string(opts_.body_limit) + " bytes"
                : "request header is larger than " + std::to_string(opts_.header_limit) + " bytes");
        co_await finish_with(c, res, body ? "body_limit" : "header_limit");
        co_return;
      }
      if (ec) {
        // A malformed request gets a 400; a closed, timed-out or cancelled
        // connection just ends.
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
            ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
          auto res = json_error(bhttp::status::bad_request, "malformed request: " + ec.message());
          co_await finish_with(c, res, "malformed");
        }
        break;
      }
      const auto started = std::chrono::steady_clock::now();
      const request& req = parser.get();
      ex.reset();
      std::optional<response> res;
      if (!authorized(req)) {
        ex.route("unauthorized");
        res =
            json_error(bhttp::status::unauthorized, "missing or wrong bearer token", req.version());
        res->set(bhttp::field::www_authenticate, R"(Bearer realm="vitals")");
      } else {
        try {
          res = co_await handler_.handle(req, ex);
        } catch (const std::exception& e) {
          res = json_error(bhttp::status::internal_server_error, e.what(), req.version());
        }
      }
      if (!res) {  // streamed: the connection is done
        count(ex.route(), ex.streamed_status(), started);
        break;
      }
      res->version(req.version());
      res->keep_alive(req.keep_alive() && !c->stopping);
      res->set(bhttp::field::server, "vitals");
      res->prepare_payload();
      c->stream.expires_after(opts_.request_timeout);
      auto [wec, wn] =
          co_await bhttp::async_write(c->stream, *res, asio::as_tuple(asio::use_awaitable));
      count(ex.route(), res->result_int(), started);
      if (wec || !res->keep_alive()) break;
    }
    beast::error_code ec;
    c->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // The header first: a client that sent `Expect: 100-continue` (curl does
  // for bodies over 1 KiB) waits for the go-ahead before sending the body.
  // An oversized Content-Length fails here, before any body is read.
  static asio::awaitable<beast::error_code> read_request(
      detail::connection& c, beast::flat_buffer& buf,
      bhttp::request_parser<bhttp::string_body>& parser) {
    auto [ec, n] = co_await bhttp::async_read_header(c.stream, buf, parser,
                                                     asio::as_tuple(asio::use_awaitable));
    if (ec || parser.is_done()) co_return ec;
    c.idle = false;
    if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view go_ahead = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [wec, wn] =
          co_await asio::async_write(c.stream, asio::buffer(go_ahead.data(), go_ahead.size()),
                                     asio::as_tuple(asio::use_awaitable));
      if (wec) co_return wec;
    }
    std::tie(ec, n) =
        co_await bhttp::async_read(c.stream, buf, parser, asio::as_tuple(asio::use_awaitable));
    co_return ec;
  }

  asio::awaitable<void> finish_with(const conn_ptr& c, response& res, std::string_view route) {
    res.keep_alive(false);
    res.prepare_payload();
    c->stream.expires_after(std::chrono::seconds(5));
    auto [ec, n] = co_await bhttp::async_write(c->stream, res, asio::as_tuple(asio::use_awaitable));
    requests_.with(route, std::to_string(res.result_int())).inc();
    if (!ec) co_await drain(c->stream);
  }

  bool authorized(const request& req) const {
    if (opts_.token.empty() || path_of(req.target()) == "/healthz") return true;
    const auto auth = req[bhttp::field::authorization];
    if (auth.starts_with("Bearer ") && detail::equal_constant_time(auth.substr(7), opts_.token))
      return true;
    if (req.target().find("access_token=") == std::string_view::npos) return false;
    auto p = params::parse(req.target());
    const auto* ok = std::get_if<params>(&p);
    return ok && ok->access_token() &&
           detail::equal_constant_time(*ok->access_token(), opts_.token);
  }

  void count(std::string_view route, unsigned code, std::chrono::steady_clock::time_point started) {
    requests_.with(route, std::to_string(code)).inc();
    latency_.with(route).observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }

  asio::any_io_executor ex_;
  asio::strand<asio::any_io_executor> strand_;
  tcp::acceptor acceptor_;
  asio::steady_timer grace_;
  Handler& handler_;
  server_options opts_;
  family<vitals::counter>& requests_;
  family<vitals::histogram>& latency_;
  vitals::gauge& open_;
  vitals::counter& refused_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::set<conn_ptr> conns_;
};

}  // namespace vitals::http
