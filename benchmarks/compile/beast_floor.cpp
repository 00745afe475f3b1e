// Compile-time probe (scripts/compile-times): the floor under any header-only
// Beast exporter. The smallest Beast coroutine HTTP server, no vitals: GET
// /metrics answers a fixed text. What a vitals server costs above this is
// vitals' own; this much, every Beast user pays (docs/benchmarks.md, issue 14).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

asio::awaitable<void> session(beast::tcp_stream s) {
  beast::flat_buffer buf;
  for (;;) {
    http::request<http::string_body> req;
    s.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await http::async_read(s, buf, req, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.body() = req.target() == "/metrics" ? "up 1\n" : "";
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(s, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !req.keep_alive()) co_return;
  }
}

asio::awaitable<void> listen(tcp::acceptor a) {
  for (;;) {
    auto [ec, sock] = co_await a.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::co_spawn(a.get_executor(), session(beast::tcp_stream(std::move(sock))), asio::detached);
  }
}

int main() {
  asio::io_context io;
  tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 9100});
  asio::co_spawn(io, listen(std::move(a)), asio::detached);
  io.run();
}
