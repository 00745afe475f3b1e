// What a request handler sees of its connection (`exchange`: the route
// label, streaming writes, the stop signal, HEAD), the connection itself,
// and the JSON error answer every part of the server uses.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include "vitals/core/detail/config.hpp"

namespace vitals::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

/// A JSON error answer: `{"error": message}` plus `"parameter"` when one is named.
VITALS_DECL response json_error(bhttp::status st, std::string_view message, unsigned version = 11,
                                std::string_view parameter = {});

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

/// The header of `h` as bytes, from Beast's serializer.
VITALS_DECL std::string header_bytes(bhttp::response<bhttp::empty_body>& h);

/// Writes a prepared answer (Content-Length set): its header from
/// `header_bytes`, then its body, in one write. Every answer goes out this
/// way, so Beast's composed write operations are instantiated for no body
/// type: they were most of the code a server cost to compile.
VITALS_DECL asio::awaitable<beast::error_code> write_response(beast::tcp_stream& s,
                                                              const response& res);

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
  VITALS_DECL asio::awaitable<beast::error_code> write_header(
      bhttp::response<bhttp::empty_body>& h);
  VITALS_DECL asio::awaitable<beast::error_code> write(std::string_view data,
                                                       std::chrono::milliseconds timeout);

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

#if defined(VITALS_HEADER_ONLY)
#include "vitals/http/detail/exchange_impl.hpp"
#endif
