// What a request handler sees of its connection (`exchange`: the route
// label, streaming writes, the stop signal, HEAD), the connection itself,
// and the JSON error answer every part of the server uses.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include "vitals/core/detail/utf8.hpp"

namespace vitals::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

/// A JSON error answer: `{"error": message}` plus `"parameter"` when one is named.
inline response json_error(bhttp::status st, std::string_view message, unsigned version = 11,
                           std::string_view parameter = {}) {
  response res{st, version};
  res.set(bhttp::field::content_type, "application/json");
  std::string body = R"({"error":)";
  auto quote = [&](std::string_view s) {
    body += '"';
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (const auto n = vitals::detail::utf8_length(s, i); n == 0) {
        body += "\\ufffd";  // a client's byte that is not UTF-8: the answer stays JSON
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
  connection(tcp::socket s, asio::ip::address p, asio::ip::address l)
      : stream(std::move(s)),
        stop_signal(stream.get_executor(), asio::steady_timer::time_point::max()),
        peer(std::move(p)),
        local(std::move(l)) {}
  beast::tcp_stream stream;
  asio::steady_timer stop_signal;  // cancelled when the server asks to stop
  bool idle = true;                // waiting for a request (strand only)
  bool stopping = false;           // strand only
  asio::ip::address peer, local;
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

  /// A HEAD request, handed to the routes as GET: a streaming route writes
  /// its header and stops there (the server strips other answers' bodies).
  bool head() const noexcept { return head_; }

  unsigned streamed_status() const noexcept { return status_; }
  void reset(bool head = false) {
    route_ = "unmatched";
    status_ = 0;
    head_ = head;
  }

 private:
  detail::connection& c_;
  std::string_view route_ = "unmatched";
  unsigned status_ = 0;
  bool head_ = false;
};

}  // namespace vitals::http
