// Compile-time probe (scripts/compile-times): the lowest floor under any
// header-only Beast exporter. Beast's smallest blocking HTTP server, no
// vitals, no coroutines, no timers, one connection at a time: GET /metrics
// answers a fixed text. No server that parses HTTP with Beast in the user's
// file compiles in less (docs/benchmarks.md, issue 14).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

int main() {
  asio::io_context io;
  tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 9100});
  for (;;) {
    tcp::socket s(io);
    a.accept(s);
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(s, buf, req, ec);
      if (ec) break;
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = req.target() == "/metrics" ? "up 1\n" : "";
      res.prepare_payload();
      http::write(s, res, ec);
      if (ec || !req.keep_alive()) break;
    }
  }
}
