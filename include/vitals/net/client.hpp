// The one HTTP/1.1 client of vitals (plain http://, Boost.Beast), in two
// forms over the same steps (resolve, keep the addresses an allow-list
// admits, connect, write, read under a body limit, all by one deadline):
//  - `client`: synchronous, one keep-alive connection reopened once when the
//    server closed it; the push sinks, tests, examples and benchmarks. Not
//    thread-safe: one client per thread.
//  - `async_get`: one request on a new connection, awaited on the caller's
//    executor; the scrape sampler, so a slow exporter blocks no thread.
// Failures are error values naming the method, URL and step, never the
// peer's bytes; any status the server answers is a value (a 404 too).
// Link: vitals::net.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/net/allow.hpp"
#include "vitals/net/header_bytes.hpp"
#include "vitals/net/url.hpp"

namespace vitals::net {

struct client_response {
  unsigned status = 0;
  std::string body;
  boost::beast::http::fields headers;  // case-insensitive: headers["content-type"]
};

using header_list = std::vector<std::pair<std::string, std::string>>;

/// Larger answers fail with errc::limit_exceeded rather than exhausting memory.
inline constexpr std::size_t default_max_body = 64u << 20;

/// Percent-encodes every byte but RFC 3986's unreserved characters, so the result is safe as
/// a query value or a path segment.
inline std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace detail {

namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using request_type = bhttp::request<bhttp::string_body>;

/// "<what>: <step>: <why>", where why is the error's kind, never bytes the peer sent.
inline vitals::error failure(const std::string& what, const char* step,
                             const boost::beast::error_code& ec,
                             std::chrono::milliseconds timeout) {
  if (ec == boost::beast::error::timeout)
    return vitals::error(errc::unavailable, what + ": " + step + ": timed out after " +
                                                std::to_string(timeout.count()) + " ms");
  return vitals::error(errc::unavailable, what + ": " + step + ": " + ec.message());
}

inline bool closed_by_peer(const boost::beast::error_code& ec) {
  namespace aerr = boost::asio::error;
  return ec == bhttp::error::end_of_stream || ec == aerr::eof || ec == aerr::connection_reset ||
         ec == aerr::broken_pipe || ec == aerr::connection_aborted;
}

/// Resolves, keeps the addresses `allow` admits (null: all), connects, by the
/// deadline already set on `stream` (getaddrinfo itself cannot be cancelled:
/// a name lookup is not bounded; numeric hosts never block).
inline boost::asio::awaitable<status> connect(boost::beast::tcp_stream& stream,
                                              const std::string& host, const std::string& port,
                                              const allowlist* allow, std::string_view allow_name,
                                              const std::string& what,
                                              std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  tcp::resolver resolver(stream.get_executor());
  auto [rec, resolved] =
      co_await resolver.async_resolve(host, port, asio::as_tuple(asio::use_awaitable));
  if (rec) co_return failure(what, "resolve", rec, timeout);
  std::vector<tcp::endpoint> endpoints;
  for (const auto& e : resolved)
    if (!allow || allow->allows(host, e.endpoint().address())) endpoints.push_back(e.endpoint());
  if (endpoints.empty())
    co_return vitals::error(errc::invalid_argument, what + ": " + host + " resolves outside the " +
                                                        std::string(allow_name));
  auto [cec, ep] = co_await stream.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
  if (cec) co_return failure(what, "connect", cec, timeout);
  boost::beast::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  co_return status{};
}

/// What one exchange tells the connection's owner besides the answer.
struct exchange_state {
  bool stale = false;       // the peer closed before any answer byte: safe to send again
  bool keep_alive = false;  // the connection may carry another request
};

/// Writes `req` and reads the answer (at most `max_body` bytes of body), by
/// the deadline already set on `stream`.
inline boost::asio::awaitable<result<client_response>> exchange(
    boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer, const request_type& req,
    std::size_t max_body, const std::string& what, std::chrono::milliseconds timeout,
    exchange_state& state) {
  namespace asio = boost::asio;
  state = {};
  bhttp::request<bhttp::empty_body> head{req.base()};
  const std::string head_bytes = header_bytes(head);
  const std::array<asio::const_buffer, 2> parts{asio::buffer(head_bytes), asio::buffer(req.body())};
  auto [wec, wn] = co_await asio::async_write(stream, parts, asio::as_tuple(asio::use_awaitable));
  if (wec) {
    state.stale = closed_by_peer(wec);
    co_return failure(what, "write", wec, timeout);
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_body);
  if (req.method() == bhttp::verb::head) parser.skip(true);
  auto [ec, rn] =
      co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    state.stale = !parser.got_some() && buffer.size() == 0 && closed_by_peer(ec);
    if (ec == bhttp::error::body_limit)
      co_return vitals::error(errc::limit_exceeded,
                              what + ": answer over " + std::to_string(max_body) + " bytes");
    co_return failure(what, "read", ec, timeout);
  }
  auto res = parser.release();
  state.keep_alive = res.keep_alive();
  co_return client_response{res.result_int(), std::move(res.body()),
                            std::move(static_cast<bhttp::fields&>(res))};
}

inline request_type make_request(bhttp::verb method, std::string_view target,
                                 const std::string& host_header, std::string_view user_agent,
                                 std::string_view token, std::string body,
                                 std::string_view content_type, header_list extra_headers) {
  request_type req{method, target, 11};
  req.set(bhttp::field::host, host_header);
  req.set(bhttp::field::user_agent, user_agent);
  if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + std::string(token));
  if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
  for (auto& [name, value] : extra_headers) req.set(name, value);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

}  // namespace detail

/// The bounds and extras of one `async_get`.
struct request_options {
  /// The whole request: resolve and connect, send, read the answer.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::size_t max_body = default_max_body;
  /// Where the request may connect, checked on every resolved address; null: anywhere.
  const allowlist* allow = nullptr;
  std::string_view allow_name = "allow-list";  // how a refusal names the list
  header_list headers{};
  std::string user_agent = "vitals-client";
};

/// GET `url` on a new connection, closed after the answer.
inline boost::asio::awaitable<result<client_response>> async_get(http_url url,
                                                                 request_options o = {}) {
  const std::string what = "GET " + url.to_string();
  boost::beast::tcp_stream stream(co_await boost::asio::this_coro::executor);
  stream.expires_after(o.timeout);  // one deadline for every step below
  if (auto s = co_await detail::connect(stream, url.host, url.port, o.allow, o.allow_name, what,
                                        o.timeout);
      !s)
    co_return s.error();
  const auto req = detail::make_request(detail::bhttp::verb::get, url.target, url.host_header(),
                                        o.user_agent, {}, {}, {}, std::move(o.headers));
  boost::beast::flat_buffer buffer;
  detail::exchange_state state;
  auto r = co_await detail::exchange(stream, buffer, req, o.max_body, what, o.timeout, state);
  boost::beast::error_code ignored;
  stream.socket().shutdown(detail::tcp::socket::shutdown_both, ignored);
  co_return r;
}

class client {
 public:
  static constexpr std::size_t max_body = default_max_body;

  client(std::string host, std::string port,
         std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : host_(std::move(host)),
        port_(std::move(port)),
        timeout_(timeout),
        conn_(std::make_unique<connection>()) {
    const bool v6 = host_.find(':') != std::string::npos;
    host_header_ = v6 ? "[" + host_ + "]" : host_;
    if (port_ != "80") host_header_ += ":" + port_;
  }

  /// "http://host[:port][/]", host may be "[v6]" (parse_http_url). A path is
  /// refused rather than silently dropped: the API lives at the root.
  static result<client> from_url(std::string_view base_url,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto u = parse_http_url(base_url, "/");
    if (!u) return vitals::error(errc::invalid_argument, "base " + u.error().message);
    if (u->target != "/")
      return vitals::error(errc::invalid_argument, "base url must not have a path");
    return client(std::move(u->host), std::move(u->port), timeout);
  }

  void set_token(std::string bearer) { token_ = std::move(bearer); }
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }

  /// Drops the connection; the next request opens a new one.
  void close() { conn_ = std::make_unique<connection>(); }

  result<client_response> get(std::string_view target, header_list extra_headers = {}) {
    return request(verb::get, target, {}, {}, std::move(extra_headers));
  }
  result<client_response> post(std::string_view target, std::string body,
                               std::string_view content_type = "application/json") {
    return request(verb::post, target, std::move(body), content_type);
  }
  result<client_response> del(std::string_view target) {
    return request(verb::delete_, target, {}, {});
  }

  /// Any status the server answers is a value (a 404 too); only failing to get an answer
  /// within the timeout is an error. An empty content_type sends no Content-Type.
  result<client_response> request(boost::beast::http::verb method, std::string_view target,
                                  std::string body, std::string_view content_type,
                                  header_list extra_headers = {}) {
    const auto req = detail::make_request(method, target, host_header_, "vitals-client", token_,
                                          std::move(body), content_type, std::move(extra_headers));
    // One deadline for the whole call, the reconnect included.
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    const std::string what = std::string(boost::beast::http::to_string(method)) + " http://" +
                             host_header_ + std::string(target);
    if (conn_->open && peer_closed()) close();
    for (int attempt = 0;; ++attempt) {
      const bool reused = conn_->open;
      if (!reused) {
        close();
        conn_->stream.expires_at(deadline);
        auto s = run(detail::connect(conn_->stream, host_, port_, nullptr, {}, what, timeout_));
        if (!s) return s.error();
        conn_->open = true;
      }
      auto& c = *conn_;
      c.stream.expires_at(deadline);
      detail::exchange_state state;
      auto r = run(detail::exchange(c.stream, c.buffer, req, max_body, what, timeout_, state));
      if (!r || !state.keep_alive) close();
      // The server closed an idle connection between our check and our request: it saw
      // nothing of this one (no answer byte came back), so sending it again is safe.
      if (!r && state.stale && reused && attempt == 0) continue;
      return r;
    }
  }

 private:
  using verb = boost::beast::http::verb;
  using tcp = detail::tcp;

  // Behind a pointer so that the client moves (tcp_stream does not move-assign), and so that
  // a reconnect starts from a clean stream, timer and buffer.
  struct connection {
    boost::asio::io_context io;
    boost::beast::tcp_stream stream{io};
    boost::beast::flat_buffer buffer;
    bool open = false;
  };

  // Runs one step to completion on the private io_context; the stream's deadline guarantees
  // that run() returns by then.
  template <class T>
  T run(boost::asio::awaitable<T> step) {
    std::optional<T> out;
    boost::asio::co_spawn(conn_->io, into(std::move(step), out), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    conn_->io.restart();
    conn_->io.run();
    return std::move(*out);
  }
  template <class T>
  static boost::asio::awaitable<void> into(boost::asio::awaitable<T> step, std::optional<T>& out) {
    out.emplace(co_await std::move(step));
  }

  // Asks the kernel, without blocking, whether the idle connection can still carry a request:
  // end of stream, an error, or bytes nobody asked for (a 408 before a close) all say no.
  bool peer_closed() {
    auto& socket = conn_->stream.socket();
    boost::beast::error_code ec, ignored;
    socket.non_blocking(true, ignored);
    char byte = 0;
    const auto n = socket.receive(boost::asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    socket.non_blocking(false, ignored);
    return n > 0 || ec != boost::asio::error::would_block;
  }

  std::string host_, port_, host_header_, token_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<connection> conn_;
};

}  // namespace vitals::net
