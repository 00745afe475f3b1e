// The HTTP server's options (server.hpp), apart from the server, so that a
// file can hold them without including Asio or Beast (http/exporter.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vitals::http {

struct server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 9464;  // 0: any free port (see server::port())
  std::size_t body_limit = 1u << 20;
  std::size_t header_limit = 16u << 10;
  /// Reading one request (or waiting for it on a kept-alive connection) and
  /// writing its answer each get this long.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::size_t max_connections = 512;
  std::size_t max_connections_per_address = 64;  // one client cannot take every slot
  std::string token{};  // empty: no authentication (then Origin and Content-Type are checked)
  /// Host names accepted besides loopback names, the listen address and the
  /// address a client connected to (any port).
  std::vector<std::string> allowed_hosts{};
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(5)};
};

}  // namespace vitals::http
