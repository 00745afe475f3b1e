// A small synchronous HTTP/1.1 client for tests, examples and benchmarks. It keeps one
// keep-alive connection and reopens it once when the server has closed it; each request is
// bounded by the timeout; network failures come back as error values, never as exceptions.
// Not thread-safe: one client per thread.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
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
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/net/url.hpp"

namespace vitals::http {

struct client_response {
  unsigned status = 0;
  std::string body;
  boost::beast::http::fields headers;  // case-insensitive: headers["content-type"]
};

using header_list = std::vector<std::pair<std::string, std::string>>;

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

class client {
 public:
  /// Larger answers fail with errc::limit_exceeded rather than exhausting memory.
  static constexpr std::size_t max_body = 64u << 20;

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

  /// "http://host[:port][/]", host may be "[v6]" (net::parse_http_url). A path is
  /// refused rather than silently dropped: the API lives at the root.
  static result<client> from_url(std::string_view base_url,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto u = net::parse_http_url(base_url, "/");
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
    namespace bhttp = boost::beast::http;
    request_type req{method, target, 11};
    req.set(bhttp::field::host, host_header_);
    req.set(bhttp::field::user_agent, "vitals-client");
    if (!token_.empty()) req.set(bhttp::field::authorization, "Bearer " + token_);
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    for (auto& [name, value] : extra_headers) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();

    // One deadline for the whole call, the reconnect included.
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    const std::string what =
        std::string(bhttp::to_string(method)) + " http://" + host_header_ + std::string(target);
    if (conn_->open && peer_closed()) close();
    for (int attempt = 0;; ++attempt) {
      const bool reused = conn_->open;
      if (!reused)
        if (auto s = connect(deadline, what); !s) return s.error();
      bool stale = false;
      auto r = exchange(req, deadline, what, stale);
      // The server closed an idle connection between our check and our request: it saw
      // nothing of this one (no answer byte came back), so sending it again is safe.
      if (!r && stale && reused && attempt == 0) continue;
      return r;
    }
  }

 private:
  using verb = boost::beast::http::verb;
  using request_type = boost::beast::http::request<boost::beast::http::string_body>;
  using tcp = boost::asio::ip::tcp;

  // Behind a pointer so that the client moves (tcp_stream does not move-assign), and so that
  // a reconnect starts from a clean stream, timer and buffer.
  struct connection {
    boost::asio::io_context io;
    boost::beast::tcp_stream stream{io};
    boost::beast::flat_buffer buffer;
    bool open = false;
  };

  // Sync calls on a tcp_stream ignore its deadline, so each step is an async operation run on
  // the private io_context; the stream's timer guarantees that run() returns by the deadline.
  template <class Start>
  boost::beast::error_code run(Start&& start) {
    boost::beast::error_code out = boost::asio::error::would_block;
    start([&out](boost::beast::error_code ec, auto&&...) { out = ec; });
    conn_->io.restart();
    conn_->io.run();
    return out;
  }

  status connect(std::chrono::steady_clock::time_point deadline, const std::string& what) {
    close();
    auto& c = *conn_;
    boost::beast::error_code ec;
    // getaddrinfo cannot be cancelled, so a name lookup is not bounded by the timeout;
    // numeric hosts (the usual 127.0.0.1) never block.
    tcp::resolver resolver(c.io);
    const auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return fail(what, "resolve", ec);
    c.stream.expires_at(deadline);
    ec = run([&](auto&& h) { c.stream.async_connect(endpoints, std::move(h)); });
    if (ec) return fail(what, "connect", ec);
    c.stream.socket().set_option(tcp::no_delay(true), ec);
    c.open = true;
    return {};
  }

  result<client_response> exchange(const request_type& req,
                                   std::chrono::steady_clock::time_point deadline,
                                   const std::string& what, bool& stale) {
    namespace bhttp = boost::beast::http;
    auto& c = *conn_;
    c.stream.expires_at(deadline);
    auto ec = run([&](auto&& h) { bhttp::async_write(c.stream, req, std::move(h)); });
    if (ec) {
      stale = closed_by_peer(ec);
      close();
      return fail(what, "write", ec);
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_body);
    if (req.method() == verb::head) parser.skip(true);
    ec = run([&](auto&& h) { bhttp::async_read(c.stream, c.buffer, parser, std::move(h)); });
    if (ec) {
      stale = !parser.got_some() && c.buffer.size() == 0 && closed_by_peer(ec);
      close();
      if (ec == bhttp::error::body_limit)
        return vitals::error(errc::limit_exceeded,
                             what + ": answer over " + std::to_string(max_body) + " bytes");
      return fail(what, "read", ec);
    }
    auto res = parser.release();
    client_response out{res.result_int(), std::move(res.body()),
                        std::move(static_cast<bhttp::fields&>(res))};
    if (!res.keep_alive()) close();
    return out;
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

  static bool closed_by_peer(const boost::beast::error_code& ec) {
    namespace aerr = boost::asio::error;
    return ec == boost::beast::http::error::end_of_stream || ec == aerr::eof ||
           ec == aerr::connection_reset || ec == aerr::broken_pipe ||
           ec == aerr::connection_aborted;
  }

  vitals::error fail(const std::string& what, const char* step,
                     const boost::beast::error_code& ec) const {
    if (ec == boost::beast::error::timeout)
      return vitals::error(errc::unavailable, what + ": " + step + ": timed out after " +
                                                  std::to_string(timeout_.count()) + " ms");
    return vitals::error(errc::unavailable, what + ": " + step + ": " + ec.message());
  }

  std::string host_, port_, host_header_, token_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<connection> conn_;
};

}  // namespace vitals::http
