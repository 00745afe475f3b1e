// An HTTP/1.1 message's header as bytes, from Beast's serializer: the client
// and the server write the header and the body with one asio::async_write of
// two buffers instead of Beast's composed http::async_write, whose chain of
// operations (write_msg_op, write_op, write_some_op) costs about two seconds
// of compile time in every file that instantiates it.
#pragma once

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>

#include <string>

namespace vitals::net {

/// The header of `h` (a request or a response), as it goes on the wire.
template <bool IsRequest>
std::string header_bytes(
    boost::beast::http::message<IsRequest, boost::beast::http::empty_body>& h) {
  namespace beast = boost::beast;
  beast::http::serializer<IsRequest, beast::http::empty_body> sr{h};
  sr.split(true);
  std::string out;
  beast::error_code ec;
  // The header comes out in one piece or a few; the bound only guards the loop.
  for (int i = 0; i < 16 && !ec && !sr.is_header_done(); ++i)
    sr.next(ec, [&](beast::error_code&, const auto& buffers) {
      for (const auto b : beast::buffers_range_ref(buffers))
        out.append(static_cast<const char*>(b.data()), b.size());
      sr.consume(beast::buffer_bytes(buffers));
    });
  return out;
}

}  // namespace vitals::net
