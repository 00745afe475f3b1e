// The definitions behind exchange.hpp: included by it in the header-only
// mode, compiled once into vitals::compiled otherwise.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

#include "vitals/core/detail/utf8.hpp"
#include "vitals/http/exchange.hpp"
#include "vitals/net/header_bytes.hpp"

namespace vitals::http {

VITALS_DECL response json_error(bhttp::status st, std::string_view message, unsigned version,
                                std::string_view parameter) {
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

VITALS_DECL std::string header_bytes(bhttp::response<bhttp::empty_body>& h) {
  return net::header_bytes(h);
}

VITALS_DECL asio::awaitable<beast::error_code> write_response(beast::tcp_stream& s,
                                                              const response& res) {
  bhttp::response<bhttp::empty_body> h{res.base()};
  const std::string head = header_bytes(h);
  const std::array<asio::const_buffer, 2> parts{asio::buffer(head), asio::buffer(res.body())};
  auto [ec, n] = co_await asio::async_write(s, parts, asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

}  // namespace detail

VITALS_DECL asio::awaitable<beast::error_code> exchange::write_header(
    bhttp::response<bhttp::empty_body>& h) {
  status_ = h.result_int();
  const std::string head = detail::header_bytes(h);
  co_return co_await write(head, std::chrono::seconds(10));
}
VITALS_DECL asio::awaitable<beast::error_code> exchange::write(std::string_view data,
                                                               std::chrono::milliseconds timeout) {
  c_.stream.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(c_.stream, asio::buffer(data.data(), data.size()),
                                            asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

}  // namespace vitals::http
