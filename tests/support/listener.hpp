// A loopback listener for tests that must prove nobody connected to it
// (a refused scrape target, a smuggled URL).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace vitals::test {

class listener {
 public:
  listener() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {}
  std::string port() const { return std::to_string(acceptor_.local_endpoint().port()); }

  /// Whether a connection is waiting (a non-blocking accept).
  bool someone_connected() {
    acceptor_.non_blocking(true);
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket peer(io_);
    acceptor_.accept(peer, ec);
    return !ec;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace vitals::test
